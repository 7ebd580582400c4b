import Foundation
import HandoverCore
import HandoverStore
import TestSupport
import Testing

/// A row edited by hand is refused, naming the column, instead of being read with a default in a value's place.
@Suite struct RowDecodingTests {
    /// An edit that only SQLite accepts (its columns take a value of any kind), and the column it spoils.
    static let sqliteEdits: [(sql: String, column: String)] = [
        ("UPDATE requests SET received_at = 'last tuesday' WHERE id = 'req-a'", "received_at"),
        ("UPDATE requests SET received_at = received_at + 0.25 WHERE id = 'req-a'", "received_at"),
        ("UPDATE requests SET due = x'00ff' WHERE id = 'req-a'", "due"),
        ("UPDATE requests SET attempts = 1.5 WHERE id = 'req-a'", "attempts"),
        ("UPDATE requests SET not_before = 'tomorrow' WHERE id = 'req-a'", "not_before"),
        ("UPDATE requests SET worker = x'01' WHERE id = 'req-a'", "worker"),
    ]

    /// Edits both databases accept: values the store never writes.
    static let edits: [(sql: String, column: String)] = [
        ("UPDATE requests SET purpose = 'marketing' WHERE id = 'req-a'", "purpose"),
        ("UPDATE requests SET scope_kind = 'household' WHERE id = 'req-a'", "scope_kind"),
        ("UPDATE requests SET state = 'paused' WHERE id = 'req-a'", "state"),
        ("UPDATE requests SET subject_column = NULL WHERE id = 'req-a'", "subject_column"),
        ("UPDATE requests SET subject_value = NULL WHERE id = 'req-a'", "subject_value"),
    ]

    static let cases: [(StoreKind, String, String)] =
        StoreKind.allCases.flatMap { kind in edits.map { (kind, $0.sql, $0.column) } }
        + sqliteEdits.map { (.sqlite, $0.sql, $0.column) }

    @Test(arguments: cases)
    func anEditedRequestRowIsRefusedNamingTheColumn(_ kind: StoreKind, _ sql: String, _ column: String) async throws {
        try await withStore(kind) { store, _ in
            try await queued(store, ["req-a", "req-b"])
            try await store.backEnd.write { try await $0.run(sql, []) }
            let id = try RequestID("req-a")
            for read in [{ _ = try await store.request(id) }, { _ = try await store.list() }]
                as [@Sendable () async throws -> Void]
            {
                let error = await #expect(throws: HandoverError.self) { try await read() }
                #expect(error?.code == .invalidData)
                #expect(error?.message.contains("request row req-a") == true, "\(error?.message ?? "")")
                #expect(error?.message.contains("column \(column) ") == true, "\(error?.message ?? "")")
                for value in ["marketing", "household", "paused", "last tuesday", "tomorrow", "ana@example.com"] {
                    #expect(error?.localizedMessage.contains(value) == false)
                }
            }
            // The other request still reads.
            #expect(try await store.request(try RequestID("req-b"))?.request.purpose == .access)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func anErasedSubjectValueIsNotAnEditedRow(_ kind: StoreKind) async throws {
        try await withStore(kind) { store, _ in
            try await queued(store, ["req-a"])
            let id = try RequestID("req-a")
            try await store.cancel(id, actor: "desk", reason: "withdrawn", at: at("2026-02-01T00:00:00Z"))
            let stored = try #require(try await store.request(id))
            #expect(stored.state == .cancelled)
            guard case .subject(let selector, _) = stored.request.scope else {
                Issue.record("not a subject request")
                return
            }
            #expect(selector.column == "email" && selector.value == "")
        }
    }

    @Test(arguments: [
        ("UPDATE audit SET at = 'noon' WHERE chain = 2", "at"),
        ("UPDATE audit SET to_state = 'paused' WHERE chain = 2", "to_state"),
        ("UPDATE audit SET from_state = 'limbo' WHERE chain = 2", "from_state"),
        ("UPDATE audit SET actor = x'61' WHERE chain = 2", "actor"),
    ])
    func anEditedAuditRowIsRefusedNamingTheColumn(_ sql: String, _ column: String) async throws {
        try await withStore(.sqlite) { store, _ in
            try await queued(store, ["req-a"])
            try await store.backEnd.write {
                try await $0.run("DROP TRIGGER audit_append_only_update", [])
                try await $0.run(sql, [])
            }
            let error = await #expect(throws: HandoverError.self) {
                _ = try await store.audit(of: try RequestID("req-a"))
            }
            #expect(error?.code == .invalidData)
            #expect(error?.message.contains("column \(column) ") == true, "\(error?.message ?? "")")
            #expect(error?.message.contains("noon") == false && error?.message.contains("paused") == false)
        }
    }

    /// A time nudged by a fraction of a millisecond used to be truncated back, so the row matched its hash and the
    /// edit passed the audit check; now the real number is read as it is and the row refused.
    @Test func aTimeNudgedToARealNumberDoesNotPassTheAuditCheck() async throws {
        try await withStore(.sqlite) { store, _ in
            try await queued(store, ["req-a", "req-b"])
            #expect(try await store.checkAudit().isIntact)
            try await store.backEnd.write {
                try await $0.run("DROP TRIGGER audit_append_only_update", [])
                try await $0.run("UPDATE audit SET at = at + 0.4 WHERE chain = 5", [])
            }
            let error = await #expect(throws: HandoverError.self) { _ = try await store.checkAudit() }
            #expect(error?.code == .invalidData)
            #expect(error?.message.contains("audit row seq 5") == true, "\(error?.message ?? "")")
            #expect(error?.message.contains("column at holds a real number") == true, "\(error?.message ?? "")")
        }
    }

    /// Real numbers and bytes come back from the database exactly as bound, on both back ends.
    @Test(arguments: StoreKind.allCases)
    func realsAndBytesRoundTripExactly(_ kind: StoreKind) async throws {
        try await withStore(kind) { store, _ in
            let cast = kind == .postgres ? ["::float8", "::bytea", "::float8"] : ["", "", ""]
            let values: [StoreValue] = [.real(-2.75e-300), .blob([0, 255, 16, 0]), .real(0.1)]
            let rows = try await store.backEnd.read { tx in
                try await tx.rows("SELECT ?\(cast[0]), ?\(cast[1]), ?\(cast[2])", values)
            }
            #expect(rows == [values])
            if kind == .sqlite {
                let literals = try await store.backEnd.read { tx in
                    try await tx.rows("SELECT 0.25, x'00ff10', 1.5e300, 7", [])
                }
                #expect(literals == [[.real(0.25), .blob([0, 255, 16]), .real(1.5e300), .integer(7)]])
            }
        }
    }
}
