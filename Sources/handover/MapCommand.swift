import ArgumentParser
import Foundation
import HandoverArchive
import HandoverCore
import HandoverSQL

/// `handover map`: work with dataset maps.
struct MapCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "map",
        abstract: "Draft dataset maps from databases and check them against their databases.",
        subcommands: [MapInitCommand.self, MapCheckCommand.self]
    )
}

/// `handover map check`: the map against the database, and every lookup no index serves.
struct MapCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check a dataset map against a database and list the lookups that need an index.",
        discussion: """
            Also lists, as warnings: every column exported only because the map does not exclude it, every \
            column whose name looks like a secret (withheld unless the map names it), every table mapped \
            'subject: all' or 'tenant: all' (every row to anyone asked for), and every 'matches' \
            comparison where many rows (or several subjects) share one value. With --scan, also every value that \
            would fail an export or be repaired (see on-invalid in the README). Exits 0 when the map matches the \
            database (missing indexes and the rest are warnings, listed with the statement that creates them) \
            and 65 when it does not, or when --scan finds a value that would fail an export.
            """
    )

    @Option(name: .long, help: "The database: a SQLite file or a postgres://USER@HOST:PORT/DB?schema=S URL.")
    var db: String

    @Option(name: .long, help: "The dataset map (YAML).")
    var map: String

    @OptionGroup var common: CommonOptions

    @Option(name: .long, help: "How many rows sharing one value of a 'matches' column count as many.")
    var sharedThreshold = 10

    @Flag(
        name: .long,
        help: """
            Also read every row of every mapped table and list the values an export would fail on or repair \
            (invalid UTF-8, values that do not fit their type), by table, field and row key, without the values; \
            exit 65 when an export would fail.
            """)
    var scan = false

    @Option(name: .long, help: "With --scan: how many values to list per field (all are counted).")
    var scanLimit = 20

    struct Report: Encodable {
        var map: String
        var exporter: String
        var tables: [String]
        var unindexed: [String]
        var columns: [ColumnFindings]
        var sharedMatchValues: [SharedMatchValue]
        var scan: DataScan?
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
        warnings += exporter.referencesWithoutForeignKey.map {
            "reference without a foreign key in the database: \($0) (the database does not keep it consistent)"
        }
        warnings += exporter.everyRowNotes
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
        var scanned: DataScan?
        if scan {
            let limit = max(1, scanLimit)
            let found = try await reportingErrors { try await exporter.scan(limitPerField: limit) }
            scanned = found
            for field in found.fields {
                let what = field.policy == .fail ? "would fail the export" : "would be repaired (on-invalid: replace)"
                warnings.append("unfit values: \(field.table).\(field.field): \(field.values) \(what)")
            }
            for finding in found.findings {
                warnings.append(
                    "unfit value: table \(finding.table), row \(finding.row), field \(finding.field): \(finding.problem)"
                )
            }
        }
        let report = Report(
            map: map, exporter: exporter.id, tables: exporter.tables.map(\.name), unindexed: exporter.unindexedLookups,
            columns: exporter.columnFindings, sharedMatchValues: shared, scan: scanned, warnings: warnings)
        if common.json {
            try printJSON(report)
            if scanned?.wouldFail == true { throw ExitCode(ExitStatus.dataError) }
            return
        }
        print("\(map): exporter \(exporter.id), \(exporter.tables.count) tables, matches \(exporter.sourceLabel)")
        if report.unindexed.isEmpty {
            print("every subject and tenant lookup is served by an index")
        }
        for warning in warnings { print(safe(warning)) }
        if let scanned {
            print(
                "scanned \(scanned.rowsRead) rows: "
                    + (scanned.fields.isEmpty
                        ? "every value fits its field"
                        : "\(scanned.fields.reduce(0) { $0 + $1.values }) values do not fit their field"))
            if scanned.wouldFail { throw ExitCode(ExitStatus.dataError) }
        }
    }
}

/// `handover map init`: a dataset map drafted from the database's foreign keys, for a person to review.
struct MapInitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Draft a dataset map from a database's foreign keys.",
        discussion: """
            Every table from which a chain of foreign keys (at most 8 references) leads to the subject table, or \
            to the tenant table, is mapped with its columns, references and paths, the shortest first. Columns \
            whose names look like secrets, and columns of types the database's reader cannot read, are left out \
            with a comment; columns that refer to the subject table from rows reached by another path are \
            pseudonymized; tables reached by no chain are listed in a comment at the end. The draft passes \
            'handover map check' as written, but it is a draft: review it before exporting with it. Writes to \
            standard output, or to --out (a new file). Exits 65 when the subject or tenant table or its key is \
            not in the database.
            """
    )

    @Option(name: .long, help: "The database, as 'map check --db' reads it: a SQLite file or a postgres:// URL.")
    var db: String

    @Option(name: .long, help: "The table whose rows are data subjects.")
    var subjectTable: String

    @Option(name: .long, help: "The subject table's key column (default: its primary key).")
    var subjectKey: String?

    @Option(name: .long, help: "The table whose rows are tenants, if the data is multi-tenant.")
    var tenantTable: String?

    @Option(name: .long, help: "The tenant table's key column (default: its primary key).")
    var tenantKey: String?

    @Option(name: .long, help: "The exporter id (default: from the --out file's name, or 'draft').")
    var exporterId: String?

    @Option(name: .long, help: "Write the map to this new file instead of standard output.")
    var out: String?

    @OptionGroup var common: CommonOptions

    func validate() throws {
        if tenantKey != nil, tenantTable == nil {
            throw ValidationError("--tenant-key needs --tenant-table")
        }
    }

    /// What `--json` prints.
    struct Report: Encodable {
        /// The file written, when --out is given.
        var out: String?
        /// The map, when it is not written to a file.
        var map: String?
        var exporter: String
        var subject: String
        var tenant: String?
        var tables: [String]
        var subjectTables: [String]
        var tenantTables: [String]
        var pseudonymized: [String]
        var excludedColumns: [MapDraft.ExcludedColumn]
        var leftOut: [MapDraft.LeftOutTable]
    }

    func run() async throws {
        let draft = try await reportingErrors {
            if let out, FileManager.default.fileExists(atPath: out) {
                throw HandoverError(.outputExists, "'\(out)' already exists")
            }
            let options = MapDraft.Options(
                subjectTable: subjectTable, subjectKey: subjectKey, tenantTable: tenantTable, tenantKey: tenantKey,
                exporterID: exporterId ?? out.map(MapDraft.exporterID(forFile:)) ?? "draft")
            let draft = try MapDraft(catalog: try await DataSourceLocation(db).catalog(), options: options)
            if let out { try AtomicFile.write(Array(draft.yaml.utf8), to: out) }
            return draft
        }
        if common.json {
            try printJSON(
                Report(
                    out: out, map: out == nil ? draft.yaml : nil, exporter: draft.options.exporterID,
                    subject: "\(draft.options.subjectTable).\(draft.subjectKey)",
                    tenant: draft.options.tenantTable.map { "\($0).\(draft.tenantKey ?? "")" },
                    tables: draft.tables.map(\.name), subjectTables: draft.subjectTables,
                    tenantTables: draft.tenantTables, pseudonymized: draft.pseudonymizedColumns,
                    excludedColumns: draft.excludedColumns, leftOut: draft.leftOut))
            return
        }
        guard let out else {
            FileHandle.standardOutput.write(Data(draft.yaml.utf8))
            return
        }
        func count(_ number: Int, _ noun: String) -> String { "\(number) \(noun)" + (number == 1 ? "" : "s") }
        print(
            safe(
                "\(out): a draft of \(count(draft.tables.count, "table")) (\(draft.subjectTables.count) in subject "
                    + "exports, \(draft.tenantTables.count) in tenant exports); left out: "
                    + "\(count(draft.leftOut.count, "table")), \(count(draft.excludedColumns.count, "column")); "
                    + "\(count(draft.pseudonymizedColumns.count, "column")) pseudonymized. Review it, then run "
                    + "'handover map check'."))
    }
}

/// `CREATE INDEX` for a `table.column` lookup, in `schema` when the database has schemas (PostgreSQL).
func createIndexStatement(_ lookup: String, schema: String? = nil) -> String {
    let parts = lookup.split(separator: ".", maxSplits: 1).map(String.init)
    guard parts.count == 2 else { return "" }
    let table = (schema.map { "\"\($0)\"." } ?? "") + "\"\(parts[0])\""
    return "CREATE INDEX \"\(parts[0])_\(parts[1])\" ON \(table) (\"\(parts[1])\");"
}
