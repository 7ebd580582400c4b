import Foundation
import HandoverCore
import HandoverPostgres
import HandoverStore
import Logging
import TestSupport
import Testing

/// Ways an attacker with access to the database changes the audit log.
enum Tamper: String, CaseIterable, CustomStringConvertible, Sendable {
    /// Drops the append-only trigger and edits one row's actor.
    case editRow
    /// Drops the trigger and deletes one row in the middle of the chain.
    case deleteRow
    /// Drops the trigger and deletes a request's last row (the tail of the chain).
    case deleteLastRow
    /// Deletes a request and its rows.
    case deleteRequest
    /// Inserts a row by hand, without a position in the chain.
    case insertRow
    /// Drops the audit table.
    case dropTable

    var description: String { rawValue }
}

/// The SQL that removes the audit table's append-only trigger, as someone with access to the database would.
func dropTrigger(_ kind: StoreKind) -> [String] {
    switch kind {
    case .sqlite, .memory: ["DROP TRIGGER audit_append_only_update", "DROP TRIGGER audit_append_only_delete"]
    case .postgres: ["DROP TRIGGER audit_append_only ON audit"]
    }
}

/// Runs SQL on the store's database directly, one statement each, as someone with access to it would.
func runRaw(_ store: RequestStore, _ kind: StoreKind, _ statements: [String]) async throws {
    for statement in statements { try await store.backEnd.write { try await $0.run(statement, []) } }
}

func runRaw(_ store: RequestStore, _ kind: StoreKind, _ statement: String) async throws {
    try await runRaw(store, kind, [statement])
}

/// Opens the store `spec` names again (as the next process would), for the length of `body`.
func reopen<T: Sendable>(_ spec: String, _ body: (RequestStore) async throws -> T) async throws -> T {
    if spec.hasPrefix("sqlite:") {
        return try await body(
            try RequestStore.sqlite(path: String(spec.dropFirst(7)), pseudonymizer: testPseudonymizer))
    }
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    return try await RequestStore.withPostgres(
        try PostgresStoreConfiguration(url: spec), pseudonymizer: testPseudonymizer, logger: logger, body)
}

@Suite struct AuditChainTests {
    @Test(arguments: StoreKind.everyBackEnd)
    func anIntactLogChecksCleanAndItsHeadIsTheLastRow(_ kind: StoreKind) async throws {
        try await withStore(kind) { store, _ in
            try await queued(store, ["req-a", "req-b"])
            let check = try await store.checkAudit()
            #expect(check.isIntact, "\(check.problems)")
            #expect(check.rows == 6)
            #expect(check.head?.chain == 6)
            #expect(check.head?.hash.count == 64)
            try await store.cancel(try RequestID("req-a"), actor: "desk", reason: "withdrawn", at: .now())
            let after = try await store.checkAudit()
            #expect(after.isIntact && after.head?.chain == 7 && after.head?.hash != check.head?.hash)
        }
    }

    @Test(arguments: StoreKind.allCases, Tamper.allCases)
    func tamperingIsDetectedAndNamed(_ kind: StoreKind, _ tamper: Tamper) async throws {
        try await withStore(kind) { store, spec in
            try await queued(store, ["req-a", "req-b", "req-c"])  // rows 1–3 for a, 4–6 for b, 7–9 for c
            #expect(try await store.checkAudit().isIntact)
            switch tamper {
            case .editRow:
                try await runRaw(store, kind, dropTrigger(kind))
                try await runRaw(store, kind, "UPDATE audit SET actor = 'someone else' WHERE chain = 5")
            case .deleteRow:
                try await runRaw(store, kind, dropTrigger(kind))
                try await runRaw(store, kind, "DELETE FROM audit WHERE chain = 4")
            case .deleteLastRow:
                try await runRaw(store, kind, dropTrigger(kind))
                try await runRaw(store, kind, "DELETE FROM audit WHERE chain = 9")
            case .deleteRequest:
                try await runRaw(store, kind, dropTrigger(kind))
                try await runRaw(store, kind, "DELETE FROM audit WHERE request = 'req-b'")
                try await runRaw(store, kind, "DELETE FROM requests WHERE id = 'req-b'")
            case .insertRow:
                try await runRaw(
                    store, kind,
                    "INSERT INTO audit (at, request, to_state, actor) VALUES (1, 'req-a', 'cancelled', 'intruder')")
            case .dropTable:
                try await runRaw(store, kind, "DROP TABLE audit")
            }
            let check = try await reopen(spec) { try await $0.checkAudit() }
            let kinds = Set(check.problems.map(\.kind))
            switch tamper {
            case .editRow:
                #expect(kinds == [.edited])
                #expect(check.problems.first?.chain == 5)
            case .deleteRow:
                #expect(kinds == [.gap, .historyMismatch])
                #expect(check.problems.first { $0.kind == .gap }?.chain == 5)
                #expect(check.problems.first { $0.kind == .gap }?.message.contains("row 4") == true)
            case .deleteLastRow:
                // The chain alone cannot tell a deleted tail; the request's state can.
                #expect(kinds == [.historyMismatch])
                #expect(check.problems.first?.request?.rawValue == "req-c")
            case .deleteRequest:
                #expect(kinds == [.gap])
                #expect(check.problems.first?.message.contains("4 to 6") == true)
            case .insertRow:
                #expect(kinds.contains(.unchained))
            case .dropTable:
                #expect(kinds == [.missingTable])
                // Opening the store again did not create an empty log to hide the loss, and changes now fail.
                await #expect(throws: HandoverError.self) {
                    try await reopen(spec) { store in
                        try await store.cancel(try RequestID("req-a"), actor: "desk", reason: nil, at: .now())
                    }
                }
                #expect(try await reopen(spec) { try await $0.checkAudit() }.problems.map(\.kind) == [.missingTable])
            }
            for problem in check.problems {
                #expect(!problem.message.contains("someone else") && !problem.message.contains("intruder"))
                #expect(!problem.message.contains("ana@example.com"))
            }
        }
    }

    @Test(arguments: StoreKind.everyBackEnd)
    func concurrentWritersKeepOneChain(_ kind: StoreKind) async throws {
        try await withStore(kind) { store, _ in
            let ids = (1...24).map { "req-w\($0)" }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for chunk in stride(from: 0, to: ids.count, by: 6) {
                    group.addTask { try await queued(store, Array(ids[chunk..<chunk + 6])) }
                }
                try await group.waitForAll()
            }
            let check = try await store.checkAudit()
            #expect(check.isIntact, "\(check.problems)")
            #expect(check.rows == 72 && check.head?.chain == 72)
        }
    }

    /// A store made before the chain existed: the audit table without `chain` and `hash`, with rows.
    @Test(arguments: StoreKind.allCases)
    func aStoreFromBeforeTheChainIsMigrated(_ kind: StoreKind) async throws {
        try await withStore(kind) { store, spec in
            try await queued(store, ["req-old"])
            let seqType =
                kind == .sqlite
                ? "INTEGER PRIMARY KEY AUTOINCREMENT" : "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
            try await runRaw(store, kind, "DROP TABLE audit")
            try await runRaw(
                store, kind,
                """
                CREATE TABLE audit (seq \(seqType), at BIGINT NOT NULL, request TEXT NOT NULL, subject_key TEXT,
                from_state TEXT, to_state TEXT NOT NULL, actor TEXT NOT NULL, detail TEXT)
                """)
            for (from, to) in [("NULL", "'received'"), ("'received'", "'verified'"), ("'verified'", "'queued'")] {
                try await runRaw(
                    store, kind,
                    "INSERT INTO audit (at, request, from_state, to_state, actor) VALUES (5, 'req-old', \(from), \(to), 'desk')"
                )
            }
            if kind == .postgres {
                try await runRaw(
                    store, kind,
                    """
                    CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
                    FOR EACH ROW EXECUTE FUNCTION audit_append_only()
                    """)
            } else {
                try await runRaw(
                    store, kind,
                    """
                    CREATE TRIGGER audit_append_only_update BEFORE UPDATE ON audit
                    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END
                    """)
            }
            try await reopen(spec) { store in
                let check = try await store.checkAudit()
                #expect(check.isIntact, "\(check.problems)")
                #expect(check.rows == 3 && check.head?.chain == 3)
                try await store.cancel(try RequestID("req-old"), actor: "desk", reason: nil, at: .now())
                #expect(try await store.checkAudit().head?.chain == 4)
                #expect(try await store.checkAudit().isIntact)
                // The append-only rule holds again after the migration.
                await #expect(throws: HandoverError.self) {
                    try await store.backEnd.write { try await $0.run("UPDATE audit SET actor = 'x'", []) }
                }
            }
        }
    }

    @Test(arguments: StoreKind.everyBackEnd)
    func controlAndBidiCharactersAreRefusedInActorsAndReasons(_ kind: StoreKind) async throws {
        try await withStore(kind) { store, _ in
            let id = try RequestID("req-x")
            for actor in ["x\nforged line", "tab\there", "bell\u{7}", "c1\u{85}", "rtl\u{202E}txt", "iso\u{2066}x"] {
                let error = await #expect(throws: HandoverError.self) {
                    try await store.submit(try request("req-x"), actor: actor, at: .now())
                }
                #expect(error?.code == .invalidArgument)
                #expect(error?.message.contains(actor) == false)
            }
            try await store.submit(try request("req-x"), actor: "portal", at: .now())
            await #expect(throws: HandoverError.self) { try await store.verify(id, by: "a\r\nb", at: .now()) }
            await #expect(throws: HandoverError.self) {
                try await store.cancel(id, actor: "desk", reason: "ok\u{202D}", at: .now())
            }
            await #expect(throws: HandoverError.self) {
                try await store.extend(id, byMonths: 1, reason: "a\nb", actor: "desk", at: .now())
            }
            #expect(try await store.audit(of: id).count == 1)
            try await store.verify(id, by: "agent-7 (Ana Lima) ünïcode", at: .now())
            #expect(try await store.audit(of: id).count == 2)
        }
    }
}
