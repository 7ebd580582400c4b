import Foundation
import HandoverArchive
import HandoverBundle
import HandoverCore
import HandoverDemo
import HandoverFormats
import HandoverSQL
import Logging
import TestSupport
import Testing

/// The same key every time, so that pseudonyms, and so the bytes, repeat.
let fixedKey = try! KeyedPseudonymizer(key: Array("a fixed test key, 32 bytes long!".utf8))

func pinnedBuild(
    _ scope: ExportScope, into folder: String, format: ArchiveFormat = .zip, split: Int64? = nil,
    registry: ExporterRegistry? = nil
) async throws -> BundleResult {
    let options = BundleOptions(
        outputDirectory: folder, archiveFormat: format, pseudonymizer: fixedKey,
        generatedAt: Timestamp(iso8601: "2026-11-25T10:00:00Z"), splitSize: split,
        sourceOrganization: "Acme Privacy Team")
    let builder = BundleBuilder(
        exporters: try registry ?? demoRegistry(), options: options, logger: Logger(label: "test"))
    return try await builder.build(
        for: ExportRequest(
            id: try RequestID("req-pinned"), purpose: .portability, scope: scope,
            receivedAt: Timestamp(iso8601: "2026-11-20T09:00:00Z")!))
}

@Suite struct PackagingTests {
    @Test(arguments: ArchiveFormat.allCases)
    func everyFormatIsAValidBagThatVerifies(format: ArchiveFormat) async throws {
        try await withTemporaryDirectory { folder in
            let result = try await pinnedBuild(.tenant("1"), into: folder, format: format)
            #expect(result.archivePath.hasSuffix("/handover-req-pinned." + format.fileExtension))
            let report = BundleVerifier.verify(archive: result.archivePath)
            #expect(report.problems == [], "\(report.problems)")
            let files = try readArchive(result.archivePath)
            let root = "handover-req-pinned/"
            #expect(
                String(decoding: files[root + "bagit.txt"]!, as: UTF8.self)
                    == "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
            let info = String(decoding: files[root + "bag-info.txt"]!, as: UTF8.self)
            let payloadBytes = files.filter { $0.key.hasPrefix(root + "data/") }.values.reduce(0) { $0 + $1.count }
            let payloadCount = files.keys.filter { $0.hasPrefix(root + "data/") }.count
            #expect(info.contains("Payload-Oxum: \(payloadBytes).\(payloadCount)\n"))
            #expect(info.contains("External-Identifier: req-pinned\n"))
            #expect(info.contains("Source-Organization: Acme Privacy Team\n"))
            #expect(info.contains("Bagging-Date: 2026-11-25\n"))
            #expect(!info.contains("Bag-Count"))
            let manifestLines = String(decoding: files[root + "manifest-sha256.txt"]!, as: UTF8.self).split(
                separator: "\n")
            #expect(manifestLines.count == payloadCount)
            for line in manifestLines {
                let parts = line.split(separator: " ", maxSplits: 1)
                let path = String(parts[1].dropFirst())
                #expect(sha256(files[root + path] ?? []) == String(parts[0]), "\(path)")
            }
            let tagLines = String(decoding: files[root + "tagmanifest-sha256.txt"]!, as: UTF8.self).split(
                separator: "\n")
            #expect(
                Set(tagLines.map { String($0.split(separator: " ").last!) }) == [
                    "bagit.txt", "bag-info.txt", "manifest-sha256.txt", "manifest.json", "datapackage.json",
                ])
        }
    }

    @Test(arguments: ArchiveFormat.allCases)
    func theSameDataGiveTheSameBytes(format: ArchiveFormat) async throws {
        try await withTemporaryDirectory { folder in
            let first = try await pinnedBuild(
                .subject(SalesDemo.demoSubject, tenant: nil), into: folder + "/a", format: format)
            let second = try await pinnedBuild(
                .subject(SalesDemo.demoSubject, tenant: nil), into: folder + "/b", format: format)
            let a = try Data(contentsOf: URL(fileURLWithPath: first.archivePath))
            let b = try Data(contentsOf: URL(fileURLWithPath: second.archivePath))
            #expect(a.count > 10_000)
            #expect(a == b, "two builds of \(format) differ")
            try ArchiveReader.read(first.archivePath) { reader in
                var names: [String] = []
                while let entry = try reader.nextEntry() {
                    #expect(entry.modificationTime == Timestamp(iso8601: "2026-11-25T10:00:00Z")!)
                    names.append(entry.name)
                }
                #expect(names.first == "handover-req-pinned/bagit.txt")
                #expect(
                    names.firstIndex(of: "handover-req-pinned/manifest.json")! < names.firstIndex(
                        of: "handover-req-pinned/data/index.html")!)
            }
        }
    }

    @Test(arguments: [ArchiveFormat.zip, .tzst])
    func splitPartsAreSelfContainedBagsThatReassembleTheBundle(format: ArchiveFormat) async throws {
        try await withTemporaryDirectory { folder in
            let whole = try await pinnedBuild(.tenant("2"), into: folder + "/whole", format: format)
            let limit: Int64 = 160 * 1024
            let split = try await pinnedBuild(.tenant("2"), into: folder + "/split", format: format, split: limit)
            #expect(split.archivePath == folder + "/split/handover-req-pinned.parts")
            #expect(split.parts.count >= 3, "\(split.parts)")
            #expect(listFolder(folder + "/split") == ["handover-req-pinned.parts"])
            #expect(split.manifest.parts == split.parts.count)
            var reassembled: [String: [UInt8]] = [:]
            for (index, part) in split.parts.enumerated() {
                #expect(part.hasSuffix(".part-\(index + 1)-of-\(split.parts.count).\(format.fileExtension)"))
                let size = try FileManager.default.attributesOfItem(atPath: part)[.size] as! Int
                let files = try readArchive(part)
                let payload = files.filter { $0.key.contains("/data/") }
                #expect(size <= limit || payload.count == 1, "part \(index + 1) is \(size) bytes")
                for tag in [
                    "bagit.txt", "bag-info.txt", "manifest-sha256.txt", "tagmanifest-sha256.txt", "manifest.json",
                    "datapackage.json",
                ] {
                    #expect(files["handover-req-pinned/" + tag] != nil, "part \(index + 1) lacks \(tag)")
                }
                let info = String(decoding: files["handover-req-pinned/bag-info.txt"]!, as: UTF8.self)
                #expect(info.contains("Bag-Count: \(index + 1) of \(split.parts.count)\n"))
                for (name, bytes) in payload {
                    #expect(reassembled[name] == nil, "\(name) is in two parts")
                    reassembled[name] = bytes
                    let path = String(name.dropFirst("handover-req-pinned/".count))
                    #expect(split.manifest.payload.first { $0.path == path }?.part == index + 1)
                }
            }
            let original = try readArchive(whole.archivePath).filter { $0.key.contains("/data/") }
            #expect(reassembled == original)
            let report = BundleVerifier.verify(parts: split.parts)
            #expect(report.problems == [], "\(report.problems)")
            let missing = BundleVerifier.verify(parts: Array(split.parts.dropLast()))
            #expect(missing.problems.contains { $0.kind == .part })
            #expect(missing.problems.contains { $0.kind == .missing })
        }
    }

    @Test func theIndexPageTellsWhatTheBundleIsAndEscapesEverything() async throws {
        try await withTemporaryDirectory { folder in
            let registry = try ExporterRegistry([Many(count: 1_500)])
            let result = try await pinnedBuild(.tenant("x"), into: folder, registry: registry)
            let page = String(
                decoding: try readArchive(result.archivePath)["handover-req-pinned/data/index.html"]!, as: UTF8.self)
            #expect(page.hasPrefix("<!DOCTYPE html>"))
            #expect(page.contains("GDPR Art. 20"))
            #expect(page.contains("Showing the first 1000 of 1500 records"))
            #expect(page.contains("<a href=\"many/notes.csv\">CSV</a>"))
            #expect(page.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more"))
            #expect(!page.contains("<script"))
            #expect(!page.contains("http://") && !page.contains("https://") && !page.contains("src="))
            #expect(page.components(separatedBy: "<tr>").count - 1 == 1_001)
        }
    }

    @Test func theDataPackageDescribesEveryCSVTable() async throws {
        try await withTemporaryDirectory { folder in
            let result = try await pinnedBuild(.tenant("1"), into: folder)
            let bytes = try readArchive(result.archivePath)["handover-req-pinned/datapackage.json"]!
            let package = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
            #expect(package["$schema"] as? String == "https://datapackage.org/profiles/2.0/datapackage.json")
            let resources = try #require(package["resources"] as? [[String: Any]])
            let csv = result.manifest.files.filter { $0.format == "csv" }
            #expect(resources.count == csv.count)
            for (resource, file) in zip(resources, csv) {
                #expect(resource["path"] as? String == file.path)
                #expect(resource["hash"] as? String == "sha256:" + file.sha256)
                #expect((resource["bytes"] as? NSNumber)?.int64Value == file.bytes)
                #expect(resource["mediatype"] as? String == "text/csv")
                #expect(resource["encoding"] as? String == "utf-8")
                #expect((resource["dialect"] as? [String: Any])?["lineTerminator"] as? String == "\r\n")
                let schema = try #require(resource["schema"] as? [String: Any])
                #expect((schema["fields"] as? [Any])?.isEmpty == false)
            }
            let comments = try #require(
                resources.first { $0["name"] as? String == "comments" }?["schema"] as? [String: Any])
            // In a tenant's bundle, a comment's content is the tenant's; its pseudonymised author is described only.
            #expect((comments["foreignKeys"] as? [Any])?.count == 1)
            #expect((comments["x-handover-references"] as? [Any])?.count == 2)
        }
    }

    @Test func onlyReferencesThatHoldAreDeclaredWhateverTheOrderOfRows() async throws {
        try await withTemporaryDirectory { folder in
            let result = try await pinnedBuild(.tenant("x"), into: folder, registry: try ExporterRegistry([Linked()]))
            let bytes = try readArchive(result.archivePath)["handover-req-pinned/datapackage.json"]!
            let package = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
            let resources = try #require(package["resources"] as? [[String: Any]])
            func declared(_ name: String) -> [String] {
                let schema = resources.first { $0["name"] as? String == name }?["schema"] as? [String: Any]
                return (schema?["foreignKeys"] as? [[String: Any]] ?? []).map {
                    (($0["fields"] as? [String]) ?? []).joined() + "->"
                        + (($0["reference"] as? [String: Any])?["resource"] as? String ?? "?")
                }
            }
            #expect(resources.map { $0["name"] as? String } == ["child", "orphan", "parent"])
            // Children come before their parents and name later siblings: checked at the end, they hold.
            #expect(declared("child") == ["parent->parent", "Sibling->child"])
            // An orphan names a parent that is not there.
            #expect(declared("orphan") == [])
            let orphan = resources.first { $0["name"] as? String == "orphan" }?["schema"] as? [String: Any]
            let note = (orphan?["x-handover-references"] as? [[String: Any]])?.first?["note"] as? String
            #expect(note?.contains("leaves out") == true)
            #expect(BundleVerifier.verify(archive: result.archivePath).problems == [])
        }
    }
}

/// Tables whose rows refer forward: children before parents, a sibling named before it is written, an orphan.
struct Linked: Exporter {
    var id = "linked"
    var version = "1"
    var tables = [
        TableSchema(
            name: "Child",
            fields: [Field("id", .integer, required: true), Field("parent", .integer), Field("Sibling", .integer)],
            primaryKey: ["id"],
            foreignKeys: [
                ForeignKey(fields: ["parent"], table: "Parent", referencedFields: ["id"]),
                ForeignKey(fields: ["Sibling"], table: "Child", referencedFields: ["id"]),
            ]),
        TableSchema(
            name: "Parent", fields: [Field("id", .integer, required: true), Field("code", .string)],
            primaryKey: ["id"]),
        TableSchema(
            name: "Orphan", fields: [Field("id", .integer, required: true), Field("parent", .integer)],
            primaryKey: ["id"], foreignKeys: [ForeignKey(fields: ["parent"], table: "Parent", referencedFields: ["id"])]
        ),
    ]

    func export(_ scope: ExportScope, into sink: inout some RowSink, context: ExportContext) async throws {
        try await sink.write(Row([.integer(1), .integer(10), .integer(2)]), table: 0)
        try await sink.write(Row([.integer(2), .integer(11), .null]), table: 0)
        try await sink.write(Row([.integer(10), .string("a")]), table: 1)
        try await sink.write(Row([.integer(11), .string("b")]), table: 1)
        try await sink.write(Row([.integer(1), .integer(12)]), table: 2)
    }
}

/// An exporter of `count` rows, some with markup in them.
struct Many: Exporter {
    var count: Int
    var id = "many"
    var version = "1"
    var tables = [
        TableSchema(
            name: "notes", fields: [Field("id", .integer, required: true), Field("text", .string)], primaryKey: ["id"])
    ]

    func export(_ scope: ExportScope, into sink: inout some RowSink, context: ExportContext) async throws {
        for id in 1...count {
            let text = id == 1 ? "<script>alert(\"x\")</script> & more" : "note \(id)"
            try await sink.write(Row([.integer(Int64(id)), .string(text)]), table: 0)
        }
    }
}
