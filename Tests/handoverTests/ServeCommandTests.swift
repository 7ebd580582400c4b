import Foundation
import HandoverDemo
import TestSupport
import Testing

/// Runs curl (a client no part of Handover wrote) on a thread of its own and returns its status, headers and
/// body.
func curl(_ arguments: [String]) async throws -> (status: Int, headers: String, body: Data) {
    let folder = NSTemporaryDirectory() + "curl-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let result = try await runOffThread(
        "/usr/bin/curl",
        ["-sS", "-o", folder + "/body", "-D", folder + "/headers", "-w", "%{http_code}"] + arguments)
    let body = (try? Data(contentsOf: URL(fileURLWithPath: folder + "/body"))) ?? Data()
    let headers = (try? String(contentsOfFile: folder + "/headers", encoding: .utf8)) ?? ""
    return (Int(result.stdout) ?? 0, headers, body)
}

@Suite(.serialized) struct ServeCommandTests {
    /// The whole path a tenant takes, against the real binary: a token from `tokens create`, a request over the
    /// API, a worker in the same process exporting it, the archive downloaded with curl and verified by
    /// `handover verify`, a delivery link used without a token; then the OpenAPI document checked by
    /// openapi-spec-validator and schemathesis against the live server, and a graceful stop on SIGTERM.
    @Test func aTenantRequestsDownloadsAndSharesItsExportAndTheAPIMatchesItsDocument() async throws {
        try await withTemporaryDirectory { folder in
            let key = folder + "/pseudonym.key"
            try Data((0..<32).map { UInt8($0) }).write(to: URL(fileURLWithPath: key))
            var environment = ProcessInfo.processInfo.environment
            environment["HANDOVER_PSEUDONYM_KEY_FILE"] = key
            let store = "sqlite:" + folder + "/requests.sqlite"
            func tool(_ arguments: [String]) throws -> ProcessResult {
                try run(handoverBinary, arguments, environment: environment)
            }
            let map = folder + "/map.yaml"
            try SalesDemo.datasetMap.write(toFile: map, atomically: true, encoding: .utf8)
            let operatorToken = try tool([
                "tokens", "create", "--operator", "--name", "ops", "--store", store, "--quiet",
            ])
            let tenantToken = try tool([
                "tokens", "create", "--tenant", "1", "--name", "t1", "--store", store, "--quiet",
            ])
            #expect(operatorToken.status == 0 && tenantToken.status == 0, "\(operatorToken.stderr)")
            let operatorSecret = operatorToken.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let tenantSecret = tenantToken.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(tenantSecret.hasPrefix("hov_t_"))
            let listed = try tool(["tokens", "list", "--store", store])
            #expect(listed.stdout.contains("t1") && !listed.stdout.contains(tenantSecret))

            let receiver = try WebhookReceiver(folder: folder)
            defer { receiver.stop() }
            let server = try ToolProcess(
                "serve",
                [
                    "--store", store, "--listen", "127.0.0.1:0", "--auth-failures-per-minute", "100000",
                    "--public-url", "http://handover.example", "--workers", "1", "--db", demoDatabase, "--map", map,
                    "--out", folder + "/out", "--notify-url", receiver.url, "--notify-secret-file", receiver.secretFile,
                ], environment: environment)
            defer { if server.process.isRunning { server.process.terminate() } }
            let base = try #require(await server.baseURL(), "\(server.stderr)")
            let auth = ["-H", "Authorization: Bearer " + tenantSecret]

            let created = try await curl(
                auth + ["-X", "POST", "-H", "Content-Type: application/json", "-d", "{}", base + "/v1/requests"])
            #expect(created.status == 201, "\(String(decoding: created.body, as: UTF8.self))")
            let id = try #require(
                (try JSONSerialization.jsonObject(with: created.body) as? [String: Any])?["id"] as? String)
            var request: [String: Any] = [:]
            for _ in 0..<600 {
                let state = try await curl(auth + [base + "/v1/requests/" + id])
                request = try JSONSerialization.jsonObject(with: state.body) as? [String: Any] ?? [:]
                if request["state"] as? String == "completed" { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(request["state"] as? String == "completed", "\(request)")
            let archive = try #require(request["archive"] as? [String: Any])
            let download = try await curl(auth + [base + "/v1/requests/\(id)/archive"])
            #expect(download.status == 200)
            let file = folder + "/downloaded.zip"
            try download.body.write(to: URL(fileURLWithPath: file))
            let digest = try run("/usr/bin/sha256sum", [file]).stdout.prefix(64)
            #expect(String(digest) == archive["sha256"] as? String)
            #expect(download.headers.lowercased().contains("etag: \"\(digest)\""))
            #expect(try tool(["verify", file]).status == 0)

            // The worker in the server told the webhook, signed (checked by Python's hmac).
            #expect(await receiver.waitFor(1), "no notification arrived")
            let event = try #require(receiver.deliveries.first)
            #expect(event["type"] as? String == "request.completed" && event["signatureValid"] as? Bool == true)
            #expect(((event["body"] as? [String: Any])?["request"] as? [String: Any])?["id"] as? String == id)

            let link = try await curl(auth + ["-X", "POST", base + "/v1/requests/\(id)/links"])
            #expect(link.status == 201)
            let url = try #require(
                (try JSONSerialization.jsonObject(with: link.body) as? [String: Any])?["url"] as? String)
            #expect(url.hasPrefix("http://handover.example/v1/downloads/hov_l_"))
            let byLink = try await curl([base + url.dropFirst("http://handover.example".count)])
            #expect(byLink.status == 200 && byLink.body == download.body)

            // The document, and the live server against it (both tokens), as a client generator sees them.
            let check = try await runOffThread(
                "/bin/bash", [packageRoot + "/scripts/check-openapi.sh", base, operatorSecret, tenantSecret])
            print(check.stdout.split(separator: "\n").last.map(String.init) ?? "")
            #expect(check.status == 0, "\(check.stdout.suffix(3000))\(check.stderr.suffix(2000))")

            // No secret reached the service's log.
            #expect(!server.stderr.contains("hov_"), "\(server.stderr.prefix(2000))")
            // SIGTERM: a graceful stop, exit 0.
            kill(server.process.processIdentifier, SIGTERM)
            server.process.waitUntilExit()
            #expect(server.process.terminationStatus == 0, "\(server.stderr.suffix(2000))")
        }
    }

    /// The tenant page in headless Chromium driven by Selenium (scripts/browser-test.py): sign in with the
    /// keyboard, see only the tenant's own exports, request one, watch it become ready (a worker runs in the
    /// server), download it, sign out. The screenshot is kept in .build/test-output/browser/.
    @Test func theTenantPageWorksInARealBrowser() async throws {
        try await withTemporaryDirectory { folder in
            let key = folder + "/pseudonym.key"
            try Data((0..<32).map { UInt8($0) }).write(to: URL(fileURLWithPath: key))
            var environment = ProcessInfo.processInfo.environment
            environment["HANDOVER_PSEUDONYM_KEY_FILE"] = key
            let store = "sqlite:" + folder + "/requests.sqlite"
            let map = folder + "/map.yaml"
            try SalesDemo.datasetMap.write(toFile: map, atomically: true, encoding: .utf8)
            func token(_ tenant: String) throws -> String {
                try run(
                    handoverBinary,
                    ["tokens", "create", "--tenant", tenant, "--name", "t", "--store", store, "--quiet"],
                    environment: environment
                ).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            let mine = try token("1")
            let other = try token("2")
            let server = try ToolProcess(
                "serve",
                [
                    "--store", store, "--listen", "127.0.0.1:0", "--auth-failures-per-minute", "100000", "--workers",
                    "1", "--db", demoDatabase, "--map", map, "--out", folder + "/out",
                ], environment: environment)
            defer { if server.process.isRunning { server.process.terminate() } }
            let base = try #require(await server.baseURL(), "\(server.stderr)")
            // Another tenant's export, which the page must never show.
            let theirs = try await curl(
                [
                    "-X", "POST", "-H", "Authorization: Bearer " + other, "-H", "Content-Type: application/json", "-d",
                    "{}", base + "/v1/requests",
                ])
            let theirID = try #require(
                (try JSONSerialization.jsonObject(with: theirs.body) as? [String: Any])?["id"] as? String)
            let output = packageRoot + "/.build/test-output/browser"
            try? FileManager.default.removeItem(atPath: output)
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
            let browser = try await runOffThread(
                "/usr/bin/env", ["python3", packageRoot + "/scripts/browser-test.py", base, mine, theirID, output])
            print(browser.stdout.split(separator: "\n").last ?? "")
            #expect(browser.status == 0, "\(browser.stdout.suffix(3000))\(browser.stderr.suffix(3000))")
            let downloaded = try #require(
                browser.stdout.split(separator: "\n").first { $0.hasPrefix("downloaded: ") }
                    .map { String($0.dropFirst("downloaded: ".count)) })
            #expect(try run(handoverBinary, ["verify", downloaded]).status == 0)
            #expect(FileManager.default.fileExists(atPath: output + "/tenant-page.png"))
            #expect(!server.stderr.contains("hov_"))
        }
    }

    /// With --tls-cert and --tls-key the service speaks TLS only, and its session cookie is Secure.
    @Test func tlsIsServedWithTheGivenCertificate() async throws {
        try await withTemporaryDirectory { folder in
            let made = try await runOffThread(
                "/usr/bin/openssl",
                [
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", folder + "/key.pem", "-out",
                    folder + "/cert.pem",
                ])
            #expect(made.status == 0, "\(made.stderr)")
            let key = folder + "/pseudonym.key"
            try Data((0..<32).map { UInt8($0) }).write(to: URL(fileURLWithPath: key))
            var environment = ProcessInfo.processInfo.environment
            environment["HANDOVER_PSEUDONYM_KEY_FILE"] = key
            let store = "sqlite:" + folder + "/requests.sqlite"
            let token = try await runOffThread(
                handoverBinary, ["tokens", "create", "--tenant", "1", "--name", "t", "--store", store, "--quiet"],
                environment: environment
            ).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let server = try ToolProcess(
                "serve",
                [
                    "--store", store, "--listen", "127.0.0.1:0", "--tls-cert", folder + "/cert.pem", "--tls-key",
                    folder + "/key.pem",
                ], environment: environment)
            defer { if server.process.isRunning { server.process.terminate() } }
            let deadline = Date().addingTimeInterval(180)
            var base: String?
            while Date() < deadline && base == nil {
                if let range = server.stderr.range(of: #"https://[0-9.]+:[0-9]+"#, options: .regularExpression) {
                    base = String(server.stderr[range])
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            let url = try #require(base, "\(server.stderr)")
            let health = try await curl(["--cacert", folder + "/cert.pem", url + "/healthz"])
            #expect(health.status == 200)
            let plain = try await curl([url.replacingOccurrences(of: "https://", with: "http://") + "/healthz"])
            #expect(plain.status != 200, "no plain HTTP on the TLS port")
            let signIn = try await curl([
                "--cacert", folder + "/cert.pem", "-X", "POST", "--data-urlencode", "token=" + token,
                url + "/ui/sign-in",
            ])
            #expect(signIn.status == 303)
            #expect(signIn.headers.contains("; Secure"), "\(signIn.headers)")
        }
    }

    @Test func tokensAreRevokedAndBadUsageExits64() throws {
        try withTemporaryDirectorySync { folder in
            let key = folder + "/pseudonym.key"
            try Data((0..<32).map { UInt8($0) }).write(to: URL(fileURLWithPath: key))
            var environment = ProcessInfo.processInfo.environment
            environment["HANDOVER_PSEUDONYM_KEY_FILE"] = key
            let store = "sqlite:" + folder + "/requests.sqlite"
            let created = try run(
                handoverBinary, ["tokens", "create", "--tenant", "7", "--name", "x", "--store", store, "--json"],
                environment: environment)
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(created.stdout.utf8)) as? [String: Any])
            let id = try #require(object["id"] as? String)
            #expect((object["token"] as? String)?.contains(id) == true)
            #expect(
                try run(handoverBinary, ["tokens", "revoke", id, "--store", store], environment: environment).status
                    == 0)
            let listed = try run(handoverBinary, ["tokens", "list", "--store", store], environment: environment)
            #expect(listed.stdout.contains("revoked"))
            #expect(
                try run(
                    handoverBinary, ["tokens", "revoke", "0000000000000000", "--store", store], environment: environment
                ).status != 0)
            #expect(
                try run(
                    handoverBinary, ["tokens", "create", "--name", "x", "--store", store], environment: environment
                )
                .status == 64)
            #expect(try run(handoverBinary, ["serve", "--store", store, "--listen", "nonsense"]).status == 64)
            #expect(try run(handoverBinary, ["serve", "--store", store, "--workers", "1"]).status == 64)
        }
    }
}
