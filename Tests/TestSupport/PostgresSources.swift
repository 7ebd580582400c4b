import Foundation
public import HandoverCore
package import HandoverSQLite

/// The data sources a dataset map can read; the source tests run against each.
public enum SourceKind: String, CaseIterable, Sendable, CustomStringConvertible {
    /// A SQLite file.
    case sqlite
    /// A schema on the PostgreSQL server `scripts/start-postgres.sh` starts on loopback.
    case postgres

    /// The case name, for test arguments.
    public var description: String { rawValue }
}

/// The test server's URL for `psql` (libpq knows no `schema` parameter).
let psqlURL: String = {
    guard let question = testPostgresURL.firstIndex(of: "?") else { return testPostgresURL }
    let parameters = testPostgresURL[testPostgresURL.index(after: question)...].split(separator: "&")
        .filter { !$0.hasPrefix("schema=") }
    return String(testPostgresURL[..<question]) + (parameters.isEmpty ? "" : "?" + parameters.joined(separator: "&"))
}()

/// The `--db` URL of `schema` on the test server.
public func postgresSourceURL(schema: String) -> String {
    psqlURL + (psqlURL.contains("?") ? "&" : "?") + "schema=" + schema
}

/// Runs `sql` with `psql` on the test server, stopping at the first error; returns its unaligned output.
/// - Throws: ``PostgresServerMissing`` when psql cannot connect, or an error with psql's message.
@discardableResult
public func psql(_ sql: String, schema: String? = nil) async throws -> String {
    try await withTemporaryDirectory { folder in
        let file = folder + "/script.sql"
        let prelude = schema.map { "SET search_path = \"\($0)\";\n" } ?? ""
        try Data((prelude + sql).utf8).write(to: URL(fileURLWithPath: file))
        let result = try await runOffThread(
            "/usr/bin/psql", [psqlURL, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-f", file])
        guard result.status == 0 else {
            if result.stderr.contains("Connection refused") || result.stderr.contains("could not connect") {
                throw PostgresServerMissing(reason: result.stderr)
            }
            throw HandoverError(.sourceFailed, "psql failed: " + result.stderr.prefix(2000))
        }
        return result.stdout
    }
}

/// The integers in the first column of a query's rows, run by `psql` in `schema`.
public func psqlIntegers(_ sql: String, schema: String) async throws -> [Int64] {
    try await psql(sql, schema: schema).split(separator: "\n").compactMap { Int64($0) }
}

/// A new schema on the test server made by `sql` for the length of `body`, which gets the schema's `--db` URL
/// and name; the schema is dropped afterwards.
public func withPostgresSchema<T>(_ sql: String, _ body: (_ url: String, _ schema: String) async throws -> T)
    async throws -> T
{
    let schema = "src_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(20)
    try await psql("CREATE SCHEMA \"\(schema)\";\nSET search_path = \"\(schema)\";\n" + sql)
    do {
        let result = try await body(postgresSourceURL(schema: schema), String(schema))
        try await psql("DROP SCHEMA \"\(schema)\" CASCADE;")
        return result
    } catch {
        try? await psql("DROP SCHEMA \"\(schema)\" CASCADE;")
        throw error
    }
}

/// The demo database copied into a schema of the test server, made once per test process and kept (named by
/// the demo's contents, so later runs reuse it): the `--db` URL and the schema.
public func postgresDemo() async throws -> (url: String, schema: String) {
    try await PostgresDemo.shared.schema()
}

actor PostgresDemo {
    static let shared = PostgresDemo()
    /// The one copy being made or made (the actor lets other callers in while it awaits: they wait on it).
    var making: Task<(url: String, schema: String), any Error>?

    func schema() async throws -> (url: String, schema: String) {
        if let making { return try await making.value }
        let task = Task { try await Self.make() }
        making = task
        return try await task.value
    }

    static func make() async throws -> (url: String, schema: String) {
        let sql = try postgresCopySQL(ofSQLite: demoDatabase)
        let schema = "demo_" + String(stableHash(sql), radix: 16)
        let exists = try await psql("SELECT 1 FROM pg_namespace WHERE nspname = '\(schema)';")
        if !exists.contains("1") {
            let staging = schema + "_" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
            try await psql(
                "CREATE SCHEMA \"\(staging)\";\nSET search_path = \"\(staging)\";\n" + sql
                    + "\nALTER SCHEMA \"\(staging)\" RENAME TO \"\(schema)\";")
        }
        return (postgresSourceURL(schema: schema), schema)
    }

    /// FNV-1a of the text: stable across runs (Swift's hashValue is not).
    static func stableHash(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }
}

/// SQL that recreates the SQLite database at `path` in PostgreSQL (in the current schema): each table with its
/// columns' types mapped (INTEGER → bigint, REAL → double precision, BOOLEAN → boolean, DATETIME → timestamptz,
/// BLOB → bytea, anything else → text), NOT NULL, the primary key, every row, then the foreign keys and an index
/// on each column that leads one in SQLite.
public func postgresCopySQL(ofSQLite path: String) throws -> String {
    try SQLiteConnection.withConnection(path: path, mode: .readOnly) { connection in
        var sql = ""
        var constraints = ""
        for table in try connection.tableNames() where !table.hasPrefix("sqlite_") {
            guard let columns = try connection.columns(of: table) else { continue }
            func pgType(_ declared: String) -> String {
                let type = declared.uppercased()
                if type.contains("DATETIME") || type.contains("TIMESTAMP") { return "timestamptz" }
                if type.contains("BOOL") { return "boolean" }
                if type.contains("INT") { return "bigint" }
                if type.contains("REAL") || type.contains("DOUB") || type.contains("FLOA") { return "double precision" }
                if type.contains("BLOB") { return "bytea" }
                return "text"
            }
            let types = columns.map { pgType($0.declaredType) }
            var definitions = zip(columns, types).map { column, type in
                "\"\(column.name)\" \(type)" + (column.notNull ? " NOT NULL" : "")
            }
            let key = columns.filter { $0.primaryKeyPosition > 0 }.sorted {
                $0.primaryKeyPosition < $1.primaryKeyPosition
            }
            if !key.isEmpty {
                definitions.append("PRIMARY KEY (" + key.map { "\"\($0.name)\"" }.joined(separator: ", ") + ")")
            }
            sql += "CREATE TABLE \"\(table)\" (" + definitions.joined(separator: ", ") + ");\n"
            let statement = try connection.prepare(
                "SELECT " + columns.map { "\"\($0.name)\"" }.joined(separator: ", ") + " FROM \"\(table)\"")
            var rows: [String] = []
            func flush() {
                guard !rows.isEmpty else { return }
                sql += "INSERT INTO \"\(table)\" VALUES\n" + rows.joined(separator: ",\n") + ";\n"
                rows.removeAll()
            }
            while try statement.step() {
                var values: [String] = []
                for index in columns.indices {
                    values.append(postgresLiteral(try statement.value(at: index), type: types[index]))
                }
                rows.append("(" + values.joined(separator: ", ") + ")")
                if rows.count == 500 { flush() }
            }
            flush()
            for (number, key) in try connection.foreignKeys(of: table).enumerated() {
                let referenced =
                    key.referencedColumns.isEmpty
                    ? "" : " (" + key.referencedColumns.map { "\"\($0)\"" }.joined(separator: ", ") + ")"
                constraints +=
                    "ALTER TABLE \"\(table)\" ADD CONSTRAINT \"\(table)_fk\(number)\" FOREIGN KEY ("
                    + key.columns.map { "\"\($0)\"" }.joined(separator: ", ") + ") REFERENCES \"\(key.table)\""
                    + referenced
                    + ";\n"
            }
            for column in try connection.leadingIndexedColumns(of: table).sorted()
            where !key.contains(where: { $0.name == column && $0.primaryKeyPosition == 1 }) {
                constraints += "CREATE INDEX ON \"\(table)\" (\"\(column)\");\n"
            }
        }
        return sql + constraints
    }
}

/// A SQL literal of `value` for a column of PostgreSQL type `type`.
func postgresLiteral(_ value: SQLiteValue, type: String) -> String {
    switch value {
    case .null: return "NULL"
    case .integer(let number):
        if type == "boolean" { return number == 0 ? "false" : "true" }
        if type == "timestamptz" { return "to_timestamp(\(number))" }
        return String(number)
    case .real(let number): return "'\(number)'::float8"
    case .text(let text): return "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    case .blob(let bytes): return "'\\x" + bytes.map { String(format: "%02x", $0) }.joined() + "'::bytea"
    }
}

/// Integers from a hand-written query of the demo, asked of the source `kind` holds it in: `?1` (or `?`) stands
/// for `parameter`, an integer or text, bound in SQLite and written as a literal for `psql`.
package func demoTruth(_ kind: SourceKind, _ sql: String, _ parameter: SQLiteValue? = nil) async throws -> [Int64] {
    switch kind {
    case .sqlite:
        return try query(demoDatabase, sql, parameter.map { [$0] } ?? [])
    case .postgres:
        let literal = parameter.map { postgresLiteral($0, type: "") } ?? "NULL"
        let text = sql.replacingOccurrences(of: "?1", with: literal).replacingOccurrences(of: "?", with: literal)
        return try await psqlIntegers(text + ";", schema: try await postgresDemo().schema)
    }
}
