import Foundation
import HandoverBundle
import HandoverCore
import HandoverDemo
import HandoverStore
import HandoverWorker
import TestSupport
import Testing

/// A demo database, its map and a pseudonym key in `folder`; returns the worker's data arguments.
func workerSetup(_ folder: String, scale: Int = 1) throws -> [String] {
    let demo = try handover("demo", "--out", folder + "/db", "--scale", String(scale), "--json")
    #expect(demo.status == 0, "\(demo.stderr)")
    try Data("a test key of thirty-two bytes!!".utf8).write(to: URL(fileURLWithPath: folder + "/key"))
    return [
        "--db", folder + "/db/demo.sqlite", "--map", folder + "/db/demo-map.yaml", "--out", folder + "/out",
        "--pseudonym-key-file", folder + "/key",
    ]
}

@Suite struct WorkerCommandTests {
    /// Several workers on one store, SIGKILLed at random moments and replaced: every request still ends
    /// completed exactly once, with exactly one archive that verifies, and nothing half-written is left.
    @Test(arguments: StoreKind.allCases)
    func workersKilledAtRandomMomentsLoseNothingAndDuplicateNothing(_ kind: StoreKind) async throws {
        try await withStore(kind) { store, spec in
            try await withTemporaryDirectory { folder in
                let data = try workerSetup(folder, scale: 2)
                var scopes: [(String, ExportScope)] = (2...80).map {
                    (
                        "req-s\($0)",
                        .subject(SubjectSelector(column: "email", value: "user\($0)@acme.example"), tenant: nil)
                    )
                }
                scopes += (1...3).map { ("req-t\($0)", .tenant(String($0))) }
                try await queue(store, scopes)
                let arguments =
                    ["--store", spec] + data + [
                        "--lease", "2s", "--idle", "0.05s", "--backoff", "0s", "--max-attempts", "50", "--json",
                    ]
                var workers = try (0..<3).map { _ in try ToolProcess("worker", arguments) }
                var random = SeededGenerator(state: kind == .sqlite ? 7 : 11)
                var kills = 0
                let deadline = Date().addingTimeInterval(120)
                while Date() < deadline {
                    let open = try await store.list().filter { $0.state != .completed }.count
                    if open == 0 { break }
                    if kills < 20 {
                        // Kill a worker as soon as it has claimed something, some moments later.
                        let victim = Int.random(in: 0..<workers.count, using: &random)
                        let claims = workers[victim].stdout.components(separatedBy: "\"claimed\"").count
                        let waitStart = Date()
                        while workers[victim].stdout.components(separatedBy: "\"claimed\"").count == claims,
                            Date().timeIntervalSince(waitStart) < 3
                        {
                            usleep(2_000)
                        }
                        usleep(UInt32.random(in: 0...150_000, using: &random))
                        kill(workers[victim].process.processIdentifier, SIGKILL)
                        _ = workers[victim].wait()
                        kills += 1
                        workers[victim] = try ToolProcess("worker", arguments)
                    } else {
                        try await Task.sleep(for: .milliseconds(100))
                    }
                }
                for worker in workers {
                    #expect(worker.waitFor("\"started\"", seconds: 120), "\(worker.stderr.suffix(1000))")
                    kill(worker.process.processIdentifier, SIGTERM)
                }
                for worker in workers {
                    #expect(
                        worker.wait() == 0, "a worker did not stop cleanly on SIGTERM: \(worker.stderr.suffix(1000))")
                }

                let out = folder + "/out"
                var lapsed = 0
                for (id, _) in scopes {
                    let stored = try #require(try await store.request(try RequestID(id)))
                    #expect(stored.state == .completed, "\(id) is \(stored.state)")
                    let log = try await store.audit(of: stored.request.id)
                    #expect(log.filter { $0.to == .completed }.count == 1, "\(id) completed more than once")
                    lapsed += log.filter { $0.detail?.hasPrefix("lease of") == true }.count
                    let archive = out + "/handover-\(id).zip"
                    #expect(stored.archive == archive)
                    let report = BundleVerifier.verify(archive: archive)
                    #expect(report.valid, "\(id): \(report.problems)")
                    #expect(report.request == id)
                }
                print(
                    "worker kill test (\(kind)): \(scopes.count) requests, \(kills) workers killed, \(lapsed) leases lapsed"
                )
                #expect(kills >= 5, "the requests were done after \(kills) kills")
                #expect(lapsed >= 2, "only \(lapsed) kills landed while a request was held")
                // One archive per request and nothing else, once a new worker has cleared the dead ones' files.
                let sweep = try await runOffThread(
                    handoverBinary, ["worker", "--until-idle", "--quiet", "--store", spec] + data)
                #expect(sweep.status == 0, "\(sweep.stderr)")
                #expect(listFolder(out) == scopes.map { "handover-\($0.0).zip" }.sorted())
            }
        }
    }

    @Test func sigtermFinishesTheRequestInHandAndHandBackStopsIt() async throws {
        try await withStore(.sqlite) { store, spec in
            try await withTemporaryDirectory { folder in
                let data = try workerSetup(folder, scale: 4)
                try await queue(
                    store, [("req-finish", .tenant("1")), ("req-back", .tenant("2")), ("req-next", .tenant("3"))])

                let finishing = try ToolProcess("worker", ["--store", spec, "--json"] + data)
                #expect(finishing.waitFor("\"claimed\""))
                kill(finishing.process.processIdentifier, SIGTERM)
                #expect(finishing.wait() == 0)
                #expect(finishing.stdout.contains("\"stoppedBy\":\"SIGTERM\""))
                #expect(try await store.request(try RequestID("req-finish"))?.state == .completed)
                #expect(try await store.list(state: .queued).count == 2, "it claimed nothing after the signal")

                let handingBack = try ToolProcess("worker", ["--store", spec, "--json", "--hand-back-on-stop"] + data)
                #expect(handingBack.waitFor("\"claimed\""))
                kill(handingBack.process.processIdentifier, SIGINT)
                #expect(handingBack.wait() == 0)
                #expect(handingBack.stdout.contains("\"handedBack\""), "\(handingBack.stdout)")
                let back = try #require(try await store.request(try RequestID("req-back")))
                #expect(back.state == .queued)
                #expect(back.attempts == 0)

                // A second signal while the first is being honoured hands the request back.
                let twice = try ToolProcess("worker", ["--store", spec, "--json"] + data)
                #expect(twice.waitFor("\"claimed\""))
                kill(twice.process.processIdentifier, SIGTERM)
                usleep(20_000)
                kill(twice.process.processIdentifier, SIGTERM)
                #expect(twice.wait() == 0)
                #expect(twice.stdout.contains("\"handedBack\""), "\(twice.stdout)")
                #expect(twice.stdout.contains("\"stoppedBy\":\"SIGTERM\""))
                #expect(try await store.list(state: .queued).count == 2)
                #expect(listFolder(folder + "/out") == ["handover-req-finish.zip"])
            }
        }
    }

    @Test func purgeDeletesExpiredArchivesAndRecordsIt() async throws {
        try await withStore(.sqlite) { store, spec in
            try await withTemporaryDirectory { folder in
                let data = try workerSetup(folder)
                try await queue(
                    store,
                    [
                        ("req-old1", .subject(SalesDemo.demoSubject, tenant: nil)),
                        (
                            "req-old2",
                            .subject(SubjectSelector(column: "email", value: "user2@acme.example"), tenant: nil)
                        ),
                    ])
                let first = try run(
                    handoverBinary, ["worker", "--until-idle", "--retention", "0s", "--store", spec] + data)
                #expect(first.status == 0, "\(first.stderr)")
                try await queue(store, [("req-new", .tenant("2"))])
                let second = try run(handoverBinary, ["worker", "--until-idle", "--store", spec] + data)
                #expect(second.status == 0, "\(second.stderr)")
                // An archive already deleted by hand is recorded as gone.
                try FileManager.default.removeItem(atPath: folder + "/out/handover-req-old2.zip")

                let purge = try run(handoverBinary, ["purge", "--store", spec, "--actor", "retention", "--json"])
                #expect(purge.status == 0, "\(purge.stderr)")
                let report = try jsonObject(purge.stdout)
                #expect(report["purged"] as? Int == 2)
                let results = (report["requests"] as? [[String: Any]])?.map { "\($0["request"]!)=\($0["result"]!)" }
                #expect(results?.sorted() == ["req-old1=deleted", "req-old2=alreadyGone"])
                #expect(listFolder(folder + "/out") == ["handover-req-new.zip"])
                for (id, detail) in [("req-old1", "archive deleted"), ("req-old2", "archive was already gone")] {
                    let stored = try #require(try await store.request(try RequestID(id)))
                    #expect(stored.state == .expired)
                    let last = try #require(try await store.audit(of: stored.request.id).last)
                    #expect(last.actor == "retention" && last.detail == detail)
                }
                #expect(try await store.request(try RequestID("req-new"))?.state == .completed)
                let again = try run(handoverBinary, ["purge", "--store", spec, "--json"])
                #expect(try jsonObject(again.stdout)["purged"] as? Int == 0)
            }
        }
    }
}
