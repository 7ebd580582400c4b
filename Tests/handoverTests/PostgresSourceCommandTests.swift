import Foundation
import HandoverBundle
import HandoverCore
import HandoverStore
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

    @Test func mapCheckOnPostgreSQLNamesTheIndexAndTheColumnItCannotRead() async throws {
        try await withTemporaryDirectory { folder in
            let data = try workerSetup(folder)
            let map = data[data.firstIndex(of: "--map")! + 1]
            let demo = try await postgresDemo()
            let checked = try handover("map", "check", "--db", demo.url, "--map", map)
            #expect(checked.status == 0, "\(checked.stderr)")
            #expect(
                checked.stdout.contains("every subject and tenant lookup is served by an index"), "\(checked.stdout)")
            #expect(checked.stdout.contains("?schema=\(demo.schema)"), "the source, named: \(checked.stdout)")

            let sql = """
                CREATE TABLE people (id bigint PRIMARY KEY, email text NOT NULL);
                CREATE TABLE notes (id integer PRIMARY KEY, person_id bigint REFERENCES people(id), spot point);
                """
            try TypedFixture.notesMap(excluding: "spot").write(
                toFile: folder + "/notes.yaml", atomically: true, encoding: .utf8)
            try await withPostgresSchema(sql) { url, schema in
                let unindexed = try handover("map", "check", "--db", url, "--map", folder + "/notes.yaml")
                #expect(unindexed.status == 0, "\(unindexed.stderr)")
                let statement = "CREATE INDEX \"notes_person_id\" ON \"\(schema)\".\"notes\" (\"person_id\");"
                #expect(
                    unindexed.stdout.contains("missing index: notes.person_id — " + statement), "\(unindexed.stdout)")
                // The statement as printed makes the warning go.
                try await psql(statement)
                let indexed = try handover("map", "check", "--db", url, "--map", folder + "/notes.yaml")
                #expect(indexed.stdout.contains("every subject and tenant lookup is served by an index"))
                // A column of a type the source does not read, left in: refused, naming it.
                try TypedFixture.notesMap().write(toFile: folder + "/spot.yaml", atomically: true, encoding: .utf8)
                let refused = try handover("map", "check", "--db", url, "--map", folder + "/spot.yaml")
                #expect(refused.status == 65, "\(refused.stdout) \(refused.stderr)")
                #expect(refused.stderr.contains("notes.spot has type point"), "\(refused.stderr)")
            }
        }
    }

    @Test func aWorkerExportsFromPostgreSQLIntoTheSameBundleAsFromSQLite() async throws {
        try await withStore(.sqlite) { store, spec in
            try await withTemporaryDirectory { folder in
                var data = try workerSetup(folder)
                let sqlite = data[data.firstIndex(of: "--db")! + 1]
                data[data.firstIndex(of: "--db")! + 1] = try await postgresDemo().url
                try await queue(
                    store,
                    [
                        (
                            "req-pg-subject",
                            .subject(SubjectSelector(column: "email", value: "user3@acme.example"), tenant: nil)
                        ),
                        ("req-pg-tenant", .tenant("2")),
                    ])
                let worked = try await runOffThread(
                    handoverBinary, ["worker", "--until-idle", "--quiet", "--store", spec] + data)
                #expect(worked.status == 0, "\(worked.stderr)")
                for id in ["req-pg-subject", "req-pg-tenant"] {
                    let stored = try #require(try await store.request(try RequestID(id)))
                    #expect(stored.state == .completed, "\(id): \(stored.failureReason ?? "")")
                    let archive = try #require(stored.archive)
                    #expect(BundleVerifier.verify(archive: archive).valid)
                    // The same request from the SQLite file the PostgreSQL copy was made from: the same data.
                    let scope = try #require(stored.request.scope)
                    var arguments = [
                        "--db", sqlite, "--map", data[data.firstIndex(of: "--map")! + 1], "--out", folder + "/sqlite",
                    ]
                    switch scope {
                    case .subject(let selector, _): arguments += ["--subject", "\(selector.column)=\(selector.value)"]
                    case .tenant(let tenant): arguments += ["--tenant", tenant]
                    }
                    arguments += ["--pseudonym-key-file", data[data.firstIndex(of: "--pseudonym-key-file")! + 1]]
                    let fromSQLite = try exportedData(arguments)
                    let fromPostgres = try dataFiles(of: archive)
                    #expect(!fromPostgres.isEmpty)
                    #expect(fromSQLite == fromPostgres, "\(id): the data files differ")
                }
            }
        }
    }

    @Test func mapInitOnPostgreSQLDraftsWhatMapCheckAcceptsAndExportsTheSameAsFromSQLite() async throws {
        try await withTemporaryDirectory { folder in
            let demo = try await postgresDemo()
            let draft = folder + "/draft.yaml"
            let drafted = try handover(
                "map", "init", "--db", demo.url, "--subject-table", "users", "--tenant-table", "tenants", "--out", draft
            )
            #expect(drafted.status == 0, "\(drafted.stderr)")
            let checked = try handover("map", "check", "--db", demo.url, "--map", draft)
            #expect(checked.status == 0, "\(checked.stdout) \(checked.stderr)")
            // The draft made from PostgreSQL's catalog reads the SQLite original too, with the same result.
            let data = try workerSetup(folder)
            let sqlite = data[data.firstIndex(of: "--db")! + 1]
            let key = ["--pseudonym-key-file", data[data.firstIndex(of: "--pseudonym-key-file")! + 1]]
            let common = ["--map", draft, "--subject", "id=5", "--request-id", "req-drafted"] + key
            let fromPostgres = try exportedData(common + ["--db", demo.url, "--out", folder + "/pg"])
            let fromSQLite = try exportedData(common + ["--db", sqlite, "--out", folder + "/lite"])
            #expect(!fromPostgres.isEmpty)
            #expect(fromPostgres == fromSQLite)
        }
    }

    @Test func aPasswordInTheURLIsNeverPrinted() async throws {
        try await withTemporaryDirectory { folder in
            let data = try workerSetup(folder)
            let map = data[data.firstIndex(of: "--map")! + 1]
            for url in [
                "postgres://handover_test:s3cret-pw@127.0.0.1:1/handover_test?sslmode=disable",
                "postgres://handover_test:s3cret-pw@127.0.0.1:5432/no_such_db?sslmode=disable",
                "postgres://handover_test:s3cret-pw@127.0.0.1:5432/handover_test?sslmode=bogus",
                "postgres://handover_test:s3cret-pw@db.example.com/handover_test?sslmode=disable",
            ] {
                for arguments in [
                    ["export", "--db", url, "--map", map, "--tenant", "1", "--out", folder + "/out"],
                    ["map", "check", "--db", url, "--map", map],
                ] {
                    let result = try handover(arguments)
                    #expect(result.status != 0)
                    #expect(!(result.stdout + result.stderr).contains("s3cret"), "\(result.stderr)")
                    #expect(!result.stderr.isEmpty)
                }
            }
        }
    }

    /// The data files (under `data/`, but not the page) of a bundle `handover export` writes for `arguments`.
    func exportedData(_ arguments: [String]) throws -> [String: [UInt8]] {
        let exported = try run(handoverBinary, ["export", "--json", "--quiet"] + arguments)
        #expect(exported.status == 0, "\(exported.stderr)")
        return try dataFiles(of: try #require(try jsonObject(exported.stdout)["archive"] as? String))
    }

    func dataFiles(of archive: String) throws -> [String: [UInt8]] {
        var data: [String: [UInt8]] = [:]
        for (name, bytes) in try readArchive(archive) {
            let parts = name.split(separator: "/", maxSplits: 1)
            guard parts.count == 2, parts[1].hasPrefix("data/"), !parts[1].hasSuffix("index.html") else { continue }
            data[String(parts[1])] = bytes
        }
        return data
    }
}
