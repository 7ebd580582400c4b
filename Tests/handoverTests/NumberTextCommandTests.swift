import Foundation
import TestSupport
import Testing

/// A text column mapped `type: number` through a whole bundle: a double's form and exact decimals come out as
/// they are stored, in JSON, CSV and XML, and the bundle passes verify.
@Suite struct NumberTextCommandTests {
    static let values = ["1e+20", "-1e-07", "1.50", "123456789012345678901234567890.0123456789"]

    func makeDatabase(in folder: String, extra: String = "") throws -> (db: String, map: String) {
        let rows = Self.values.enumerated().map { "(1, \($0.offset + 1), '\($0.element)')" }
        let sql = """
            CREATE TABLE readings (tenant_id INTEGER NOT NULL, id INTEGER PRIMARY KEY, value TEXT);
            INSERT INTO readings VALUES \(rows.joined(separator: ", "))\(extra);
            """
        #expect(try run("/usr/bin/sqlite3", [folder + "/readings.db", sql]).status == 0)
        try """
        handover-map: 1
        exporter: {id: readings}
        tenant: {table: readings, key: tenant_id}
        tables:
          readings:
            tenant: tenant_id
            columns: {tenant_id: integer, id: integer, value: number}
        """.write(toFile: folder + "/map.yaml", atomically: true, encoding: .utf8)
        return (folder + "/readings.db", folder + "/map.yaml")
    }

    @Test func theTextComesOutAsStoredInEveryFormat() async throws {
        try await withTemporaryDirectory { folder in
            let (db, map) = try makeDatabase(in: folder)
            let exported = try handover(
                "export", "--db", db, "--map", map, "--tenant", "1", "--formats", "json,csv,xml", "--out",
                folder + "/out", "--json", "--quiet")
            #expect(exported.status == 0, "\(exported.stderr)")
            let archive = try #require(try jsonObject(exported.stdout)["archive"] as? String)
            let verified = try handover("verify", archive)
            #expect(verified.status == 0, "\(verified.stdout) \(verified.stderr)")
            let files = try readArchive(archive)
            let root = try #require(files.keys.first?.split(separator: "/").first).description
            let file = { (format: String) in
                String(decoding: files[root + "/data/readings/readings." + format] ?? [], as: UTF8.self)
            }
            let json = file("json")
            let csv = try parseCSV(file("csv"))
            let xml = try parseXMLRows(Array(file("xml").utf8))
            for (index, value) in Self.values.enumerated() {
                #expect(json.contains("\"value\":\(value)}"), "JSON \(value): \(json)")
                #expect(csv[index + 1] == ["1", String(index + 1), value], "CSV \(value)")
                #expect(xml[index]["value"]?.text == value, "XML \(value)")
            }
        }
    }

    @Test func otherTextStillFailsTheExport() async throws {
        try await withTemporaryDirectory { folder in
            let (db, map) = try makeDatabase(in: folder, extra: ", (1, 5, '1E5')")
            let exported = try handover(
                "export", "--db", db, "--map", map, "--tenant", "1", "--out", folder + "/out")
            #expect(exported.status == 65)
            #expect(exported.stderr.contains("table readings, row id=5, field value: expected a number, found text"))
            #expect(!exported.stderr.contains("1E5"))
            #expect(listFolder(folder + "/out").isEmpty, "no half bundle")
        }
    }
}
