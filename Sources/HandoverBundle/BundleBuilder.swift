internal import Foundation
internal import HandoverArchive
public import HandoverCore
internal import HandoverFormats
public import Logging

/// Runs exporters into a bundle and publishes it as an archive.
///
/// Rows stream from each exporter through the format writers into files, each hashed as it is
/// written and kept in memory while small, else in a private working folder beside the output (see
/// ``StagingArea``); then the manifest is written and the archive is assembled under a temporary
/// name and renamed when complete. If anything fails, no archive appears and the working folder is
/// removed.
public struct BundleBuilder: Sendable {
    /// The exporters to run.
    public var exporters: ExporterRegistry
    /// How to write the bundle.
    public var options: BundleOptions
    /// Where progress is logged (debug level; never data values).
    public var logger: Logger

    /// Creates a builder.
    public init(exporters: ExporterRegistry, options: BundleOptions, logger: Logger) {
        self.exporters = exporters
        self.options = options
        self.logger = logger
    }

    /// The name of the bundle's root folder for `request`: `handover-<request id>`.
    public static func bundleName(for request: RequestID) -> String {
        "handover-\(request.rawValue)"
    }

    /// Exports `request` and publishes its archive.
    /// - Returns: Where the archive is and what it holds.
    /// - Throws: ``HandoverError``: the output folder cannot be used, an archive of that name exists,
    ///   an exporter fails (the error names the exporter and table), or the archive cannot be written.
    public func build(for request: ExportRequest) async throws -> BundleResult {
        // Everything here blocks (the source, file writes, validation, libarchive): off Swift's cooperative pool.
        try await withTaskExecutorPreference(ThreadPoolExecutor.blocking) { try await buildOffPool(request) }
    }

    private func buildOffPool(_ request: ExportRequest) async throws -> BundleResult {
        let folder = try prepareOutputFolder()
        let name = Self.bundleName(for: request.id)
        let finalPath = options.publishedPath(for: request.id)
        guard !FileManager.default.fileExists(atPath: finalPath) else {
            throw HandoverError(.outputExists, "'\(finalPath)' already exists")
        }
        let removed = AtomicFile.removeLeftovers(in: folder)
        if removed > 0 { logger.debug("removed leftovers of interrupted exports", metadata: ["count": "\(removed)"]) }

        let pseudonymizer = options.pseudonymizer ?? KeyedPseudonymizer.random()
        let generatedAt = options.generatedAt ?? Timestamp.now()
        return try await AtomicFile.withWorkingFolder(in: folder, named: name) { work in
            let stage = BundleStage(folder: work)
            let packager = BundlePackager(
                stage: stage, name: name, options: options, generatedAt: generatedAt, logger: logger)
            return try await build(
                request, stage: stage, packager: packager, finalPath: finalPath, pseudonymizer: pseudonymizer,
                generatedAt: generatedAt)
        }
    }

    private func build(
        _ request: ExportRequest, stage: BundleStage, packager: BundlePackager, finalPath: String,
        pseudonymizer: any Pseudonymizer, generatedAt: Timestamp
    ) async throws -> BundleResult {
        var exporterRecords: [Manifest.ExporterRecord] = []
        var files: [Manifest.FileRecord] = []
        var schemas: [Manifest.SchemaRecord] = []
        var samples: [IndexPage.Sample] = []
        var references: [String: [[ReferenceOutcome]]] = [:]
        var contents: [Manifest.ContentRecord] = []
        var written: [any Exporter] = []
        var firstFailure: HandoverError?
        // Zip and tar.gz/tar.zst: the data is compressed while it is written, on two threads of its own.
        let compression = try ContentCompression(format: options.archiveFormat, level: options.compressionLevel)
            .map { PayloadCompression($0, stage: stage) }
        defer { compression?.stop() }
        for exporter in exporters.exporters {
            try Self.checkCancellation()
            let outcome: Outcome
            // A repair log of its own per exporter: what it repaired is recorded with it.
            let context = ExportContext(logger: logger, pseudonymizer: pseudonymizer)
            do {
                outcome = try await run(
                    exporter, scope: request.scope, stage: stage, context: context, compression: compression)
            } catch let error as HandoverError where Self.mayRecord(error, options.onExporterFailure) {
                // Nothing of the failed exporter stays in the bundle; the manifest says why it is missing.
                stage.remove(under: "data/" + exporter.id)
                stage.remove(under: "data/schemas/" + exporter.id)
                stage.remove(under: "data/files/" + exporter.id)
                firstFailure = firstFailure ?? error
                exporterRecords.append(
                    Manifest.ExporterRecord(
                        id: exporter.id, version: exporter.version, status: .failed,
                        reason: "\(error.code): \(error.message)",
                        tables: []))
                logger.warning(
                    "exporter failed; its files are left out of the bundle",
                    metadata: ["exporter": "\(exporter.id)", "code": "\(error.code)"])
                continue
            }
            written.append(exporter)
            var record = outcome.record
            let repairs = context.repairs.repairs
            var reasons: [String] = []
            if !outcome.missing.isEmpty {
                // The rows are there, but not every file they name: partial, and which and why.
                record.status = .partial
                record.missingFiles = outcome.missing
                reasons.append(
                    "\(outcome.missing.count) file\(outcome.missing.count == 1 ? "" : "s") named by rows "
                        + "could not be carried (--missing-files record); see missingFiles")
                logger.warning(
                    "files missing from the bundle",
                    metadata: ["exporter": "\(exporter.id)", "count": "\(outcome.missing.count)"])
            }
            if !repairs.isEmpty {
                // Every row is there, but not every value as the database holds it: partial, and why.
                let count = repairs.reduce(0) { $0 + $1.count }
                record.status = .partial
                record.repairs = repairs
                reasons.append(
                    "\(count) value\(count == 1 ? "" : "s") repaired under the dataset map's on-invalid: replace "
                        + "(invalid UTF-8 written as U+FFFD, values that do not fit their type written as text "
                        + "beside them); see repairs")
                logger.warning(
                    "exporter repaired values", metadata: ["exporter": "\(exporter.id)", "count": "\(count)"])
            }
            if !reasons.isEmpty { record.reason = reasons.joined(separator: "; ") }
            exporterRecords.append(record)
            files += outcome.files
            contents += outcome.contents
            schemas += outcome.schemas
            samples += outcome.samples
            references[exporter.id] = outcome.references
        }
        // A bundle of nothing is not an answer.
        if written.isEmpty, let firstFailure { throw firstFailure }
        let requestRecord = Self.requestRecord(for: request, pseudonymizer: pseudonymizer)
        let page = IndexPage.render(
            request: requestRecord, generatedAt: generatedAt, exporters: exporterRecords, samples: samples,
            contents: contents, csvFormulaGuard: options.csvFormulaGuard && options.formats.contains(.csv))
        stage.hold(page, at: "data/index.html")
        let documents = [
            Manifest.DocumentRecord(
                path: "data/index.html", mediaType: "text/html", bytes: Int64(page.count), sha256: page.sha256Hex
            )
        ]
        var manifest = Manifest(
            request: requestRecord, generatedAt: generatedAt, generator: options.generator,
            exporters: exporterRecords, files: files.sorted { $0.path < $1.path },
            schemas: schemas.sorted { $0.path < $1.path }, documents: documents)
        if options.formats.contains(.csv) { manifest.csvFormulaGuard = options.csvFormulaGuard }
        if !contents.isEmpty { manifest.contents = contents.sorted { $0.path < $1.path } }
        // Repaired values make an exporter partial without failing it; a failed exporter is left out of the
        // bundle only when the options say to record it.
        guard !exporterRecords.contains(where: { $0.status == .failed }) || options.onExporterFailure == .record
        else {
            throw HandoverError(.exporterFailed, "the bundle is not complete")
        }
        try Self.checkCancellation()
        try packager.writeDataPackage(manifest: manifest, tables: written, references: references)
        let parts = try packager.assignParts(&manifest)
        stage.hold(try ManifestCoding.encode(manifest), at: "manifest.json")
        try packager.signManifest(request: request.id)
        let compressed = try compression?.finish() ?? [:]
        let published = try packager.publish(
            manifest: manifest, parts: parts, finalPath: finalPath, compressed: compressed)
        logger.debug("published bundle", metadata: ["request": "\(request.id)", "parts": "\(published.count)"])
        options.progress?(
            ExportProgress(
                phase: .finished, exporter: "", item: "", rows: manifest.records, total: manifest.records))
        return BundleResult(
            archivePath: finalPath, parts: published.map(\.path),
            archiveBytes: published.reduce(0) { $0 + $1.bytes }, manifest: manifest)
    }

    /// Throws ``HandoverError/Code/cancelled`` when the task running the export is cancelled; the working
    /// folder is then removed and nothing is published.
    static func checkCancellation() throws {
        if Task.isCancelled { throw HandoverError(.cancelled, "the export was cancelled") }
    }

    /// Whether `error`, thrown while running one exporter, leaves that exporter out under `policy` rather than
    /// failing the export: a failure of the exporter's source or data, never a cancellation or a failure of the
    /// output or of Handover itself.
    static func mayRecord(_ error: HandoverError, _ policy: ExporterFailurePolicy) -> Bool {
        guard policy == .record else { return false }
        switch error.code {
        case .sourceUnavailable, .sourceFailed, .exporterFailed, .invalidData, .invalidSchema, .ambiguousSubject,
            .formatFailed:
            return true
        default:
            return false
        }
    }

    /// What one exporter wrote.
    typealias Outcome = (
        record: Manifest.ExporterRecord, files: [Manifest.FileRecord], schemas: [Manifest.SchemaRecord],
        samples: [IndexPage.Sample], references: [[ReferenceOutcome]], contents: [Manifest.ContentRecord],
        missing: [Manifest.MissingFile]
    )

    /// Runs one exporter into `data/<exporter id>/`, its schemas into `data/schemas/<exporter id>/`, validating
    /// every file it writes against its schema file as the bytes are written.
    private func run(
        _ exporter: any Exporter, scope: ExportScope, stage: BundleStage, context: ExportContext,
        compression: PayloadCompression?
    ) async throws -> Outcome {
        let folder = "data/" + exporter.id
        let schemaFolder = "data/schemas/" + exporter.id
        var sink = BundleRowSink(exporterID: exporter.id, progress: options.progress)
        sink.contents = ContentFiles(stage: stage, exporterID: exporter.id, policy: options.missingFiles)
        let totals = options.progress == nil ? [:] : try await exporter.estimatedRows(in: scope)
        var schemas: [Manifest.SchemaRecord] = []
        // Validators started for tables not yet handed to the sink, stopped if setting up fails.
        var started: [StreamValidation] = []
        func setUp() throws {
            for (index, table) in exporter.tables.enumerated() {
                guard exporter.includes(table: index, in: scope) else {
                    sink.tables.append(nil)
                    continue
                }
                var writers: [any TableWriter<FileSink>] = []
                var paths: [String] = []
                for format in options.formats {
                    let path = folder + "/" + table.name + "." + format.fileExtension
                    let file = try compression?.sink(path) ?? stage.sink(path)
                    let kind = SchemaKind(describing: format)
                    let schema = SchemaGenerator.schema(kind, for: table, csvFormulaGuard: options.csvFormulaGuard)
                    // Every byte written to the file is checked against the schema file's bytes by another thread than
                    // the writer's (the file's own once it outgrows the queue, else the validation worker) or when its
                    // verdict is asked for; the export waits for the verdict before it packs anything.
                    file.validation = StreamValidation(kind: kind, schema: schema, path: path)
                    started.append(file.validation!)
                    paths.append(path)
                    writers.append(
                        try format.makeWriter(for: table, into: file, csvFormulaGuard: options.csvFormulaGuard))
                    let schemaPath = schemaFolder + "/" + table.name + kind.fileSuffix
                    stage.hold(schema, at: schemaPath)
                    schemas.append(
                        Manifest.SchemaRecord(
                            path: schemaPath, mediaType: kind.mediaType, kind: kind.rawValue, exporter: exporter.id,
                            table: table.name, bytes: Int64(schema.count), sha256: schema.sha256Hex))
                }
                sink.tables.append(
                    BundleRowSink.Table(
                        schema: table, checker: try RowChecker(schema: table), writers: writers, paths: paths,
                        total: totals[index]))
                started = []
            }
        }
        do {
            try setUp()
        } catch {
            for validation in started { validation.abort() }
            sink.abortAll()
            throw error
        }
        sink.references = ReferenceTracker(tables: exporter.tables, included: sink.tables.map { $0 != nil })
        do {
            try await exporter.export(scope, into: &sink, context: context)
            sink.reportFinal()
            options.progress?(
                ExportProgress(phase: .validating, exporter: exporter.id, item: "files", rows: 0, total: nil))
            try sink.settleAll()
        } catch let error as HandoverError {
            sink.abortAll()
            var error = error
            if error.code != .formatFailed { error.message = "exporter \(exporter.id): " + error.message }
            throw error
        } catch {
            sink.abortAll()
            throw HandoverError(
                .exporterFailed, "exporter \(exporter.id) failed", underlying: String(describing: type(of: error)))
        }
        let references = sink.references.finish()
        var files: [Manifest.FileRecord] = []
        var tables: [Manifest.TableRecord] = []
        var samples: [IndexPage.Sample] = []
        for index in sink.tables.indices {
            guard let table = sink.tables[index] else { continue }
            samples.append(
                IndexPage.Sample(
                    exporter: exporter.id, schema: table.schema, records: table.records, rows: table.sample,
                    files: options.formats.map {
                        ($0.rawValue, exporter.id + "/" + table.schema.name + "." + $0.fileExtension)
                    }))
            for (position, format) in options.formats.enumerated() {
                guard let written = table.written?[position] else {
                    throw HandoverError(.internalError, "table \(table.schema.name) was not completed")
                }
                stage.keep(table.writers[position].sink)
                let path = folder + "/" + table.schema.name + "." + format.fileExtension
                let schemaPath = schemaFolder + "/" + table.schema.name + SchemaKind(describing: format).fileSuffix
                files.append(
                    Manifest.FileRecord(
                        path: path, mediaType: format.mediaType, format: format.rawValue, exporter: exporter.id,
                        table: table.schema.name, records: table.records, bytes: written.bytes, sha256: written.sha256,
                        schema: schemaPath))
            }
            tables.append(Manifest.TableRecord(name: table.schema.name, records: table.records))
        }
        let record = Manifest.ExporterRecord(
            id: exporter.id, version: exporter.version, status: .complete, tables: tables)
        return (
            record, files, schemas, samples, references, sink.contents?.records ?? [], sink.contents?.missing ?? []
        )
    }

    /// The request as a bundle's manifest records it: the subject only as a keyed pseudonym.
    ///
    /// A bundle answers `request` only if its manifest holds exactly this record, made with the same key.
    /// - Parameters:
    ///   - request: The request.
    ///   - pseudonymizer: The key that pseudonymises the subject's selecting value.
    /// - Returns: The record.
    public static func requestRecord(for request: ExportRequest, pseudonymizer: any Pseudonymizer)
        -> Manifest.RequestRecord
    {
        Manifest.RequestRecord(
            id: request.id, purpose: request.purpose, receivedAt: request.receivedAt,
            scope: scopeRecord(request.scope, pseudonymizer))
    }

    private static func scopeRecord(_ scope: ExportScope, _ pseudonymizer: any Pseudonymizer) -> Manifest.ScopeRecord {
        switch scope {
        case .subject(let selector, let tenant):
            Manifest.ScopeRecord(
                kind: "subject", tenant: tenant, subjectColumn: selector.column,
                subjectPseudonym: pseudonymizer.pseudonym(for: selector.value, domain: "subject." + selector.column))
        case .tenant(let tenant):
            Manifest.ScopeRecord(kind: "tenant", tenant: tenant, subjectColumn: nil, subjectPseudonym: nil)
        }
    }

    private func prepareOutputFolder() throws -> String {
        let folder = options.outputFolder
        try AtomicFile.createPrivateFolder(at: folder)
        guard FileManager.default.isWritableFile(atPath: folder) else {
            throw HandoverError(.outputUnavailable, "output folder '\(folder)' is not writable")
        }
        return folder
    }

}

/// The data files of an export whose content is compressed as it is written (every format but tar.xz), by bundle
/// path.
final class PayloadCompression {
    let compression: ContentCompression
    let stage: BundleStage
    private var files: [(path: String, file: CompressedFile)] = []

    init(_ compression: ContentCompression, stage: BundleStage) {
        self.compression = compression
        self.stage = stage
    }

    /// A new data file at `path` in the bundle whose bytes are compressed as they are written.
    func sink(_ path: String) throws -> FileSink {
        let sink = try stage.sink(path, compression: compression)
        if let file = sink.compressed { files.append((path, file)) }
        return sink
    }

    /// Writes out what is still being compressed and stops the threads.
    /// - Returns: Each completed file's compressed content, by bundle path.
    func finish() throws -> [String: CompressedFile.Content] {
        try compression.finish()
        return Dictionary(
            files.compactMap { entry in entry.file.content.map { (entry.path, $0) } },
            uniquingKeysWith: { first, _ in first })
    }

    /// Stops the threads (the export failed, or after ``finish()``).
    func stop() { compression.stop() }
}
