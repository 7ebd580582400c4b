import Crypto
import Foundation
import HandoverArchive
import HandoverBundle
import HandoverCore
import HandoverDemo
import HandoverFormats
import HandoverSQL
import HandoverSQLite
import Logging
import TestSupport
import Testing

func demoRegistry() throws -> ExporterRegistry {
    try ExporterRegistry([
        DatasetMapExporter(map: try DatasetMap(yaml: SalesDemo.datasetMap), databasePath: demoDatabase)
    ])
}

func build(
    _ scope: ExportScope, into folder: String, registry: ExporterRegistry? = nil, id: String = "req-test",
    formats: [TableFormatName] = ["json", "csv", "xml"], archive: ArchiveFormat = .zip
) async throws -> BundleResult {
    var options = BundleOptions(outputDirectory: folder)
    options.formats = try formats.map { try #require(TableFormat(rawValue: $0)) }
    options.archiveFormat = archive
    let builder = BundleBuilder(
        exporters: try registry ?? demoRegistry(), options: options, logger: Logger(label: "test"))
    return try await builder.build(
        for: ExportRequest(id: try RequestID(id), purpose: .access, scope: scope, receivedAt: .now()))
}

typealias TableFormatName = String

func sha256(_ bytes: [UInt8]) -> String {
    SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
}

@Suite struct SubjectBundleTests {
    @Test func theDemoSubjectsBundleHoldsExactlyTheirRowsInEveryFormat() async throws {
        try await withTemporaryDirectory { folder in
            let result = try await build(.subject(SalesDemo.demoSubject, tenant: nil), into: folder)
            #expect(result.archivePath == folder + "/handover-req-test.zip")
            #expect(listFolder(folder) == ["handover-req-test.zip"], "nothing but the archive is left")
            let files = try readArchive(result.archivePath)
            let prefix = "handover-req-test/"
            #expect(files.keys.allSatisfy { $0.hasPrefix(prefix) })
            let manifest = try ManifestCoding.decode(try #require(files[prefix + "manifest.json"]))
            #expect(manifest.status == .complete)
            let tagFiles = [
                "bagit.txt", "bag-info.txt", "manifest-sha256.txt", "tagmanifest-sha256.txt", "manifest.json",
                "datapackage.json",
            ]
            #expect(Set(files.keys) == Set((tagFiles + manifest.payload.map(\.path)).map { prefix + $0 }))
            for record in manifest.schemas {
                let bytes = try #require(files[prefix + record.path])
                #expect(sha256(bytes) == record.sha256, "\(record.path) SHA-256")
            }
            #expect(manifest.files.allSatisfy { file in manifest.schemas.contains { $0.path == file.schema } })

            var checkedTables = Set<String>()
            for record in manifest.files {
                let bytes = try #require(files[prefix + record.path])
                #expect(Int64(bytes.count) == record.bytes, "\(record.path) size")
                #expect(sha256(bytes) == record.sha256, "\(record.path) SHA-256")
                let rows = try parseTable(bytes, format: record.format)
                #expect(rows.count == record.records, "\(record.path) record count")
                let sql = try #require(ownedBySubject[record.table], "no expectation for \(record.table)")
                let expected = try query(demoDatabase, sql + " ORDER BY 1", [.integer(1)])
                let ids = rows.map { Int64(($0["id"] ?? nil) ?? "") ?? -1 }
                #expect(ids == expected, "\(record.path): rows of someone else, or rows missing")
                checkedTables.insert(record.table)
            }
            #expect(checkedTables == Set(ownedBySubject.keys))
            #expect(manifest.records > 100)
        }
    }

    @Test func valuesInTheFilesMatchTheDatabase() async throws {
        try await withTemporaryDirectory { folder in
            let result = try await build(.subject(SalesDemo.demoSubject, tenant: nil), into: folder)
            let files = try readArchive(result.archivePath)
            let expectedNames = try SQLiteConnection.withConnection(path: demoDatabase, mode: .readOnly) {
                db -> [String] in
                let statement = try db.prepare("SELECT name || '|' || email FROM users WHERE id = 1")
                _ = try statement.step()
                guard case .text(let text) = try statement.value(at: 0) else { return [] }
                return [text]
            }
            for format in ["json", "csv", "xml"] {
                let users = try parseTable(
                    try #require(files["handover-req-test/data/sales/users.\(format)"]), format: format)
                let names: [String] = users.map { row in
                    let name: String = (row["name"] ?? nil) ?? ""
                    let email: String = (row["email"] ?? nil) ?? ""
                    return name + "|" + email
                }
                #expect(names == expectedNames)
                #expect(users.first?["password_hash"] == nil, "an excluded column is left out")
            }
        }
    }

    @Test func theManifestRecordsTheSubjectOnlyAsAPseudonym() async throws {
        try await withTemporaryDirectory { folder in
            let result = try await build(.subject(SalesDemo.demoSubject, tenant: nil), into: folder)
            let manifestBytes = try #require(try readArchive(result.archivePath)["handover-req-test/manifest.json"])
            let text = String(decoding: manifestBytes, as: UTF8.self)
            #expect(!text.contains(SalesDemo.demoSubject.value))
            #expect(!text.contains("ana.lima"))
            let scope = try ManifestCoding.decode(manifestBytes).request.scope
            #expect(scope.kind == "subject")
            #expect(scope.subjectColumn == "email")
            #expect(scope.subjectPseudonym?.hasPrefix("p-") == true)
        }
    }

    @Test func anUnknownSubjectGetsAValidBundleThatHoldsNoRecords() async throws {
        try await withTemporaryDirectory { folder in
            let result = try await build(
                .subject(SubjectSelector(column: "email", value: "nobody@nowhere.example"), tenant: nil), into: folder)
            let files = try readArchive(result.archivePath)
            let manifest = try ManifestCoding.decode(try #require(files["handover-req-test/manifest.json"]))
            #expect(manifest.status == .complete)
            #expect(manifest.records == 0)
            #expect(manifest.files.count == 21)
            for record in manifest.files {
                #expect(record.records == 0)
                #expect(try parseTable(files["handover-req-test/" + record.path]!, format: record.format).isEmpty)
            }
        }
    }

    @Test func writesOnlyTheFormatsAskedFor() async throws {
        try await withTemporaryDirectory { folder in
            let result = try await build(.tenant("2"), into: folder, formats: ["csv"])
            #expect(result.manifest.files.allSatisfy { $0.format == "csv" && $0.mediaType == "text/csv" })
            #expect(result.manifest.files.map(\.table).contains("tenants"))
            #expect(!result.manifest.files.map(\.table).contains("contact_form_submissions"))
        }
    }

    @Test func neverReplacesAnEarlierBundle() async throws {
        try await withTemporaryDirectory { folder in
            let first = try await build(.subject(SalesDemo.demoSubject, tenant: nil), into: folder)
            let before = try Data(contentsOf: URL(fileURLWithPath: first.archivePath))
            await #expect {
                _ = try await build(.tenant("1"), into: folder)
            } throws: { ($0 as? HandoverError)?.code == .outputExists }
            #expect(try Data(contentsOf: URL(fileURLWithPath: first.archivePath)) == before)
            #expect(listFolder(folder) == ["handover-req-test.zip"])
        }
    }
}

/// An exporter that writes some rows, then does what its mode says.
struct Misbehaving: Exporter {
    enum Mode: Sendable {
        case failMidway, wrongType, tableOutOfScope, breaksConstraint, rowAfterFinish, finishesUnknown
    }
    var mode: Mode
    var id = "broken"
    var version = "1"
    var tables = [
        TableSchema(
            name: "items",
            fields: [
                Field("id", .integer, required: true), Field("label", .string, constraints: Constraints(maxLength: 20)),
            ], primaryKey: ["id"]),
        TableSchema(name: "hidden", fields: [Field("id", .integer)]),
    ]

    struct SourceLost: Error {}

    func includes(table: Int, in scope: ExportScope) -> Bool { table == 0 }

    func export(_ scope: ExportScope, into sink: inout some RowSink, context: ExportContext) async throws {
        for id in 1...5_000 { try await sink.write(Row([.integer(Int64(id)), .string("row \(id)")]), table: 0) }
        switch mode {
        case .failMidway: throw SourceLost()
        case .wrongType: try await sink.write(Row([.integer(5_001), .integer(42)]), table: 0)
        case .tableOutOfScope: try await sink.write(Row([.integer(1)]), table: 1)
        case .breaksConstraint:
            try await sink.write(Row([.integer(5_001), .string("a secret label far too long")]), table: 0)
        case .rowAfterFinish:
            // The files are complete (and their validators reading to the end) once the table is finished.
            try await sink.finish(table: 0)
            try await sink.write(Row([.integer(5_001), .string("late")]), table: 0)
        case .finishesUnknown: try await sink.finish(table: 1)
        }
    }
}

@Suite struct FailedExportTests {
    /// With zip, and with tar.zst, whose data is compressed on threads of its own while it is written: they stop.
    @Test(
        arguments: [
            Misbehaving.Mode.failMidway, .wrongType, .tableOutOfScope, .breaksConstraint, .rowAfterFinish,
            .finishesUnknown,
        ], [ArchiveFormat.zip, .tzst])
    func aFailedExportLeavesNoArchiveAndNoLeftovers(mode: Misbehaving.Mode, archive: ArchiveFormat) async throws {
        try await withTemporaryDirectory { folder in
            let registry = try ExporterRegistry([
                DatasetMapExporter(map: try DatasetMap(yaml: SalesDemo.datasetMap), databasePath: demoDatabase),
                Misbehaving(mode: mode),
            ])
            do {
                _ = try await build(.tenant("1"), into: folder, registry: registry, archive: archive)
                Issue.record("a failed export was published")
            } catch let error as HandoverError {
                #expect(error.message.contains("exporter broken"), "\(error.message)")
                if mode == .breaksConstraint {
                    #expect(
                        error.message.contains("table items, row id=5001, field label: longer than 20"),
                        "\(error.message)")
                    #expect(!error.localizedMessage.contains("secret"))
                }
                if mode == .rowAfterFinish {
                    #expect(error.message.contains("a row for table items after the exporter finished it"))
                }
                if mode == .finishesUnknown { #expect(error.message.contains("table number 1 was finished")) }
                if mode == .wrongType {
                    #expect(error.code == .invalidData)
                    #expect(error.message.contains("table items"))
                    #expect(error.message.contains("row id=5001"))
                    #expect(error.message.contains("field label"))
                }
            }
            #expect(listFolder(folder).isEmpty, "the output folder holds \(listFolder(folder))")
        }
    }

    @Test func anOutputThatIsAFileIsAClearError() async throws {
        try await withTemporaryDirectory { folder in
            try Data().write(to: URL(fileURLWithPath: folder + "/file"))
            await #expect {
                _ = try await build(.tenant("1"), into: folder + "/file")
            } throws: { ($0 as? HandoverError)?.code == .outputUnavailable }
        }
    }
}
