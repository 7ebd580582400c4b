public import HandoverCore
public import HandoverImport
internal import HandoverStore
public import Logging
internal import NIOCore
internal import PostgresNIO

/// A PostgreSQL database as the destination of an import.
///
/// One connection, one transaction; rows go in through `COPY … FROM STDIN` (text format), a table at a time.
/// References are added once the rows are in (`DEFERRABLE INITIALLY DEFERRED`), with an index on their columns;
/// text key columns use the `C` collation, so that rows come back in the byte order SQLite and Handover's exports
/// sort them in.
public struct PostgresImportDestination: ImportDestination {
    /// The server, credentials, database, and the schema `<exporter>_<table>` tables and the ledger go into.
    public let configuration: PostgresStoreConfiguration
    let logger: Logger

    /// A destination; `configuration.schema` receives prefixed tables and the ledger (`public` by default).
    public init(configuration: PostgresStoreConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// The server and database, without the password.
    public var label: String { configuration.redacted }
    /// Tables may go into a schema per exporter.
    public var supportsSchemas: Bool { true }
    /// The URL's schema.
    public var defaultSchema: String? { configuration.schema }
    /// PostgreSQL keeps 63 bytes of a name (and cuts the rest silently, which the import refuses).
    public var maximumIdentifierLength: Int { 63 }

    /// The types `format_type` names: `text`, `bigint`, `double precision`, `numeric`, `boolean`, `date`,
    /// `timestamp with time zone`, `bytea`.
    public func declaredType(_ storage: ColumnStorage) -> String {
        switch storage {
        case .text, .numberText: "text"
        case .integer: "bigint"
        case .double: "double precision"
        case .decimal: "numeric"
        case .boolean: "boolean"
        case .date: "date"
        case .datetime: "timestamp with time zone"
        case .binary: "bytea"
        }
    }

    /// Connects, begins a transaction, and commits when `body` returns.
    public func withTransaction<T: Sendable>(_ body: (any ImportSession) async throws -> T) async throws -> T {
        try configuration.checkPasswordProtection()
        let direct = try RequestStore.directConnection(
            configuration, connectTimeout: .seconds(10),
            startupParameters: [("search_path", "pg_catalog"), ("application_name", "handover import")])
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .error)
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: direct, id: 1, logger: quiet)
        } catch {
            throw describe(error, context: nil)
        }
        let session = PostgresImportSession(connection: connection, destination: self, logger: quiet)
        do {
            try await session.run("START TRANSACTION ISOLATION LEVEL READ COMMITTED")
            try await session.run(
                "SELECT set_config('TimeZone', 'UTC', true), set_config('DateStyle', 'ISO, YMD', true)")
            let result = try await body(session)
            do {
                try await session.run("COMMIT")
            } catch {
                throw describe(error, context: "committing")
            }
            try? await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw describe(error, context: nil)
        }
    }

    /// A ``HandoverError`` for a PostgreSQL error, its SQLSTATE as the cause, and the server's message only where
    /// ``ServerRefusal`` keeps it (an integrity or data error's message and detail quote values).
    func describe(_ error: any Error, context: String?) -> HandoverError {
        if let error = error as? HandoverError { return error }
        guard let error = error as? PSQLError else {
            if error is CancellationError { return HandoverError(.cancelled, "the import was cancelled") }
            return HandoverError(.outputUnavailable, "PostgreSQL at \(label): \(type(of: error))")
        }
        let place = context.map { " " + $0 } ?? ""
        if let refusal = ServerRefusal(error) {
            if refusal.state == "23503" {
                return HandoverError(
                    .invalidData,
                    "a reference the bundle declares does not hold in \(label) (a row refers to one that is not there)"
                        + "; nothing was imported", cause: .sqlstate(refusal.state))
            }
            let code: HandoverError.Code =
                refusal.unavailable
                ? .outputUnavailable
                : refusal.state.hasPrefix("22") || refusal.state.hasPrefix("23") ? .invalidData : .outputUnavailable
            return HandoverError(
                code,
                "PostgreSQL at \(label) refused\(place): SQLSTATE \(refusal.state)"
                    + (refusal.message.map { ": " + $0 } ?? "") + "; nothing was imported",
                cause: .sqlstate(refusal.state))
        }
        return HandoverError(
            .outputUnavailable, "cannot reach PostgreSQL at \(label)\(place)",
            cause: PostgresRequestStoreBackEnd.cause(of: error))
    }
}

/// One import transaction on a PostgreSQL connection.
final class PostgresImportSession: ImportSession {
    let connection: PostgresConnection
    let destination: PostgresImportDestination
    let logger: Logger

    init(connection: PostgresConnection, destination: PostgresImportDestination, logger: Logger) {
        self.connection = connection
        self.destination = destination
        self.logger = logger
    }

    func run(_ sql: String) async throws {
        let rows = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
        for try await _ in rows {}
    }

    /// The rows of a query with text parameters, each cell as text (nil for null).
    func texts(_ sql: String, _ parameters: [String]) async throws -> [[String?]] {
        var bindings = PostgresBindings(capacity: parameters.count)
        for parameter in parameters { bindings.append(parameter) }
        var result: [[String?]] = []
        for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger)
        {
            result.append(
                row.map { cell in cell.bytes.map { String(decoding: $0.readableBytesView, as: UTF8.self) } })
        }
        return result
    }

    func ledgerEntry(bundle: String, schema: String?) async throws -> LedgerEntry? {
        let table = TableName(schema: schema ?? "public", name: LedgerEntry.tableName)
        guard try await existingTable(table) != nil else { return nil }
        let rows = try await texts(
            "SELECT request_id, scope, tenant, manifest_version, format, "
                + "to_char(imported_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), tables::text, "
                + "\"rows\"::text FROM \(table.quoted) WHERE bundle = $1", [bundle])
        guard let row = rows.first else { return nil }
        return LedgerEntry(
            bundle: bundle, requestID: row[0] ?? "", scope: row[1] ?? "", tenant: row[2],
            manifestVersion: row[3] ?? "", format: row[4] ?? "",
            importedAt: row[5].flatMap { Timestamp(iso8601: $0) } ?? Timestamp(millisecondsSince1970: 0),
            tables: row[6].flatMap { Int($0) } ?? 0, rows: row[7].flatMap { Int($0) } ?? 0)
    }

    func existingTable(_ table: TableName) async throws -> ExistingTable? {
        let columns = try await texts(
            """
            SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull::text
            FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
            JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attnum
            """, [table.schema ?? "public", table.name])
        guard !columns.isEmpty else { return nil }
        let key = try await texts(
            """
            SELECT a.attname FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
            JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY k(attnum, o)
            JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
            WHERE i.indisprimary AND n.nspname = $1 AND c.relname = $2 ORDER BY k.o
            """, [table.schema ?? "public", table.name])
        return ExistingTable(
            columns: columns.map { ($0[0] ?? "", $0[1] ?? "", $0[2] == "true") }, primaryKey: key.compactMap { $0[0] })
    }

    func createSchema(_ name: String) async throws {
        try await run("CREATE SCHEMA IF NOT EXISTS " + quote(name))
    }

    func create(_ tables: [DestinationTable]) async throws {
        for table in tables {
            var parts = table.columns.map { column in
                quote(column.name) + " " + destination.declaredType(column.storage)
                    + (column.storage == .text && table.primaryKey.contains(column.name) ? " COLLATE \"C\"" : "")
                    + (column.notNull ? " NOT NULL" : "")
            }
            if !table.primaryKey.isEmpty {
                parts.append("PRIMARY KEY (" + table.primaryKey.map(quote).joined(separator: ", ") + ")")
            }
            try await run("CREATE TABLE " + table.name.quoted + " (" + parts.joined(separator: ", ") + ")")
        }
    }

    /// The references of the tables created, declared once their rows are in (checked in one pass each, as a bulk
    /// load does, instead of a trigger event per row), and an index on each referencing column list; the references
    /// of tables that stood there before fire for each row, deferred to the commit.
    func finish(created tables: [DestinationTable], loaded: [DestinationTable]) async throws {
        for table in tables {
            for (number, reference) in table.references.enumerated() {
                try await run(
                    "ALTER TABLE " + table.name.quoted + " ADD CONSTRAINT "
                        + quote("\(table.name.name)_ref\(number + 1)")
                        + " FOREIGN KEY (" + reference.columns.map(quote).joined(separator: ", ") + ") REFERENCES "
                        + reference.table.quoted + " (" + reference.referencedColumns.map(quote).joined(separator: ", ")
                        + ") DEFERRABLE INITIALLY DEFERRED")
            }
            for columns in table.unindexedReferences {
                try await run(
                    "CREATE INDEX ON " + table.name.quoted + " (" + columns.map(quote).joined(separator: ", ") + ")")
            }
        }
    }

    func load(_ table: DestinationTable, rows: any ImportRowSource) async throws -> Int {
        let storage = table.columns.map(\.storage)
        var count = 0
        // postgres-nio puts the name in double quotes as it is: the quotes between schema and name are ours.
        let name = (table.name.schema.map { escapeQuotes($0) + "\".\"" } ?? "") + escapeQuotes(table.name.name)
        do {
            try await connection.copyFrom(table: name, logger: logger) { writer in
                var buffer = ByteBuffer()
                buffer.reserveCapacity(512 * 1024)
                while let row = try rows.next() {
                    count += 1
                    for index in storage.indices {
                        if index > 0 { buffer.writeInteger(UInt8(ascii: "\t")) }
                        try Self.append(row.values[index], storage[index], to: &buffer) {
                            HandoverError(
                                .invalidData,
                                "\(table.name) row \(count), field \(table.columns[index].name): \($0)")
                        }
                    }
                    buffer.writeInteger(UInt8(ascii: "\n"))
                    if buffer.readableBytes >= 256 * 1024 {
                        try await writer.write(buffer)
                        buffer.clear()
                    }
                }
                if buffer.readableBytes > 0 { try await writer.write(buffer) }
            }
        } catch {
            throw destination.describe(error, context: "loading \(table.name) (after row \(count))")
        }
        return count
    }

    /// A value in COPY's text format.
    static func append(
        _ value: Value, _ storage: ColumnStorage, to buffer: inout ByteBuffer, _ fail: (String) -> HandoverError
    ) throws {
        switch (value, storage) {
        case (.null, _): buffer.writeStaticString("\\N")
        case (.string(let text), .text): try appendText(text, to: &buffer, fail)
        case (.integer(let number), .integer): buffer.writeString(String(number))
        case (.number(let number), .double), (.number(let number), .decimal), (.number(let number), .numberText):
            buffer.writeString(number.description)
        case (.decimal(let text), .decimal), (.decimal(let text), .numberText): buffer.writeString(text)
        case (.boolean(let flag), .boolean): buffer.writeInteger(UInt8(ascii: flag ? "t" : "f"))
        case (.date(let text), .date): buffer.writeString(text)
        case (.datetime(let time), .datetime): buffer.writeString(time.iso8601)
        case (.binary(let bytes), .binary):
            // `\\x` then hexadecimal: the backslash doubled for COPY.
            buffer.writeStaticString("\\\\x")
            let digits: StaticString = "0123456789abcdef"
            for byte in bytes {
                buffer.writeInteger(digits.utf8Start[Int(byte >> 4)])
                buffer.writeInteger(digits.utf8Start[Int(byte & 0x0F)])
            }
        default:
            throw HandoverError(.internalError, "a value of another type than its column's reached the database")
        }
    }

    /// Text with COPY's escapes: backslash, tab, newline and carriage return; a NUL cannot be stored.
    static func appendText(_ text: String, to buffer: inout ByteBuffer, _ fail: (String) -> HandoverError) throws {
        var plain = true
        for byte in text.utf8 where byte == 0x5C || byte == 0x09 || byte == 0x0A || byte == 0x0D || byte == 0 {
            plain = false
            break
        }
        if plain {
            buffer.writeString(text)
            return
        }
        for byte in text.utf8 {
            switch byte {
            case 0: throw fail("holds a NUL character, which PostgreSQL text cannot store")
            case 0x5C: buffer.writeStaticString("\\\\")
            case 0x09: buffer.writeStaticString("\\t")
            case 0x0A: buffer.writeStaticString("\\n")
            case 0x0D: buffer.writeStaticString("\\r")
            default: buffer.writeInteger(byte)
            }
        }
    }

    func record(_ entry: LedgerEntry, schema: String?) async throws {
        let table = TableName(schema: schema ?? "public", name: LedgerEntry.tableName)
        try await createSchema(schema ?? "public")
        try await run(
            "CREATE TABLE IF NOT EXISTS " + table.quoted
                + " (bundle text PRIMARY KEY, request_id text NOT NULL, scope text NOT NULL, tenant text, "
                + "manifest_version text NOT NULL, format text NOT NULL, imported_at timestamptz NOT NULL, "
                + "tables integer NOT NULL, \"rows\" bigint NOT NULL)")
        var bindings = PostgresBindings(capacity: 9)
        for text in [entry.bundle, entry.requestID, entry.scope] { bindings.append(text) }
        if let tenant = entry.tenant { bindings.append(tenant) } else { bindings.appendNull() }
        for text in [
            entry.manifestVersion, entry.format, entry.importedAt.iso8601, String(entry.tables), String(entry.rows),
        ] {
            bindings.append(text)
        }
        let rows = try await connection.query(
            PostgresQuery(
                unsafeSQL: "INSERT INTO \(table.quoted) VALUES ($1, $2, $3, $4, $5, $6, $7::timestamptz, $8::integer, "
                    + "$9::bigint)", binds: bindings), logger: logger)
        for try await _ in rows {}
    }

    private func escapeQuotes(_ name: String) -> String { name.replacingOccurrences(of: "\"", with: "\"\"") }
}
