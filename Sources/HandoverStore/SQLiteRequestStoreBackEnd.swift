internal import Foundation
public import HandoverCore
package import HandoverSQLite

/// The request store's back end on one machine: a SQLite database in WAL mode.
///
/// Every change is one `BEGIN IMMEDIATE` transaction, so several worker processes may share the file: a
/// claim is atomic and a request is claimed by one worker at a time (a writer waits up to 5 s for another).
/// The audit table refuses updates and deletes (triggers). A new file is created readable by its owner only
/// (SQLite gives its `-wal` and `-shm` files the same permissions).
public struct SQLiteRequestStoreBackEnd: RequestStoreBackEnd {
    /// The database file.
    public let path: String

    /// SQLite's write transactions are exclusive: no row locks to ask for.
    public var lockRows: String { "" }
    /// SQLite's write transactions are exclusive: no row locks to ask for.
    public var lockRowsSkippingLocked: String { "" }
    /// The file's path.
    public var location: String { path }
    /// SQLite's write transactions are exclusive: appends to the audit chain are serialised already.
    public var lockAuditChain: String { "" }
    /// Looks the table up in `sqlite_schema`.
    public var tableExistsQuery: String { "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?" }

    /// Opens (creating when missing, and setting up) the store at `path`.
    /// - Throws: ``HandoverError/Code/sourceUnavailable`` when the file cannot be opened or set up.
    public init(path: String) throws {
        self.path = path
        // The store holds subjects' selector values while their requests are open: readable by its owner only.
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
            else {
                throw HandoverError(.sourceUnavailable, "cannot create the request store '\(path)'")
            }
        }
        try SQLiteConnection.withConnection(path: path, mode: .readWriteCreate) { db in
            try db.execute("PRAGMA journal_mode = WAL")
            try db.execute("BEGIN IMMEDIATE")
            do {
                try Self.setUp(db)
                try db.execute("COMMIT")
            } catch {
                try? db.execute("ROLLBACK")
                throw error
            }
        }
    }

    /// Creates the tables when missing, and migrates an audit table made before the hash chain existed.
    ///
    /// An audit table that is missing while the requests table exists was dropped: it is not created again (an
    /// empty log would hide the loss); ``RequestStore/checkAudit()`` reports it, and changes fail until it is
    /// restored.
    package static func setUp(_ db: SQLiteConnection) throws {
        let tables = Set(try db.tableNames())
        try db.execute(requestsSchema)
        if let columns = try db.columns(of: "requests"),
            !columns.contains(where: { $0.name == DeliverySchema.archiveFilesColumn })
        {
            try db.execute("ALTER TABLE requests ADD COLUMN \(DeliverySchema.archiveFilesColumn) TEXT")
        }
        for statement in DeliverySchema.statements({ $0 }) { try db.execute(statement) }
        if tables.contains("requests") && !tables.contains("audit") { return }
        if let columns = try db.columns(of: "audit"), !columns.contains(where: { $0.name == "hash" }) {
            // A store from before the chain: add the columns and chain the rows it has, oldest first. The
            // chain then attests that these rows are unchanged from now on, not that they were before.
            try db.execute(
                """
                DROP TRIGGER IF EXISTS audit_append_only_update;
                ALTER TABLE audit ADD COLUMN chain INTEGER;
                ALTER TABLE audit ADD COLUMN hash TEXT;
                """)
            let select = try db.prepare("SELECT \(AuditChain.columns) FROM audit ORDER BY seq")
            var rows: [AuditChain.Row] = []
            while try select.step() {
                rows.append(try AuditChain.Row((0..<10).map { try StoreValue(try select.value(at: $0)) }))
            }
            let update = try db.prepare("UPDATE audit SET chain = ?, hash = ? WHERE seq = ?")
            for (row, (chain, hash)) in zip(rows, AuditChain.link(rows, after: nil)) {
                update.reset()
                try update.run([.integer(chain), .text(hash), .integer(row.seq)])
            }
        }
        try db.execute(auditSchema)
    }

    static let requestsSchema = """
        CREATE TABLE IF NOT EXISTS requests (
            id TEXT PRIMARY KEY, purpose TEXT NOT NULL, scope_kind TEXT NOT NULL, tenant TEXT,
            subject_column TEXT, subject_value TEXT, subject_key TEXT, received_at INTEGER NOT NULL,
            state TEXT NOT NULL, due INTEGER NOT NULL, extension_reason TEXT, attempts INTEGER NOT NULL DEFAULT 0,
            not_before INTEGER, worker TEXT, lease_until INTEGER, archive TEXT, expires_at INTEGER,
            failure_reason TEXT, archive_files TEXT);
        CREATE INDEX IF NOT EXISTS requests_by_state ON requests(state, not_before, due);
        """

    static let auditSchema = """
        CREATE TABLE IF NOT EXISTS audit (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, request TEXT NOT NULL, subject_key TEXT,
            from_state TEXT, to_state TEXT NOT NULL, actor TEXT NOT NULL, detail TEXT, chain INTEGER, hash TEXT);
        CREATE INDEX IF NOT EXISTS audit_by_request ON audit(request, seq);
        CREATE UNIQUE INDEX IF NOT EXISTS audit_by_chain ON audit(chain);
        CREATE TRIGGER IF NOT EXISTS audit_append_only_update BEFORE UPDATE ON audit
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        CREATE TRIGGER IF NOT EXISTS audit_append_only_delete BEFORE DELETE ON audit
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        """

    /// Runs `body` in a `BEGIN IMMEDIATE` transaction.
    public func write<T: Sendable>(_ body: (any StoreTransaction) async throws -> T) async throws -> T {
        try await SQLiteConnection.withConnection(path: path, mode: .readWriteCreate) { db in
            try db.execute("BEGIN IMMEDIATE")
            do {
                let result = try await body(Transaction(db: db))
                try db.execute("COMMIT")
                return result
            } catch {
                try? db.execute("ROLLBACK")
                throw error
            }
        }
    }

    /// Runs `body` on a read-only connection, in one read transaction.
    public func read<T: Sendable>(_ body: (any StoreTransaction) async throws -> T) async throws -> T {
        try await SQLiteConnection.withConnection(path: path, mode: .readOnly) { db in
            try await db.withReadTransaction { try await body(Transaction(db: db)) }
        }
    }

    /// A transaction's statements on a connection that is in a transaction already.
    package struct Transaction: StoreTransaction {
        let db: SQLiteConnection

        /// Statements on `db`.
        package init(db: SQLiteConnection) { self.db = db }

        /// Runs one statement and returns its rows.
        package func rows(_ sql: String, _ parameters: [StoreValue]) async throws -> [[StoreValue]] {
            let statement = try db.prepare(sql)
            try statement.bind(
                parameters.map { value -> SQLiteValue in
                    switch value {
                    case .null: .null
                    case .integer(let number): .integer(number)
                    case .real(let number): .real(number)
                    case .text(let text): .text(text)
                    case .blob(let bytes): .blob(bytes)
                    }
                })
            var rows: [[StoreValue]] = []
            while try statement.step() {
                rows.append(try (0..<statement.columnCount).map { StoreValue(try statement.value(at: $0)) })
            }
            return rows
        }
    }
}

extension StoreValue {
    /// The value exactly as SQLite holds it.
    init(_ value: SQLiteValue) {
        switch value {
        case .null: self = .null
        case .integer(let number): self = .integer(number)
        case .real(let number): self = .real(number)
        case .text(let text): self = .text(text)
        case .blob(let bytes): self = .blob(bytes)
        }
    }
}

extension RequestStore {
    /// The store in the SQLite file at `path` (created when missing).
    public static func sqlite(path: String, pseudonymizer: any Pseudonymizer) throws -> RequestStore {
        RequestStore(backEnd: try SQLiteRequestStoreBackEnd(path: path), pseudonymizer: pseudonymizer)
    }
}
