internal import CSQLite
internal import HandoverCore

#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Darwin)
    internal import Darwin
#endif

/// The storage class of a value in a result row.
package enum SQLiteStorage: Sendable {
    /// NULL.
    case null
    /// A 64-bit integer.
    case integer
    /// A double.
    case float
    /// UTF-8 text.
    case text
    /// Bytes.
    case blob
}

/// A value as SQLite stores it.
package enum SQLiteValue: Sendable, Hashable {
    /// NULL.
    case null
    /// A 64-bit integer.
    case integer(Int64)
    /// A double.
    case real(Double)
    /// UTF-8 text.
    case text(String)
    /// Bytes.
    case blob([UInt8])
}

/// A connection to one SQLite database; the only place Handover calls sqlite3.
///
/// Not thread-safe: use a connection from one task at a time, inside ``withConnection(path:mode:_:)``.
package final class SQLiteConnection {
    /// How to open the file.
    package enum Mode: Sendable {
        /// Read only; the file must exist.
        case readOnly
        /// Read and write, creating the file when missing.
        case readWriteCreate
    }

    let handle: OpaquePointer
    /// The file's path, for error messages.
    package let path: String
    /// Whether the connection closes itself when released (one opened by ``inMemory()``); the scoped ones close
    /// when their scope ends.
    private var closesWhenReleased = false

    /// Opens `path` for the duration of `body`.
    /// - Throws: ``HandoverError/Code/sourceUnavailable`` when the database cannot be opened, or what `body` throws.
    package static func withConnection<T>(path: String, mode: Mode, _ body: (SQLiteConnection) throws -> T) throws -> T
    {
        let connection = try SQLiteConnection(path: path, mode: mode)
        defer { sqlite3_close_v2(connection.handle) }
        return try body(connection)
    }

    /// Opens `path` for the duration of `body`, asynchronously.
    /// - Throws: ``HandoverError/Code/sourceUnavailable`` when the database cannot be opened, or what `body` throws.
    package static func withConnection<T>(
        path: String, mode: Mode, _ body: (SQLiteConnection) async throws -> T
    ) async throws -> T {
        let connection = try SQLiteConnection(path: path, mode: mode)
        defer { sqlite3_close_v2(connection.handle) }
        return try await body(connection)
    }

    /// A connection to a new, empty database held in memory, open (and the database alive) until the connection
    /// is released. The caller runs one statement at a time on it (the connection has no mutex of its own).
    /// - Throws: ``HandoverError/Code/sourceUnavailable`` when SQLite cannot open it (out of memory).
    package static func inMemory() throws -> SQLiteConnection {
        try opened(path: ":memory:", mode: .readWriteCreate)
    }

    /// Opens the database at `path` as ``withConnection(path:mode:_:)-swift.type.method`` does, for a connection
    /// that lives beyond one scope: it is closed when the last reference to it goes. One thread at a time uses it.
    /// - Throws: ``HandoverError/Code/sourceUnavailable`` when it cannot be opened or is not a database.
    package static func opened(path: String, mode: Mode) throws -> SQLiteConnection {
        let connection = try SQLiteConnection(path: path, mode: mode)
        connection.closesWhenReleased = true
        return connection
    }

    deinit {
        if closesWhenReleased { sqlite3_close_v2(handle) }
    }

    private init(path: String, mode: Mode) throws {
        self.path = path
        if mode == .readOnly {
            var status = stat()
            guard stat(path, &status) == 0 else {
                throw HandoverError(.sourceUnavailable, "database '\(path)' does not exist")
            }
            guard (status.st_mode & S_IFMT) == S_IFREG else {
                throw HandoverError(.sourceUnavailable, "database '\(path)' is not a regular file")
            }
        }
        var handle: OpaquePointer?
        let flags =
            (mode == .readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
            | SQLITE_OPEN_NOMUTEX
        let status = sqlite3_open_v2(path, &handle, flags, nil)
        guard status == SQLITE_OK, let handle else {
            let text = handle.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
            let code = handle.map { sqlite3_extended_errcode($0) } ?? status
            sqlite3_close_v2(handle)
            throw HandoverError(
                .sourceUnavailable, "cannot open database '\(path)'", underlying: text, cause: .sqlite(code))
        }
        self.handle = handle
        sqlite3_extended_result_codes(handle, 1)
        sqlite3_busy_timeout(handle, 5000)
        // Reading the schema proves the file is a database (SQLITE_NOTADB otherwise).
        do {
            try execute("SELECT count(*) FROM sqlite_schema")
        } catch let error as HandoverError {
            sqlite3_close_v2(handle)
            throw HandoverError(
                .sourceUnavailable, "'\(path)' is not a readable SQLite database", underlying: error.underlying,
                cause: error.cause)
        }
    }

    /// Runs SQL without results (several statements allowed); no values may be spliced into it.
    /// - Throws: ``HandoverError/Code/sourceFailed``.
    package func execute(_ sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        let status = sqlite3_exec(handle, sql, nil, nil, &message)
        defer { sqlite3_free(message) }
        guard status == SQLITE_OK else {
            throw HandoverError(
                .sourceFailed, "database '\(path)' failed a statement", underlying: message.map { String(cString: $0) },
                cause: .sqlite(status))
        }
    }

    /// Compiles one statement.
    /// - Throws: ``HandoverError/Code/sourceFailed`` when the SQL does not compile.
    package func prepare(_ sql: String) throws -> SQLiteStatement {
        var statement: OpaquePointer?
        let status = sqlite3_prepare_v3(handle, sql, -1, 0, &statement, nil)
        guard status == SQLITE_OK, let statement else {
            throw HandoverError(
                .sourceFailed, "database '\(path)' cannot prepare a query", underlying: errorText(),
                cause: .sqlite(status))
        }
        return SQLiteStatement(statement: statement, connection: self)
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    /// - Throws: What `body` throws, or ``HandoverError/Code/sourceFailed``.
    package func withTransaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Runs `body` in a read transaction, so that every query sees the same snapshot.
    /// - Throws: What `body` throws, or ``HandoverError/Code/sourceFailed``.
    package func withReadTransaction<T>(_ body: () async throws -> T) async throws -> T {
        try execute("BEGIN")
        defer { try? execute("ROLLBACK") }
        return try await body()
    }

    /// The names of the tables in the database.
    package func tableNames() throws -> [String] {
        let statement = try prepare("SELECT name FROM sqlite_schema WHERE type IN ('table','view') ORDER BY name")
        var names: [String] = []
        while try statement.step() {
            if case .text(let name) = try statement.value(at: 0) { names.append(name) }
        }
        return names
    }

    /// A table or view, as ``tables()`` reads it.
    package struct TableInfo: Sendable, Hashable {
        /// Its name.
        package var name: String
        /// Its columns, in order (as ``columns(of:)`` gives them).
        package var columns: [ColumnInfo]
        /// Its foreign keys (as ``foreignKeys(of:)`` gives them).
        package var foreignKeys: [ForeignKeyInfo]
        /// The columns that lead some index of it, and its primary key's first column (as
        /// ``leadingIndexedColumns(of:)`` gives them).
        package var leadingIndexedColumns: Set<String>
    }

    /// Every table and view, by name, with what ``columns(of:)``, ``foreignKeys(of:)`` and
    /// ``leadingIndexedColumns(of:)`` give for each; read in three queries whatever the number of tables, where those
    /// take several each.
    package func tables() throws -> [TableInfo] {
        var tables: [TableInfo] = []
        var position: [String: Int] = [:]
        for name in try tableNames() {
            position[name] = tables.count
            tables.append(TableInfo(name: name, columns: [], foreignKeys: [], leadingIndexedColumns: []))
        }
        let objects = "FROM sqlite_schema AS m JOIN"
        let kinds = "m.type IN ('table','view')"
        let columns = try prepare(
            "SELECT m.name, p.name, p.type, p.\"notnull\", p.pk \(objects) pragma_table_info(m.name) AS p WHERE \(kinds) "
                + "ORDER BY m.name, p.cid")
        while try columns.step() {
            guard case .text(let table) = try columns.value(at: 0), let index = position[table],
                let column = try ColumnInfo(columns, from: 1)
            else { continue }
            tables[index].columns.append(column)
            if column.primaryKeyPosition == 1 { tables[index].leadingIndexedColumns.insert(column.name) }
        }
        let keys = try prepare(
            "SELECT m.name, f.id, f.\"table\", f.\"from\", f.\"to\" \(objects) pragma_foreign_key_list(m.name) AS f "
                + "WHERE \(kinds) ORDER BY m.name, f.id, f.seq")
        var lastKey: (table: Int, id: Int64)?
        while try keys.step() {
            guard case .text(let table) = try keys.value(at: 0), let index = position[table],
                case .integer(let id) = try keys.value(at: 1), case .text(let target) = try keys.value(at: 2),
                case .text(let from) = try keys.value(at: 3)
            else { continue }
            if lastKey?.table != index || lastKey?.id != id {
                tables[index].foreignKeys.append(ForeignKeyInfo(columns: [], table: target, referencedColumns: []))
                lastKey = (index, id)
            }
            let last = tables[index].foreignKeys.count - 1
            tables[index].foreignKeys[last].columns.append(from)
            if case .text(let to) = try keys.value(at: 4) {
                tables[index].foreignKeys[last].referencedColumns.append(to)
            }
        }
        for index in tables.indices {
            for key in tables[index].foreignKeys.indices
            where tables[index].foreignKeys[key].referencedColumns.count != tables[index].foreignKeys[key].columns.count
            {
                tables[index].foreignKeys[key].referencedColumns = []
            }
        }
        let indexes = try prepare(
            "SELECT m.name, i.name \(objects) pragma_index_list(m.name) AS l JOIN pragma_index_info(l.name) AS i "
                + "WHERE \(kinds) AND i.seqno = 0")
        while try indexes.step() {
            guard case .text(let table) = try indexes.value(at: 0), let index = position[table],
                case .text(let column) = try indexes.value(at: 1)
            else { continue }
            tables[index].leadingIndexedColumns.insert(column)
        }
        return tables
    }

    /// One column as `PRAGMA table_info` reports it.
    package struct ColumnInfo: Sendable, Hashable {
        /// The column of the current row of `statement` whose name, type, `notnull` and `pk` stand from column
        /// `first` on; nil when the name is not text.
        init?(_ statement: SQLiteStatement, from first: Int) throws {
            guard case .text(let name) = try statement.value(at: first) else { return nil }
            self.name = name
            declaredType = if case .text(let type) = try statement.value(at: first + 1) { type } else { "" }
            notNull = if case .integer(let flag) = try statement.value(at: first + 2) { flag != 0 } else { false }
            primaryKeyPosition =
                if case .integer(let position) = try statement.value(at: first + 3) { Int(position) } else { 0 }
        }

        /// The column's name.
        package var name: String
        /// Its declared type, as written in CREATE TABLE.
        package var declaredType: String
        /// Whether it is declared NOT NULL.
        package var notNull: Bool
        /// Its position in the primary key, from 1; 0 when not part of it.
        package var primaryKeyPosition: Int
    }

    /// The columns of `table`, or nil when there is no such table.
    package func columns(of table: String) throws -> [ColumnInfo]? {
        let statement = try prepare("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?)")
        try statement.bind(.text(table), at: 1)
        var columns: [ColumnInfo] = []
        while try statement.step() {
            if let column = try ColumnInfo(statement, from: 0) { columns.append(column) }
        }
        return columns.isEmpty ? nil : columns
    }

    /// The columns that lead some index of `table` (the first column of each index, and the primary key).
    package func leadingIndexedColumns(of table: String) throws -> Set<String> {
        var result = Set<String>()
        let indexes = try prepare("SELECT name FROM pragma_index_list(?)")
        try indexes.bind(.text(table), at: 1)
        var names: [String] = []
        while try indexes.step() {
            if case .text(let name) = try indexes.value(at: 0) { names.append(name) }
        }
        for name in names {
            let info = try prepare("SELECT name FROM pragma_index_info(?) WHERE seqno = 0")
            try info.bind(.text(name), at: 1)
            if try info.step(), case .text(let column) = try info.value(at: 0) { result.insert(column) }
        }
        if let columns = try columns(of: table) {
            for column in columns where column.primaryKeyPosition == 1 { result.insert(column.name) }
        }
        return result
    }

    /// One foreign key as `PRAGMA foreign_key_list` reports it.
    package struct ForeignKeyInfo: Sendable, Hashable {
        /// The referencing columns.
        package var columns: [String]
        /// The referenced table.
        package var table: String
        /// The referenced columns; empty when the key names the referenced table's primary key.
        package var referencedColumns: [String]
    }

    /// The foreign keys of `table`.
    package func foreignKeys(of table: String) throws -> [ForeignKeyInfo] {
        let statement = try prepare(
            "SELECT id, \"table\", \"from\", \"to\" FROM pragma_foreign_key_list(?) ORDER BY id, seq")
        try statement.bind(.text(table), at: 1)
        var keys: [Int64: ForeignKeyInfo] = [:]
        var order: [Int64] = []
        while try statement.step() {
            guard case .integer(let id) = try statement.value(at: 0),
                case .text(let target) = try statement.value(at: 1),
                case .text(let from) = try statement.value(at: 2)
            else { continue }
            if keys[id] == nil {
                keys[id] = ForeignKeyInfo(columns: [], table: target, referencedColumns: [])
                order.append(id)
            }
            keys[id]!.columns.append(from)
            if case .text(let to) = try statement.value(at: 3) { keys[id]!.referencedColumns.append(to) }
        }
        return order.map { keys[$0]! }.map { key in
            var key = key
            if key.referencedColumns.count != key.columns.count { key.referencedColumns = [] }
            return key
        }
    }

    func errorText() -> String {
        String(cString: sqlite3_errmsg(handle))
    }

    /// How long a statement waits for another connection's lock before failing with `SQLITE_BUSY` (5 s when
    /// opened).
    package func setBusyTimeout(milliseconds: Int32) {
        sqlite3_busy_timeout(handle, milliseconds)
    }
}

/// SQLite's primary result codes that Handover reasons about; compare them with
/// ``HandoverError/Cause/sqlitePrimaryResultCode`` (an extended code's low byte).
package enum SQLiteResultCode {
    /// `SQLITE_ERROR`: a generic error (SQL that does not compile, a missing table).
    package static let error = SQLITE_ERROR
    /// `SQLITE_INTERNAL`: a bug in SQLite.
    package static let internalError = SQLITE_INTERNAL
    /// `SQLITE_PERM`: access permission denied.
    package static let permission = SQLITE_PERM
    /// `SQLITE_ABORT`: an operation was aborted.
    package static let abort = SQLITE_ABORT
    /// `SQLITE_BUSY`: another connection holds a lock on the file.
    package static let busy = SQLITE_BUSY
    /// `SQLITE_LOCKED`: a table is locked by another statement of the same connection or shared cache.
    package static let locked = SQLITE_LOCKED
    /// `SQLITE_NOMEM`: out of memory.
    package static let noMemory = SQLITE_NOMEM
    /// `SQLITE_READONLY`: an attempt to write a read-only database.
    package static let readOnly = SQLITE_READONLY
    /// `SQLITE_INTERRUPT`: interrupted by `sqlite3_interrupt`.
    package static let interrupt = SQLITE_INTERRUPT
    /// `SQLITE_IOERR`: the operating system reported an I/O error.
    package static let ioError = SQLITE_IOERR
    /// `SQLITE_CORRUPT`: the database file is malformed.
    package static let corrupt = SQLITE_CORRUPT
    /// `SQLITE_FULL`: the disk is full.
    package static let full = SQLITE_FULL
    /// `SQLITE_CANTOPEN`: the file cannot be opened.
    package static let cannotOpen = SQLITE_CANTOPEN
    /// `SQLITE_PROTOCOL`: a locking protocol race (WAL), worth another try.
    package static let lockProtocol = SQLITE_PROTOCOL
    /// `SQLITE_SCHEMA`: the schema changed under a statement.
    package static let schema = SQLITE_SCHEMA
    /// `SQLITE_TOOBIG`: a string or blob is too large.
    package static let tooBig = SQLITE_TOOBIG
    /// `SQLITE_CONSTRAINT`: a constraint (unique, not null, check, a trigger's RAISE) was violated.
    package static let constraint = SQLITE_CONSTRAINT
    /// `SQLITE_MISMATCH`: a datatype mismatch.
    package static let mismatch = SQLITE_MISMATCH
    /// `SQLITE_MISUSE`: the library was used wrongly.
    package static let misuse = SQLITE_MISUSE
    /// `SQLITE_AUTH`: an authorizer refused the statement.
    package static let authorization = SQLITE_AUTH
    /// `SQLITE_RANGE`: a parameter index out of range.
    package static let range = SQLITE_RANGE
    /// `SQLITE_NOTADB`: the file is not a database.
    package static let notADatabase = SQLITE_NOTADB
    /// `SQLITE_IOERR_CORRUPTFS`: the file system reported corruption (an extended code).
    package static let ioErrorCorruptFileSystem = handover_sqlite_ioerr_corruptfs()
}

/// A compiled statement; finalised when released.
package final class SQLiteStatement {
    let statement: OpaquePointer
    let connection: SQLiteConnection

    init(statement: OpaquePointer, connection: SQLiteConnection) {
        self.statement = statement
        self.connection = connection
    }

    deinit {
        sqlite3_finalize(statement)
    }

    /// Binds a parameter (1-based).
    /// - Throws: ``HandoverError/Code/sourceFailed``.
    package func bind(_ value: SQLiteValue, at index: Int32) throws {
        let status: Int32
        switch value {
        case .null: status = sqlite3_bind_null(statement, index)
        case .integer(let v): status = sqlite3_bind_int64(statement, index, v)
        case .real(let v): status = sqlite3_bind_double(statement, index, v)
        case .text(var v):
            // With its length: a NUL inside the text is kept, not taken for its end.
            status = v.withUTF8 { utf8 in
                guard let base = utf8.baseAddress, !utf8.isEmpty else {
                    return sqlite3_bind_text(statement, index, "", 0, handover_sqlite_transient())
                }
                return base.withMemoryRebound(to: CChar.self, capacity: utf8.count) {
                    sqlite3_bind_text(statement, index, $0, Int32(utf8.count), handover_sqlite_transient())
                }
            }
        case .blob(let v):
            status = v.withUnsafeBytes {
                sqlite3_bind_blob(statement, index, $0.baseAddress, Int32($0.count), handover_sqlite_transient())
            }
        }
        guard status == SQLITE_OK else {
            throw HandoverError(
                .sourceFailed, "cannot bind query parameter \(index)", underlying: connection.errorText(),
                cause: .sqlite(status))
        }
    }

    /// Binds every parameter in order, starting at 1.
    /// - Throws: ``HandoverError/Code/sourceFailed``.
    package func bind(_ values: [SQLiteValue]) throws {
        for (index, value) in values.enumerated() { try bind(value, at: Int32(index + 1)) }
    }

    /// Steps to the next row; false when done.
    /// - Throws: ``HandoverError/Code/sourceFailed``.
    @inline(__always)
    package func step() throws -> Bool {
        let status = sqlite3_step(statement)
        if status == SQLITE_ROW { return true }
        if status == SQLITE_DONE { return false }
        throw HandoverError(
            .sourceFailed, "database '\(connection.path)' failed a query", underlying: connection.errorText(),
            cause: .sqlite(status))
    }

    /// Resets the statement to run again, keeping its bindings.
    package func reset() {
        sqlite3_reset(statement)
    }

    /// Runs the statement to completion (for INSERT and the like).
    /// - Throws: ``HandoverError/Code/sourceFailed``.
    package func run(_ values: [SQLiteValue]) throws {
        sqlite3_reset(statement)
        try bind(values)
        while try step() {}
    }

    /// The number of result columns.
    package var columnCount: Int { Int(sqlite3_column_count(statement)) }

    /// A column of the current row, to read several ways with one look-up: reading through it skips the statement's
    /// per-call checks that each `sqlite3_column_*` call makes. Valid until the next step; the connection is used by
    /// one thread at a time, so the value needs no lock of its own.
    @inline(__always)
    package func cell(at index: Int32) -> SQLiteCell {
        SQLiteCell(value: sqlite3_column_value(statement, index))
    }

    /// A column of the current row as SQLite stores it (0-based).
    /// - Throws: ``HandoverError/Code/invalidData`` for text that is not valid UTF-8.
    package func value(at index: Int) throws -> SQLiteValue {
        let cell = cell(at: Int32(index))
        switch cell.type {
        case .null: return .null
        case .integer: return .integer(cell.int64)
        case .float: return .real(cell.double)
        case .blob: return .blob(cell.blob)
        case .text:
            guard let text = cell.text else {
                throw HandoverError(.invalidData, "column \(index + 1) of a result holds text that is not valid UTF-8")
            }
            return .text(text)
        }
    }
}

/// One column of a statement's current row (``SQLiteStatement/cell(at:)``), valid until the statement steps.
package struct SQLiteCell {
    let value: OpaquePointer?

    /// The storage class.
    @inline(__always)
    package var type: SQLiteStorage {
        switch sqlite3_value_type(value) {
        case SQLITE_NULL: .null
        case SQLITE_INTEGER: .integer
        case SQLITE_FLOAT: .float
        case SQLITE_BLOB: .blob
        default: .text
        }
    }

    /// The value as an integer.
    @inline(__always)
    package var int64: Int64 { sqlite3_value_int64(value) }

    /// The value as a real number.
    @inline(__always)
    package var double: Double { sqlite3_value_double(value) }

    /// The value's text as SQLite holds it (any bytes, not checked as UTF-8), valid until the next step or the
    /// next read of this value as another type.
    @inline(__always)
    package var utf8: UnsafeBufferPointer<UInt8> {
        guard let pointer = sqlite3_value_text(value) else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(start: pointer, count: Int(sqlite3_value_bytes(value)))
    }

    /// The value's text, or nil when it is not valid UTF-8.
    @inline(__always)
    package var text: String? { UTF8Text.string(utf8) }

    /// The value's bytes as SQLite holds them, valid until the next step or the next read of this value as another
    /// type.
    @inline(__always)
    package var blobBytes: UnsafeRawBufferPointer {
        let pointer = sqlite3_value_blob(value)
        let count = Int(sqlite3_value_bytes(value))
        guard let pointer, count > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: pointer, count: count)
    }

    /// The value's bytes.
    @inline(__always)
    package var blob: [UInt8] {
        let pointer = sqlite3_value_blob(value)
        let count = Int(sqlite3_value_bytes(value))
        guard let pointer, count > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }
}
