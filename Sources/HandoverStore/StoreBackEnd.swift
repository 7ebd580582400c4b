internal import HandoverCore

/// A value bound to, or read from, a request store's database: the only three kinds the store uses.
public enum StoreValue: Sendable, Hashable {
    /// SQL NULL.
    case null
    /// A 64-bit integer (times are milliseconds since 1970).
    case integer(Int64)
    /// Text.
    case text(String)
}

/// One transaction of a back end: statements with `?` placeholders, run in order.
public protocol StoreTransaction {
    /// Runs one statement with `?` placeholders bound to `parameters`, and returns its rows.
    func rows(_ sql: String, _ parameters: [StoreValue]) async throws -> [[StoreValue]]
}

/// The database under a ``RequestStore``: SQLite on one machine, PostgreSQL across machines.
///
/// The store's rules (the lifecycle, leases, retries, deadlines, the audit log) are written once, in
/// ``RequestStore``, in SQL both databases accept; a back end supplies transactions and the few words
/// that differ.
public protocol RequestStoreBackEnd: Sendable {
    /// The clause that locks the rows a `SELECT` reads until the transaction ends: `FOR UPDATE` where the
    /// database has row locks, empty where the whole transaction is already exclusive (SQLite).
    var lockRows: String { get }
    /// The clause that locks the rows a `SELECT` reads and skips rows another transaction has locked:
    /// `FOR UPDATE SKIP LOCKED` on PostgreSQL, so that workers claim different requests without waiting.
    var lockRowsSkippingLocked: String { get }
    /// A statement that serialises appends to the audit log's hash chain until the transaction ends, run before
    /// the chain's head is read: a transaction-level advisory lock on PostgreSQL, empty where the whole
    /// transaction is already exclusive (SQLite).
    var lockAuditChain: String { get }
    /// A query with one `?` (a table name) that returns a row when the store's schema holds that table.
    var tableExistsQuery: String { get }
    /// Runs `body` in one transaction that may write; commits when it returns, rolls back when it throws.
    func write<T: Sendable>(_ body: (any StoreTransaction) async throws -> T) async throws -> T
    /// Runs `body` in one transaction that only reads, on one snapshot of the database.
    func read<T: Sendable>(_ body: (any StoreTransaction) async throws -> T) async throws -> T
    /// A description of where the store is, without secrets (no password), for messages.
    var location: String { get }
}

extension StoreTransaction {
    /// Runs a statement whose rows do not matter.
    public func run(_ sql: String, _ parameters: [StoreValue]) async throws {
        _ = try await rows(sql, parameters)
    }
}

extension StoreValue {
    var text: String? {
        if case .text(let text) = self { return text }
        return nil
    }

    var integer: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    var time: Timestamp? { integer.map(Timestamp.init(millisecondsSince1970:)) }

    init(_ text: String?) { self = text.map { .text($0) } ?? .null }

    init(_ time: Timestamp?) { self = time.map { .integer($0.millisecondsSince1970) } ?? .null }
}
