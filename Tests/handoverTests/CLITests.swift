import Foundation
import HandoverArchive
import HandoverDemo
import TestSupport
import Testing

/// Decodes the one JSON object a command printed.
func jsonObject(_ text: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
}

/// Makes the demo database and map in `folder` through the CLI, and returns their paths.
func makeDemo(in folder: String) throws -> (db: String, map: String) {
    let result = try handover("demo", "--out", folder + "/demo", "--json")
    #expect(result.status == 0, "\(result.stderr)")
    return (folder + "/demo/demo.sqlite", folder + "/demo/demo-map.yaml")
}

@Suite struct CLITests {
    @Test func demoBuildsTheDatabaseAndExportsTheDemoSubject() async throws {
        try await withTemporaryDirectory { folder in
            let result = try handover("demo", "--out", folder, "--json")
            #expect(result.status == 0, "\(result.stderr)")
            let report = try jsonObject(result.stdout)
            let archive = try #require(report["archive"] as? String)
            #expect(FileManager.default.fileExists(atPath: archive))
            #expect((report["records"] as? Int ?? 0) > 100)
            let files = try #require(report["files"] as? [[String: Any]])
            #expect(files.count == 21)
            #expect(
                try readArchive(archive).count == 6 + 21 + 21 + 1 + 6,
                "6 tag files, 21 data files, their 21 schemas, the page and the subject's 6 recordings and documents")
            #expect(
                Set(listFolder(folder).filter { !$0.hasPrefix("demo.sqlite") }) == [
                    "demo-map.yaml", "media", URL(fileURLWithPath: archive).lastPathComponent,
                ])
        }
    }

    @Test func demoPrintsASummaryForPeople() async throws {
        try await withTemporaryDirectory { folder in
            let result = try handover("demo", "--out", folder)
            #expect(result.status == 0)
            #expect(result.stdout.contains("archive: \(folder)/handover-"))
            #expect(result.stdout.contains("sales/comments"))
            #expect(result.stdout.contains("21 files (csv, json, xml)"))
        }
    }

    @Test func exportsASubjectAndATenant() async throws {
        try await withTemporaryDirectory { folder in
            let (db, map) = try makeDemo(in: folder)
            let subject = try handover(
                "export", "--db", db, "--map", map, "--subject", "email=\(SalesDemo.demoSubject.value)", "--formats",
                "json,csv",
                "--out", folder + "/out", "--request-id", "req-42", "--json")
            #expect(subject.status == 0, "\(subject.stderr)")
            let report = try jsonObject(subject.stdout)
            #expect(report["archive"] as? String == folder + "/out/handover-req-42.zip")
            #expect((report["files"] as? [Any])?.count == 14)

            let tenant = try handover(
                "export", "--db", db, "--map", map, "--tenant", "3", "--out", folder + "/out", "--json")
            #expect(tenant.status == 0, "\(tenant.stderr)")
            let tables = try #require(try jsonObject(tenant.stdout)["tables"] as? [String: Int])
            #expect(tables["sales.tenants"] == 1)
            #expect(tables["sales.contact_form_submissions"] == nil)
            let archive = try #require(try jsonObject(tenant.stdout)["archive"] as? String)
            let manifest = String(
                decoding: try readArchive(archive).first { $0.key.hasSuffix("/manifest.json") }!.value, as: UTF8.self)
            #expect(manifest.contains("\"purpose\" : \"controller-transfer\""))
        }
    }

    @Test func anUnknownSubjectExitsZeroWithNoRecords() async throws {
        try await withTemporaryDirectory { folder in
            let (db, map) = try makeDemo(in: folder)
            let result = try handover(
                "export", "--db", db, "--map", map, "--subject", "email=nobody@nowhere.example", "--out", folder,
                "--json")
            #expect(result.status == 0, "\(result.stderr)")
            #expect(try jsonObject(result.stdout)["records"] as? Int == 0)
        }
    }

    @Test func personalDataStaysOutOfOutputAndLogs() async throws {
        try await withTemporaryDirectory { folder in
            let (db, map) = try makeDemo(in: folder)
            for arguments in [
                [
                    "export", "--db", db, "--map", map, "--subject", "email=\(SalesDemo.demoSubject.value)", "--out",
                    folder, "--verbose",
                ],
                [
                    "export", "--db", db, "--map", map, "--subject", "email=\(SalesDemo.demoSubject.value)", "--out",
                    folder, "--verbose", "--json",
                ],
                ["export", "--db", db, "--map", map, "--subject", "role=rep", "--out", folder, "--verbose"],
            ] {
                let result = try run(handoverBinary, arguments)
                for text in [result.stdout, result.stderr] {
                    #expect(!text.contains("ana.lima"), "\(arguments)")
                    #expect(!text.contains("=rep"))
                }
            }
        }
    }

    /// Bad input, the exit code it must give and words its error must contain.
    static let failures: [(String, [String], Int32, [String])] = [
        ("malformed map", ["--map", "{map}.bad"], 65, ["invalid dataset map", ".bad", "line"]),
        ("missing map", ["--map", "{folder}/nope.yaml"], 66, ["nope.yaml"]),
        ("missing database", ["--db", "{folder}/missing.sqlite"], 66, ["missing.sqlite", "does not exist"]),
        ("output is a file", ["--out", "{map}"], 73, ["is not a folder"]),
        ("unknown format", ["--formats", "json,pdf"], 64, ["--formats", "'json', 'csv' or 'xml'"]),
        ("hostile request id", ["--request-id", "../../escape"], 64, ["request id"]),
        ("ambiguous subject", ["--subject", "role=rep"], 65, ["more than one row"]),
        ("unknown tenant", ["--tenant", "77", "--subject", ""], 64, ["no tenant"]),
        ("oversized key file", ["--pseudonym-key-file", "{folder}/demo/demo.sqlite"], 64, ["16 to 1024 bytes"]),
    ]

    @Test(arguments: failures)
    func badInputGivesAClearErrorAnExitCodeAndNoArchive(
        name: String, overrides: [String], status: Int32, words: [String]
    ) async throws {
        try await withTemporaryDirectory { folder in
            let (db, map) = try makeDemo(in: folder)
            try Data("handover-map: 1\nexporter: {id: sales}\ntables:\n  users: {colour: blue}\n".utf8)
                .write(to: URL(fileURLWithPath: map + ".bad"))
            var options = [
                "--db": db, "--map": map, "--subject": "email=\(SalesDemo.demoSubject.value)", "--out": folder + "/out",
            ]
            var index = 0
            while index < overrides.count {
                options[overrides[index]] = overrides[index + 1].replacingOccurrences(of: "{map}", with: map)
                    .replacingOccurrences(of: "{folder}", with: folder)
                index += 2
            }
            if options["--subject"] == "" { options["--subject"] = nil }
            var arguments = ["export"]
            for (key, value) in options.sorted(by: { $0.key < $1.key }) { arguments += [key, value] }
            let result = try run(handoverBinary, arguments)
            #expect(result.status == status, "\(name): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").contains { $0.hasPrefix("handover: error: ") }, "\(name)")
            for word in words { #expect(result.stderr.contains(word), "\(name): \(result.stderr)") }
            #expect(result.stdout.isEmpty)
            let archives = (listFolder(folder) + listFolder(folder + "/out")).filter {
                $0.hasSuffix(".zip") || $0.hasPrefix(".handover")
            }
            #expect(archives.isEmpty, "\(name) left \(archives)")
        }
    }

    @Test func usageErrorsExitWith64() throws {
        let neither = try handover("export", "--db", "x", "--map", "y")
        #expect(neither.status == 64)
        #expect(neither.stderr.contains("--subject"))
        let badSelector = try handover("export", "--db", "x", "--map", "y", "--subject", "no-equals")
        #expect(badSelector.status != 0)
    }
}
