import Foundation
import HandoverCore
import HandoverDemo
import HandoverPostgres
import HandoverSQL
import Logging
import TestSupport

/// Collects what an exporter emits, by table name.
struct CollectingSink: RowSink {
    let tables: [TableSchema]
    var rows: [String: [Row]] = [:]

    mutating func write(_ row: Row, table: Int) async throws {
        rows[tables[table].name, default: []].append(row)
    }

    /// The integer values of `field` in every row of `table`.
    func integers(_ table: String, _ field: String = "id") -> [Int64] {
        let index = tables.first { $0.name == table }!.index(of: field)!
        return (rows[table] ?? []).map { row in
            if case .integer(let value) = row.values[index] { return value }
            return Int64.min
        }
    }
}

struct FixedPseudonyms: Pseudonymizer {
    func pseudonym(for value: String, domain: String) -> String { "p-\(domain)-\(value.hashValue & 0xFFFF)" }
}

let testContext = ExportContext(logger: Logger(label: "test"), pseudonymizer: FixedPseudonyms())

/// Runs `exporter` for `scope` and returns what it emitted.
func collect(_ exporter: DatasetMapExporter, _ scope: ExportScope) async throws -> CollectingSink {
    var sink = CollectingSink(tables: exporter.tables)
    try await exporter.export(scope, into: &sink, context: testContext)
    return sink
}

func demoExporter() throws -> DatasetMapExporter {
    try DatasetMapExporter(map: try DatasetMap(yaml: SalesDemo.datasetMap), databasePath: demoDatabase)
}

/// The demo's exporter over the demo database in `kind`: the SQLite file, or its copy on the PostgreSQL test
/// server.
func demoExporter(_ kind: SourceKind, logger: Logger = DatasetMapExporter.silent) async throws -> DatasetMapExporter {
    let map = try DatasetMap(yaml: SalesDemo.datasetMap)
    switch kind {
    case .sqlite: return try DatasetMapExporter(map: map, databasePath: demoDatabase, logger: logger)
    case .postgres:
        let configuration = try PostgresStoreConfiguration(url: try await postgresDemo().url, defaultSchema: "public")
        return try await DatasetMapExporter.postgres(map: map, configuration: configuration, logger: logger)
    }
}
