import Foundation
import HandoverCore
import HandoverStore
import TestSupport
import Testing

/// Checks every recorded delivery's body against `components.schemas.NotificationEvent` of the OpenAPI document.
private let eventSchemaCheck = """
    import json, sys
    from jsonschema import Draft202012Validator
    document = json.load(open(sys.argv[1]))
    schema = dict(document["components"]["schemas"]["NotificationEvent"], components=document["components"])
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    bodies = [json.loads(line)["body"] for line in open(sys.argv[2]) if line.strip()]
    errors = [error.message for body in bodies for error in validator.iter_errors(body)]
    print(f"{len(bodies)} events, {len(errors)} errors", *errors[:5], sep="\\n")
    sys.exit(1 if errors or not bodies else 0)
    """

/// Webhooks from the real binary to a receiver that checks signatures with Python's `hmac`.
@Suite struct NotifyCommandTests {
    @Test func aWorkerPostsSignedEventsThatAnIndependentReceiverVerifiesAndRetriesAFailedOne() async throws {
        try await withStore(.sqlite) { store, spec in
            try await withTemporaryDirectory { folder in
                let data = try workerSetup(folder)
                let receiver = try WebhookReceiver(folder: folder, script: [503])
                defer { receiver.stop() }
                try await queue(store, [("req-hook", .tenant("1"))])
                let worker = try await runOffThread(
                    handoverBinary,
                    [
                        "worker", "--store", spec, "--until-idle", "--json", "--notify-url", receiver.url,
                        "--notify-secret-file", receiver.secretFile, "--notify-backoff", "200ms",
                    ] + data)
                #expect(worker.status == 0, "\(worker.stderr)")
                let deliveries = receiver.deliveries
                // A 503, then the retry, delivered. Delivery is at least once: on a loaded machine an answer can come
                // after the client's timeout, and the event is sent again (same id, for the receiver to drop).
                try #require(deliveries.count >= 2, "a 503, then the retry: \(deliveries)")
                #expect(deliveries.first?["answered"] as? Int == 503)
                #expect(deliveries.dropFirst().contains { $0["answered"] as? Int == 204 })
                #expect(Set(deliveries.compactMap { $0["eventId"] as? String }).count == 1, "one event, sent again")
                for delivery in deliveries {
                    #expect(delivery["signatureValid"] as? Bool == true, "Python's hmac accepts the signature")
                    #expect(delivery["validWithAnotherSecret"] as? Bool == false, "and would refuse another secret's")
                    #expect(delivery["type"] as? String == "request.completed")
                    #expect(delivery["contentType"] as? String == "application/json")
                    #expect(delivery["path"] as? String == "/hooks/handover?key=receiver-only")
                }
                // Each body is what the OpenAPI document's webhook says it is (Python's jsonschema, draft 2020-12).
                let conforms = try run(
                    "/usr/bin/env",
                    ["python3", "-c", eventSchemaCheck, packageRoot + "/Schemas/openapi.json", receiver.log])
                #expect(conforms.status == 0, "\(conforms.stdout)\(conforms.stderr)")
                let body = try #require(deliveries.last?["body"] as? [String: Any])
                let request = try #require(body["request"] as? [String: Any])
                let archive = try #require(request["archive"] as? [String: Any])
                let file = folder + "/out/handover-req-hook.zip"
                let digest = try run("/usr/bin/sha256sum", [file]).stdout.prefix(64)
                #expect(archive["sha256"] as? String == String(digest))
                #expect(request["id"] as? String == "req-hook" && request["state"] as? String == "completed")
                #expect(worker.stdout.contains("\"notify-retrying\"") && worker.stdout.contains("\"notified\""))
                #expect(!(worker.stdout + worker.stderr).contains("receiver-only"), "the URL's query is not shown")

                let audit = try await store.audit(of: try RequestID("req-hook")).compactMap(\.detail)
                #expect(audit.contains { $0.contains("attempt 1 of 12 failed (HTTP 503)") })
                #expect(audit.contains { $0.contains("delivered (HTTP 204, attempt ") }, "\(audit)")
                #expect(try await store.checkAudit().isIntact)
            }
        }
    }

    @Test func badNotificationSettingsAreRefusedWithoutShowingTheSecret() throws {
        try withTemporaryDirectorySync { folder in
            let store = "sqlite:" + folder + "/requests.sqlite"
            let data = [
                "worker", "--store", store, "--db", folder + "/none.sqlite", "--map", folder + "/m.yaml", "--out",
                folder + "/out", "--until-idle",
            ]
            let alone = try run(handoverBinary, data + ["--notify-url", "http://127.0.0.1:9/"])
            #expect(alone.status == 64 && alone.stderr.contains("--notify-secret-file"), "\(alone.stderr)")
            let secret = folder + "/secret"
            let scheme = try run(
                handoverBinary, data + ["--notify-url", "ftp://127.0.0.1/x", "--notify-secret-file", secret])
            #expect(scheme.status == 64 && scheme.stderr.contains("http:// or https://"), "\(scheme.stderr)")
            let credentials = try run(
                handoverBinary, data + ["--notify-url", "https://me:pw@hooks.example/", "--notify-secret-file", secret])
            #expect(credentials.status == 64 && !credentials.stderr.contains("pw@"), "\(credentials.stderr)")

            // The secret file is checked as the store's password file is: private, and long enough.
            let demo = try handover("demo", "--out", folder + "/db", "--json")
            #expect(demo.status == 0)
            let worker = [
                "worker", "--store", store, "--db", folder + "/db/demo.sqlite", "--map", folder + "/db/demo-map.yaml",
                "--out", folder + "/out", "--until-idle", "--notify-url", "http://127.0.0.1:9/",
                "--notify-secret-file", secret,
            ]
            _ = FileManager.default.createFile(
                atPath: secret, contents: Data("sixteen-byte-secret-here\n".utf8),
                attributes: [.posixPermissions: 0o644])
            let shared = try run(handoverBinary, worker)
            #expect(shared.status != 0 && shared.stderr.contains("may be read by others"), "\(shared.stderr)")
            #expect(!shared.stderr.contains("sixteen-byte"))
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: secret)
            try Data("short\n".utf8).write(to: URL(fileURLWithPath: secret))
            let short = try run(handoverBinary, worker)
            #expect(short.status != 0 && short.stderr.contains("at least 16 bytes"), "\(short.stderr)")
            #expect(!short.stderr.contains("short\n"))
        }
    }
}
