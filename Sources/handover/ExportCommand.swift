import ArgumentParser
import Foundation
import HandoverArchive
import HandoverBundle
import HandoverCore
import HandoverFormats
import HandoverSQL

/// `handover export`: one request's bundle from a SQLite database and a dataset map.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export one data subject or one tenant into a bundle archive.",
        discussion: """
            Give --subject to export one person (access or portability), --tenant to export a whole \
            tenant (controller transfer), or both to export one person within one tenant. The subject \
            value is personal data: it is never printed or logged, and the manifest records only a \
            keyed pseudonym of it.
            """
    )

    @Option(name: .long, help: "The SQLite database to read.")
    var db: String

    @Option(name: .long, help: "The dataset map (YAML) that describes the database.")
    var map: String

    @Option(name: .long, help: "The data subject, as COLUMN=VALUE of the subject table (e.g. email=ana@example.com).")
    var subject: String?

    @Option(name: .long, help: "The tenant's id.")
    var tenant: String?

    @Option(name: .long, help: "The formats to write, as a comma-separated list such as json,csv.")
    var formats = FormatList.all

    @Option(name: .long, help: "The folder the archive is written to (created when missing).")
    var out = "."

    @Option(name: .long, help: "The request id (names the bundle); random when not given.")
    var requestID: String?

    @Option(
        name: .long,
        help: "Why the bundle is made; by default access for a subject, controller-transfer for a tenant.")
    var purpose: Purpose?

    @Option(
        name: .long,
        help: """
            A file holding the secret key (at least 16 bytes) for pseudonyms; default \
            $HANDOVER_PSEUDONYM_KEY_FILE or ~/.config/handover/pseudonym.key, created when missing.
            """)
    var pseudonymKeyFile: String?

    @Option(name: .long, help: "The archive format: zip, or a pax tar with gzip, xz or Zstandard.")
    var archive = ArchiveFormat.zip

    @Option(name: .long, help: "The compression level: 0-9 (zip, tgz, txz) or 1-19 (tzst).")
    var compressionLevel: Int?

    @Option(name: .long, help: "Split into numbered parts no larger than SIZE (such as 500M or 2G), in one folder.")
    var splitSize: String?

    @Option(
        name: .long,
        help: "The generation time to record (ISO 8601); with --request-id, the same data give the same bytes.")
    var generatedAt: String?

    @Option(name: .long, help: "The organisation sending the bundle, for bag-info.txt.")
    var organization = "Handover"

    @OptionGroup var common: CommonOptions

    func validate() throws {
        if subject == nil && tenant == nil {
            throw ValidationError("Give --subject COLUMN=VALUE, --tenant ID, or both.")
        }
        // Checked here, before the database is opened, rather than by the archive writer after the export.
        try archive.validate(compressionLevel: compressionLevel)
    }

    func run() async throws {
        let logger = common.makeLogger()
        let result = try await reportingErrors {
            let scope: ExportScope
            if let subject {
                scope = .subject(try SubjectSelector(parsing: subject), tenant: tenant)
            } else {
                scope = .tenant(tenant!)
            }
            let purpose = purpose ?? (subject != nil ? .access : .controllerTransfer)
            let pinnedTime = try generatedAt.map(parseTime)
            let request = ExportRequest(
                id: try requestID.map(RequestID.init) ?? .random(), purpose: purpose, scope: scope,
                receivedAt: pinnedTime ?? Timestamp.now())
            let exporter = try DatasetMapExporter(map: try readMap(map), databasePath: db)
            if !common.quiet {
                for lookup in exporter.unindexedLookups(for: scope) {
                    printWarning(
                        "no index serves \(lookup): the export reads the whole table (\(createIndexStatement(lookup)))")
                }
            }
            var options = try bundleOptions(
                out: out, formats: formats, archive: archive, splitSize: splitSize, organization: organization,
                pseudonymizer: try loadPseudonymizer(pseudonymKeyFile))
            options.compressionLevel = compressionLevel
            options.generatedAt = pinnedTime
            if !common.quiet { options.progress = ProgressPrinter().observer }
            let builder = BundleBuilder(exporters: try ExporterRegistry([exporter]), options: options, logger: logger)
            return try await builder.build(for: request)
        }
        if common.json { try printJSON(ExportReport(result)) } else { printSummary(result) }
    }
}

/// Reads and parses a dataset map file.
func readMap(_ path: String) throws -> DatasetMap {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw HandoverError(.sourceUnavailable, "cannot read the dataset map '\(path)'")
    }
    guard let text = String(data: data, encoding: .utf8) else {
        throw HandoverError(.invalidDatasetMap, "'\(path)' is not UTF-8 text")
    }
    return try DatasetMap(yaml: text, source: path)
}

/// The options `export` and `worker` share: where, which formats, which archive, parts, sender and pseudonyms.
func bundleOptions(
    out: String, formats: FormatList, archive: ArchiveFormat, splitSize: String?, organization: String,
    pseudonymizer: KeyedPseudonymizer
) throws -> BundleOptions {
    var options = BundleOptions(outputDirectory: out, formats: formats.formats)
    options.archiveFormat = archive
    options.splitSize = try splitSize.map(parseSize)
    options.sourceOrganization = organization
    options.pseudonymizer = pseudonymizer
    return options
}

/// The pseudonymizer keyed by `path`, or by the installation's key file when nil (see ``defaultKeyFile()``).
func loadPseudonymizer(_ path: String?) throws -> KeyedPseudonymizer {
    try KeyedPseudonymizer(key: try readKey(path ?? defaultKeyFile()))
}

func readKey(_ path: String) throws -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw HandoverError(.invalidArgument, "cannot read the pseudonym key file '\(path)'")
    }
    guard (16...1024).contains(data.count) else {
        throw HandoverError(
            .invalidArgument, "a pseudonym key file holds 16 to 1024 bytes of secret; '\(path)' holds \(data.count)")
    }
    return Array(data)
}

/// The installation's pseudonym key file: `$HANDOVER_PSEUDONYM_KEY_FILE`, or `~/.config/handover/pseudonym.key`,
/// created with 32 random bytes (mode 0600) when missing, so that pseudonyms are stable across bundles.
func defaultKeyFile() throws -> String {
    let environment = ProcessInfo.processInfo.environment
    if let path = environment["HANDOVER_PSEUDONYM_KEY_FILE"], !path.isEmpty { return path }
    let config = environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (NSHomeDirectory() + "/.config")
    let folder = config + "/handover"
    let path = folder + "/pseudonym.key"
    if !FileManager.default.fileExists(atPath: path) {
        var generator = SystemRandomNumberGenerator()
        let key = Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
        do {
            try FileManager.default.createDirectory(
                atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            guard FileManager.default.createFile(atPath: path, contents: key, attributes: [.posixPermissions: 0o600])
            else {
                throw CocoaError(.fileWriteUnknown)
            }
        } catch {
            throw HandoverError(
                .outputUnavailable, "cannot create the pseudonym key file '\(path)'; give --pseudonym-key-file")
        }
    }
    return path
}

/// Parses `500M`, `2G`, `64K` or a number of bytes (powers of 1024).
func parseSize(_ text: String) throws -> Int64 {
    let units: [Character: Int64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
    var digits = text.uppercased()
    if digits.hasSuffix("B") && digits.count > 1 { digits.removeLast() }
    var factor: Int64 = 1
    if let last = digits.last, let unit = units[last] {
        factor = unit
        digits.removeLast()
    }
    guard let number = Int64(digits), number > 0, number <= Int64.max / factor, number * factor >= 64 * 1024 else {
        throw HandoverError(.invalidArgument, "a split size is a number with K, M or G, such as 500M, and at least 64K")
    }
    return number * factor
}

/// Parses an ISO 8601 date-time for --generated-at.
func parseTime(_ text: String) throws -> Timestamp {
    guard let time = Timestamp(iso8601: text) else {
        throw HandoverError(.invalidArgument, "a time is ISO 8601, such as 2026-11-25T10:00:00Z")
    }
    return time
}
