import Foundation
import TestSupport
import Testing

/// `subject: all` and `tenant: all` through the command line: `map check` names the tables, the map fits its
/// JSON Schema, and a subject's bundle holds every row and passes verify.
@Suite struct EveryRowCommandTests {
    static let sql = """
        CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);
        CREATE TABLE comments (id INTEGER PRIMARY KEY, author_id INTEGER, body TEXT NOT NULL);
        CREATE TABLE notes (id INTEGER PRIMARY KEY, owner_id INTEGER NOT NULL, body TEXT NOT NULL);
        INSERT INTO users VALUES (7, 'ann@x.example');
        INSERT INTO comments VALUES (1, 7, 'mine'), (2, 8, 'a reply');
        INSERT INTO notes VALUES (1, 7, 'a note');
        """

    static let map = """
        handover-map: 1
        exporter: {id: mine}
        subject: {table: users, key: id}
        tenant: {table: users, key: id}
        tables:
          users:
            subject: all
          comments:
            columns:
              id: integer
              author_id: {type: integer, pseudonymize: true}
              body: string
            references: {author_id: users.id}
            subject: all
            tenant: all
          notes:
            subject: owner_id
        """

    @Test func mapCheckNamesEveryAllTableAndAsksNoIndexForThem() async throws {
        try await withTemporaryDirectory { folder in
            let db = folder + "/mine.sqlite"
            #expect(try run("/usr/bin/sqlite3", [db, Self.sql]).status == 0)
            try Self.map.write(toFile: folder + "/map.yaml", atomically: true, encoding: .utf8)
            let checked = try handover("map", "check", "--db", db, "--map", folder + "/map.yaml")
            #expect(checked.status == 0, "\(checked.stderr)")
            for line in [
                "every row for every subject (subject: all): users, comments: any subject found in table users "
                    + "receives every row of these tables; right only when the database holds one subject's data",
                "every row for every tenant (tenant: all): comments: any tenant found in table users receives every "
                    + "row of these tables; right only when the database holds one tenant's data",
                "missing index: notes.owner_id",
            ] {
                #expect(checked.stdout.contains(line), "\(line)\n\(checked.stdout)")
            }
            #expect(!checked.stdout.contains("missing index: comments"), "\(checked.stdout)")
            let json = try handover("map", "check", "--db", db, "--map", folder + "/map.yaml", "--json")
            let warnings = try #require(try jsonObject(json.stdout)["warnings"] as? [String])
            #expect(warnings.filter { $0.hasPrefix("every row for every ") }.count == 2)

            // The bundle of the subject found holds every comment; an unknown subject's holds none.
            try Data(repeating: 5, count: 32).write(to: URL(fileURLWithPath: folder + "/key"))
            let exported = try handover(
                "export", "--db", db, "--map", folder + "/map.yaml", "--subject", "email=ann@x.example",
                "--pseudonym-key-file", folder + "/key", "--formats", "csv", "--out", folder + "/out", "--json",
                "--quiet")
            #expect(exported.status == 0, "\(exported.stderr)")
            let archive = try #require(try jsonObject(exported.stdout)["archive"] as? String)
            #expect(try handover("verify", archive).status == 0)
            let files = try readArchive(archive)
            let root = try #require(files.keys.first?.split(separator: "/").first).description
            let csv = try parseCSV(
                String(decoding: try #require(files[root + "/data/mine/comments.csv"]), as: UTF8.self))
            #expect(csv.dropFirst().map { $0[0] } == ["1", "2"])
            #expect(csv[1][1] == "7" && csv[2][1]?.hasPrefix("p-") == true, "another person as a pseudonym")
        }
    }

    @Test func theMapSchemaTakesAllAloneAndRefusesItInAList() async throws {
        try await withTemporaryDirectory { folder in
            var paths: [String] = []
            for (index, text) in [
                Self.map,
                Self.map.replacingOccurrences(of: "subject: owner_id", with: "subject: {column: all}"),
                Self.map.replacingOccurrences(of: "subject: owner_id", with: "subject: [owner_id, all]"),
                Self.map.replacingOccurrences(of: "tenant: all", with: "tenant: [all]"),
                Self.map.replacingOccurrences(of: "tenant: all", with: "tenant: {all: true}"),
            ].enumerated() {
                let path = folder + "/map-\(index).yaml"
                try text.write(toFile: path, atomically: true, encoding: .utf8)
                paths.append(path)
            }
            let verdicts = try validate(schema: "dataset-map.schema.json", documents: paths)
            #expect(verdicts.count == 5)
            #expect(Array(verdicts.prefix(2)) == ["valid", "valid"], "\(verdicts)")
            #expect(verdicts.dropFirst(2).allSatisfy { $0.hasPrefix("invalid") }, "\(verdicts)")
        }
    }
}
