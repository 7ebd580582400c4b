public import HandoverCore
internal import HandoverSQLite

#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Darwin)
    internal import Darwin
#endif

/// An SQLite database file as the destination of an import (created when missing).
///
/// Rows go in through one prepared INSERT per table, in one transaction; references are declared in `CREATE TABLE`
/// (`DEFERRABLE INITIALLY DEFERRED`) and checked in one pass once every row is in (`pragma_foreign_key_check`),
/// their referencing columns indexed. Exact decimals are stored as text (SQLite's NUMERIC affinity would round
/// `1.50` to `1.5`). A database file the import creates is mode 0600, and removed again if the import fails.
public struct SQLiteImportDestination: ImportDestination {
    /// The database file.
    public let path: String

    /// A destination at `path`.
    public init(path: String) {
        self.path = path
    }

    /// The file's path.
    public var label: String { path }
    /// SQLite has no schemas (attached databases aside).
    public var supportsSchemas: Bool { false }
    /// Tables go into the main database.
    public var defaultSchema: String? { nil }
    /// SQLite keeps names of any length; a limit keeps them readable.
    public var maximumIdentifierLength: Int { 1024 }

    /// `TEXT`, `INTEGER`, `REAL`, `BOOLEAN`, `DATE`, `DATETIME`, `BLOB`; exact decimals `TEXT`.
    public func declaredType(_ storage: ColumnStorage) -> String {
        switch storage {
        case .text, .decimal, .numberText: "TEXT"
        case .integer: "INTEGER"
        case .double: "REAL"
        case .boolean: "BOOLEAN"
        case .date: "DATE"
        case .datetime: "DATETIME"
        case .binary: "BLOB"
        }
    }

    /// Opens the file, begins an immediate transaction, and commits when `body` returns.
    public func withTransaction<T: Sendable>(_ body: (any ImportSession) async throws -> T) async throws -> T {
        // A new database holds personal data: private to its owner (SQLite gives its journals the same mode).
        // One that this import created goes again if the import fails: a failed import leaves nothing.
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        let created = descriptor >= 0
        if created {
            fchmod(descriptor, 0o600)
            close(descriptor)
        }
        do {
            return try await transaction(body)
        } catch {
            if created { unlink(path) }
            throw error
        }
    }

    private func transaction<T: Sendable>(_ body: (any ImportSession) async throws -> T) async throws -> T {
        try await SQLiteConnection.withConnection(path: path, mode: .readWriteCreate) { connection in
            // References are declared in CREATE TABLE and checked in one pass when every row is in
            // (`pragma_foreign_key_check`), not row by row: a deferred check of each row scans the referencing
            // table for every row inserted into the referenced one while a violation is pending.
            try connection.execute("PRAGMA foreign_keys = OFF")
            try connection.execute("BEGIN IMMEDIATE")
            do {
                let result = try await body(SQLiteImportSession(connection: connection, destination: self))
                try connection.execute("COMMIT")
                return result
            } catch {
                try? connection.execute("ROLLBACK")
                throw error
            }
        }
    }
}

/// One import transaction on an SQLite connection.
final class SQLiteImportSession: ImportSession {
    let connection: SQLiteConnection
    let destination: SQLiteImportDestination

    init(connection: SQLiteConnection, destination: SQLiteImportDestination) {
        self.connection = connection
        self.destination = destination
    }

    func ledgerEntry(bundle: String, schema: String?) async throws -> LedgerEntry? {
        guard try connection.columns(of: LedgerEntry.tableName) != nil else { return nil }
        let statement = try connection.prepare(
            "SELECT request_id, scope, tenant, manifest_version, format, imported_at, tables, \"rows\" FROM "
                + quote(LedgerEntry.tableName) + " WHERE bundle = ?")
        try statement.bind([.text(bundle)])
        guard try statement.step() else { return nil }
        func text(_ index: Int) throws -> String? {
            if case .text(let value) = try statement.value(at: index) { return value }
            return nil
        }
        func integer(_ index: Int) throws -> Int {
            if case .integer(let value) = try statement.value(at: index) { return Int(value) }
            return 0
        }
        return LedgerEntry(
            bundle: bundle, requestID: try text(0) ?? "", scope: try text(1) ?? "", tenant: try text(2),
            manifestVersion: try text(3) ?? "", format: try text(4) ?? "",
            importedAt: try text(5).flatMap(Timestamp.init(iso8601:)) ?? Timestamp(millisecondsSince1970: 0),
            tables: try integer(6), rows: try integer(7))
    }

    func existingTable(_ table: TableName) async throws -> ExistingTable? {
        guard let columns = try connection.columns(of: table.name) else { return nil }
        return ExistingTable(
            columns: columns.map { ($0.name, $0.declaredType.uppercased(), $0.notNull) },
            primaryKey: columns.filter { $0.primaryKeyPosition > 0 }.sorted {
                $0.primaryKeyPosition < $1.primaryKeyPosition
            }
            .map(\.name))
    }

    func createSchema(_ name: String) async throws {
        throw HandoverError(.invalidArgument, "SQLite has no schemas")
    }

    func create(_ tables: [DestinationTable]) async throws {
        for table in tables {
            var parts = table.columns.map { column in
                quote(column.name) + " " + destination.declaredType(column.storage)
                    + (column.notNull ? " NOT NULL" : "")
            }
            if !table.primaryKey.isEmpty {
                parts.append("PRIMARY KEY (" + table.primaryKey.map(quote).joined(separator: ", ") + ")")
            }
            for reference in table.references {
                parts.append(
                    "FOREIGN KEY (" + reference.columns.map(quote).joined(separator: ", ") + ") REFERENCES "
                        + quote(reference.table.name) + " ("
                        + reference.referencedColumns.map(quote).joined(separator: ", ")
                        + ") DEFERRABLE INITIALLY DEFERRED")
            }
            try connection.execute(
                "CREATE TABLE " + quote(table.name.name) + " (" + parts.joined(separator: ", ") + ")")
        }
    }

    func finish(created: [DestinationTable], loaded: [DestinationTable]) async throws {
        for table in created {
            for columns in table.unindexedReferences {
                try connection.execute(
                    "CREATE INDEX " + quote(([table.name.name] + columns + ["ref"]).joined(separator: "_")) + " ON "
                        + quote(table.name.name) + " (" + columns.map(quote).joined(separator: ", ") + ")")
            }
        }
        for table in created + loaded {
            let check = try connection.prepare("SELECT count(*) FROM pragma_foreign_key_check(?)")
            try check.bind([.text(table.name.name)])
            guard try check.step(), case .integer(let broken) = try check.value(at: 0) else { continue }
            guard broken == 0 else {
                throw HandoverError(
                    .invalidData,
                    "\(broken) rows of \(table.name) refer to rows that are not there (a reference the bundle declares "
                        + "does not hold in \(destination.path)); nothing was imported")
            }
        }
    }

    func load(_ table: DestinationTable, rows: any ImportRowSource) async throws -> Int {
        let statement = try connection.prepare(
            "INSERT INTO " + quote(table.name.name) + " ("
                + table.columns.map { quote($0.name) }.joined(separator: ", ") + ") VALUES ("
                + Array(repeating: "?", count: table.columns.count).joined(separator: ", ") + ")")
        let storage = table.columns.map(\.storage)
        var count = 0
        var values = [SQLiteValue](repeating: .null, count: storage.count)
        while let row = try rows.next() {
            for index in storage.indices { values[index] = try Self.value(row.values[index], storage[index]) }
            count += 1
            do {
                try statement.run(values)
            } catch let error as HandoverError {
                throw HandoverError(
                    .invalidData,
                    "\(table.name) row \(count): \(destination.path) refused it (\(error.underlying ?? "a constraint"))",
                    cause: error.cause)
            }
        }
        return count
    }

    /// A value as the column stores it.
    static func value(_ value: Value, _ storage: ColumnStorage) throws -> SQLiteValue {
        switch (value, storage) {
        case (.null, _): .null
        case (.string(let text), .text): .text(text)
        case (.integer(let number), .integer): .integer(number)
        case (.number(let number), .double): .real(number)
        case (.number(let number), .decimal), (.number(let number), .numberText): .text(number.description)
        case (.decimal(let text), .decimal), (.decimal(let text), .numberText): .text(text)
        case (.boolean(let flag), .boolean): .integer(flag ? 1 : 0)
        case (.date(let text), .date): .text(text)
        case (.datetime(let time), .datetime): .text(time.iso8601)
        case (.binary(let bytes), .binary): .blob(bytes)
        default:
            throw HandoverError(.internalError, "a value of another type than its column's reached the database")
        }
    }

    func record(_ entry: LedgerEntry, schema: String?) async throws {
        try connection.execute(
            "CREATE TABLE IF NOT EXISTS " + quote(LedgerEntry.tableName)
                + " (bundle TEXT PRIMARY KEY, request_id TEXT NOT NULL, scope TEXT NOT NULL, tenant TEXT, "
                + "manifest_version TEXT NOT NULL, format TEXT NOT NULL, imported_at DATETIME NOT NULL, "
                + "tables INTEGER NOT NULL, \"rows\" INTEGER NOT NULL)")
        let statement = try connection.prepare(
            "INSERT INTO " + quote(LedgerEntry.tableName) + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
        try statement.run([
            .text(entry.bundle), .text(entry.requestID), .text(entry.scope),
            entry.tenant.map(SQLiteValue.text) ?? .null,
            .text(entry.manifestVersion), .text(entry.format), .text(entry.importedAt.iso8601),
            .integer(Int64(entry.tables)), .integer(Int64(entry.rows)),
        ])
    }
}
