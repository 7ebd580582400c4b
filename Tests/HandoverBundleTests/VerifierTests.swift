import Foundation
import HandoverArchive
import HandoverBundle
import HandoverCore
import HandoverDemo
import HandoverFormats
import HandoverJSONSchema
import TestSupport
import Testing

/// Builds the demo subject's bundle, lets `damage` change its files, and packs them again in the same order.
func damagedBundle(
    in folder: String, _ damage: (inout [(name: String, bytes: [UInt8])]) throws -> Void
) async throws -> String {
    let result = try await build(.subject(SalesDemo.demoSubject, tenant: nil), into: folder + "/good")
    var entries: [(name: String, bytes: [UInt8])] = []
    try ArchiveReader.read(result.archivePath) { reader in
        while let entry = try reader.nextEntry() { entries.append((entry.name, try reader.readAll())) }
    }
    try damage(&entries)
    let path = folder + "/damaged.zip"
    try ArchiveWriter.write(to: path, format: .zip) { archive in
        for entry in entries { try archive.addFile(bytes: entry.bytes, as: entry.name, modificationTime: .now()) }
    }
    return path
}

func replace(_ entries: inout [(name: String, bytes: [UInt8])], _ suffix: String, _ change: (inout [UInt8]) -> Void) {
    let index = entries.firstIndex { $0.name.hasSuffix(suffix) }!
    change(&entries[index].bytes)
}

/// Rewrites a file and fixes everything that records it — Handover's manifest, the BagIt manifests and the
/// Payload-Oxum — as a careful tamperer would, so that only the schema check can notice.
func replaceKeepingManifest(
    _ entries: inout [(name: String, bytes: [UInt8])], _ suffix: String, _ text: (String) -> String
) throws {
    func index(_ name: String) -> Int { entries.firstIndex { $0.name.hasSuffix(name) }! }
    func string(_ i: Int) -> String { String(decoding: entries[i].bytes, as: UTF8.self) }
    let target = index(suffix)
    let oldDigest = sha256(entries[target].bytes)
    let oldSize = entries[target].bytes.count
    entries[target].bytes = Array(text(string(target)).utf8)
    let newDigest = sha256(entries[target].bytes)

    let manifestIndex = index("/manifest.json")
    var manifest = try ManifestCoding.decode(entries[manifestIndex].bytes)
    let fileIndex = manifest.files.firstIndex { entries[target].name.hasSuffix("/" + $0.path) }!
    manifest.files[fileIndex].bytes = Int64(entries[target].bytes.count)
    manifest.files[fileIndex].sha256 = newDigest
    entries[manifestIndex].bytes = try ManifestCoding.encode(manifest)

    let bagManifest = index("/manifest-sha256.txt")
    entries[bagManifest].bytes = Array(string(bagManifest).replacingOccurrences(of: oldDigest, with: newDigest).utf8)
    let info = index("/bag-info.txt")
    let lines = string(info).split(separator: "\n").map { line -> String in
        guard line.hasPrefix("Payload-Oxum: ") else { return String(line) }
        let parts = line.dropFirst("Payload-Oxum: ".count).split(separator: ".")
        return "Payload-Oxum: \(Int(parts[0])! - oldSize + entries[target].bytes.count).\(parts[1])"
    }
    entries[info].bytes = Array((lines.joined(separator: "\n") + "\n").utf8)
    var tags = ""
    for line in string(index("/tagmanifest-sha256.txt")).split(separator: "\n") {
        let name = String(line.split(separator: " ").last!)
        tags += sha256(entries[index("/" + name)].bytes) + "  " + name + "\n"
    }
    entries[index("/tagmanifest-sha256.txt")].bytes = Array(tags.utf8)
}

@Suite struct VerifierTests {
    @Test func aBundleAsWrittenIsValid() async throws {
        try await withTemporaryDirectory { folder in
            for scope in [ExportScope.subject(SalesDemo.demoSubject, tenant: nil), .tenant("2")] {
                let result = try await build(scope, into: folder + "/\(scope.isSubject)")
                let report = BundleVerifier.verify(archive: result.archivePath)
                #expect(report.problems == [], "\(report.problems)")
                #expect(report.files == 6 + result.manifest.payload.count)
                #expect(report.records == result.manifest.records)
            }
        }
    }

    @Test func aDeclaredForeignKeyThatDoesNotHoldIsReportedByKindTableAndField() async throws {
        try await withTemporaryDirectory { folder in
            var replaced = ""
            let path = try await damagedBundle(in: folder) { entries in
                try replaceKeepingManifest(&entries, "/data/sales/contacts.csv") { text in
                    // The first contact's owner_id (third field) now names a user the bundle does not hold.
                    var lines = text.components(separatedBy: "\r\n")
                    var fields = lines[1].components(separatedBy: ",")
                    replaced = fields[2] == "7" ? "8" : String(repeating: "7", count: fields[2].count)
                    fields[2] = replaced
                    lines[1] = fields.joined(separator: ",")
                    return lines.joined(separator: "\r\n")
                }
            }
            let report = BundleVerifier.verify(archive: path)
            #expect(report.problems.map(\.kind) == [.reference], "\(report.problems)")
            let problem = try #require(report.problems.first)
            #expect(problem.path == "data/sales/contacts.csv")
            #expect(problem.message.contains("owner_id") && problem.message.contains("users"))
            #expect(!problem.message.contains(replaced))
        }
    }

    @Test func aForeignKeyToAResourceThePackageLacksIsReported() async throws {
        try await withTemporaryDirectory { folder in
            let path = try await damagedBundle(in: folder) { entries in
                func index(_ name: String) -> Int { entries.firstIndex { $0.name.hasSuffix(name) }! }
                let package = index("/datapackage.json")
                let text = String(decoding: entries[package].bytes, as: UTF8.self)
                #expect(text.contains("\"resource\": \"users\""))
                entries[package].bytes = Array(
                    text.replacingOccurrences(of: "\"resource\": \"users\"", with: "\"resource\": \"nobody\"").utf8)
                var tags = ""
                for line in String(decoding: entries[index("/tagmanifest-sha256.txt")].bytes, as: UTF8.self).split(
                    separator: "\n")
                {
                    let name = String(line.split(separator: " ").last!)
                    tags += sha256(entries[index("/" + name)].bytes) + "  " + name + "\n"
                }
                entries[index("/tagmanifest-sha256.txt")].bytes = Array(tags.utf8)
            }
            let report = BundleVerifier.verify(archive: path)
            #expect(!report.problems.isEmpty)
            #expect(report.problems.allSatisfy { $0.kind == .reference }, "\(report.problems)")
            #expect(report.problems.allSatisfy { $0.message.contains("names resource nobody") })
        }
    }

    static let damages: [(String, VerificationReport.Problem.Kind, String)] = [
        ("flipped byte in a data file", .checksum, "data/sales/comments.csv"),
        ("missing file", .missing, "data/sales/users.xml"),
        ("extra file", .unlisted, "data/sales/extra.csv"),
        ("row that breaks its schema", .schema, "data/sales/content_items.json"),
        ("wrong record count", .records, "data/sales/activity_events.csv"),
        ("manifest that breaks its schema", .manifest, "manifest.json"),
        ("schema-breaking XML", .schema, "data/sales/coaching_feedback.xml"),
        ("entry outside the bundle folder", .path, "escape.txt"),
        ("BagIt manifest that lies", .bagit, "*"),
        ("wrong Payload-Oxum", .bagit, "*"),
        ("page beside the bag's files", .unlisted, "index.html"),
        ("script at the bag's top level", .unlisted, "run.sh"),
        ("fetch.txt, which Handover never writes", .unlisted, "fetch.txt"),
        ("file in a folder beside data", .unlisted, "docs/readme.txt"),
    ]

    @Test(arguments: damages)
    func eachDamageIsReportedWithItsReason(name: String, kind: VerificationReport.Problem.Kind, path: String)
        async throws
    {
        try await withTemporaryDirectory { folder in
            let archive = try await damagedBundle(in: folder) { entries in
                switch name {
                case "flipped byte in a data file":
                    replace(&entries, "/comments.csv") { $0[$0.count / 2] ^= 0x01 }
                case "missing file":
                    entries.removeAll { $0.name.hasSuffix("/users.xml") }
                case "extra file":
                    entries.append(
                        (entries[0].name.components(separatedBy: "/")[0] + "/data/sales/extra.csv", Array("a\r\n".utf8))
                    )
                case "row that breaks its schema":
                    try replaceKeepingManifest(&entries, "/content_items.json") {
                        $0.replacingOccurrences(of: "\"kind\":\"recording\"", with: "\"kind\":\"podcast\"")
                    }
                case "wrong record count":
                    try replaceKeepingManifest(&entries, "/activity_events.csv") { text in
                        var lines = text.components(separatedBy: "\r\n")
                        lines.remove(at: 2)
                        return lines.joined(separator: "\r\n")
                    }
                case "manifest that breaks its schema":
                    replace(&entries, "/manifest.json") { bytes in
                        bytes = Array(
                            String(decoding: bytes, as: UTF8.self).replacingOccurrences(
                                of: "\"access\"", with: "\"curiosity\""
                            ).utf8)
                    }
                case "schema-breaking XML":
                    try replaceKeepingManifest(&entries, "/coaching_feedback.xml") {
                        $0.replacingOccurrences(of: "<score>", with: "<grade>").replacingOccurrences(
                            of: "</score>", with: "</grade>")
                    }
                case "page beside the bag's files", "script at the bag's top level",
                    "fetch.txt, which Handover never writes", "file in a folder beside data":
                    let root = entries[0].name.components(separatedBy: "/")[0]
                    entries.append((root + "/" + path, Array("<p>hi</p>\n".utf8)))
                case "entry outside the bundle folder":
                    entries.append(("escape.txt", Array("x".utf8)))
                case "BagIt manifest that lies":
                    replace(&entries, "/manifest-sha256.txt") { bytes in
                        bytes[0] = bytes[0] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
                    }
                case "wrong Payload-Oxum":
                    replace(&entries, "/bag-info.txt") { bytes in
                        bytes = Array(
                            String(decoding: bytes, as: UTF8.self).replacingOccurrences(
                                of: "Payload-Oxum: ", with: "Payload-Oxum: 1"
                            ).utf8)
                    }
                default:
                    Issue.record("unknown damage \(name)")
                }
            }
            let report = BundleVerifier.verify(archive: archive)
            #expect(!report.valid, "\(name) was not noticed")
            #expect(
                report.problems.contains {
                    $0.kind == kind && ($0.path == path || path == "*" || ($0.path == nil && kind == .path))
                },
                "\(name): \(report.problems)")
            for problem in report.problems {
                #expect(!problem.message.contains("ana.lima"))
                #expect(!problem.message.contains("podcast"))
            }
        }
    }

    @Test func aTruncatedArchiveIsReported() async throws {
        try await withTemporaryDirectory { folder in
            let result = try await build(.subject(SalesDemo.demoSubject, tenant: nil), into: folder)
            let bytes = try Data(contentsOf: URL(fileURLWithPath: result.archivePath))
            for keep in [bytes.count - 22, bytes.count / 2, 100] {
                let cut = folder + "/cut-\(keep).zip"
                try bytes.prefix(keep).write(to: URL(fileURLWithPath: cut))
                let report = BundleVerifier.verify(archive: cut)
                #expect(report.problems.map(\.kind) == [.archive], "kept \(keep): \(report.problems)")
            }
        }
    }

    /// Schemas first, then the data, then everything outside `data/`: the order of a bundle packed as it is made.
    static func schemasDataThenTagFiles(_ entries: inout [(name: String, bytes: [UInt8])]) {
        func rank(_ name: String) -> Int {
            name.contains("/data/schemas/") ? 0 : name.contains("/data/") ? 1 : 2
        }
        entries = entries.enumerated().sorted {
            (rank($0.element.name), $0.offset) < (rank($1.element.name), $1.offset)
        }
        .map(\.element)
    }

    @Test func dataBeforeItsManifestHasEveryRowCheckedInTheFirstPass() async throws {
        try await withTemporaryDirectory { folder in
            // Schemas, data, then the manifest; the changed row must be caught against the schema its path names.
            let archive = try await damagedBundle(in: folder) { entries in
                try replaceKeepingManifest(&entries, "/content_items.csv") {
                    $0.replacingOccurrences(of: ",recording,", with: ",podcast,")
                }
                Self.schemasDataThenTagFiles(&entries)
            }
            let report = BundleVerifier.verify(archive: archive)
            #expect(
                report.problems.contains { $0.kind == .schema && $0.path == "data/sales/content_items.csv" },
                "\(report.problems)")
            #expect(report.problems.allSatisfy { $0.path == "data/sales/content_items.csv" })
        }
    }

    @Test func aFileCheckedBeforeTheManifestIsCheckedAgainWhenTheManifestNamesAnotherSchema() async throws {
        try await withTemporaryDirectory { folder in
            // The users file is valid against its own schema; the manifest says the contacts schema is its schema.
            let archive = try await damagedBundle(in: folder) { entries in
                try editManifest(&entries) { manifest in
                    let index = manifest.files.firstIndex { $0.path == "data/sales/users.csv" }!
                    manifest.files[index].schema = "data/schemas/sales/contacts.tableschema.json"
                }
                Self.schemasDataThenTagFiles(&entries)
            }
            let report = BundleVerifier.verify(archive: archive)
            #expect(
                report.problems.contains { $0.kind == .schema && $0.path == "data/sales/users.csv" },
                "\(report.problems)")
        }
    }

    /// XML files get a quick check that accepts only the writer's own form; from anything else, valid or not, libxml2
    /// validates the rest, and the report is the same as with libxml2 alone.
    @Test(arguments: [
        ("a comment", VerificationReport.Problem.Kind?.none),
        ("a row less", .records),
        ("a comment and a row less", .records),
        ("a comment and a renamed element", .schema),
        ("a CDATA section", nil),
    ])
    func anXMLFileInAnotherFormIsCheckedInFull(change: String, kind: VerificationReport.Problem.Kind?) async throws {
        try await withTemporaryDirectory { folder in
            var path = ""
            let archive = try await damagedBundle(in: folder) { entries in
                // The XML file with the most rows.
                let index = entries.indices.filter { entries[$0].name.hasSuffix(".xml") }.max {
                    entries[$0].bytes.count < entries[$1].bytes.count
                }!
                let name = entries[index].name
                path = String(name.drop { $0 != "/" }.dropFirst())
                try replaceKeepingManifest(&entries, name) { text in
                    var text = text
                    if change.contains("comment") {
                        text = text.replacingOccurrences(of: "</row>", with: "<!-- checked --></row>")
                    }
                    if change.contains("a row less") {
                        let start = text.range(of: "  <row>")!
                        let end = text.range(of: "</row>\n", range: start.upperBound..<text.endIndex)!
                        text.removeSubrange(start.lowerBound..<end.upperBound)
                    }
                    if change.contains("renamed") {
                        text = text.replacingOccurrences(of: "<id>", with: "<key>").replacingOccurrences(
                            of: "</id>", with: "</key>")
                    }
                    if change.contains("CDATA") {
                        text = text.replacingOccurrences(of: "<id>", with: "<id><![CDATA[").replacingOccurrences(
                            of: "</id>", with: "]]></id>")
                    }
                    return text
                }
            }
            let report = BundleVerifier.verify(archive: archive)
            if let kind {
                #expect(report.problems.contains { $0.kind == kind && $0.path == path }, "\(report.problems)")
                #expect(report.problems.allSatisfy { $0.path == path }, "\(report.problems)")
            } else {
                #expect(report.problems == [], "\(report.problems)")
            }
        }
    }

    @Test func theDemoBundlesXMLSchemasHaveTheQuickCheck() async throws {
        try await withTemporaryDirectory { folder in
            let result = try await build(.tenant("2"), into: folder)
            var schemas = 0
            try ArchiveReader.read(result.archivePath) { reader in
                while let entry = try reader.nextEntry() {
                    let bytes = try reader.readAll()
                    guard entry.name.hasSuffix(".xsd") else { continue }
                    schemas += 1
                    #expect(XMLTableChecker(schema: bytes) != nil, "\(entry.name)")
                }
            }
            #expect(schemas == 7)
        }
    }

    @Test func entriesInAnotherOrderAreStillFullyChecked() async throws {
        try await withTemporaryDirectory { folder in
            // Data first, manifest last: the verifier needs its second pass, and must still catch a bad row.
            let archive = try await damagedBundle(in: folder) { entries in
                try replaceKeepingManifest(&entries, "/content_items.csv") {
                    $0.replacingOccurrences(of: ",recording,", with: ",podcast,")
                }
                entries.reverse()
            }
            let report = BundleVerifier.verify(archive: archive)
            #expect(
                report.problems.contains { $0.kind == .schema && $0.path == "data/sales/content_items.csv" },
                "\(report.problems)")
            #expect(report.problems.allSatisfy { $0.path == "data/sales/content_items.csv" })
        }
    }
}

@Suite struct EmbeddedSchemaTests {
    @Test(arguments: ["manifest.schema.json", "dataset-map.schema.json"])
    func theBinaryCarriesTheSchemasAsTheyStandInSchemasFolder(name: String) throws {
        let file = try String(contentsOfFile: packageRoot + "/Schemas/" + name, encoding: .utf8)
        #expect(
            EmbeddedSchemas.all[name].map { $0 + "\n" } == file, "run scripts/embed-schemas.sh after editing Schemas/")
    }

    @Test func producedManifestsFitTheManifestSchemaByHandoversOwnValidator() async throws {
        try await withTemporaryDirectory { folder in
            let schema = try JSONSchema(
                try JSONValue.parse(Array(EmbeddedSchemas.manifest.utf8)), formatAssertion: true)
            for scope in [ExportScope.subject(SalesDemo.demoSubject, tenant: nil), .tenant("1")] {
                let result = try await build(scope, into: folder + "/\(scope.isSubject)")
                let bytes = try ManifestCoding.encode(result.manifest)
                #expect(schema.validate(try JSONValue.parse(bytes)) == [])
            }
        }
    }
}
