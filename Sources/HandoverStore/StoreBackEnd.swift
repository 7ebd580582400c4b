internal import HandoverCore

/// A value bound to, or read from, a request store's database.
///
/// The store writes only NULL, integers and text; a back end reads every value exactly as the database holds
/// it (a real number or bytes too, which an edited row may hold), so that the store refuses such a row rather
/// than reading a value it does not hold.
public enum StoreValue: Sendable, Hashable {
    /// SQL NULL.
    case null
    /// A 64-bit integer (times are milliseconds since 1970).
    case integer(Int64)
    /// A real number (double precision).
    case real(Double)
    /// Text.
    case text(String)
    /// Bytes.
    case blob([UInt8])
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

    /// What kind of value this is, for messages (never the value).
    var kind: String {
        switch self {
        case .null: "NULL"
        case .integer: "an integer"
        case .real: "a real number"
        case .text: "text"
        case .blob: "bytes"
        }
    }

    init(_ text: String?) { self = text.map { .text($0) } ?? .null }

    init(_ time: Timestamp?) { self = time.map { .integer($0.millisecondsSince1970) } ?? .null }
}

/// Reads the columns of one row the store wrote, refusing a value of the wrong kind or a missing one instead of
/// putting a default in its place; errors name the row and the column, never a value.
struct RowDecoder {
    let row: [StoreValue]
    /// The row as messages name it: `request row r-1`, `audit row seq 7`.
    let name: String
    let columns: [String]

    init(_ row: [StoreValue], columns: [String], name: String) throws {
        self.row = row
        self.columns = columns
        self.name = name
        guard row.count == columns.count else {
            throw HandoverError(
                .invalidData, "a \(name) of the store has \(row.count) columns instead of \(columns.count)")
        }
    }

    func refuse(_ index: Int, _ problem: String) -> HandoverError {
        HandoverError(.invalidData, "the store's \(name) is refused: its column \(columns[index]) \(problem)")
    }

    /// Text, or nil for NULL.
    func optionalText(_ index: Int) throws -> String? {
        switch row[index] {
        case .null: return nil
        case .text(let text): return text
        case let other: throw refuse(index, "holds \(other.kind), not text")
        }
    }

    /// Text that must be there.
    func text(_ index: Int) throws -> String {
        guard let text = try optionalText(index) else { throw refuse(index, "is NULL") }
        return text
    }

    /// An integer, or nil for NULL.
    func optionalInteger(_ index: Int) throws -> Int64? {
        switch row[index] {
        case .null: return nil
        case .integer(let number): return number
        case let other: throw refuse(index, "holds \(other.kind), not an integer")
        }
    }

    /// An integer that must be there.
    func integer(_ index: Int) throws -> Int64 {
        guard let number = try optionalInteger(index) else { throw refuse(index, "is NULL") }
        return number
    }

    /// A time (milliseconds since 1970), or nil for NULL.
    func optionalTime(_ index: Int) throws -> Timestamp? {
        try optionalInteger(index).map(Timestamp.init(millisecondsSince1970:))
    }

    /// A time that must be there.
    func time(_ index: Int) throws -> Timestamp {
        Timestamp(millisecondsSince1970: try integer(index))
    }

    /// A value of a text enumeration (a purpose, a state) that must be there and be one of its cases.
    func value<T: RawRepresentable>(_ index: Int, _ type: T.Type, _ what: String) throws -> T
    where T.RawValue == String {
        guard let value = T(rawValue: try text(index)) else { throw refuse(index, "holds an unknown \(what)") }
        return value
    }

    /// Like ``value(_:_:_:)``, or nil for NULL.
    func optionalValue<T: RawRepresentable>(_ index: Int, _ type: T.Type, _ what: String) throws -> T?
    where T.RawValue == String {
        guard let text = try optionalText(index) else { return nil }
        guard let value = T(rawValue: text) else { throw refuse(index, "holds an unknown \(what)") }
        return value
    }
}
