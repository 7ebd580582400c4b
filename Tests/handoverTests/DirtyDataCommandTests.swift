import Foundation
import TestSupport
import Testing

/// Dirty data through the command line: `map check --scan` before the deadline, and a partial bundle that says
/// what it repaired and passes the receivers' tools.
@Suite struct DirtyDataCommandTests {
    @Test func scanThenExportWithReplaceGivesAPartialBundleThatSaysWhatItRepaired() async throws {
        try await withTemporaryDirectory { folder in
            let db = folder + "/dirty.sqlite"
            #expect(try run("/usr/bin/sqlite3", [db, DirtyFixture.sql]).status == 0)
            try DirtyFixture.map(nil).write(toFile: folder + "/fail.yaml", atomically: true, encoding: .utf8)
            try DirtyFixture.map("replace").write(toFile: folder + "/replace.yaml", atomically: true, encoding: .utf8)

            // The scan names table, row and field of each value, never the value; it fails where an export would.
            let scanned = try handover("map", "check", "--db", db, "--map", folder + "/fail.yaml", "--scan")
            #expect(scanned.status == 65, "\(scanned.stdout) \(scanned.stderr)")
            for line in [
                "unfit value: table people, row id=2, field note: text is not valid UTF-8",
                "unfit value: table people, row id=3, field age: expected an integer, found text",
                "unfit values: people.born: 1 would fail the export", "scanned 6 rows: 3 values do not fit their field",
            ] {
                #expect(scanned.stdout.contains(line), "\(line)\n\(scanned.stdout)")
            }
            #expect(!scanned.stdout.contains("forty") && !scanned.stdout.contains("tuesday"))
            let exported = try handover(
                "export", "--db", db, "--map", folder + "/fail.yaml", "--tenant", "1", "--out", folder + "/out")
            #expect(exported.status == 65)
            #expect(exported.stderr.contains("table people, row id=2, field note: text is not valid UTF-8"))
            #expect(listFolder(folder + "/out").isEmpty, "no half bundle")

            let clean = try handover("map", "check", "--db", db, "--map", folder + "/replace.yaml", "--scan", "--json")
            #expect(clean.status == 0, "every unfit value would be repaired: \(clean.stderr)")
            let report = try jsonObject(clean.stdout)
            let scan = try #require(report["scan"] as? [String: Any])
            #expect((scan["findings"] as? [Any])?.count == 3)

            let partial = try handover(
                "export", "--db", db, "--map", folder + "/replace.yaml", "--tenant", "1", "--out", folder + "/out",
                "--json", "--quiet")
            #expect(partial.status == 0, "\(partial.stderr)")
            let archive = try #require(try jsonObject(partial.stdout)["archive"] as? String)
            let verified = try handover("verify", archive, "--json")
            #expect(verified.status == 0, "\(verified.stdout)")
            #expect(try jsonObject(verified.stdout)["status"] as? String == "partial")
            let files = try readArchive(archive)
            let root = try #require(files.keys.first?.split(separator: "/").first).description
            let manifest = try jsonObject(String(decoding: try #require(files[root + "/manifest.json"]), as: UTF8.self))
            #expect(manifest["status"] as? String == "partial")
            let exporter = try #require((manifest["exporters"] as? [[String: Any]])?.first)
            #expect(exporter["status"] as? String == "partial")
            #expect((exporter["reason"] as? String)?.contains("3 values repaired") == true)
            let repairs = try #require(exporter["repairs"] as? [[String: Any]])
            #expect(
                repairs.map { "\($0["field"]!) \($0["kind"]!) \($0["count"]!) \($0["textField"] ?? "-")" } == [
                    "age unfit-value 1 age_invalid", "born unfit-value 1 born_invalid", "note invalid-text 1 -",
                ])
            let page = String(decoding: try #require(files[root + "/data/index.html"]), as: UTF8.self)
            #expect(page.contains("id=\"repairs\""))
            #expect(page.contains("people / age: 1 value that did not fit the field's type, as text in age_invalid"))
            let csv = String(decoding: try #require(files[root + "/data/people/people.csv"]), as: UTF8.self)
            #expect(csv.contains("3,1,,1985-01-01,ok,about forty,"))
            // The receivers' tools accept the repaired bundle.
            let unpacked = try unpack(files, into: folder + "/unpacked")
            let checked = try run(
                "/usr/bin/env",
                [
                    "python3", "-c",
                    """
                    import sys, bagit
                    from frictionless import validate
                    report = validate(sys.argv[1] + "/datapackage.json")
                    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
                    bagit.Bag(sys.argv[1]).validate()
                    print("ok")
                    """, unpacked,
                ])
            #expect(checked.stdout.contains("ok"), "\(checked.stderr)")
        }
    }
}
