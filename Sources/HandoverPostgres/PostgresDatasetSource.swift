internal import Foundation
internal import HandoverCore
public import HandoverSQL
internal import HandoverStore
public import Logging
internal import NIOCore
internal import PostgresNIO

extension DatasetMapExporter {
    /// Checks `map` against the PostgreSQL database `configuration` names (its ``PostgresStoreConfiguration/schema``
    /// holds the tables) and prepares the queries. Each export then opens one connection and reads in one
    /// `REPEATABLE READ, READ ONLY` transaction, so that the bundle is one snapshot; rows stream with
    /// back-pressure.
    ///
    /// Column types: `smallint`, `integer`, `bigint` (integer); `numeric` (number, exact: written digit for digit);
    /// `real`, `double precision` (number); `boolean`; `text`, `varchar`, `char`, `name`, `citext` (string);
    /// `date`; `timestamp` and `timestamptz` (date-time, in UTC, to the microsecond); `time`, `interval` (ISO 8601),
    /// `uuid`, `inet`, `cidr`, `json`, `jsonb`, enumerated types (with their labels as the field's allowed values)
    /// and arrays (as JSON text) as strings; `bytea` (binary). Domains are read as their base type. A column of any
    /// other type is refused, naming it, unless the map declares it `type: string` (its text is then exported).
    /// - Parameters:
    ///   - map: The dataset map.
    ///   - configuration: Where the database is; its password is never shown (see
    ///     ``PostgresStoreConfiguration/redacted``).
    ///   - logger: Where debug messages outside an export go; by default nowhere.
    /// - Throws: ``HandoverError/Code/sourceUnavailable`` when the server cannot be reached,
    ///   ``HandoverError/Code/invalidDatasetMap`` naming what does not match.
    public static func postgres(
        map: DatasetMap, configuration: PostgresStoreConfiguration, logger: Logger = DatasetMapExporter.silent
    ) async throws -> DatasetMapExporter {
        let source = PostgresDatasetSource(configuration: configuration, logger: logger)
        let catalog = try await source.withSession(snapshot: false) { try await $0.catalog() }
        return try DatasetMapExporter(map: map, source: source, catalog: catalog, logger: logger)
    }
}

extension DatasetSources {
    /// The catalog of the PostgreSQL database `configuration` names: the tables of its schema.
    /// - Throws: ``HandoverError/Code/sourceUnavailable`` when the server cannot be reached.
    package static func postgresCatalog(_ configuration: PostgresStoreConfiguration) async throws -> SourceCatalog {
        try await PostgresDatasetSource(configuration: configuration, logger: DatasetMapExporter.silent)
            .withSession(snapshot: false) { try await $0.catalog() }
    }
}

/// A PostgreSQL database as a data source: one connection per session, in a read-only transaction.
struct PostgresDatasetSource: DatasetSource {
    let configuration: PostgresStoreConfiguration
    let logger: Logger

    var label: String { configuration.redacted }
    var dialect: SQLDialect { .postgres }

    func withSession<T: Sendable>(snapshot: Bool, _ body: (any SourceSession) async throws -> T) async throws -> T {
        try configuration.checkPasswordProtection()
        // pg_catalog first, so that no function or type of the data's schema stands in for a built-in one.
        let direct = try RequestStore.directConnection(
            configuration, connectTimeout: .seconds(10),
            startupParameters: [
                ("search_path", "pg_catalog, \"\(configuration.schema)\""), ("application_name", "handover"),
            ])
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .error)
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: direct, id: 1, logger: quiet)
        } catch {
            throw describe(error)
        }
        let session = PostgresSession(connection: connection, source: self)
        do {
            try await session.run(
                snapshot
                    ? "START TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY" : "START TRANSACTION READ ONLY")
            // Text forms that do not depend on the server's or the role's settings.
            try await session.run(
                "SELECT set_config('TimeZone', 'UTC', true), set_config('DateStyle', 'ISO, YMD', true), "
                    + "set_config('IntervalStyle', 'iso_8601', true), set_config('bytea_output', 'hex', true), "
                    + "set_config('extra_float_digits', '1', true)")
            let result = try await body(session)
            try await session.run("COMMIT")
            try? await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw describe(error)
        }
    }

    /// A ``HandoverError`` for a PostgreSQL error, with its SQLSTATE as the cause. The server's message is kept
    /// only for errors about connections, roles, catalogs and statements, which name objects; a data exception's
    /// message can quote a value (`invalid input syntax for type integer: "…"`), so it is left out.
    func describe(_ error: any Error) -> HandoverError {
        if let error = error as? HandoverError { return error }
        guard let error = error as? PSQLError else {
            if error is CancellationError { return HandoverError(.cancelled, "the export was cancelled") }
            return HandoverError(.sourceFailed, "PostgreSQL at \(label): \(type(of: error))")
        }
        if let refusal = ServerRefusal(error) {
            return HandoverError(
                refusal.unavailable ? .sourceUnavailable : .sourceFailed,
                "PostgreSQL at \(label) refused: \(refusal.state)" + (refusal.message.map { " " + $0 } ?? ""),
                cause: .sqlstate(refusal.state))
        }
        let text = error.underlying.map { String(describing: type(of: $0)) } ?? String(describing: error.code)
        return HandoverError(
            .sourceUnavailable, "cannot reach PostgreSQL at \(label): \(text)",
            cause: PostgresRequestStoreBackEnd.cause(of: error))
    }
}

/// A session on one PostgreSQL connection.
struct PostgresSession: SourceSession {
    let connection: PostgresConnection
    let source: PostgresDatasetSource

    /// Runs a statement and drains its rows.
    func run(_ sql: String) async throws {
        let rows = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: source.logger)
        for try await _ in rows {}
    }

    func query(_ sql: String, _ parameters: [SourceValue]) async throws -> PostgresRowSequence {
        var bindings = PostgresBindings(capacity: parameters.count)
        for parameter in parameters {
            switch parameter {
            case .null: bindings.appendNull()
            // Every parameter is compared through CAST(? AS type): bound as text.
            case .integer(let number): bindings.append(String(number))
            case .real(let number): bindings.append(String(number))
            case .text(let text): bindings.append(text)
            case .blob(let bytes): bindings.append(ByteBuffer(bytes: bytes))
            }
        }
        return try await connection.query(
            PostgresQuery(unsafeSQL: source.dialect.finish(sql), binds: bindings), logger: source.logger)
    }

    func rows(_ sql: String, _ parameters: [SourceValue], limit: Int) async throws -> [[SourceValue]] {
        do {
            return try await readRows(sql, parameters, limit: limit)
        } catch {
            throw source.describe(error)
        }
    }

    private func readRows(_ sql: String, _ parameters: [SourceValue], limit: Int) async throws -> [[SourceValue]] {
        var result: [[SourceValue]] = []
        for try await row in try await query(sql, parameters) {
            guard result.count < limit else { continue }
            result.append(
                row.map { cell in
                    guard var bytes = cell.bytes else { return .null }
                    switch cell.dataType {
                    case .int8: return bytes.readInteger(as: Int64.self).map { .integer($0) } ?? .null
                    case .int4: return bytes.readInteger(as: Int32.self).map { .integer(Int64($0)) } ?? .null
                    case .int2: return bytes.readInteger(as: Int16.self).map { .integer(Int64($0)) } ?? .null
                    default:
                        return bytes.utf8Text.map { .text($0) }
                            ?? .blob(Array(bytes.readableBytesView))
                    }
                })
        }
        return result
    }

    func stream(
        _ query: TablePlan.Query, plan: TablePlan, conversion: RowConversion, _ body: ([Row]) async throws -> Void
    ) async throws {
        let batchSize = 256
        var reader = PostgresRowReader(conversion: conversion)
        let rows: PostgresRowSequence
        do {
            rows = try await self.query(query.sql, query.parameters)
        } catch {
            throw source.describe(error)
        }
        var iterator = rows.makeAsyncIterator()
        var batch: [Row] = []
        batch.reserveCapacity(batchSize)
        while true {
            let next: PostgresRow?
            do {
                next = try await iterator.next()
            } catch {
                // The rows converted before the error are written first, as they would be one at a time.
                if !batch.isEmpty { try await body(batch) }
                throw source.describe(error)
            }
            guard let row = next else { break }
            let converted: Row
            do {
                converted = try reader.convert(row)
            } catch {
                if !batch.isEmpty { try await body(batch) }
                throw error
            }
            batch.append(converted)
            if batch.count == batchSize {
                try await body(batch)
                batch.removeAll(keepingCapacity: true)
            }
        }
        if !batch.isEmpty { try await body(batch) }
    }

    func catalog() async throws -> SourceCatalog {
        let schema = [SourceValue.text(source.configuration.schema)]
        // Every column of every table, view and foreign table of the schema, with its type (a domain's base
        // type), enumerated labels as a JSON array, and place in the primary key.
        let columnsSQL = """
            SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod),
                   a.attnotnull::text, COALESCE(array_position(pk.conkey, a.attnum), 0)::text,
                   COALESCE(bt.typname, t.typname)::text, COALESCE(bt.typtype, t.typtype)::text,
                   COALESCE(bt.typcategory, t.typcategory)::text,
                   format_type(COALESCE(bt.oid, t.oid), NULL),
                   (SELECT json_agg(e.enumlabel ORDER BY e.enumsortorder)::text FROM pg_enum e
                     WHERE e.enumtypid = COALESCE(bt.oid, t.oid))
            FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
            JOIN pg_type t ON t.oid = a.atttypid
            LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
            LEFT JOIN pg_constraint pk ON pk.conrelid = c.oid AND pk.contype = 'p'
            WHERE n.nspname = ? AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
            ORDER BY c.relname, a.attnum
            """
        var columns: [String: [CatalogColumn]] = [:]
        for row in try await rows(columnsSQL, schema, limit: .max) {
            let text = row.map { $0.text ?? "" }
            var enumeration: [String]?
            if case .text(let json) = row[9],
                let labels = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String]
            {
                enumeration = labels
            }
            columns[text[0], default: []].append(
                Self.column(
                    name: text[1], declared: text[2], notNull: text[3] == "true", keyPosition: Int(text[4]) ?? 0,
                    typeName: text[5], typeType: text[6], category: text[7], baseType: text[8],
                    enumeration: enumeration))
        }
        let indexesSQL = """
            SELECT c.relname::text, a.attname::text
            FROM pg_index i
            JOIN pg_class c ON c.oid = i.indrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]
            WHERE n.nspname = ?
            """
        var indexed: [String: Set<String>] = [:]
        for row in try await rows(indexesSQL, schema, limit: .max) {
            if let table = row[0].text, let column = row[1].text { indexed[table, default: []].insert(column) }
        }
        let keysSQL = """
            SELECT c.relname::text, rc.relname::text,
                   (SELECT json_agg(a.attname ORDER BY k.o)::text FROM unnest(con.conkey) WITH ORDINALITY k(n, o)
                     JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n),
                   (SELECT json_agg(a.attname ORDER BY k.o)::text FROM unnest(con.confkey) WITH ORDINALITY k(n, o)
                     JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n)
            FROM pg_constraint con
            JOIN pg_class c ON c.oid = con.conrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_class rc ON rc.oid = con.confrelid
            WHERE con.contype = 'f' AND n.nspname = ? AND rc.relnamespace = n.oid
            ORDER BY c.relname, con.conname
            """
        var keys: [String: [CatalogForeignKey]] = [:]
        for row in try await rows(keysSQL, schema, limit: .max) {
            func names(_ value: SourceValue) -> [String] {
                guard let json = value.text else { return [] }
                return (try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String]) ?? []
            }
            guard let table = row[0].text, let target = row[1].text else { continue }
            keys[table, default: []].append(
                CatalogForeignKey(columns: names(row[2]), table: target, referencedColumns: names(row[3])))
        }
        return SourceCatalog(
            label: source.label,
            tables: columns.map { name, columns in
                CatalogTable(
                    name: name, columns: columns, leadingIndexedColumns: indexed[name] ?? [],
                    foreignKeys: keys[name] ?? [])
            })
    }

    /// A catalog column, with the field type and reading its PostgreSQL type calls for.
    static func column(
        name: String, declared: String, notNull: Bool, keyPosition: Int, typeName: String, typeType: String,
        category: String, baseType: String, enumeration: [String]?
    ) -> CatalogColumn {
        let kind: String
        let type: FieldType?
        if category == "A" {
            (kind, type) = ("array", .string)
        } else if typeType == "e" {
            (kind, type) = ("enum", .string)
        } else {
            switch typeName {
            case "int2", "int4", "int8": (kind, type) = ("int", .integer)
            case "numeric": (kind, type) = ("numeric", .number)
            case "float4", "float8": (kind, type) = ("float", .number)
            case "bool": (kind, type) = ("bool", .boolean)
            case "text", "varchar", "bpchar", "name", "citext": (kind, type) = ("text", .string)
            case "date": (kind, type) = ("date", .date)
            case "timestamp", "timestamptz": (kind, type) = (typeName, .datetime)
            case "time", "timetz": (kind, type) = ("time", .string)
            case "interval": (kind, type) = ("interval", .string)
            case "uuid": (kind, type) = ("uuid", .string)
            case "bytea": (kind, type) = ("bytea", .binary)
            case "json", "jsonb": (kind, type) = ("json", .string)
            case "inet", "cidr": (kind, type) = ("inet", .string)
            default: (kind, type) = ("other", nil)
            }
        }
        var column = CatalogColumn(
            name: name, declaredType: declared, notNull: notNull, primaryKeyPosition: keyPosition,
            inferredType: type, enumeration: typeType == "e" ? enumeration : nil,
            parameterType: category == "A" ? nil : baseType)
        column.selectForm =
            switch kind {
            case "array": .json
            case "inet": .output
            default: .text
            }
        column.kind = kind
        return column
    }
}

/// Turns rows of text cells (every column is selected as text) into ``Row`` values by each column's kind and
/// field type.
struct PostgresRowReader {
    let conversion: RowConversion
    let types: [FieldType]
    var values: [Value] = []
    /// The companion fields' nulls, copied for each row.
    let companions: [Value]

    init(conversion: RowConversion) {
        self.conversion = conversion
        let plan = conversion.plan
        self.types = plan.schema.fields.prefix(plan.sourceCount).map(\.type)
        self.companions = Array(repeating: .null, count: plan.schema.fields.count - plan.sourceCount)
        values.reserveCapacity(plan.schema.fields.count)
    }

    mutating func convert(_ row: PostgresRow) throws -> Row {
        values.removeAll(keepingCapacity: true)
        var companions = self.companions
        var index = 0
        for cell in row {
            defer { index += 1 }
            guard let bytes = cell.bytes else {
                values.append(.null)
                continue
            }
            do {
                // A database in SQL_ASCII hands over any bytes at all.
                guard let text = bytes.utf8Text else {
                    throw Unfit(.invalidText, "text is not valid UTF-8")
                }
                values.append(try value(text, at: index, row: row))
            } catch let unfit as Unfit {
                values.append(
                    try conversion.repair(
                        index, unfit, rowKey: { rowKey(row) },
                        text: { String(decoding: bytes.readableBytesView, as: UTF8.self) }, companions: &companions))
            }
        }
        values += companions
        return Row(values)
    }

    private func value(_ text: String, at index: Int, row: PostgresRow) throws -> Value {
        let plan = conversion.plan
        if let domain = plan.pseudonymDomains[index] { return conversion.reference(text, at: index, domain: domain) }
        let kind = plan.kinds[index]
        func invalid(_ problem: String) -> Unfit { Unfit(.unfitValue, problem) }
        switch types[index] {
        case .string:
            return .string(text)
        case .integer:
            if let number = Int64(text) { return .integer(number) }
            // A numeric with a zero fraction (12.000) is a whole number.
            if kind == "numeric", let point = text.firstIndex(of: "."),
                text[text.index(after: point)...].allSatisfy({ $0 == "0" }), let number = Int64(text[..<point])
            {
                return .integer(number)
            }
            throw invalid("expected an integer, found \(kind == "int" ? "one out of range" : "a \(kind) value")")
        case .number:
            if let decimal = Value.decimal(exactly: text) { return kind == "float" ? .number(Double(text)!) : decimal }
            if kind == "float", let number = Double(text), number.isFinite { return .number(number) }
            // Text holding a double as Handover writes one (`1e+20`), as the SQLite source reads it.
            if let number = RowConversion.number(text: text) { return number }
            if ["NaN", "Infinity", "-Infinity"].contains(text) {
                throw invalid(
                    "NaN and infinities cannot be written as numbers in JSON; declare the column 'type: string' to "
                        + "export them as the text NaN, Infinity and -Infinity")
            }
            throw invalid("expected a number, found a \(kind) value")
        case .boolean:
            switch text {
            case "true", "t": return .boolean(true)
            case "false", "f": return .boolean(false)
            default: throw invalid("expected a boolean, found a \(kind) value")
            }
        case .date:
            if let (year, month, day) = ISO8601Parser.date(Array(text.utf8)) {
                return .date(CivilDate.format(year: year, month: month, day: day))
            }
            throw invalid(
                "expected a date from year 0000 to 9999 (no infinity, no era), found "
                    + (kind == "date" ? "one outside it" : "a \(kind) value"))
        case .datetime:
            if let time = Timestamp(iso8601: text) { return .datetime(time) }
            // Whole seconds since 1970 in an integer column, as the SQLite source reads them too.
            if kind == "int", let seconds = Int64(text), abs(seconds) < 253_402_300_800 {
                return .datetime(Timestamp(secondsSince1970: seconds))
            }
            throw invalid(
                "expected a date-time from year 0000 to 9999 (no infinity, no era), found "
                    + (kind.hasPrefix("timestamp") ? "one outside it" : "a \(kind) value"))
        case .binary:
            if kind == "bytea" {
                guard let bytes = Self.hexBytes(text) else { throw invalid("unreadable bytea text") }
                return .binary(bytes)
            }
            return .binary(Array(text.utf8))
        }
    }

    /// The bytes of bytea's hex form, `\x0a1b…`.
    static func hexBytes(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count >= 2, utf8[0] == UInt8(ascii: "\\"), utf8[1] == UInt8(ascii: "x"), utf8.count % 2 == 0 else {
            return nil
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count / 2 - 1)
        var index = 2
        while index < utf8.count {
            guard let high = utf8[index].hexDigitValue, let low = utf8[index + 1].hexDigitValue else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    /// The row's primary key for an error message: integer keys in clear, any other key by its type alone.
    private func rowKey(_ row: PostgresRow) -> String {
        let cells = Array(row)
        return Row.keyDescription(in: conversion.plan.schema) { index in
            guard index < cells.count else { return nil }
            guard let bytes = cells[index].bytes else { return .null }
            if conversion.plan.kinds[index] == "int",
                let number = bytes.utf8Text.flatMap({ Int64($0) })
            {
                return .integer(number)
            }
            return .hidden
        }
    }
}

/// What a PostgreSQL server's refusal says that may be shown anywhere: its SQLSTATE, whether the server or the
/// database is unavailable (classes 08, 28, 3D, 53, 57), and its message only for those classes and class 42,
/// whose messages name connections, roles and objects; any other message (a data exception's, a constraint's)
/// can quote a value, so it is left out.
struct ServerRefusal {
    /// The SQLSTATE.
    let state: String
    /// Whether trying later (or with other credentials) may help: the server or database is not there for us.
    let unavailable: Bool
    /// The server's message, where it names objects rather than values; nil otherwise.
    let message: String?

    /// The refusal in `error`; nil when the server sent none (the connection failed first).
    init?(_ error: PSQLError) {
        guard let state = error.serverInfo?[.sqlState] else { return nil }
        self.state = state
        unavailable = ["08", "28", "3D", "53", "57"].contains { state.hasPrefix($0) }
        message = unavailable || state.hasPrefix("42") ? error.serverInfo?[.message] ?? "" : nil
    }
}

extension ByteBuffer {
    /// The readable bytes as text, or nil when they are not valid UTF-8 (``UTF8Text/string(_:)``, which takes no
    /// generic path per call as `String(validating:as:)` over a `ByteBufferView` does).
    fileprivate var utf8Text: String? {
        withUnsafeReadableBytes { UTF8Text.string($0.assumingMemoryBound(to: UInt8.self)) }
    }
}
