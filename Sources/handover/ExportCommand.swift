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

    @Option(name: .long, help: "The formats to write, comma-separated: json, csv, xml.")
    var formats = "json,csv,xml"

    @Option(name: .long, help: "The folder the archive is written to (created when missing).")
    var out = "."

    @Option(name: .long, help: "The request id (names the bundle); random when not given.")
    var requestID: String?

    @Option(
        name: .long,
        help:
            "access, portability or controller-transfer; by default access for a subject, controller-transfer for a tenant."
    )
    var purpose: String?

    @Option(
        name: .long,
        help:
            "A file holding the secret key (at least 16 bytes) for pseudonyms; a random key per bundle when not given.")
    var pseudonymKeyFile: String?

    @OptionGroup var common: CommonOptions

    func validate() throws {
        if subject == nil && tenant == nil {
            throw ValidationError("Give --subject COLUMN=VALUE, --tenant ID, or both.")
        }
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
            let purpose = try purpose.map(parsePurpose) ?? (subject != nil ? .access : .controllerTransfer)
            let request = ExportRequest(
                id: try requestID.map(RequestID.init) ?? .random(), purpose: purpose, scope: scope,
                receivedAt: Timestamp.now())
            let exporter = try DatasetMapExporter(map: try readMap(map), databasePath: db)
            var options = BundleOptions(outputDirectory: out, formats: try TableFormat.parseList(formats))
            if let pseudonymKeyFile {
                options.pseudonymizer = try KeyedPseudonymizer(key: try readKey(pseudonymKeyFile))
            }
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

func readKey(_ path: String) throws -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw HandoverError(.invalidArgument, "cannot read the pseudonym key file '\(path)'")
    }
    return Array(data)
}

func parsePurpose(_ text: String) throws -> Purpose {
    guard let purpose = Purpose(rawValue: text) else {
        throw HandoverError(.invalidArgument, "unknown purpose; use access, portability or controller-transfer")
    }
    return purpose
}
