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

    @Option(name: .long, help: "The database to read: a SQLite file or a postgres://USER@HOST:PORT/DB?schema=S URL.")
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

    @OptionGroup var content: ContentOptions

    @OptionGroup var sealing: SealingOptions

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
            let location = try DataSourceLocation(db)
            let exporter = try await location.exporter(map: try readMap(map), logger: logger)
            if !common.quiet {
                for lookup in exporter.unindexedLookups(for: scope) {
                    printWarning(
                        "no index serves \(lookup): the export reads the whole table (\(createIndexStatement(lookup, schema: location.schema)))"
                    )
                }
            }
            var options = try bundleOptions(
                out: out, formats: formats, archive: archive, splitSize: splitSize, organization: organization,
                pseudonymizer: try loadPseudonymizer(pseudonymKeyFile))
            options.compressionLevel = compressionLevel
            options.generatedAt = pinnedTime
            content.apply(to: &options)
            try sealing.apply(to: &options)
            if !common.quiet { options.progress = ProgressPrinter().observer }
            let builder = BundleBuilder(exporters: try ExporterRegistry([exporter]), options: options, logger: logger)
            return try await builder.build(for: request)
        }
        if common.json { try printJSON(ExportReport(result)) } else { printSummary(result) }
    }
}
