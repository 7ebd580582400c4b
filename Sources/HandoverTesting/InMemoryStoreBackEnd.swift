public import HandoverCore
internal import HandoverSQLite
public import HandoverStore

/// A request store's back end held in memory, for tests: the store's real rules (the lifecycle, leases,
/// deadlines, retries, the audit log's hash chain) over the SQLite back end's schema and SQL, in a database that
/// lives as long as the back end and is never written to disk.
///
/// Copies of a back end share one database. Transactions run one at a time, in the order they ask, so a
/// transaction must not wait for another one of the same store inside its body (a test of two competing
/// transactions needs a file or PostgreSQL).
///
/// ```swift
/// let store = try RequestStore.inMemory(pseudonymizer: try KeyedPseudonymizer(key: key))
/// try await store.submit(request, actor: "test", at: .now())
/// let claimed = try await store.claim(worker: "w1", leaseSeconds: 60, at: .now())
/// ```
public struct InMemoryStoreBackEnd: RequestStoreBackEnd {
    private let database: Database

    /// A new, empty store.
    /// - Throws: ``HandoverError/Code/sourceUnavailable`` when SQLite cannot open a database in memory.
    public init() throws {
        let connection = try SQLiteConnection.inMemory()
        try connection.withTransaction { try SQLiteRequestStoreBackEnd.setUp(connection) }
        database = Database(connection)
    }

    /// Transactions run one at a time: nothing to lock.
    public var lockRows: String { "" }
    /// Transactions run one at a time: nothing to lock or skip.
    public var lockRowsSkippingLocked: String { "" }
    /// Transactions run one at a time: appends to the audit chain are serialised already.
    public var lockAuditChain: String { "" }
    /// Looks the table up in `sqlite_schema`.
    public var tableExistsQuery: String { "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?" }
    /// `memory`.
    public var location: String { "memory" }

    /// Runs `body` in one transaction, after the transactions that asked before it; commits when it returns,
    /// rolls back when it throws.
    public func write<T: Sendable>(_ body: (any StoreTransaction) async throws -> T) async throws -> T {
        try await database.transaction(body)
    }

    /// Runs `body` in one transaction, after the transactions that asked before it (so it reads one state).
    public func read<T: Sendable>(_ body: (any StoreTransaction) async throws -> T) async throws -> T {
        try await database.transaction(body)
    }

    /// The connection, and the queue of transactions waiting for it.
    private final class Database: @unchecked Sendable {
        // Used only by the transaction holding `queue`: one at a time.
        private let connection: SQLiteConnection
        private let queue = TransactionQueue()

        init(_ connection: SQLiteConnection) { self.connection = connection }

        func transaction<T: Sendable>(_ body: (any StoreTransaction) async throws -> T) async throws -> T {
            await queue.acquire()
            do {
                try connection.execute("BEGIN IMMEDIATE")
                let result: T
                do {
                    result = try await body(SQLiteRequestStoreBackEnd.Transaction(db: connection))
                    try connection.execute("COMMIT")
                } catch {
                    try? connection.execute("ROLLBACK")
                    throw error
                }
                await queue.release()
                return result
            } catch {
                await queue.release()
                throw error
            }
        }
    }
}

/// First come, first served: one holder at a time, the others wait (suspended, holding no thread).
private actor TransactionQueue {
    private var held = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func acquire() async {
        guard held else {
            held = true
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        if waiting.isEmpty {
            held = false
        } else {
            waiting.removeFirst().resume()  // the next holder takes it over; `held` stays true
        }
    }
}

extension RequestStore {
    /// A store held in memory (see ``InMemoryStoreBackEnd``), for tests.
    /// - Throws: ``HandoverError/Code/sourceUnavailable`` when SQLite cannot open a database in memory.
    public static func inMemory(pseudonymizer: any Pseudonymizer) throws -> RequestStore {
        RequestStore(backEnd: try InMemoryStoreBackEnd(), pseudonymizer: pseudonymizer)
    }
}
