import Foundation
import HandoverCore
import HandoverStore
import TestSupport
import Testing

/// A tenant export of acme completed in `store` with an archive of `size` random bytes in `folder`, and a tenant
/// token for acme and an operator token; returns (request id, archive bytes, tenant token, operator token).
private func completedExport(_ store: RequestStore, folder: String, size: Int) async throws
    -> (id: String, bytes: Data, tenant: String, operator: String)
{
    let now = Timestamp.now()
    var generator = SystemRandomNumberGenerator()
    let bytes = Data((0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) })
    let request = ExportRequest(
        id: try RequestID("acme-big"), purpose: .controllerTransfer, scope: .tenant("acme"), receivedAt: now)
    try await completeWithArchive(store, request, bytes: Array(bytes), folder: folder, at: now)
    let tenant = try await store.createToken(name: "acme", kind: .tenant("acme"), expiresAt: nil, at: now).secret
    let operatorToken = try await store.createToken(name: "ops", kind: .operator, expiresAt: nil, at: now).secret
    return ("acme-big", bytes, tenant, operatorToken)
}

/// The environment a server sharing the test's store needs: the store tests' pseudonym key.
private func serverEnvironment(_ folder: String) throws -> [String: String] {
    let key = folder + "/pseudonym.key"
    _ = FileManager.default.createFile(
        atPath: key, contents: Data(repeating: 7, count: 32), attributes: [.posixPermissions: 0o600])
    var environment = ProcessInfo.processInfo.environment
    environment["HANDOVER_PSEUDONYM_KEY_FILE"] = key
    return environment
}

/// Downloads with Python's http.client: the first MiB, then a marker file, then nothing more until the resume file
/// appears (the server's writes wait on the socket meanwhile), then the rest. Prints the status.
private let pausingClient = """
    import http.client, os, sys, time
    base, path, token, out, paused, resume = sys.argv[1:]
    host, port = base.split("//")[1].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=600)
    connection.request("GET", path, headers={"Authorization": "Bearer " + token})
    response = connection.getresponse()
    with open(out, "wb") as handle:
        handle.write(response.read(1 << 20))
        open(paused, "w").close()
        while not os.path.exists(resume):
            time.sleep(0.02)
        while True:
            block = response.read(1 << 16)
            if not block:
                break
            handle.write(block)
    print(response.status)
    """

@Suite(.serialized) struct ServeOperationsTests {
    /// SIGTERM while a client is part-way through a download: the server stays up for it, refuses a new
    /// connection, the download finishes whole, and the server exits 0 once it is done.
    @Test func sigtermLetsADownloadInFlightFinishAndRefusesNewConnections() async throws {
        try await withTemporaryDirectory { folder in
            try await withStore(.sqlite) { store, spec in
                let export = try await completedExport(store, folder: folder, size: 24 << 20)
                let server = try ToolProcess(
                    "serve",
                    ["--store", spec, "--listen", "127.0.0.1:0"], environment: try serverEnvironment(folder))
                defer { if server.process.isRunning { server.process.terminate() } }
                let base = try #require(await server.baseURL(), "\(server.stderr)")
                let file = folder + "/downloaded.zip"
                // A client that reads the first MiB, says so, and then reads no more until told to: the download is
                // in flight for as long as the test needs, however long a loaded machine pauses the test.
                let paused = folder + "/paused"
                let resume = folder + "/resume"
                let download = Task {
                    try await runOffThread(
                        "/usr/bin/env",
                        [
                            "python3", "-c", pausingClient, base, "/v1/requests/\(export.id)/archive", export.tenant,
                            file, paused, resume,
                        ])
                }
                var started = false
                for _ in 0..<2_000 where !started {
                    started = FileManager.default.fileExists(atPath: paused)
                    try await Task.sleep(for: .milliseconds(50))
                }
                try #require(started, "the download began")
                kill(server.process.processIdentifier, SIGTERM)
                try await Task.sleep(for: .milliseconds(500))
                #expect(server.process.isRunning, "the server waits for the download in flight")
                let refused = try await curl(["--max-time", "5", base + "/healthz"])
                #expect(refused.status == 0, "a new connection after SIGTERM is refused, got \(refused.status)")
                FileManager.default.createFile(atPath: resume, contents: Data())
                let result = try await download.value
                #expect(result.status == 0 && result.stdout.hasPrefix("200"), "\(result.stderr)")
                let received = try Data(contentsOf: URL(fileURLWithPath: file))
                #expect(received.count == export.bytes.count && received == export.bytes, "the whole archive")
                let exited = await server.exitStatus()
                #expect(exited == 0, "\(server.stderr.suffix(1000))")
                let audit = try await store.audit(of: try RequestID(export.id)).compactMap(\.detail)
                #expect(audit.contains { $0.contains("download") && $0.contains("completed") }, "\(audit)")
            }
        }
    }

    /// Many fast clients at once: the server's memory stays flat (each download has a block or two in flight),
    /// whatever the archive's size and however busy the event loops are.
    @Test func manyFastDownloadsKeepTheServersMemoryFlat() async throws {
        try await withTemporaryDirectory { folder in
            try await withStore(.sqlite) { store, spec in
                let export = try await completedExport(store, folder: folder, size: 48 << 20)
                let server = try ToolProcess(
                    "serve", ["--store", spec, "--listen", "127.0.0.1:0"], environment: try serverEnvironment(folder))
                defer { if server.process.isRunning { server.process.terminate() } }
                let base = try #require(await server.baseURL(), "\(server.stderr)")
                let before = peakResidentMegabytes(server.process.processIdentifier)
                let clients = 16
                let results = try await withThrowingTaskGroup(of: ProcessResult.self) { group in
                    for _ in 0..<clients {
                        group.addTask {
                            try await runOffThread(
                                "/usr/bin/curl",
                                [
                                    "-sS", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", "-H",
                                    "Authorization: Bearer " + export.tenant,
                                    base + "/v1/requests/\(export.id)/archive",
                                ])
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(results.allSatisfy { $0.stdout == "200 \(48 << 20)" }, "\(results.map(\.stdout))")
                let peak = peakResidentMegabytes(server.process.processIdentifier)
                print(
                    "\(clients) downloads of 48 MiB (\(clients * 48) MiB): server peak RSS \(peak) MB (\(before) MB before)"
                )
                #expect(peak < before + 200, "the server's peak RSS grew from \(before) MB to \(peak) MB")
                kill(server.process.processIdentifier, SIGTERM)
                #expect(await server.exitStatus() == 0)
            }
        }
    }

    /// Two servers on one PostgreSQL store behave as one: a request made on one is seen on the other, a link made
    /// on one downloads from the other and is revoked there for both, a download begun on one resumes on the
    /// other, and a page session opened on one works on the other.
    @Test func twoServersOnOnePostgreSQLStoreAreOneService() async throws {
        try await withTemporaryDirectory { folder in
            try await withStore(.postgres) { store, spec in
                let export = try await completedExport(store, folder: folder, size: 3 << 20)
                let environment = try serverEnvironment(folder)
                let first = try ToolProcess(
                    "serve",
                    ["--store", spec, "--listen", "127.0.0.1:0", "--public-url", "http://lb.example"],
                    environment: environment)
                let second = try ToolProcess(
                    "serve",
                    ["--store", spec, "--listen", "127.0.0.1:0", "--public-url", "http://lb.example"],
                    environment: environment)
                defer {
                    for server in [first, second] where server.process.isRunning { server.process.terminate() }
                }
                let a = try #require(await first.baseURL(), "\(first.stderr)")
                let b = try #require(await second.baseURL(), "\(second.stderr)")
                let auth = ["-H", "Authorization: Bearer " + export.tenant]

                let made = try await curl(
                    auth + ["-X", "POST", "-H", "Content-Type: application/json", "-d", "{}", a + "/v1/requests"])
                #expect(made.status == 201, "\(String(decoding: made.body, as: UTF8.self))")
                let madeID = try #require(
                    (try JSONSerialization.jsonObject(with: made.body) as? [String: Any])?["id"] as? String)
                let seen = try await curl(auth + [b + "/v1/requests/" + madeID])
                #expect(seen.status == 200, "made on one server, seen on the other")

                // A download begun on one server resumes on the other (same ETag, If-Range honoured).
                let head = try await curl(auth + ["-r", "0-999999", a + "/v1/requests/\(export.id)/archive"])
                #expect(head.status == 206 && head.body == export.bytes.prefix(1_000_000))
                let etag = try #require(
                    head.headers.split(separator: "\r\n").first { $0.lowercased().hasPrefix("etag:") }?
                        .dropFirst(5).trimmingCharacters(in: .whitespaces))
                let rest = try await curl(
                    auth + ["-r", "1000000-", "-H", "If-Range: " + etag, b + "/v1/requests/\(export.id)/archive"])
                #expect(rest.status == 206 && head.body + rest.body == export.bytes)

                // A link made on one server works on the other; revoked on the other, it is gone on both.
                let link = try await curl(auth + ["-X", "POST", a + "/v1/requests/\(export.id)/links"])
                let linkJSON = try #require(try JSONSerialization.jsonObject(with: link.body) as? [String: Any])
                let url = try #require(linkJSON["url"] as? String)
                let linkID = try #require(linkJSON["id"] as? String)
                let path = String(url.dropFirst("http://lb.example".count))
                let viaB = try await curl([b + path])
                #expect(viaB.status == 200 && viaB.body == export.bytes)
                let revoked = try await curl(auth + ["-X", "DELETE", b + "/v1/links/" + linkID])
                #expect(revoked.status == 204, "\(String(decoding: revoked.body, as: UTF8.self))")
                #expect(try await curl([a + path]).status == 404)
                #expect(try await curl([b + path]).status == 404)

                // A page session opened on one server works on the other.
                let signIn = try await curl([
                    "-X", "POST", "-H", "Content-Type: application/x-www-form-urlencoded", "--data-urlencode",
                    "token=" + export.tenant, a + "/ui/sign-in",
                ])
                let cookie = try #require(
                    signIn.headers.split(separator: "\r\n").first { $0.lowercased().hasPrefix("set-cookie:") }?
                        .dropFirst("set-cookie:".count).split(separator: ";").first?
                        .trimmingCharacters(in: .whitespaces), "\(signIn.headers)")
                let page = try await curl(["-H", "Cookie: " + cookie, b + "/ui/exports"])
                #expect(page.status == 200 && String(decoding: page.body, as: UTF8.self).contains(export.id))

                for server in [first, second] { kill(server.process.processIdentifier, SIGTERM) }
                let firstExit = await first.exitStatus()
                let secondExit = await second.exitStatus()
                #expect(firstExit == 0 && secondExit == 0)
                #expect(try await store.checkAudit().isIntact)
            }
        }
    }
}

/// A process's peak resident set (VmHWM), in megabytes.
private func peakResidentMegabytes(_ pid: Int32) -> Int {
    let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
    return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) / 1024
}
