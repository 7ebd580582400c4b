import Foundation
import TestSupport
import Testing

@Suite struct RequestsCommandTests {
    @Test(arguments: StoreKind.allCases)
    func requestsAreRecordedVerifiedListedExtendedAndAudited(_ kind: StoreKind) async throws {
        try await withStore(kind) { _, spec in
            try await withTemporaryDirectory { folder in
                try Data("a test key of thirty-two bytes!!".utf8).write(to: URL(fileURLWithPath: folder + "/key"))
                let store = ["--store", spec, "--actor", "privacy-desk", "--pseudonym-key-file", folder + "/key"]
                let submitted = try await runOffThread(
                    handoverBinary,
                    ["requests", "submit"] + store + [
                        "--subject", "email=ana.lima@acme.example", "--request-id", "req-100", "--received-at",
                        "2026-10-01T09:00:00Z",
                        "--json",
                    ])
                #expect(submitted.status == 0, "\(submitted.stderr)")
                #expect(!submitted.stdout.contains("ana.lima"))
                let request = try #require((try jsonObject(submitted.stdout)["requests"] as? [[String: Any]])?.first)
                #expect(request["state"] as? String == "received")
                #expect(request["due"] as? String == "2026-11-01T09:00:00Z")
                #expect(request["scope"] as? String == "subject by email")
                let subjectKey = try #require(request["subjectKey"] as? String)
                #expect(subjectKey.count >= 16)

                let later = try await runOffThread(
                    handoverBinary,
                    ["requests", "submit"] + store + [
                        "--tenant", "3", "--request-id", "req-101", "--received-at", "2099-01-01T00:00:00Z",
                    ])
                #expect(later.status == 0)

                #expect(
                    try await runOffThread(
                        handoverBinary, ["requests", "verify", "req-100", "--by", "agent-7"] + store
                    ).status == 0)
                let again = try await runOffThread(
                    handoverBinary, ["requests", "verify", "req-100", "--by", "agent-7"] + store)
                #expect(again.status == 65)
                #expect(again.stderr.contains("conflict"))

                let overdue = try await runOffThread(
                    handoverBinary, ["requests", "list", "--overdue", "--json"] + store)
                let ids = (try jsonObject(overdue.stdout)["requests"] as? [[String: Any]])?.compactMap {
                    $0["id"] as? String
                }
                #expect(ids == ["req-100"])
                let dueSoon = try await runOffThread(
                    handoverBinary, ["requests", "list", "--due-within", "7d"] + store)
                #expect(dueSoon.stdout.contains("req-100") && dueSoon.stdout.contains("OVERDUE"))
                #expect(!dueSoon.stdout.contains("req-101"))

                let tooLong = try await runOffThread(
                    handoverBinary, ["requests", "extend", "req-100", "--months", "3", "--reason", "complex"] + store)
                #expect(tooLong.status == 64)
                let extended = try await runOffThread(
                    handoverBinary,
                    ["requests", "extend", "req-100", "--months", "2", "--reason", "many systems", "--json"] + store)
                #expect(
                    (try jsonObject(extended.stdout)["requests"] as? [[String: Any]])?.first?["due"] as? String
                        == "2027-01-01T09:00:00Z")

                let shown = try await runOffThread(handoverBinary, ["requests", "show", "req-100", "--json"] + store)
                let audit = try #require(try jsonObject(shown.stdout)["audit"] as? [[String: Any]])
                #expect(audit.compactMap { $0["to"] as? String } == ["received", "verified", "queued", "queued"])
                #expect(audit.first?["actor"] as? String == "privacy-desk")
                #expect(audit[1]["actor"] as? String == "agent-7")
                #expect(!shown.stdout.contains("ana.lima"))
                #expect(audit.allSatisfy { $0["subjectKey"] as? String == subjectKey })

                #expect(
                    try await runOffThread(
                        handoverBinary, ["requests", "cancel", "req-101", "--reason", "withdrawn"] + store
                    ).status
                        == 0)
                #expect(try await runOffThread(handoverBinary, ["requests", "show", "req-404"] + store).status == 65)
            }
        }
    }
}
