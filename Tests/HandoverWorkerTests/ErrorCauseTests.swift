import Foundation
import HandoverArchive
import HandoverCore
import HandoverPostgres
import HandoverSQLite
import HandoverStore
import HandoverWorker
import Synchronization
import TestSupport
import Testing

/// The HandoverError `body` throws, or nil.
func caught(_ body: () throws -> Void) -> HandoverError? {
    do {
        try body()
        return nil
    } catch {
        return error as? HandoverError
    }
}

/// The HandoverError `body` throws, or nil.
func caughtAsync(_ body: () async throws -> Void) async -> HandoverError? {
    do {
        try await body()
        return nil
    } catch {
        return error as? HandoverError
    }
}

/// A count shared between tasks.
final class Counter: Sendable {
    let count = Mutex(0)
}

/// A SQLite database with one table `t` holding `rows` rows of 200 characters (several pages), at `path`.
func makeDatabase(_ path: String, rows: Int = 300) throws {
    try SQLiteConnection.withConnection(path: path, mode: .readWriteCreate) { db in
        try db.execute(
            """
            CREATE TABLE t (id INTEGER PRIMARY KEY, text TEXT NOT NULL);
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < \(rows))
            INSERT INTO t SELECT i, printf('%0200d', i) FROM n;
            """)
    }
}

/// Real failures, each with the cause its library or the system reports, and whether a worker tries again.
@Suite struct ErrorCauseTests {
    // MARK: SQLite

    /// What another connection gets while `holder` holds the database exclusively (waiting 50 ms at most).
    static func busyError(_ path: String) throws -> HandoverError? {
        try SQLiteConnection.withConnection(path: path, mode: .readWriteCreate) { holder in
            try SQLiteConnection.withConnection(path: path, mode: .readWriteCreate) { other in
                try holder.execute("BEGIN EXCLUSIVE")
                defer { try? holder.execute("COMMIT") }
                other.setBusyTimeout(milliseconds: 50)
                return caught { try other.execute("BEGIN IMMEDIATE") }
            }
        }
    }

    /// Dropping a table while a statement of the same connection is reading it.
    static func lockedError(_ path: String) throws -> HandoverError? {
        try SQLiteConnection.withConnection(path: path, mode: .readWriteCreate) { db in
            let select = try db.prepare("SELECT id FROM t")
            guard try select.step() else { return nil }
            return caught { try db.execute("DROP TABLE t") }
        }
    }

    /// Growing a database that may not grow (as when the disk is full, with SQLite's own code).
    static func fullError(_ path: String) throws -> HandoverError? {
        try SQLiteConnection.withConnection(path: path, mode: .readWriteCreate) { db in
            let pages = try db.prepare("PRAGMA page_count")
            guard try pages.step(), case .integer(let count) = try pages.value(at: 0) else { return nil }
            try db.execute("PRAGMA max_page_count = \(count)")
            return caught { try db.execute("INSERT INTO t SELECT id + 1000, printf('%05000d', id) FROM t") }
        }
    }

    /// Garbage written over every page but the first (the header and the schema stay readable), then a read.
    static func corruptError(_ path: String) throws -> HandoverError? {
        try makeDatabase(path)
        guard let handle = FileHandle(forUpdatingAtPath: path) else { return nil }
        let size = try handle.seekToEnd()
        guard size > 3 * 4096 else { return nil }
        try handle.seek(toOffset: 4096)
        try handle.write(contentsOf: Data(repeating: 0xA5, count: Int(size) - 4096))
        try handle.close()
        return try SQLiteConnection.withConnection(path: path, mode: .readOnly) { db in
            caught {
                let select = try db.prepare("SELECT text FROM t ORDER BY id")
                while try select.step() {}
            }
        }
    }

    /// Opening a file of garbage.
    static func notADatabaseError(_ path: String) throws -> HandoverError? {
        try Data(repeating: 0xA5, count: 8192).write(to: URL(fileURLWithPath: path))
        return caught { try SQLiteConnection.withConnection(path: path, mode: .readOnly) { _ in } }
    }

    /// Inserting a primary key that is there.
    static func constraintError(_ path: String) throws -> HandoverError? {
        try SQLiteConnection.withConnection(path: path, mode: .readWriteCreate) { db in
            let insert = try db.prepare("INSERT INTO t (id, text) VALUES (?, ?)")
            return caught { try insert.run([.integer(1), .text("again")]) }
        }
    }

    @Test func aDatabaseAnotherConnectionHoldsExclusivelyIsBusyAndRetried() async throws {
        try await withTemporaryDirectory { folder in
            try makeDatabase(folder + "/busy.sqlite", rows: 1)
            let error = try Self.busyError(folder + "/busy.sqlite")
            #expect(error?.cause?.sqlitePrimaryResultCode == 5, "SQLITE_BUSY: \(String(describing: error?.cause))")
            #expect(error?.isTransient == true)
        }
    }

    @Test func aTableLockedByARunningStatementIsLockedAndRetried() async throws {
        try await withTemporaryDirectory { folder in
            try makeDatabase(folder + "/locked.sqlite", rows: 3)
            let error = try Self.lockedError(folder + "/locked.sqlite")
            #expect(error?.cause?.sqlitePrimaryResultCode == 6, "SQLITE_LOCKED: \(String(describing: error?.cause))")
            #expect(error?.isTransient == true)
        }
    }

    @Test func aFullDatabaseIsRetried() async throws {
        try await withTemporaryDirectory { folder in
            try makeDatabase(folder + "/full.sqlite", rows: 1)
            let error = try Self.fullError(folder + "/full.sqlite")
            #expect(error?.cause?.sqlitePrimaryResultCode == 13, "SQLITE_FULL: \(String(describing: error?.cause))")
            #expect(error?.isTransient == true)
        }
    }

    @Test func aCorruptDatabaseFailsAtOnce() async throws {
        try await withTemporaryDirectory { folder in
            let error = try Self.corruptError(folder + "/corrupt.sqlite")
            #expect(error?.cause?.sqlitePrimaryResultCode == 11, "SQLITE_CORRUPT: \(String(describing: error?.cause))")
            // Its code alone (the source failed) would have been retried.
            #expect(error?.code == .sourceFailed)
            #expect(error?.isTransient == false)
        }
    }

    @Test func aFileThatIsNotADatabaseFailsAtOnce() async throws {
        try await withTemporaryDirectory { folder in
            let error = try Self.notADatabaseError(folder + "/garbage.sqlite")
            #expect(error?.cause?.sqlitePrimaryResultCode == 26, "SQLITE_NOTADB: \(String(describing: error?.cause))")
            // Its code alone (the source is unavailable) would have been retried.
            #expect(error?.code == .sourceUnavailable)
            #expect(error?.isTransient == false)
        }
    }

    @Test func aConstraintViolationFailsAtOnce() async throws {
        try await withTemporaryDirectory { folder in
            try makeDatabase(folder + "/constraint.sqlite", rows: 1)
            let error = try Self.constraintError(folder + "/constraint.sqlite")
            #expect(error?.cause?.sqliteResultCode == 1555, "SQLITE_CONSTRAINT_PRIMARYKEY")
            #expect(error?.cause?.sqlitePrimaryResultCode == 19)
            #expect(error?.isTransient == false)
        }
    }

    @Test func theStoresAppendOnlyAuditLogRefusesAnEditForGood() async throws {
        try await withStore(.sqlite) { store, _ in
            try await submitDemoRequests(store, [("req-a", "a@example.com")])
            let error = await caughtAsync {
                try await store.backEnd.write { try await $0.run("DELETE FROM audit", []) }
            }
            #expect(error?.cause?.sqlitePrimaryResultCode == 19, "a trigger's RAISE(ABORT) is a constraint")
            #expect(error?.isTransient == false)
        }
    }

    // MARK: The file system

    @Test func aFullDiskIsRetried() throws {
        let descriptor = open("/dev/full", O_WRONLY)
        try #require(descriptor >= 0)
        defer { _ = close(descriptor) }
        let byte: [UInt8] = [1]
        #expect(write(descriptor, byte, 1) == -1)
        let error = HandoverError(errno: errno, .outputUnavailable, "cannot write 'x'")
        #expect(error.cause?.errno == ENOSPC)
        #expect(error.isTransient)
    }

    @Test func aFolderThatIsAFileFailsAtOnce() async throws {
        try await withTemporaryDirectory { folder in
            let file = folder + "/plain"
            #expect(FileManager.default.createFile(atPath: file, contents: Data()))
            let error = caught { try AtomicFile.create(at: file + "/out.zip") { _, _ in } }
            #expect(error?.cause?.errno == ENOTDIR)
            // Its code alone (the output is unavailable) would have been retried.
            #expect(error?.code == .outputUnavailable)
            #expect(error?.isTransient == false)
        }
    }

    @Test func anIOErrorIsRetried() {
        #expect(HandoverError(errno: EIO, .archiveFailed, "cannot write 'x'").isTransient)
        #expect(HandoverError(errno: EIO, .archiveCorrupt, "cannot read 'x'").isTransient)
        #expect(!HandoverError(errno: EACCES, .outputUnavailable, "cannot create 'x'").isTransient)
    }

    // MARK: PostgreSQL

    @Test func aSerializationFailureIsRetried() async throws {
        try await withStore(.postgres) { store, _ in
            try await submitDemoRequests(store, [("req-s", "a@example.com")])
            let error = await caughtAsync {
                try await store.backEnd.write { first in
                    try await first.run("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", [])
                    _ = try await first.rows("SELECT attempts FROM requests WHERE id = 'req-s'", [])
                    try await store.backEnd.write { second in
                        try await second.run("UPDATE requests SET attempts = 5 WHERE id = 'req-s'", [])
                    }
                    try await first.run("UPDATE requests SET attempts = 6 WHERE id = 'req-s'", [])
                }
            }
            #expect(error?.cause?.sqlstate == "40001")
            #expect(error?.isTransient == true)
        }
    }

    @Test func aDeadlockIsRetried() async throws {
        try await withStore(.postgres) { store, _ in
            try await submitDemoRequests(store, [("req-x", "a@example.com"), ("req-y", "b@example.com")])
            let locked = Counter()
            @Sendable func update(_ first: String, then second: String) async -> HandoverError? {
                await caughtAsync {
                    try await store.backEnd.write { tx in
                        try await tx.run("UPDATE requests SET attempts = 1 WHERE id = ?", [.text(first)])
                        locked.count.withLock { $0 += 1 }
                        while locked.count.withLock({ $0 }) < 2 { try await Task.sleep(for: .milliseconds(10)) }
                        try await tx.run("UPDATE requests SET attempts = 2 WHERE id = ?", [.text(second)])
                    }
                }
            }
            async let one = update("req-x", then: "req-y")
            async let two = update("req-y", then: "req-x")
            let errors = await [one, two].compactMap { $0 }
            #expect(errors.count == 1, "one transaction is chosen as the deadlock's victim")
            #expect(errors.first?.cause?.sqlstate == "40P01")
            #expect(errors.first?.isTransient == true)
        }
    }

    /// A statement an administrator cancels (`pg_cancel_backend`, as a statement timeout does) is retried.
    /// (Ending the backend with `pg_terminate_backend` instead made postgres-nio 1.33 hang now and then, the
    /// connection's lease never returning; a lost connection's classification is checked without a server below.)
    @Test func aQueryCancelledByAnAdministratorIsRetried() async throws {
        try await withStore(.postgres) { store, _ in
            let tag = "victim-" + UUID().uuidString
            async let victim = caughtAsync {
                try await store.backEnd.write { tx in try await tx.run("SELECT pg_sleep(30), '\(tag)'", []) }
            }
            var cancelled = false
            for _ in 0..<500 where !cancelled {
                let rows = try await store.backEnd.write { tx in
                    try await tx.rows(
                        """
                        SELECT pg_cancel_backend(pid) FROM pg_stat_activity
                        WHERE query LIKE '%' || ? || '%' AND pid <> pg_backend_pid()
                        """, [.text(tag)])
                }
                cancelled = !rows.isEmpty
                if !cancelled { try await Task.sleep(for: .milliseconds(10)) }
            }
            #expect(cancelled)
            let error = await victim
            #expect(error?.cause?.sqlstate == "57014", "\(String(describing: error?.cause))")
            #expect(error?.isTransient == true)
        }
    }

    @Test func aLostConnectionIsRetried() {
        #expect(HandoverError(.sourceFailed, "the connection closed", cause: .connectionLost).isTransient)
        #expect(HandoverError(.sourceUnavailable, "x", cause: .sqlstate("57P01")).isTransient, "admin shutdown")
        #expect(HandoverError(.sourceUnavailable, "x", cause: .sqlstate("08006")).isTransient, "connection failure")
    }

    @Test func aUniqueViolationAndARaisedExceptionFailAtOnce() async throws {
        try await withStore(.postgres) { store, _ in
            try await submitDemoRequests(store, [("req-u", "a@example.com")])
            let duplicate = await caughtAsync {
                try await store.backEnd.write {
                    try await $0.run(
                        """
                        INSERT INTO requests (id, purpose, scope_kind, tenant, received_at, state, due)
                        VALUES ('req-u', 'access', 'tenant', '1', 0, 'received', 0)
                        """, [])
                }
            }
            #expect(duplicate?.cause?.sqlstate == "23505")
            #expect(duplicate?.code == .sourceFailed)
            #expect(duplicate?.isTransient == false)
            let appendOnly = await caughtAsync {
                try await store.backEnd.write { try await $0.run("DELETE FROM audit", []) }
            }
            #expect(appendOnly?.cause?.sqlstate == "P0001")
            #expect(appendOnly?.isTransient == false)
        }
    }

    @Test func aWrongPasswordFailsAtOnce() async throws {
        var configuration = try PostgresStoreConfiguration(url: testPostgresURL)
        configuration.password = "not-the-password"
        let error = await caughtAsync {
            try await RequestStore.withPostgres(configuration, pseudonymizer: testPseudonymizer, logger: quietLogger) {
                _ in
            }
        }
        #expect(error?.cause?.sqlstate == "28P01")
        // Its code alone (the source is unavailable) would have been retried.
        #expect(error?.code == .sourceUnavailable)
        #expect(error?.isTransient == false)
        #expect(error?.localizedMessage.contains("not-the-password") == false)
    }

    @Test func aRefusedConnectionIsRetried() async throws {
        let error = await caughtAsync {
            try await RequestStore.withPostgres(
                try PostgresStoreConfiguration(url: "postgres://u:secret@127.0.0.1:1/none?sslmode=disable"),
                pseudonymizer: testPseudonymizer, logger: quietLogger
            ) { _ in }
        }
        #expect(error?.cause?.errno == ECONNREFUSED, "\(String(describing: error?.cause))")
        #expect(error?.isTransient == true)
    }

    // MARK: Without a cause

    @Test func withoutACauseTheCodeDecidesAndABugIsNotRetried() {
        #expect(HandoverError(.sourceFailed, "x").isTransient)
        #expect(HandoverError(.outputUnavailable, "x").isTransient)
        #expect(HandoverError(.cancelled, "x").isTransient)
        #expect(!HandoverError(.invalidData, "x").isTransient)
        #expect(!HandoverError(.internalError, "x").isTransient)
        #expect(HandoverError(.internalError, "x", cause: .transient).isTransient)
        #expect(HandoverError(.sourceUnavailable, "x", cause: .connectionLost).isTransient)
        #expect(!HandoverError(.sourceUnavailable, "x", cause: .authenticationFailed).isTransient)
    }

    // MARK: In a worker

    @Test func aWorkerRetriesABusyDatabaseButNotACorruptOne() async throws {
        try await withTemporaryDirectory { folder in
            try makeDatabase(folder + "/busy.sqlite", rows: 1)
            let corrupt = try #require(try Self.corruptError(folder + "/corrupt.sqlite"))
            let busy = try #require(try Self.busyError(folder + "/busy.sqlite"))
            try await withStore(.sqlite) { store, _ in
                let retry = RetryPolicy(maxAttempts: 3, backoffSeconds: 0)
                for (id, error, attempts) in [("req-c", corrupt, 1), ("req-b", busy, 3)] {
                    try await submitDemoRequests(store, [(id, "a@example.com")])
                    let fulfiller = ScriptedFulfiller(behaviour: .fail(error))
                    await RequestWorker(
                        store: store, fulfiller: fulfiller,
                        configuration: WorkerConfiguration(id: "w-" + id, retry: retry), logger: quietLogger
                    ).run(untilIdle: true)
                    let stored = try #require(try await store.request(try RequestID(id)))
                    #expect(stored.state == .failed)
                    #expect(stored.attempts == attempts, "\(id)")
                    #expect(fulfiller.started.withLock { $0 } == attempts)
                }
            }
        }
    }
}
