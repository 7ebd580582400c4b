import ArgumentParser
import Foundation
import HandoverArchive
import HandoverBundle
import HandoverCore
import HandoverDemo
import HandoverSQL

/// `handover demo`: generate the demo database and export one subject from it.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Create the demo sales database and export one data subject's bundle from it.",
        discussion: """
            Writes DIR/demo.sqlite, the files its content names under DIR/media (short recordings and \
            documents) and DIR/demo-map.yaml, then exports the demo subject (a sales rep whose recordings \
            colleagues commented on) into DIR, the subject's recordings and documents with their rows.
            """
    )

    @Option(name: .long, help: "The folder for the database, the map and the archive.")
    var out = "demo-output"

    @Option(name: .long, help: "Multiplies the demo data (1 gives a few thousand rows).")
    var scale = 1

    @OptionGroup var common: CommonOptions

    func run() async throws {
        let logger = common.makeLogger()
        let result = try await reportingErrors {
            try AtomicFile.createPrivateFolder(at: out)
            let database = out + "/demo.sqlite"
            let mapPath = out + "/demo-map.yaml"
            let summary = try SalesDemo.createDatabase(at: database, scale: scale)
            try SalesDemo.createMedia(in: out + "/media")
            let map = SalesDemo.datasetMap(mediaRoot: "media")
            guard FileManager.default.createFile(atPath: mapPath, contents: Data(map.utf8)) else {
                throw HandoverError(.outputUnavailable, "cannot write '\(mapPath)'")
            }
            if !common.json {
                print(
                    "Created \(database) (\(summary.total) rows in \(summary.rows.count) tables), \(out)/media "
                        + "(\(SalesDemo.mediaItems) files) and \(mapPath)")
            }
            let exporter = try DatasetMapExporter(map: try readMap(mapPath), databasePath: database, logger: logger)
            let builder = BundleBuilder(
                exporters: try ExporterRegistry([exporter]), options: BundleOptions(outputDirectory: out),
                logger: logger)
            let request = ExportRequest(
                id: .random(), purpose: .access, scope: .subject(SalesDemo.demoSubject, tenant: nil), receivedAt: .now()
            )
            return try await builder.build(for: request)
        }
        if common.json {
            try printJSON(ExportReport(result))
        } else {
            printSummary(result)
            print("Open it with: unzip -l \(result.archivePath)")
        }
    }
}
