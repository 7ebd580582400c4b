import Foundation
import HandoverArchive
import TestSupport
import Testing

/// Runs `handover demo` into `folder` and returns the archive it wrote.
func demoArchive(in folder: String) throws -> String {
    let demo = try handover("demo", "--out", folder, "--json")
    #expect(demo.status == 0, "\(demo.stderr)")
    let report = try #require(try JSONSerialization.jsonObject(with: Data(demo.stdout.utf8)) as? [String: Any])
    return try #require(report["archive"] as? String)
}

@Suite struct VerifyCommandTests {
    @Test func aValidBundleExitsZeroAndADamagedOneExitsOne() async throws {
        try await withTemporaryDirectory { folder in
            let archive = try demoArchive(in: folder)
            let valid = try handover("verify", archive)
            #expect(valid.status == 0, "\(valid.stdout)\(valid.stderr)")
            #expect(valid.stdout.hasPrefix("valid: "))

            let json = try handover("verify", archive, "--json")
            let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
            #expect(report["valid"] as? Bool == true)
            #expect((report["files"] as? Int ?? 0) > 40)

            var bytes = try Data(contentsOf: URL(fileURLWithPath: archive))
            let cut = folder + "/cut.zip"
            bytes = bytes.prefix(bytes.count - 40)
            try bytes.write(to: URL(fileURLWithPath: cut))
            let invalid = try handover("verify", cut)
            #expect(invalid.status == 1)
            #expect(invalid.stdout.contains("archive: the archive is damaged or truncated"))
            #expect(invalid.stdout.contains("invalid: "))
            let invalidJSON = try handover("verify", cut, "--json")
            #expect(invalidJSON.status == 1)
            let problems =
                try #require(try JSONSerialization.jsonObject(with: Data(invalidJSON.stdout.utf8)) as? [String: Any])[
                    "problems"] as? [[String: Any]]
            #expect(problems?.first?["kind"] as? String == "archive")

            #expect(try handover("verify", folder + "/nothing.zip").status == 66)
        }
    }

    @Test func everyFileOfARealBundleValidatesWithIndependentTools() async throws {
        try await withTemporaryDirectory { folder in
            let archive = try demoArchive(in: folder)
            let bundle = try unpackArchive(archive, into: folder + "/unpacked")
            let tables = listFolder(bundle + "/data/sales").filter { $0.hasSuffix(".json") }.map {
                String($0.dropLast(5))
            }
            #expect(tables.count == 7)
            for table in tables {
                let xml = try run(
                    "/usr/bin/xmllint",
                    [
                        "--noout", "--nonet", "--schema", bundle + "/data/schemas/sales/\(table).xsd",
                        bundle + "/data/sales/\(table).xml",
                    ])
                #expect(xml.status == 0, "xmllint on \(table): \(xml.stderr)")
            }
            let script = """
                import json, sys, glob, os, jsonschema
                bundle = sys.argv[1]
                failures = 0
                for path in sorted(glob.glob(os.path.join(bundle, 'data/sales/*.json'))):
                    table = os.path.basename(path)[:-5]
                    schema = json.load(open(os.path.join(bundle, 'data/schemas/sales', table + '.schema.json')))
                    jsonschema.Draft202012Validator.check_schema(schema)
                    v = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
                    errors = list(v.iter_errors(json.load(open(path))))
                    failures += len(errors)
                    print(table, len(errors))
                print('failures', failures)
                """
            let python = try run("/usr/bin/env", ["python3", "-c", script, bundle])
            #expect(python.status == 0, "\(python.stderr)")
            #expect(python.stdout.contains("failures 0"), "\(python.stdout)")
            #expect(python.stdout.split(separator: "\n").count == 8)
        }
    }
}

@Suite struct BagItSuiteCommandTests {
    @Test func handoverVerifyAgreesWithEveryCaseOfTheBagItConformanceSuite() throws {
        let suite = packageRoot + "/../shared/testsuites/bagit-conformance-suite"
        var passed = 0
        var failed: [String] = []
        for (version, group, valid) in [
            ("v1.0", "valid", true), ("v1.0", "invalid", false), ("v0.97", "valid", true), ("v0.97", "invalid", false),
            ("v0.97", "warning", true), ("v0.97", "linux-only", false),
        ] {
            for name in listFolder("\(suite)/\(version)/\(group)") where name != "Makefile" {
                let result = try handover("verify", "\(suite)/\(version)/\(group)/\(name)")
                if (result.status == 0) == valid && (result.status == 0 || result.status == 1) {
                    passed += 1
                } else {
                    failed.append("\(version)/\(group)/\(name): exit \(result.status)")
                }
            }
        }
        print("handover verify over the BagIt conformance suite: \(passed) passed, \(failed.count) failed")
        #expect(failed == [])
        #expect(passed >= 40)
    }
}

@Suite struct VerifyOutputSafetyTests {
    /// Entry names holding a C1 control or a bidirectional override are unsafe names; nothing of them reaches
    /// the terminal raw, in the text report or in the JSON one.
    @Test(arguments: ["\u{202E}vsc.exe", "a\u{85}b", "x\u{2066}y", "\u{1B}[31mred"])
    func entryNamesThatWouldReorderOrForgeTheReportAreRefusedAndNeverPrintedRaw(name: String) async throws {
        try await withTemporaryDirectory { folder in
            let archive = try demoArchive(in: folder)
            let bundle = URL(fileURLWithPath: archive).deletingPathExtension().lastPathComponent
            let hostile = folder + "/hostile.zip"
            try FileManager.default.copyItem(atPath: archive, toPath: hostile)
            let added = try run(
                "/usr/bin/python3",
                [
                    "-c",
                    "import sys, zipfile; zipfile.ZipFile(sys.argv[1], 'a').writestr(sys.argv[2], 'x')", hostile,
                    bundle + "/data/" + name,
                ])
            #expect(added.status == 0, "\(added.stderr)")
            for arguments in [["verify", hostile], ["verify", hostile, "--json"]] {
                let result = try run(handoverBinary, arguments)
                #expect(result.status == 1)
                #expect(result.stdout.contains("unsafe name"), "\(result.stdout)")
                let raw = result.stdout.unicodeScalars.filter {
                    (0x80...0x9F).contains($0.value) || (0x202A...0x202E).contains($0.value)
                        || (0x2066...0x2069).contains($0.value) || $0.value == 0x1B
                }
                #expect(raw.isEmpty, "\(arguments)")
            }
        }
    }
}

/// Unpacks `archive` under `folder` and returns the bag folder it holds.
func unpackedBag(_ archive: String, in folder: String) throws -> String {
    try unpackArchive(archive, into: folder + "/unpacked")
}

@Suite struct VerifyBagFolderTests {
    /// The keys of a verify report, as the README documents them.
    static let reportKeys: Set<String> = [
        "archive", "parts", "valid", "bundle", "request", "files", "records", "status", "unfinished", "problems",
        "warnings", "encrypted", "signature",
    ]

    @Test func aBagFolderWithOtherArgumentsIsRefusedWith64() async throws {
        try await withTemporaryDirectory { folder in
            let archive = try demoArchive(in: folder)
            let bag = try unpackedBag(archive, in: folder)
            for arguments in [[bag, archive], [archive, bag], [bag, bag], [bag, folder + "/nothing.zip"]] {
                let result = try run(handoverBinary, ["verify"] + arguments + ["--json"])
                #expect(result.status == 64, "\(arguments): \(result.stderr)")
                #expect(
                    result.stderr.hasPrefix(
                        "handover: error: '\(bag)' is an unpacked bag folder, which is checked on its own"),
                    "\(result.stderr)")
                #expect(result.stdout.isEmpty)
            }
            // On its own it is checked.
            #expect(try handover("verify", bag).status == 0)
        }
    }

    @Test func aBagFolderAndAnArchiveGiveReportsOfTheSameShape() async throws {
        try await withTemporaryDirectory { folder in
            let archive = try demoArchive(in: folder)
            let bag = try unpackedBag(archive, in: folder)

            let archiveReport = try jsonObject(try handover("verify", archive, "--json").stdout)
            let bagReport = try jsonObject(try handover("verify", bag, "--json").stdout)
            #expect(Set(archiveReport.keys) == Self.reportKeys)
            #expect(Set(bagReport.keys) == Self.reportKeys)
            #expect(bagReport["valid"] as? Bool == true)
            #expect(bagReport["archive"] as? String == bag)
            #expect(bagReport["parts"] as? [String] == [bag])
            #expect(bagReport["bundle"] as? String == archiveReport["bundle"] as? String)
            #expect(bagReport["request"] is NSNull)
            #expect(bagReport["records"] is NSNull)
            // Every file of the bag is counted; the archive's report counts the manifest's files and the manifest.
            #expect(bagReport["files"] as? Int == (try readArchive(archive)).count)

            // Damaged, each lists its problems as objects of the same keys.
            let data = bag + "/data/sales/users.json"
            try Data("[]".utf8).write(to: URL(fileURLWithPath: data))
            let damagedBag = try handover("verify", bag, "--json")
            #expect(damagedBag.status == 1)
            let bagProblems = try #require(try jsonObject(damagedBag.stdout)["problems"] as? [[String: Any]])
            let cut = folder + "/cut.zip"
            let bytes = try Data(contentsOf: URL(fileURLWithPath: archive))
            try bytes.prefix(bytes.count - 40).write(to: URL(fileURLWithPath: cut))
            let damagedArchive = try handover("verify", cut, "--json")
            #expect(damagedArchive.status == 1)
            let archiveProblems = try #require(try jsonObject(damagedArchive.stdout)["problems"] as? [[String: Any]])
            #expect(!bagProblems.isEmpty && !archiveProblems.isEmpty)
            for problem in bagProblems + archiveProblems {
                #expect(Set(problem.keys) == ["kind", "path", "message"], "\(problem)")
            }
            #expect(bagProblems.allSatisfy { $0["kind"] as? String == "bagit" })
            #expect(bagProblems.contains { $0["path"] as? String == "data/sales/users.json" }, "\(bagProblems)")
        }
    }
}
