internal import Crypto
internal import Foundation
public import HandoverArchive
public import HandoverBundle
public import HandoverCore
public import HandoverFormats
public import Logging

/// How the tables of a bundle are named in the database.
public enum TableNaming: String, Sendable, Hashable, CaseIterable, Codable {
    /// `<exporter>_<table>`, in the destination's schema.
    case prefixed
    /// `<table>` in a schema named after the exporter (PostgreSQL only).
    case schemas
}

/// What the rows that name files carried in the bundle hold after an import.
public enum FilePathForm: String, Sendable, Hashable, CaseIterable, Codable {
    /// The path as in the bundle: relative to the table's folder `<files>/<exporter>/<table>/`, which the
    /// dataset map the import writes names as the column's file root.
    case relative
    /// The absolute path of the file written.
    case absolute
}

/// What an import does besides loading rows.
public struct ImportOptions: Sendable {
    /// The format rows are read from; nil: JSON when the bundle holds it, else CSV, else XML.
    public var format: TableFormat?
    /// How tables are named.
    public var naming: TableNaming
    /// Where the files rows name are written (`<folder>/<exporter>/<table>/<path>`); required when the bundle
    /// carries files.
    public var filesFolder: String?
    /// What rows that name a carried file hold afterwards.
    public var filePaths: FilePathForm
    /// The identities that open an encrypted bundle, and the public key its signatures must verify with.
    public var keys: VerificationKeys
    /// Called now and then with the progress of a long import, from the importing thread.
    public var progress: (@Sendable (ImportProgress) -> Void)?

    /// Creates options.
    public init(
        format: TableFormat? = nil, naming: TableNaming = .prefixed, filesFolder: String? = nil,
        filePaths: FilePathForm = .relative, keys: VerificationKeys = VerificationKeys(),
        progress: (@Sendable (ImportProgress) -> Void)? = nil
    ) {
        self.format = format
        self.naming = naming
        self.filesFolder = filesFolder
        self.filePaths = filePaths
        self.keys = keys
        self.progress = progress
    }
}

/// What a running import is doing.
public enum ImportStage: String, Sendable, Hashable, CaseIterable {
    /// Reading the manifest and the schemas.
    case reading
    /// Verifying the bundle.
    case verifying
    /// Reading the number fields, to choose how they are stored.
    case scanning
    /// Loading rows.
    case loading
    /// Committing the transaction (references are checked now).
    case committing
}

/// Where a running import stands.
public struct ImportProgress: Sendable {
    /// What it is doing.
    public var stage: ImportStage
    /// The table being loaded (`exporter/table`), if any.
    public var table: String?
    /// Rows loaded so far, over all tables.
    public var rows: Int
    /// Rows the bundle holds in the format read.
    public var totalRows: Int
}

/// Loads a verified bundle into a database: tables created from the bundle's own schemas, rows in one
/// transaction, files under a folder, the import recorded so that doing it again adds nothing.
public enum BundleImporter {
    /// The newest major version of the bundle format (`manifestVersion` in `manifest.json`) this Handover reads.
    /// Bundles of any 1.x version are read; a bundle of a newer minor version is read for what it shares with 1.2.
    public static let readableMajorVersion = 1

    /// Imports the bundle in `parts` (one archive, or the parts of a split one) into `destination`.
    ///
    /// The bundle is verified first (checksums, schemas, references, signatures against `options.keys`); one that
    /// does not verify is refused and nothing is written. Tables are created from the bundle's schemas (types,
    /// NOT NULL, primary keys, the foreign keys its `datapackage.json` declares, checked at commit), rows are read
    /// from the files of one format and loaded in one transaction, each file's SHA-256 compared with the
    /// manifest's as it is read. A bundle imported before (the same `manifest.json`) adds nothing.
    /// `logger` gets debug events (tables, rows, time), never a value; failures are thrown, not logged.
    /// - Throws: ``HandoverError`` — `unsupportedVersion`, `notVerified`, `conflict` (a table of another shape),
    ///   `invalidArgument`, `invalidData`, or the destination's errors. Nothing is committed when it throws.
    public static func run(
        parts: [String], into destination: any ImportDestination, options: ImportOptions,
        logger: Logger = Logger(label: "handover.import")
    ) async throws -> ImportReport {
        guard !parts.isEmpty else { throw HandoverError(.invalidArgument, "no bundle given") }
        let parts = parts.count > 1 ? BundleVerifier.ordered(parts: parts) : parts
        return try await withTaskExecutorPreference(ThreadPoolExecutor.blocking) {
            let started = DispatchTime.now()
            var importer = try await Importer(parts: parts, destination: destination, options: options)
            logger.debug(
                "import planned",
                metadata: [
                    "tables": "\(importer.tables.count)", "format": "\(importer.format.rawValue)",
                    "parts": "\(parts.count)",
                ])
            var report = try await importer.run()
            report.seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
            logger.debug(
                "import finished",
                metadata: [
                    "rows": "\(report.rows)", "already": "\(report.alreadyImported)",
                    "seconds": "\(report.seconds)",
                ])
            return report
        }
    }
}

/// The state of one import.
struct Importer {
    let parts: [String]
    let destination: any ImportDestination
    let options: ImportOptions
    let metadata: BundleMetadata
    let manifest: Manifest
    let format: TableFormat
    var tables: [PlannedTable] = []
    var notes: [String] = []

    init(parts: [String], destination: any ImportDestination, options: ImportOptions) async throws {
        self.parts = parts
        self.destination = destination
        self.options = options
        options.progress?(ImportProgress(stage: .reading, table: nil, rows: 0, totalRows: 0))
        metadata = try await BundleMetadata.read(parts: parts, keys: options.keys)
        let version = try BundleSchemas.manifestVersion(metadata.manifest)
        guard version.major <= BundleImporter.readableMajorVersion else {
            throw HandoverError(
                .unsupportedVersion,
                "the bundle's format is version \(version.text); this Handover reads versions "
                    + "\(BundleImporter.readableMajorVersion).x (up to \(Manifest.formatVersion)): import it with a "
                    + "Handover that reads version \(version.major).x")
        }
        options.progress?(ImportProgress(stage: .verifying, table: nil, rows: 0, totalRows: 0))
        let verification = BundleVerifier.verify(parts: parts, keys: options.keys)
        guard verification.valid else {
            let problems = verification.problems.prefix(3).map(\.description).joined(separator: "; ")
            let more = verification.problems.count > 3 ? " (and \(verification.problems.count - 3) more)" : ""
            throw HandoverError(.notVerified, "the bundle does not verify, so nothing was imported: \(problems)\(more)")
        }
        // What was read before is what was verified: the manifest by its SHA-256 (the verifier's), each schema by
        // the manifest's record of it; table files and carried files are checked as they are loaded.
        guard verification.manifestSHA256 == metadata.manifestDigest else {
            throw HandoverError(.invalidData, "the bundle changed while it was being verified; nothing was imported")
        }
        manifest = try ManifestCoding.decode(metadata.manifest)
        for record in manifest.schemas {
            guard let bytes = metadata.schemas[record.path],
                Array(SHA256.hash(data: bytes)).hexString == record.sha256
            else {
                throw HandoverError(
                    .invalidData, "\(record.path) is not the schema the manifest lists; nothing was imported")
            }
        }
        let held = Set(manifest.files.compactMap { TableFormat(rawValue: $0.format) })
        if let chosen = options.format {
            guard held.contains(chosen) else {
                throw HandoverError(
                    .invalidArgument,
                    "the bundle holds no \(chosen.rawValue) files; it holds "
                        + TableFormat.allCases.filter(held.contains).map(\.rawValue).joined(separator: ", "))
            }
            format = chosen
        } else {
            guard let first = TableFormat.allCases.first(where: held.contains) else {
                throw HandoverError(.invalidData, "the bundle holds no table files")
            }
            format = first
        }
        if options.naming == .schemas && !destination.supportsSchemas {
            throw HandoverError(
                .invalidArgument,
                "\(destination.label) has no schemas: name tables <exporter>_<table> (--naming prefixed)")
        }
        try plan()
    }

    /// The tables to create, from the manifest and the schemas.
    mutating func plan() throws {
        let files = manifest.files.filter { $0.format == format.rawValue }
        var names: [String: String] = [:]
        let contents = manifest.contents ?? []
        let declared = try metadata.datapackage.map(BundleSchemas.declaredForeignKeys) ?? [:]
        if metadata.datapackage == nil, !files.isEmpty {
            notes.append(
                "no foreign keys declared: the bundle has no datapackage.json (no CSV files), where Handover declares "
                    + "the references that hold within a bundle")
        }
        for file in files {
            let schema = try tableSchema(exporter: file.exporter, table: file.table)
            let name = try destinationName(exporter: file.exporter, table: file.table)
            if let other = names[name.description] {
                throw HandoverError(
                    .invalidArgument,
                    "tables \(other) and \(file.exporter)/\(file.table) would both be named \(name); "
                        + "put each exporter into a schema of its own (--naming schemas)")
            }
            names[name.description] = file.exporter + "/" + file.table
            let fileFields = Set(
                contents.filter { $0.exporter == file.exporter && $0.table == file.table }.map(\.field))
            tables.append(
                PlannedTable(
                    exporter: file.exporter, schema: schema, file: file, name: name,
                    fileFields: schema.fields.indices.filter { fileFields.contains(schema.fields[$0].name) },
                    storage: schema.fields.map { Self.storage(for: $0.type) }))
        }
        // References: those datapackage.json declares (verify checked that they hold), to a primary key.
        let csvPath = { (table: PlannedTable) in "data/\(table.exporter)/\(table.schema.name).csv" }
        let byCSVPath = Dictionary(tables.indices.map { (csvPath(tables[$0]), $0) }, uniquingKeysWith: { a, _ in a })
        for index in tables.indices {
            for key in declared[csvPath(tables[index])] ?? [] {
                guard let target = byCSVPath[key.path] else { continue }
                guard tables[target].schema.primaryKey == key.referenced else {
                    notes.append(
                        "\(tables[index].exporter)/\(tables[index].schema.name): the reference to "
                            + "\(tables[target].schema.name) is not declared in the database (it names other fields "
                            + "than that table's primary key)")
                    continue
                }
                tables[index].references.append(
                    DestinationReference(
                        columns: key.fields, table: tables[target].name, referencedColumns: key.referenced))
            }
        }
    }

    /// The table's declaration: from its Table Schema when the bundle holds one, else from its JSON Schema, else
    /// from its XML Schema.
    func tableSchema(exporter: String, table: String) throws -> TableSchema {
        let base = "data/schemas/\(exporter)/\(table)"
        if let bytes = metadata.schemas[base + ".tableschema.json"] {
            return try BundleSchemas.fromTableSchema(bytes, name: table, path: base + ".tableschema.json")
        }
        if let bytes = metadata.schemas[base + ".schema.json"] {
            return try BundleSchemas.fromJSONSchema(bytes, name: table, path: base + ".schema.json")
        }
        if let bytes = metadata.schemas[base + ".xsd"] {
            return try BundleSchemas.fromXMLSchema(bytes, name: table, path: base + ".xsd")
        }
        throw HandoverError(.invalidSchema, "the bundle has no schema for \(exporter)/\(table)")
    }

    /// The table's name in the database.
    func destinationName(exporter: String, table: String) throws -> TableName {
        // An exporter id may hold `-`, which a dataset map's table names and a PostgreSQL URL's schema may not.
        let prefix = exporter.replacingOccurrences(of: "-", with: "_")
        let name: TableName =
            switch options.naming {
            case .prefixed: TableName(schema: destination.defaultSchema, name: prefix + "_" + table)
            case .schemas: TableName(schema: prefix, name: table)
            }
        // A bundle names its exporters: none may put tables among the database's own catalogs.
        if options.naming == .schemas, prefix.hasPrefix("pg_") || prefix == "information_schema" {
            throw HandoverError(
                .invalidArgument,
                "exporter \(exporter) would put tables into the database's own schema \(prefix); "
                    + "name them <exporter>_<table> (--naming prefixed)")
        }
        for part in [name.schema, name.name].compactMap({ $0 })
        where part.utf8.count > destination.maximumIdentifierLength {
            throw HandoverError(
                .invalidArgument,
                "the name \(part) is longer than the \(destination.maximumIdentifierLength) bytes \(destination.label) "
                    + "keeps" + (options.naming == .prefixed ? "; try --naming schemas" : ""))
        }
        if name.name == LedgerEntry.tableName {
            throw HandoverError(
                .invalidArgument, "a table would be named \(LedgerEntry.tableName), the import ledger's name")
        }
        return name
    }

    static func storage(for type: FieldType) -> ColumnStorage {
        switch type {
        case .string: .text
        case .integer: .integer
        case .number: .double
        case .boolean: .boolean
        case .date: .date
        case .datetime: .datetime
        case .binary: .binary
        }
    }

    /// The schema the ledger and the `<exporter>_<table>` tables go into.
    var ledgerSchema: String? { destination.defaultSchema }

    mutating func run() async throws -> ImportReport {
        let digest = metadata.manifestDigest
        var report = ImportReport(
            bundle: digest, request: manifest.request.id.rawValue, destination: destination.label,
            format: format.rawValue, status: manifest.status)
        report.notes = notes
        report.exporterVersions = Dictionary(
            manifest.exporters.map { ($0.id, $0.version) }, uniquingKeysWith: { a, _ in a })
        // Numbers: doubles or exact decimals, which only the values tell.
        if tables.contains(where: { $0.storage.contains(.double) }) {
            options.progress?(ImportProgress(stage: .scanning, table: nil, rows: 0, totalRows: 0))
            try await decideNumberStorage()
        }
        try checkFiles()
        let destinationTables = tables.map(\.destination)
        let totalRows = tables.reduce(0) { $0 + $1.file.records }
        // One transaction: the ledger, the shapes, the tables, the rows, the ledger entry. The files written are
        // removed again if it fails.
        var written: [String] = []
        let outcome: Outcome
        do {
            outcome = try await destination.withTransaction { session in
                if let entry = try await session.ledgerEntry(bundle: digest, schema: ledgerSchema) {
                    return .imported(entry)
                }
                // Every table's shape first: a table of another shape stops the import before any row is written.
                var toCreate: [DestinationTable] = []
                for table in destinationTables {
                    let expected = ExistingTable(
                        columns: table.columns.map { ($0.name, destination.declaredType($0.storage), $0.notNull) },
                        primaryKey: table.primaryKey)
                    if let existing = try await session.existingTable(table.name) {
                        guard existing == expected else {
                            throw HandoverError(
                                .conflict,
                                "\(destination.label) already holds a table \(table.name) of another shape "
                                    + "(\(Self.difference(existing, expected))); nothing was imported")
                        }
                    } else {
                        toCreate.append(table)
                    }
                }
                for schema in Set(destinationTables.compactMap(\.name.schema)).sorted() {
                    try await session.createSchema(schema)
                }
                try await session.create(Self.dependencyOrder(toCreate))
                let counts = try await load(session: session, totalRows: totalRows, written: &written)
                options.progress?(
                    ImportProgress(stage: .committing, table: nil, rows: totalRows, totalRows: totalRows))
                try await session.finish(
                    created: toCreate,
                    loaded: destinationTables.filter { table in !toCreate.contains { $0.name == table.name } })
                let entry = LedgerEntry(
                    bundle: digest, requestID: manifest.request.id.rawValue, scope: manifest.request.scope.kind,
                    tenant: manifest.request.scope.tenant, manifestVersion: manifest.manifestVersion,
                    format: format.rawValue, importedAt: Timestamp.now(), tables: tables.count,
                    rows: counts.values.reduce(0, +))
                // The ledger beside the tables: in the destination's schema, and in each exporter's schema, where
                // the dataset map the import writes looks the subject or tenant up.
                try await session.record(entry, schema: ledgerSchema)
                for schema in Set(tables.compactMap(\.name.schema)).subtracting([ledgerSchema].compactMap { $0 })
                    .sorted()
                {
                    try await session.record(entry, schema: schema)
                }
                return .loaded(counts)
            }
        } catch {
            for path in written { unlink(path) }
            throw error
        }
        switch outcome {
        case .imported(let entry):
            report.alreadyImported = true
            report.importedAt = entry.importedAt
            report.tables = tables.map { TableReport(table: $0, rows: 0) }
            report.notes.append("the bundle was imported on \(entry.importedAt.iso8601): nothing was added")
            return report
        case .loaded(let loaded):
            report.tables = tables.map { TableReport(table: $0, rows: loaded[$0.file.path] ?? 0) }
        }
        report.rows = report.tables.reduce(0) { $0 + $1.rows }
        report.bytes = tables.reduce(0) { $0 + $1.file.bytes }
        report.files = (manifest.contents ?? []).count
        report.fileBytes = (manifest.contents ?? []).reduce(0) { $0 + $1.bytes }
        return report
    }

    /// Reads every table with number fields once, to store each as doubles, exact decimals, or (both kinds in one
    /// field) text.
    mutating func decideNumberStorage() async throws {
        var kinds: [String: [(decimal: Bool, exponent: Bool)]] = [:]
        let wanted = Dictionary(
            tables.filter { $0.storage.contains(.double) }.map { ($0.file.path, $0) }, uniquingKeysWith: { a, _ in a })
        let guardCSV = manifest.csvFormulaGuard ?? false
        let format = format
        try await forEachEntry { path, reader in
            guard let table = wanted[path] else { return }
            let rows = try TableReader(
                format: format, schema: table.schema, source: reader.entrySource(), csvFormulaGuard: guardCSV)
            var seen = Array(repeating: (decimal: false, exponent: false), count: table.schema.fields.count)
            while let row = try rows.next() {
                for index in table.schema.fields.indices where table.storage[index] == .double {
                    switch row.values[index] {
                    case .decimal: seen[index].decimal = true
                    case .number(let value): if value.description.contains("e") { seen[index].exponent = true }
                    default: break
                    }
                }
            }
            kinds[path] = seen
        }
        for index in tables.indices {
            guard let seen = kinds[tables[index].file.path] else { continue }
            for field in seen.indices where tables[index].storage[field] == .double {
                switch (seen[field].decimal, seen[field].exponent) {
                case (true, true): tables[index].storage[field] = .numberText
                case (true, false): tables[index].storage[field] = .decimal
                default: break
                }
            }
        }
    }

    /// Refuses files the import would have to put where other files stand.
    func checkFiles() throws {
        guard let contents = manifest.contents, !contents.isEmpty else { return }
        guard let folder = options.filesFolder else {
            throw HandoverError(
                .invalidArgument,
                "the bundle carries \(contents.count) files that rows name; give a folder to write them to (--files)")
        }
        for record in contents {
            let target = try targetPath(of: record, in: folder)
            var status = stat()
            guard lstat(target, &status) == 0 else { continue }
            guard (status.st_mode & S_IFMT) == S_IFREG, try Self.sha256(ofFile: target) == record.sha256 else {
                throw HandoverError(
                    .outputExists,
                    "a different file already stands where \(record.exporter)/\(record.table) row \(record.row) "
                        + "names one in the files folder; nothing was imported")
            }
        }
    }

    /// Where a carried file goes: `<folder>/<exporter>/<table>/<path>`.
    func targetPath(of record: Manifest.ContentRecord, in folder: String) throws -> String {
        let prefix = "data/files/\(record.exporter)/\(record.table)/"
        guard record.path.hasPrefix(prefix),
            let relative = SafePath.normalise(String(record.path.dropFirst(prefix.count))),
            Identifier.isValid(record.table), SafePath.normalise(record.exporter) == record.exporter,
            !record.exporter.contains("/")
        else {
            throw HandoverError(.invalidData, "the manifest lists a file outside data/files/<exporter>/<table>/")
        }
        return folder + "/" + record.exporter + "/" + record.table + "/" + relative
    }

    static func sha256(ofFile path: String) throws -> String {
        let descriptor = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw HandoverError(errno: errno, .outputUnavailable, "cannot read a file in the files folder")
        }
        defer { close(descriptor) }
        var hasher = SHA256()
        var block = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = block.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            guard count >= 0 else {
                throw HandoverError(errno: errno, .outputUnavailable, "cannot read a file in the files folder")
            }
            if count == 0 { break }
            hasher.update(data: block[0..<count])
        }
        return Array(hasher.finalize()).hexString
    }

    /// Loads every table file of the chosen format, and writes the carried files.
    func load(session: any ImportSession, totalRows: Int, written: inout [String]) async throws -> [String: Int] {
        let wanted = Dictionary(tables.map { ($0.file.path, $0) }, uniquingKeysWith: { a, _ in a })
        let contents = Dictionary(
            (manifest.contents ?? []).map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
        var counts: [String: Int] = [:]
        var createdFiles: [String] = []
        defer { written = createdFiles }
        let guardCSV = manifest.csvFormulaGuard ?? false
        let format = format
        let progress = options.progress
        var loadedBefore = 0
        try await forEachEntry { path, reader in
            if let record = contents[path], let folder = options.filesFolder {
                let target = try targetPath(of: record, in: folder)
                if try writeContent(reader: reader, record: record, to: target) { createdFiles.append(target) }
                return
            }
            guard let table = wanted[path] else { return }
            progress?(ImportProgress(stage: .loading, table: table.label, rows: loadedBefore, totalRows: totalRows))
            let digest = DigestBox(reader.entrySource())
            let rows = PlannedRowSource(
                reader: try TableReader(
                    format: format, schema: table.schema, source: digest.source, csvFormulaGuard: guardCSV),
                table: table, filesFolder: options.filesFolder, filePaths: options.filePaths,
                progress: progress.map { report in
                    { (count: Int) in
                        report(
                            ImportProgress(
                                stage: .loading, table: table.label, rows: loadedBefore + count, totalRows: totalRows))
                    }
                })
            let count = try await session.load(table.destination, rows: rows)
            try digest.drain()
            guard digest.sha256 == table.file.sha256, digest.bytes == table.file.bytes else {
                throw HandoverError(
                    .invalidData, "\(table.file.path) changed after it was verified; nothing was imported")
            }
            guard count == table.file.records else {
                throw HandoverError(
                    .invalidData,
                    "\(table.file.path) holds \(count) rows where the manifest says \(table.file.records); nothing was imported"
                )
            }
            counts[path] = count
            loadedBefore += count
        }
        for table in tables where counts[table.file.path] == nil {
            throw HandoverError(.invalidData, "\(table.file.path) is missing from the archive; nothing was imported")
        }
        return counts
    }

    /// Writes one carried file, checking its SHA-256; false when an identical file stood there already.
    func writeContent(reader: ArchiveReader, record: Manifest.ContentRecord, to target: String) throws -> Bool {
        if access(target, F_OK) == 0 { return false }  // checkFiles() found it identical
        let folder = String(target[..<target.lastIndex(of: "/")!])
        try AtomicFile.createPrivateFolder(at: folder)
        return try AtomicFile.create(at: target) { descriptor, _ in
            var hasher = SHA256()
            var size: Int64 = 0
            try reader.readData { block in
                hasher.update(bufferPointer: block)
                size += Int64(block.count)
                try AtomicFile.writeAll(block, to: descriptor)
            }
            let digest = Array(hasher.finalize()).hexString
            guard digest == record.sha256, size == record.bytes else {
                throw HandoverError(.invalidData, "\(record.path) changed after it was verified; nothing was imported")
            }
            return true
        }
    }

    /// Calls `body` with each entry's bundle-relative path, over every part.
    func forEachEntry(_ body: (String, ArchiveReader) async throws -> Void) async throws {
        let root = metadata.root + "/"
        for part in parts {
            try await BundleArchive.read(part, keys: options.keys) { reader in
                while let entry = try reader.nextEntry() {
                    guard entry.isRegularFile, entry.name.hasPrefix(root) else { continue }
                    try await body(String(entry.name.dropFirst(root.count)), reader)
                }
            }
        }
    }

    /// `tables` with every table after the tables it refers to (where the references allow: a cycle keeps the
    /// bundle's order, the references being checked at commit in any case).
    static func dependencyOrder(_ tables: [DestinationTable]) -> [DestinationTable] {
        var remaining = tables
        var ordered: [DestinationTable] = []
        while !remaining.isEmpty {
            let names = Set(remaining.map(\.name))
            let ready = remaining.firstIndex { table in
                table.references.allSatisfy { $0.table == table.name || !names.contains($0.table) }
            }
            ordered.append(remaining.remove(at: ready ?? 0))
        }
        return ordered
    }

    /// The first difference between two shapes, in words.
    static func difference(_ existing: ExistingTable, _ expected: ExistingTable) -> String {
        if existing.columns.count != expected.columns.count {
            return "\(existing.columns.count) columns where the bundle has \(expected.columns.count)"
        }
        for (have, want) in zip(existing.columns, expected.columns) {
            if have.name != want.name { return "column \(have.name) where the bundle has \(want.name)" }
            if have.type != want.type { return "column \(have.name) is \(have.type), not \(want.type)" }
            if have.notNull != want.notNull {
                return "column \(have.name) is \(have.notNull ? "NOT NULL" : "nullable") where the bundle's is not"
            }
        }
        return "primary key (\(existing.primaryKey.joined(separator: ", "))) where the bundle's is "
            + "(\(expected.primaryKey.joined(separator: ", ")))"
    }
}

/// How the transaction of an import ended.
enum Outcome: Sendable {
    /// The bundle had been imported: this is its ledger entry.
    case imported(LedgerEntry)
    /// The rows were loaded: how many, by table file.
    case loaded([String: Int])
}

/// One table of the bundle as the import plans it.
struct PlannedTable: Sendable {
    var exporter: String
    var schema: TableSchema
    /// The file of the chosen format.
    var file: Manifest.FileRecord
    var name: TableName
    /// Fields that name files carried in the bundle.
    var fileFields: [Int]
    var storage: [ColumnStorage]
    var references: [DestinationReference] = []

    var label: String { exporter + "/" + schema.name }

    var destination: DestinationTable {
        DestinationTable(
            name: name,
            columns: schema.fields.indices.map {
                DestinationColumn(
                    name: schema.fields[$0].name, storage: storage[$0], notNull: schema.fields[$0].required)
            },
            primaryKey: schema.primaryKey, references: references)
    }
}

/// A table file's rows on their way into the database: paths of carried files rewritten when asked, the file's
/// digest taken as it is read.
final class PlannedRowSource: ImportRowSource {
    private let reader: TableReader
    private let table: PlannedTable
    private let prefix: String?
    private let report: ((Int) -> Void)?
    private var count = 0

    init(
        reader: TableReader, table: PlannedTable, filesFolder: String?, filePaths: FilePathForm,
        progress: ((Int) -> Void)?
    ) {
        self.reader = reader
        self.table = table
        self.report = progress
        if filePaths == .absolute, let folder = filesFolder, !table.fileFields.isEmpty {
            let absolute = folder.hasPrefix("/") ? folder : FileManager.default.currentDirectoryPath + "/" + folder
            prefix = absolute + "/" + table.exporter + "/" + table.schema.name + "/"
        } else {
            prefix = nil
        }
    }

    func next() throws -> Row? {
        guard var row = try reader.next() else { return nil }
        if let prefix {
            for index in table.fileFields {
                if case .string(let path) = row.values[index] { row.values[index] = .string(prefix + path) }
            }
        }
        count += 1
        if count % 65_536 == 0 { report?(count) }
        return row
    }
}

/// An archive entry's bytes, hashed as a reader pulls them through ``source``.
final class DigestBox {
    private var digesting: DigestingSource<ArchiveReader.EntrySource>

    init(_ entry: ArchiveReader.EntrySource) {
        digesting = DigestingSource(entry, [.sha256])
    }

    /// The bytes, for a reader.
    var source: Source { Source(box: self) }

    /// Reads what the reader left (nothing after a well-formed file), so that the digest covers the whole entry.
    func drain() throws { try digesting.drain() }

    var sha256: String { digesting.sha256 }
    var bytes: Int64 { digesting.bytes }

    struct Source: ByteSource {
        let box: DigestBox
        mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            try box.digesting.read(into: buffer)
        }
    }
}
