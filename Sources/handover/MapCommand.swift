import ArgumentParser
import Foundation
import HandoverCore
import HandoverSQL

/// `handover map`: work with dataset maps.
struct MapCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "map",
        abstract: "Check dataset maps against their databases.",
        subcommands: [MapCheckCommand.self]
    )
}

/// `handover map check`: the map against the database, and every lookup no index serves.
struct MapCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check a dataset map against a database and list the lookups that need an index.",
        discussion: """
            Also lists, as warnings: every column exported only because the map does not exclude it, every \
            column whose name looks like a secret (withheld unless the map names it), and every 'matches' \
            comparison where many rows (or several subjects) share one value. Exits 0 when the map matches the \
            database (missing indexes and the rest are warnings, listed with the statement that creates them) \
            and 65 when it does not.
            """
    )

    @Option(name: .long, help: "The database: a SQLite file or a postgres://USER@HOST:PORT/DB?schema=S URL.")
    var db: String

    @Option(name: .long, help: "The dataset map (YAML).")
    var map: String

    @OptionGroup var common: CommonOptions

    @Option(name: .long, help: "How many rows sharing one value of a 'matches' column count as many.")
    var sharedThreshold = 10

    struct Report: Encodable {
        var map: String
        var exporter: String
        var tables: [String]
        var unindexed: [String]
        var columns: [ColumnFindings]
        var sharedMatchValues: [SharedMatchValue]
        var warnings: [String]
    }

    func run() async throws {
        let location = try await reportingErrors { try DataSourceLocation(db) }
        let exporter = try await reportingErrors { try await location.exporter(map: try readMap(map)) }
        let threshold = max(sharedThreshold, 2)
        let shared = try await reportingErrors { try await exporter.sharedMatchValues(threshold: threshold) }
        var warnings = exporter.unindexedLookups.map {
            "missing index: \($0) — \(createIndexStatement($0, schema: location.schema))"
        }
        for table in exporter.columnFindings {
            if !table.withheldSecrets.isEmpty {
                warnings.append(
                    "secret-looking columns withheld: \(table.table): \(table.withheldSecrets.joined(separator: ", "))"
                        + " (name them under include-secrets to export them)")
            }
            if !table.namedSecrets.isEmpty {
                warnings.append(
                    "secret-looking columns exported because the map names them: \(table.table): "
                        + table.namedSecrets.joined(separator: ", "))
            }
            if !table.implicit.isEmpty {
                warnings.append(
                    "exported without being named: \(table.table): \(table.implicit.joined(separator: ", "))"
                        + " (list the columns to export only those)")
            }
        }
        warnings += shared.map { "shared match value: " + $0.message }
        let report = Report(
            map: map, exporter: exporter.id, tables: exporter.tables.map(\.name), unindexed: exporter.unindexedLookups,
            columns: exporter.columnFindings, sharedMatchValues: shared, warnings: warnings)
        if common.json {
            try printJSON(report)
            return
        }
        print("\(map): exporter \(exporter.id), \(exporter.tables.count) tables, matches \(exporter.sourceLabel)")
        if report.unindexed.isEmpty {
            print("every subject and tenant lookup is served by an index")
        }
        for warning in warnings { print(safe(warning)) }
    }
}

/// `CREATE INDEX` for a `table.column` lookup, in `schema` when the database has schemas (PostgreSQL).
func createIndexStatement(_ lookup: String, schema: String? = nil) -> String {
    let parts = lookup.split(separator: ".", maxSplits: 1).map(String.init)
    guard parts.count == 2 else { return "" }
    let table = (schema.map { "\"\($0)\"." } ?? "") + "\"\(parts[0])\""
    return "CREATE INDEX \"\(parts[0])_\(parts[1])\" ON \(table) (\"\(parts[1])\");"
}
