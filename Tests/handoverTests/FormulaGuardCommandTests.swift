import Foundation
import TestSupport
import Testing

/// The CSV formula guard in real bundles, judged by frictionless-py and Handover's own verify.
@Suite struct FormulaGuardCommandTests {
    static let values = ["=cmd|' /C calc'!A0", "+1", "-", "@SUM(1)", "\ttab", "\rcr", "'=x", "''=y", "'plain", "plain"]

    /// A database of notes whose text and kind begin with every trigger, and its map.
    func makeDatabase(in folder: String) throws {
        var sql = "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL, kind TEXT);"
        for (index, value) in Self.values.enumerated() {
            let literal = "'" + value.replacingOccurrences(of: "'", with: "''") + "'"
            sql += "INSERT INTO notes VALUES (\(index + 1), \(literal), \(index % 2 == 0 ? "'=a'" : "'b'"));"
        }
        #expect(try run("/usr/bin/sqlite3", [folder + "/notes.db", sql]).status == 0)
        try """
        handover-map: 1
        exporter:
          id: notes
          version: "1.0"
        tenant:
          table: notes
          key: id
        tables:
          notes:
            tenant: id
            columns:
              id: integer
              text: {type: string, max-length: 20}
              kind: {type: string, enum: ["=a", "b"]}
        """.write(toFile: folder + "/map.yaml", atomically: true, encoding: .utf8)
    }

    @Test func guardedByDefaultOffOnRequestAndValidEitherWay() async throws {
        try await withTemporaryDirectory { folder in
            try makeDatabase(in: folder)
            for guarding in ["on", "off"] {
                let out = folder + "/" + guarding
                var arguments = [
                    "export", "--db", folder + "/notes.db", "--map", folder + "/map.yaml", "--out", out, "--json",
                    "--quiet",
                ]
                if guarding == "off" { arguments += ["--csv-formula-guard", "off"] }
                var bundles: [String] = []
                for tenant in Self.values.indices.map({ String($0 + 1) }) {
                    let exported = try run(handoverBinary, arguments + ["--tenant", tenant])
                    #expect(exported.status == 0, "\(exported.stderr)")
                    let archive = try #require(try jsonObject(exported.stdout)["archive"] as? String)
                    #expect(try handover("verify", archive).status == 0, "verify, guard \(guarding)")
                    let files = try readArchive(archive)
                    let root = try #require(files.keys.first?.split(separator: "/").first).description
                    let csvBytes = try #require(files[root + "/data/notes/notes.csv"])
                    let csv = try parseCSV(String(decoding: csvBytes, as: UTF8.self))
                    let jsonBytes = try #require(files[root + "/data/notes/notes.json"])
                    let json = try #require(try JSONSerialization.jsonObject(with: Data(jsonBytes)) as? [[String: Any]])
                    let value = Self.values[Int(tenant)! - 1]
                    #expect(json.first?["text"] as? String == value, "JSON carries the exact value")
                    // Guarded: apostrophes (none or more) and then a character that starts a formula.
                    let formula = value.drop { $0 == "'" }.first.map { "=+-@\t\r".contains($0) } ?? false
                    let expected = guarding == "on" && formula ? "'" + value : value
                    #expect(csv[1][1] == expected, "\(value.debugDescription) with the guard \(guarding)")
                    let manifestBytes = try #require(files[root + "/manifest.json"])
                    let manifest = try jsonObject(String(decoding: manifestBytes, as: UTF8.self))
                    #expect(manifest["csvFormulaGuard"] as? Bool == (guarding == "on"))
                    let pageBytes = try #require(files[root + "/data/index.html"])
                    let page = String(decoding: pageBytes, as: UTF8.self)
                    #expect(page.contains("id=\"formula-guard\"") == (guarding == "on"))
                    // Unpacked for frictionless.
                    bundles.append(try unpack(files, into: out + "/unpacked-" + tenant))
                }
                let checked = try run(
                    "/usr/bin/env",
                    [
                        "python3", "-c",
                        """
                        import sys
                        from frictionless import validate
                        for path in sys.argv[1:]:
                            report = validate(path + "/datapackage.json")
                            errors = [e.message for e in report.errors] + [e.message for t in report.tasks for e in t.errors]
                            print(len(errors), errors[:2])
                        """,
                    ] + bundles)
                #expect(checked.status == 0, "\(checked.stderr)")
                let lines = checked.stdout.split(separator: "\n")
                #expect(lines.count == Self.values.count)
                #expect(lines.allSatisfy { $0.hasPrefix("0 ") }, "frictionless, guard \(guarding): \(checked.stdout)")
            }
        }
    }
}
