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
            Exits 0 when the map matches the database (missing indexes are warnings, listed with the \
            statement that creates them) and 65 when it does not.
            """
    )

    @Option(name: .long, help: "The SQLite database.")
    var db: String

    @Option(name: .long, help: "The dataset map (YAML).")
    var map: String

    @OptionGroup var common: CommonOptions

    struct Report: Encodable {
        var map: String
        var exporter: String
        var tables: [String]
        var unindexed: [String]
    }

    func run() async throws {
        let exporter = try await reportingErrors {
            try DatasetMapExporter(map: try readMap(map), databasePath: db)
        }
        let report = Report(
            map: map, exporter: exporter.id, tables: exporter.tables.map(\.name), unindexed: exporter.unindexedLookups)
        if common.json {
            try printJSON(report)
            return
        }
        print("\(map): exporter \(exporter.id), \(exporter.tables.count) tables, matches \(db)")
        if report.unindexed.isEmpty {
            print("every subject and tenant lookup is served by an index")
        }
        for lookup in report.unindexed {
            print("missing index: \(lookup) — \(createIndexStatement(lookup))")
        }
    }
}

/// `CREATE INDEX` for a `table.column` lookup.
func createIndexStatement(_ lookup: String) -> String {
    let parts = lookup.split(separator: ".", maxSplits: 1).map(String.init)
    guard parts.count == 2 else { return "" }
    return "CREATE INDEX \"\(parts[0])_\(parts[1])\" ON \"\(parts[0])\"(\"\(parts[1])\");"
}
