import ArgumentParser
import Foundation
import HandoverArchive
import HandoverBundle
import HandoverCore
import HandoverFormats
import HandoverImport
import HandoverPostgres
import Logging

/// `handover import`: load a verified bundle into a database.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Load a verified bundle into an SQLite or PostgreSQL database, all or nothing.",
        discussion: """
            The bundle is verified first (as handover verify, with --identity and --pubkey); one that does not \
            verify is refused (exit 1) and nothing is written. Tables are created from the bundle's own schemas \
            (types, NOT NULL, primary keys, the foreign keys its datapackage.json declares) as \
            <exporter>_<table> (--naming prefixed) or <table> in a schema per exporter (--naming schemas, \
            PostgreSQL), and the rows of one format are loaded in one transaction: PostgreSQL through COPY, \
            SQLite through prepared inserts. Importing the same bundle again adds nothing and says so (the \
            ledger table handover_imports records each bundle); a table of the same name and another shape \
            stops the import before any row is written (exit 65). Files the rows name are written under \
            --files, as <folder>/<exporter>/<table>/<path>, mode 0600. With --map-out, a dataset map per \
            exporter is written that exports the imported rows again (export --db with the same database, \
            --subject request_id=<request id> or --tenant <tenant>): the round trip gives the same data files. A bundle \
            of a newer major format version is refused (exit 65) naming the version needed.
            """
    )

    @Argument(help: "The archive to import; for a split bundle, every part, or the folder holding them.")
    var archives: [String]

    @Option(
        name: .long,
        help:
            "The database: sqlite:PATH (or a path), or postgres://USER@HOST:PORT/DB?schema=S (password from PGPASSWORD or ~/.pgpass)."
    )
    var into: String

    @Option(name: .long, help: "The format rows are read from (default: json, else csv, else xml).")
    var from: TableFormat?

    @Option(name: .long, help: "Table names: prefixed (<exporter>_<table>) or schemas (a schema per exporter).")
    var naming: TableNaming = .prefixed

    @Option(
        name: .long, help: "The folder the files rows name are written to (required when the bundle carries files).")
    var files: String?

    @Option(
        name: .long,
        help:
            "What file-naming columns hold: relative (the bundle's path, under <files>/<exporter>/<table>/) or absolute."
    )
    var filePaths: FilePathForm = .relative

    @Option(
        name: .long, help: "A folder to write a dataset map per exporter to (<exporter>.yaml), for exporting again.")
    var mapOut: String?

    @OptionGroup var keyOptions: VerificationKeyOptions

    @OptionGroup var common: CommonOptions

    func run() async throws {
        let report = try await reportingErrors { () async throws -> ImportReport in
            let keys = try keyOptions.keys()
            var parts: [String] = []
            for path in archives {
                var isFolder: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
                    throw HandoverError(.sourceUnavailable, "'\(path)' does not exist")
                }
                parts += isFolder.boolValue ? BundleVerifier.parts(inFolder: path) : [path]
            }
            let destination = try Self.destination(into, logger: common.makeLogger())
            let filesFolder = files.map(Self.absolute)
            let progress = common.quiet ? nil : ImportProgressPrinter()
            let report = try await BundleImporter.run(
                parts: parts, into: destination,
                options: ImportOptions(
                    format: from, naming: naming, filesFolder: filesFolder, filePaths: filePaths, keys: keys,
                    progress: progress?.observer),
                logger: common.makeLogger())
            progress?.finish()
            if let mapOut {
                try AtomicFile.createPrivateFolder(at: mapOut)
                for (exporter, yaml) in ImportedMap.yaml(
                    for: report, filesFolder: filesFolder, exporterVersions: report.exporterVersions)
                {
                    let path = mapOut + "/" + exporter + ".yaml"
                    if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
                    try AtomicFile.write(Array(yaml.utf8), to: path)
                }
            }
            return report
        }
        if common.json {
            try printJSON(report)
            return
        }
        if report.alreadyImported {
            print(
                "already imported: bundle \(safe(report.request)) was imported into \(safe(report.destination)) on "
                    + "\(report.importedAt?.iso8601 ?? "an earlier run"); nothing was added")
            return
        }
        for table in report.tables {
            print("\(safe(table.exporter))/\(safe(table.table)) -> \(safe(table.name)): \(table.rows) rows")
        }
        for note in report.notes where !common.quiet { printError("note: " + note) }
        let partial = report.status == .complete ? "" : " (the bundle is \(report.status.rawValue))"
        print(
            "imported: \(report.tables.count) tables, \(report.rows) rows, \(report.files) files into "
                + "\(safe(report.destination)) from \(report.format) in \(String(format: "%.2f", report.seconds)) s"
                + partial)
    }

    /// `--into`: `sqlite:PATH`, a PostgreSQL URL, or a path.
    static func destination(_ text: String, logger: Logger) throws -> any ImportDestination {
        if text.hasPrefix("sqlite:") { return SQLiteImportDestination(path: String(text.dropFirst("sqlite:".count))) }
        switch try DataSourceLocation(text) {
        case .sqlite(let path): return SQLiteImportDestination(path: path)
        case .postgres(let configuration):
            return PostgresImportDestination(configuration: configuration, logger: logger)
        }
    }

    static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }
}

/// Import progress on standard error: one redrawn line on a terminal, a line per table elsewhere.
final class ImportProgressPrinter: @unchecked Sendable {
    private let lock = NSLock()
    private let isTerminal = isatty(STDERR_FILENO) != 0
    private let started = Date()
    private var last = ""
    private var lastDraw = Date.distantPast

    var observer: @Sendable (ImportProgress) -> Void { { [self] in self.report($0) } }

    private func report(_ progress: ImportProgress) {
        lock.lock()
        defer { lock.unlock() }
        let key = progress.stage.rawValue + " " + (progress.table ?? "")
        let now = Date()
        let elapsed = String(format: "%.1f s", now.timeIntervalSince(started))
        var text = progress.stage.rawValue + (progress.table.map { " " + $0 } ?? "")
        if progress.totalRows > 0 { text += "  \(progress.rows) / \(progress.totalRows) rows" }
        text += "  " + elapsed
        if isTerminal {
            guard key != last || now.timeIntervalSince(lastDraw) >= 0.1 else { return }
            lastDraw = now
            FileHandle.standardError.write(Data(("\r\u{1B}[2K" + safe(text)).utf8))
        } else if key != last {
            FileHandle.standardError.write(Data((safe(text) + "\n").utf8))
        }
        last = key
    }

    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if isTerminal { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
    }
}
