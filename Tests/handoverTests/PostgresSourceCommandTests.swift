import Foundation
import TestSupport
import Testing

/// The dataset map over PostgreSQL through the command line: every type, hostile values, the same data files
/// as SQLite holding the same data.
@Suite struct PostgresSourceCommandTests {
    /// The data files of the bundle `handover export` writes for `arguments`, by path inside the bundle.
    func exportedDataFiles(_ arguments: [String]) throws -> (files: [String: [UInt8]], archive: String) {
        let exported = try run(handoverBinary, ["export", "--json", "--quiet"] + arguments)
        #expect(exported.status == 0, "\(exported.stderr)")
        let archive = try #require(try jsonObject(exported.stdout)["archive"] as? String)
        let verified = try handover("verify", archive)
        #expect(verified.status == 0, "\(verified.stdout) \(verified.stderr)")
        var data: [String: [UInt8]] = [:]
        for (name, bytes) in try readArchive(archive) {
            let parts = name.split(separator: "/", maxSplits: 1)
            guard parts.count == 2, parts[1].hasPrefix("data/typed/") else { continue }
            data[String(parts[1])] = bytes
        }
        return (data, archive)
    }

    @Test func aSubjectsBundleFromPostgreSQLHasTheDataFilesOfOneFromSQLite() async throws {
        try await withTemporaryDirectory { folder in
            let sqlite = folder + "/typed.sqlite"
            let created = try run("/usr/bin/sqlite3", [sqlite, TypedFixture.sqliteSQL])
            #expect(created.status == 0, "\(created.stderr)")
            try TypedFixture.map.write(toFile: folder + "/map.yaml", atomically: true, encoding: .utf8)
            try await withPostgresSchema(TypedFixture.postgresSQL) { url, _ in
                for person in 1...TypedFixture.people {
                    let common = [
                        "--map", folder + "/map.yaml", "--subject", "id=\(person)", "--request-id",
                        "req-typed-\(person)",
                    ]
                    let fromSQLite = try exportedDataFiles(common + ["--db", sqlite, "--out", folder + "/sqlite"])
                    let fromPostgres = try exportedDataFiles(common + ["--db", url, "--out", folder + "/postgres"])
                    let tables = Set(
                        fromSQLite.files.keys.filter {
                            $0.hasSuffix(".json") || $0.hasSuffix(".csv") || $0.hasSuffix(".xml")
                        })
                    #expect(tables.count >= 6, "people and notes in three formats: \(tables.sorted())")
                    for name in tables.sorted() where !name.hasSuffix(".schema.json") {
                        let same = fromSQLite.files[name] == fromPostgres.files[name]
                        #expect(
                            same,
                            "person \(person): \(name) differs:\nSQLite:\n\(String(decoding: fromSQLite.files[name] ?? [], as: UTF8.self))\nPostgreSQL:\n\(String(decoding: fromPostgres.files[name] ?? [], as: UTF8.self))"
                        )
                    }
                    // The notes are the person's own, none of anyone else's.
                    let notesFile = try #require(fromPostgres.files["data/typed/notes.json"])
                    let notes = try #require(
                        try JSONSerialization.jsonObject(with: Data(notesFile)) as? [[String: Any]])
                    #expect(
                        notes.map { ($0["id"] as? NSNumber)?.int64Value }
                            == TypedFixture.noteIDs(of: person).map { Optional($0) })
                    #expect(notes.allSatisfy { ($0["person_id"] as? NSNumber)?.intValue == person })
                    if person == 1 {
                        // Digit for digit in all three formats, never through a double.
                        for format in ["json", "csv", "xml"] {
                            let file = try #require(fromPostgres.files["data/typed/people.\(format)"])
                            let text = String(decoding: file, as: UTF8.self)
                            #expect(text.contains(TypedFixture.exactAmount), "\(format)")
                            #expect(text.contains(TypedFixture.tinyAmount), "\(format)")
                            #expect(text.contains("2024-02-29T12:34:56.123451Z"), "microseconds kept in \(format)")
                        }
                    }
                }
            }
        }
    }
}
