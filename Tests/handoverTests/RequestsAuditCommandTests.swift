import Foundation
import HandoverCore
import HandoverStore
import TestSupport
import Testing

/// Runs one statement on the store's database directly, as someone with access to it would.
private func raw(_ store: RequestStore, _ sql: String, _ parameters: [StoreValue] = []) async throws {
    try await store.backEnd.write { try await $0.run(sql, parameters) }
}

/// Appends a correctly chained audit row by hand (what a compromised writer could do), so that only the
/// printing is under test.
private func appendChained(_ store: RequestStore, request: String, actor: String, detail: String) async throws {
    try await store.backEnd.write { tx in
        let head = try await tx.rows("SELECT chain, hash FROM audit ORDER BY chain DESC LIMIT 1", [])
        guard case .integer(let last) = head.first?[0], case .text(let previous) = head.first?[1] else {
            throw HandoverError(.internalError, "no head")
        }
        let row = AuditChain.Row(
            seq: 0, chain: last + 1, hash: nil, at: 1_000, request: request, subjectKey: nil, from: "received",
            to: "received", actor: actor, detail: detail)
        try await tx.run(
            """
            INSERT INTO audit (at, request, from_state, to_state, actor, detail, chain, hash)
            VALUES (1000, ?, 'received', 'received', ?, ?, ?, ?)
            """,
            [
                .text(request), .text(actor), .text(detail), .integer(last + 1),
                .text(AuditChain.hash(row, chain: last + 1, previous: previous)),
            ])
    }
}

/// The store URL without its password, and the password.
private func splitPassword(_ url: String) -> (String, String)? {
    guard let scheme = url.range(of: "://"), let at = url[scheme.upperBound...].firstIndex(of: "@"),
        let colon = url[scheme.upperBound..<at].firstIndex(of: ":")
    else { return nil }
    return (
        String(url[..<colon]) + String(url[at...]), String(url[url.index(after: colon)..<at])
    )
}

@Suite struct RequestsAuditCommandTests {
    @Test(arguments: StoreKind.allCases)
    func forgedLinesAreRefusedAtInputAndEscapedOnOutput(_ kind: StoreKind) async throws {
        try await withStore(kind) { db, spec in
            try await withTemporaryDirectory { folder in
                try Data("a test key of thirty-two bytes!!".utf8).write(to: URL(fileURLWithPath: folder + "/key"))
                let store = ["--store", spec, "--pseudonym-key-file", folder + "/key"]
                #expect(
                    try await runOffThread(
                        handoverBinary, ["requests", "submit", "--tenant", "3", "--request-id", "req-1"] + store
                    )
                    .status == 0)
                let forged = try await runOffThread(
                    handoverBinary,
                    [
                        "requests", "verify", "req-1", "--by",
                        "x\n  2026-01-01T00:00:00Z  queued → completed  by forged line",
                    ]
                        + store)
                #expect(forged.status == 64)
                #expect(forged.stderr.contains("control"))
                #expect(!forged.stderr.contains("forged line"))
                let bidi = try await runOffThread(
                    handoverBinary, ["requests", "cancel", "req-1", "--reason", "ok\u{202E}txt.exe"] + store)
                #expect(bidi.status == 64)

                // Rows written behind the store's back print escaped, on one line each.
                try await appendChained(
                    db, request: "req-1", actor: "x\n  2026-01-01T00:00:00Z  received → completed  by forged",
                    detail: "a\u{202E}b")
                try await raw(
                    db, "UPDATE requests SET failure_reason = ? WHERE id = 'req-1'", [.text("one\ntwo\u{1B}[31m")])
                let shown = try await runOffThread(handoverBinary, ["requests", "show", "req-1"] + store)
                #expect(shown.status == 0, "\(shown.stderr)")
                let lines = shown.stdout.split(separator: "\n")
                #expect(!lines.contains { $0.hasPrefix("  2026-01-01T00:00:00Z") }, "\(shown.stdout)")
                #expect(shown.stdout.contains("by x\\u{A}  2026-01-01T00:00:00Z  received → completed  by forged"))
                #expect(shown.stdout.contains("(a\\u{202E}b)"))
                #expect(shown.stdout.contains("last failure: one\\u{A}two\\u{1B}[31m"))
                #expect(!shown.stdout.unicodeScalars.contains { $0.value == 0x202E || $0.value == 0x1B })
                let json = try await runOffThread(handoverBinary, ["requests", "show", "req-1", "--json"] + store)
                #expect(json.status == 0)
                #expect(!json.stdout.unicodeScalars.contains { $0.value == 0x202E || $0.value == 0x1B })
                #expect(json.stdout.contains("a\\u202eb"))
                let object = try jsonObject(json.stdout)
                let audit = try #require(object["audit"] as? [[String: Any]])
                #expect(audit.last?["detail"] as? String == "a\u{202E}b", "the JSON value is unchanged")
            }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func auditCheckAndShowFailOnATamperedLog(_ kind: StoreKind) async throws {
        try await withStore(kind) { db, spec in
            try await withTemporaryDirectory { folder in
                try Data("a test key of thirty-two bytes!!".utf8).write(to: URL(fileURLWithPath: folder + "/key"))
                let store = ["--store", spec, "--pseudonym-key-file", folder + "/key"]
                for id in ["req-1", "req-2"] {
                    #expect(
                        try await runOffThread(
                            handoverBinary, ["requests", "submit", "--tenant", "3", "--request-id", id] + store
                        )
                        .status == 0)
                    #expect(
                        try await runOffThread(handoverBinary, ["requests", "verify", id, "--by", "agent-7"] + store)
                            .status == 0)
                }
                let intact = try await runOffThread(handoverBinary, ["requests", "audit", "--check", "--json"] + store)
                #expect(intact.status == 0, "\(intact.stderr)")
                let report = try jsonObject(intact.stdout)
                #expect(report["intact"] as? Bool == true)
                #expect(report["rows"] as? Int == 6 && report["headChain"] as? Int == 6)
                #expect(try await runOffThread(handoverBinary, ["requests", "show", "req-1"] + store).status == 0)

                // An attacker removes the append-only trigger and deletes req-1's verification.
                for sql in kind == .sqlite
                    ? ["DROP TRIGGER audit_append_only_delete", "DELETE FROM audit WHERE chain = 2"]
                    : ["DROP TRIGGER audit_append_only ON audit", "DELETE FROM audit WHERE chain = 2"]
                {
                    try await raw(db, sql)
                }
                let broken = try await runOffThread(handoverBinary, ["requests", "audit", "--check", "--json"] + store)
                #expect(broken.status == 65)
                let problems = try #require(try jsonObject(broken.stdout)["problems"] as? [[String: Any]])
                #expect(problems.contains { $0["kind"] as? String == "gap" && $0["chain"] as? Int == 3 })
                #expect(broken.stderr.contains("audit row 2 of the chain is missing"))
                let text = try await runOffThread(handoverBinary, ["requests", "audit", "--check"] + store)
                #expect(text.status == 65 && text.stdout.contains("gap: audit row 2"))
                let shown = try await runOffThread(handoverBinary, ["requests", "show", "req-2"] + store)
                #expect(shown.status == 65, "a break anywhere in the chain puts every log in doubt")
                #expect(shown.stderr.contains("gap"))

                try await raw(db, "DROP TABLE audit")
                let dropped = try await runOffThread(handoverBinary, ["requests", "audit", "--check"] + store)
                #expect(dropped.status == 65)
                #expect(dropped.stdout.contains("missing-table"))
                let showDropped = try await runOffThread(
                    handoverBinary, ["requests", "show", "req-1", "--json"] + store)
                #expect(showDropped.status == 65)
                #expect(showDropped.stderr.contains("the audit table is missing"))
            }
        }
    }

    @Test func thePostgresPasswordComesFromAFileOrTheEnvironmentInsteadOfTheURL() async throws {
        try await withStore(.postgres) { _, spec in
            try await withTemporaryDirectory { folder in
                let (url, password) = try #require(splitPassword(spec))
                try Data("a test key of thirty-two bytes!!".utf8).write(to: URL(fileURLWithPath: folder + "/key"))
                let common = ["--store", url, "--pseudonym-key-file", folder + "/key"]
                var environment = ProcessInfo.processInfo.environment
                environment["HOME"] = folder  // no ~/.pgpass
                environment["PGPASSWORD"] = nil
                environment["PGPASSFILE"] = nil

                let without = try await runOffThread(
                    handoverBinary, ["requests", "list"] + common, environment: environment)
                #expect(without.status != 0)

                let file = folder + "/pw"
                try Data((password + "\n").utf8).write(to: URL(fileURLWithPath: file))
                try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)
                let fromFile = try await runOffThread(
                    handoverBinary, ["requests", "list", "--store-password-file", file] + common,
                    environment: environment)
                #expect(fromFile.status == 0, "\(fromFile.stderr)")

                environment["PGPASSWORD"] = password
                let fromEnvironment = try await runOffThread(
                    handoverBinary, ["requests", "list"] + common, environment: environment)
                #expect(fromEnvironment.status == 0, "\(fromEnvironment.stderr)")

                try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file)
                let loose = try await runOffThread(
                    handoverBinary, ["requests", "list", "--store-password-file", file] + common,
                    environment: environment)
                #expect(loose.status == 66)
                #expect(!loose.stderr.contains(password))
            }
        }
    }
}
