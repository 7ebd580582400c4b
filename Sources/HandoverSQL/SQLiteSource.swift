internal import HandoverCore
internal import HandoverSQLite
internal import Synchronization

/// A SQLite database file as a data source, opened read-only for each session.
///
/// The connection the catalog was read on is kept open for the first session: a map is checked and its first export
/// run on one opening of the file (its schema parsed, its WAL index mapped once; half a millisecond saved, of a
/// subject's 20 ms). The sessions after it open the file again.
struct SQLiteSource: DatasetSource {
    /// The database file.
    let path: String
    /// The connection ``readCatalog()`` read on, until a session takes it (closed when no copy of the source is left).
    private let spare = SpareConnection()

    init(path: String) {
        self.path = path
    }

    var label: String { path }
    var dialect: SQLDialect { .sqlite }

    func withSession<T: Sendable>(snapshot: Bool, _ body: (any SourceSession) async throws -> T) async throws -> T {
        let connection = try spare.take() ?? SQLiteConnection.opened(path: path, mode: .readOnly)
        let session = SQLiteSession(connection: connection)
        guard snapshot else { return try await body(session) }
        return try await connection.withReadTransaction { try await body(session) }
    }

    /// The catalog, read synchronously (a SQLite file is local).
    /// - Throws: ``HandoverError/Code/sourceUnavailable`` when the file is not a readable database.
    func readCatalog() throws -> SourceCatalog {
        let connection = try SQLiteConnection.opened(path: path, mode: .readOnly)
        let catalog = try SQLiteSession.catalog(of: connection)
        spare.keep(connection)
        return catalog
    }

    /// Whether a connection is kept for the next session; for tests.
    var hasSpareConnection: Bool { spare.isHolding }
}

/// One open connection, handed from the thread that read the catalog to the session that takes it.
private final class SpareConnection: Sendable {
    /// The connection is used by one thread at a time: the catalog's, then the session's.
    private struct Held: @unchecked Sendable {
        var connection: SQLiteConnection?
    }
    private let held = Mutex(Held())

    func keep(_ connection: SQLiteConnection) {
        held.withLock { $0.connection = connection }
    }

    func take() -> SQLiteConnection? {
        held.withLock { held in
            defer { held.connection = nil }
            return held.connection
        }
    }

    var isHolding: Bool { held.withLock { $0.connection != nil } }
}

/// A session on one SQLite connection.
struct SQLiteSession: SourceSession {
    let connection: SQLiteConnection

    func catalog() async throws -> SourceCatalog { try Self.catalog(of: connection) }

    static func catalog(of connection: SQLiteConnection) throws -> SourceCatalog {
        var tables: [CatalogTable] = []
        for table in try connection.tables() {
            let columns = table.columns.map { info in
                CatalogColumn(
                    name: info.name, declaredType: info.declaredType, notNull: info.notNull,
                    primaryKeyPosition: info.primaryKeyPosition, inferredType: inferType(info.declaredType))
            }
            let keys = table.foreignKeys.map { key in
                CatalogForeignKey(columns: key.columns, table: key.table, referencedColumns: key.referencedColumns)
            }
            tables.append(
                CatalogTable(
                    name: table.name, columns: columns, leadingIndexedColumns: table.leadingIndexedColumns,
                    foreignKeys: keys))
        }
        // A foreign key that leaves out the referenced columns means the referenced table's primary key.
        let byName = Dictionary(tables.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for index in tables.indices {
            for keyIndex in tables[index].foreignKeys.indices
            where tables[index].foreignKeys[keyIndex].referencedColumns.isEmpty {
                let target = tables[index].foreignKeys[keyIndex].table
                tables[index].foreignKeys[keyIndex].referencedColumns =
                    (byName[target]?.columns ?? []).filter { $0.primaryKeyPosition > 0 }
                    .sorted { $0.primaryKeyPosition < $1.primaryKeyPosition }.map(\.name)
            }
        }
        return SourceCatalog(label: connection.path, tables: tables)
    }

    func rows(_ sql: String, _ parameters: [SourceValue], limit: Int) async throws -> [[SourceValue]] {
        let statement = try connection.prepare(sql)
        try statement.bind(parameters.map(\.sqlite))
        var rows: [[SourceValue]] = []
        while rows.count < limit, try statement.step() {
            var row: [SourceValue] = []
            for index in 0..<statement.columnCount {
                row.append(SourceValue(try statement.value(at: index)))
            }
            rows.append(row)
        }
        return rows
    }

    func stream(
        _ query: TablePlan.Query, plan: TablePlan, conversion: RowConversion, _ body: ([Row]) async throws -> Void
    ) async throws {
        let statement = try connection.prepare(query.sql)
        try statement.bind(query.parameters.map(\.sqlite))
        var decoder = RowDecoder(conversion: conversion)
        try await RowPrefetch.stream(
            RawRowReader(statement: statement, columns: plan.sourceCount),
            decode: { batch, rows in try decoder.decode(batch, into: &rows) }, into: body)
    }

    /// The field type that SQLite's declared column type suggests (its affinity rules, plus dates and booleans).
    static func inferType(_ declared: String) -> FieldType {
        let type = declared.uppercased()
        if type.contains("DATETIME") || type.contains("TIMESTAMP") { return .datetime }
        if type.contains("DATE") { return .date }
        if type.contains("BOOL") { return .boolean }
        if type.contains("INT") { return .integer }
        if type.contains("CHAR") || type.contains("CLOB") || type.contains("TEXT") { return .string }
        if type.contains("BLOB") { return .binary }
        if type.contains("REAL") || type.contains("FLOA") || type.contains("DOUB") || type.contains("NUM")
            || type.contains("DEC")
        {
            return .number
        }
        return .string
    }
}

extension SourceValue {
    /// The value as SQLite binds it.
    var sqlite: SQLiteValue {
        switch self {
        case .null: .null
        case .integer(let value): .integer(value)
        case .real(let value): .real(value)
        case .text(let value): .text(value)
        case .blob(let value): .blob(value)
        }
    }

    /// A value read from SQLite.
    init(_ value: SQLiteValue) {
        switch value {
        case .null: self = .null
        case .integer(let value): self = .integer(value)
        case .real(let value): self = .real(value)
        case .text(let value): self = .text(value)
        case .blob(let value): self = .blob(value)
        }
    }
}

/// Catalog access for tools (`handover map init`).
package enum DatasetSources {
    /// The catalog of the SQLite database at `path`.
    /// - Throws: ``HandoverError/Code/sourceUnavailable`` when it is not a readable database.
    package static func sqliteCatalog(path: String) async throws -> SourceCatalog {
        try SQLiteSource(path: path).readCatalog()
    }
}
