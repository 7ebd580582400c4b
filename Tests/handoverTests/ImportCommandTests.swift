import Foundation
import HandoverCore
import TestSupport
import Testing

/// `handover import`: what it refuses, what it keeps, what it says.
@Suite struct ImportCommandTests {
    /// A demo tenant bundle (all three formats) in `folder`; its archive path.
    func demoBundle(_ folder: String, extra: [String] = []) throws -> String {
        let setup = try workerSetup(folder)
        return try ImportRoundTripTests.export(
            setup + ["--tenant", "1", "--request-id", "req-imp"] + extra, read: extra.isEmpty
        ).archive
    }

    /// A subject's bundle of a one-table SQLite database (`people`: id 1 and `name`, an SQL expression), exported
    /// by `exporter` as `request`.
    func peopleBundle(_ folder: String, exporter: String, name: String, request: String) throws -> (
        archive: String, data: [String: [UInt8]]
    ) {
        let sqlite = folder + "/people.sqlite"
        let created = try run(
            "/usr/bin/sqlite3",
            [
                sqlite,
                "CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO people VALUES (1, \(name));",
            ])
        #expect(created.status == 0, "\(created.stderr)")
        let map = """
            handover-map: 1
            exporter: {id: \(exporter)}
            subject: {table: people, key: id}
            tables:
              people:
                subject: id

            """
        try map.write(toFile: folder + "/map.yaml", atomically: true, encoding: .utf8)
        return try ImportRoundTripTests.export([
            "--db", sqlite, "--map", folder + "/map.yaml", "--subject", "id=1", "--request-id", request, "--out",
            folder + "/out",
        ])
    }

    /// `archive` (a zip) written again to `path` by Python's zipfile with the first `old` in the entry whose name
    /// ends in `entry` replaced by `new`, every other byte (and checksum) as it was; fails when nothing was replaced.
    func rewritten(_ archive: String, to path: String, entry: String, replacing old: String, with new: String) throws
        -> String
    {
        let script = """
            import sys, zipfile
            src, dst, entry, old, new = sys.argv[1:6]
            replaced = False
            with zipfile.ZipFile(src) as z, zipfile.ZipFile(dst, 'w', zipfile.ZIP_DEFLATED) as out:
                for info in z.infolist():
                    data = z.read(info)
                    if info.filename.endswith(entry) and old.encode() in data:
                        data = data.replace(old.encode(), new.encode(), 1)
                        replaced = True
                    out.writestr(info, data)
            assert replaced
            """
        let result = try run("/usr/bin/python3", ["-c", script, archive, path, entry, old, new])
        #expect(result.status == 0, "\(result.stderr)")
        return path
    }

    func tables(_ sqlite: String) throws -> [String] {
        guard FileManager.default.fileExists(atPath: sqlite) else { return [] }
        let listed = try run(
            "/usr/bin/sqlite3", [sqlite, "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name"])
        return listed.stdout.split(separator: "\n").map(String.init)
    }

    func count(_ sqlite: String, _ table: String) throws -> Int {
        Int(
            try run("/usr/bin/sqlite3", [sqlite, "SELECT count(*) FROM \"\(table)\""]).stdout.trimmingCharacters(
                in: .whitespacesAndNewlines)) ?? -1
    }

    @Test(arguments: ["xml", "json", "csv"])
    func aBundleOfOneFormatOnlyComesBackTheSame(_ format: String) async throws {
        try await withTemporaryDirectory { folder in
            let setup = try workerSetup(folder)
            let original = try ImportRoundTripTests.export(
                setup + ["--tenant", "1", "--request-id", "req-one"], formats: format)
            #expect(original.data.keys.contains("data/sales/users.\(format)"))
            let again = try ImportRoundTripTests.roundTrip(
                archive: original.archive, exporter: "sales", scope: ["--tenant", "1"], format: format,
                target: .sqlite, folder: folder, url: nil, formats: format
            ) { report in
                // The key is read from whichever schema the bundle holds.
                let tables = try #require(report["tables"] as? [[String: Any]])
                #expect(tables.allSatisfy { ($0["primaryKey"] as? [String]) == ["id"] }, "\(tables)")
            }
            ImportRoundTripTests.compare(original.data, again, "\(format) only")
        }
    }

    @Test func aBundleInPartsIsImportedFromAllOfThem() async throws {
        try await withTemporaryDirectory { folder in
            let setup = try workerSetup(folder)
            let exported = try handover(
                ["export"] + setup + [
                    "--tenant", "1", "--request-id", "req-parts", "--split-size", "100000", "--quiet",
                ])
            #expect(exported.status == 0, "\(exported.stderr)")
            let partsFolder = folder + "/out/handover-req-parts.parts"
            let parts = try FileManager.default.contentsOfDirectory(atPath: partsFolder).filter {
                $0.contains(".part-")
            }
            #expect(parts.count > 1, "\(parts)")
            let db = folder + "/x.sqlite"
            let result = try handover(["import", partsFolder, "--into", db, "--files", folder + "/f", "--json"])
            #expect(result.status == 0, "\(result.stderr)")
            #expect((try jsonObject(result.stdout)["rows"] as? Int ?? 0) > 1000)
            // One part missing: the set does not verify.
            try FileManager.default.removeItem(atPath: partsFolder + "/" + parts.sorted()[1])
            let missing = try handover([
                "import", partsFolder, "--into", folder + "/y.sqlite", "--files", folder + "/g",
            ])
            #expect(missing.status == 1, "\(missing.stderr)")
            #expect(try tables(folder + "/y.sqlite").isEmpty)
        }
    }

    @Test func aBundleThatDoesNotVerifyIsRefusedAndNothingIsWritten() async throws {
        try await withTemporaryDirectory { folder in
            let archive = try demoBundle(folder)
            // One byte of a data file changed, checksums left as they were.
            let damaged = try rewritten(
                archive, to: folder + "/damaged.zip", entry: "/data/sales/contacts.json", replacing: "\"", with: "'")
            let result = try handover(
                "import", damaged, "--into", "sqlite:" + folder + "/x.sqlite", "--files", folder + "/f")
            #expect(result.status == 1, "\(result.stderr)")
            #expect(result.stderr.contains("does not verify"), "\(result.stderr)")
            #expect(try tables(folder + "/x.sqlite").isEmpty)
            #expect(!FileManager.default.fileExists(atPath: folder + "/f"))
        }
    }

    @Test func aBundleOfANewerMajorVersionIsRefusedNamingTheVersion() async throws {
        try await withTemporaryDirectory { folder in
            let archive = try demoBundle(folder)
            let newer = try rewritten(
                archive, to: folder + "/newer.zip", entry: "/manifest.json",
                replacing: "\"manifestVersion\" : \"1.2\"", with: "\"manifestVersion\" : \"2.0\"")
            let result = try handover(
                "import", newer, "--into", "sqlite:" + folder + "/x.sqlite", "--files", folder + "/f")
            #expect(result.status == 65, "\(result.stderr)")
            #expect(result.stderr.contains("version 2.0"), "\(result.stderr)")
            #expect(result.stderr.contains("reads version 2.x") && result.stderr.contains("1.x"), "\(result.stderr)")
            #expect(try tables(folder + "/x.sqlite").isEmpty)
        }
    }

    @Test func aTableOfAnotherShapeStopsTheImportBeforeAnyRow() async throws {
        try await withTemporaryDirectory { folder in
            let archive = try demoBundle(folder)
            let db = folder + "/x.sqlite"
            #expect(
                try run("/usr/bin/sqlite3", [db, "CREATE TABLE sales_users (id INTEGER PRIMARY KEY, name TEXT)"]).status
                    == 0)
            let result = try handover("import", archive, "--into", "sqlite:" + db, "--files", folder + "/f")
            #expect(result.status == 65, "\(result.stderr)")
            #expect(
                result.stderr.contains("sales_users") && result.stderr.contains("another shape"), "\(result.stderr)")
            #expect(try tables(db) == ["sales_users"], "no table created, no ledger")
            #expect(try count(db, "sales_users") == 0)
            #expect(!FileManager.default.fileExists(atPath: folder + "/f/sales"), "no file written")
        }
    }

    @Test func importingTwiceAddsNothingAndSaysSo() async throws {
        try await withTemporaryDirectory { folder in
            let archive = try demoBundle(folder)
            let db = folder + "/x.sqlite"
            let first = try handover("import", archive, "--into", "sqlite:" + db, "--files", folder + "/f", "--json")
            #expect(first.status == 0, "\(first.stderr)")
            let report = try jsonObject(first.stdout)
            let rows = try #require(report["rows"] as? Int)
            #expect(rows > 100)
            #expect((report["tables"] as? [[String: Any]])?.count == 7, "\(first.stdout)")
            #expect(report["files"] as? Int == 6 || (report["files"] as? Int ?? 0) > 0)
            // The references the bundle declares are declared, their columns indexed.
            let references = try run(
                "/usr/bin/sqlite3", [db, "SELECT \"table\", \"from\" FROM pragma_foreign_key_list('sales_comments')"])
            #expect(references.stdout.contains("sales_content_items|content_id"), "\(references.stdout)")
            let indexes = try run("/usr/bin/sqlite3", [db, "SELECT name FROM pragma_index_list('sales_comments')"])
            #expect(indexes.stdout.contains("sales_comments_content_id_ref"), "\(indexes.stdout)")
            let databaseMode = try FileManager.default.attributesOfItem(atPath: db)[.posixPermissions] as? Int
            #expect(databaseMode == 0o600, "the imported database is private")
            let counts = try tables(db).map { try count(db, $0) }
            let second = try handover("import", archive, "--into", "sqlite:" + db, "--files", folder + "/f", "--json")
            #expect(second.status == 0, "\(second.stderr)")
            #expect(try jsonObject(second.stdout)["alreadyImported"] as? Bool == true)
            #expect(try tables(db).map { try count(db, $0) } == counts)
            // From another format too: it is the same bundle.
            let third = try handover(
                "import", archive, "--into", "sqlite:" + db, "--from", "csv", "--files", folder + "/f")
            #expect(third.stdout.contains("already imported"), "\(third.stdout)")
            // The files are private.
            let media = try FileManager.default.subpathsOfDirectory(atPath: folder + "/f").filter {
                $0.hasSuffix(".wav") || $0.hasSuffix(".pdf")
            }
            #expect(!media.isEmpty)
            for path in media {
                let mode =
                    try FileManager.default.attributesOfItem(atPath: folder + "/f/" + path)[.posixPermissions] as? Int
                #expect(mode == 0o600, "\(path)")
            }
        }
    }

    @Test(arguments: ImportTarget.allCases)
    func anotherBundleWhoseRowsAreThereAlreadyAddsNothingAndNamesNoValue(_ target: ImportTarget) async throws {
        try await withTemporaryDirectory { folder in
            let setup = try workerSetup(folder)
            let first = try ImportRoundTripTests.export(setup + ["--tenant", "1", "--request-id", "req-first"]).archive
            let second = try ImportRoundTripTests.export(setup + ["--tenant", "1", "--request-id", "req-second"])
                .archive
            try await ImportRoundTripTests.withTarget(target) { url in
                let into = url ?? "sqlite:" + folder + "/x.sqlite"
                let imported = try handover("import", first, "--into", into, "--files", folder + "/f")
                #expect(imported.status == 0, "\(imported.stderr)")
                // The same tables, the same keys: the second bundle's first row already stands there.
                let again = try handover("import", second, "--into", into, "--files", folder + "/f")
                #expect(again.status == 65, "\(again.stderr)")
                #expect(again.stderr.contains("sales_"), "names the table: \(again.stderr)")
                for value in ["Acme", "acme", "@acme.example"] {
                    #expect(!again.stderr.contains(value), "no value in: \(again.stderr)")
                }
                if target == .sqlite {
                    let ledger = try run(
                        "/usr/bin/sqlite3", [folder + "/x.sqlite", "SELECT request_id FROM handover_imports"])
                    #expect(ledger.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "req-first")
                }
            }
        }
    }

    @Test func anExporterIdWithAHyphenNamesTablesAMapCanName() async throws {
        try await withTemporaryDirectory { folder in
            let original = try peopleBundle(
                folder, exporter: "my-people", name: "'A'", request: "req-hyphen")
            let again = try ImportRoundTripTests.roundTrip(
                archive: original.archive, exporter: "my-people", scope: ["--subject", "request_id=req-hyphen"],
                format: "csv", target: .sqlite, folder: folder, url: nil)
            ImportRoundTripTests.compare(original.data, again, "a hyphenated exporter")
            #expect(try tables(folder + "/imported-csv.sqlite").contains("my_people_people"))
        }
    }

    @Test func noExporterPutsTablesIntoPostgreSQLsOwnSchemas() async throws {
        try await withTemporaryDirectory { folder in
            for (index, exporter) in ["pg_catalog", "pg_toast", "information_schema"].enumerated() {
                let bundle = folder + "/\(index)"
                try FileManager.default.createDirectory(atPath: bundle, withIntermediateDirectories: true)
                let original = try peopleBundle(
                    bundle, exporter: exporter, name: "'A'", request: "req-catalog-\(index)")
                try await withPostgresSchema("") { url, schema in
                    let result = try handover("import", original.archive, "--into", url, "--naming", "schemas")
                    #expect(result.status == 64, "\(exporter): \(result.stderr)")
                    #expect(result.stderr.contains("own schema"), "\(result.stderr)")
                    let left = try await psql(
                        "SELECT count(*) FROM information_schema.tables WHERE table_schema = '\(schema)'")
                    #expect(left.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
                }
            }
        }
    }

    @Test func withoutAFilesFolderABundleWithFilesIsRefused() async throws {
        try await withTemporaryDirectory { folder in
            let archive = try demoBundle(folder)
            let result = try handover("import", archive, "--into", "sqlite:" + folder + "/x.sqlite")
            #expect(result.status == 64, "\(result.stderr)")
            #expect(result.stderr.contains("--files"), "\(result.stderr)")
            #expect(try tables(folder + "/x.sqlite").isEmpty)
        }
    }

    @Test func aDifferentFileWhereOneWouldGoStopsTheImport() async throws {
        try await withTemporaryDirectory { folder in
            let archive = try demoBundle(folder)
            let files = try readArchive(archive).keys.filter { $0.contains("/data/files/") }.sorted()
            let first = try #require(files.first)
            let relative = String(first[first.range(of: "/data/files/")!.upperBound...])
            let target = folder + "/f/" + relative
            try FileManager.default.createDirectory(
                atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data("not the same".utf8).write(to: URL(fileURLWithPath: target))
            let result = try handover(
                "import", archive, "--into", "sqlite:" + folder + "/x.sqlite", "--files", folder + "/f")
            #expect(result.status == 73, "\(result.stderr)")
            #expect(result.stderr.contains("different file"), "\(result.stderr)")
            #expect(try tables(folder + "/x.sqlite").isEmpty)
            #expect(try String(contentsOfFile: target, encoding: .utf8) == "not the same")
        }
    }

    @Test func absolutePathsPointAtTheFilesWritten() async throws {
        try await withTemporaryDirectory { folder in
            let archive = try demoBundle(folder)
            let db = folder + "/x.sqlite"
            let result = try handover(
                "import", archive, "--into", db, "--files", folder + "/f", "--file-paths", "absolute")
            #expect(result.status == 0, "\(result.stderr)")
            let paths = try run(
                "/usr/bin/sqlite3", [db, "SELECT file_ref FROM sales_content_items WHERE file_ref IS NOT NULL"]
            )
            .stdout.split(separator: "\n").map(String.init)
            #expect(!paths.isEmpty)
            for path in paths {
                #expect(path.hasPrefix(folder + "/f/sales/content_items/"), "\(path)")
                #expect(FileManager.default.fileExists(atPath: path), "\(path)")
            }
        }
    }

    @Test func anEncryptedSignedBundleNeedsItsIdentityAndItsKey() async throws {
        try await withTemporaryDirectory { folder in
            #expect(try run("/usr/bin/age-keygen", ["-o", folder + "/id.txt"]).status == 0)
            let recipient = try run("/usr/bin/age-keygen", ["-y", folder + "/id.txt"]).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(try handover("keys", "generate", "--out", folder + "/keys").status == 0)
            #expect(try handover("keys", "generate", "--out", folder + "/other").status == 0)
            let archive = try demoBundle(
                folder, extra: ["--recipient", recipient, "--sign-key", folder + "/keys/minisign.key"])
            #expect(archive.hasSuffix(".age"))
            let db = folder + "/x.sqlite"
            let withoutIdentity = try handover("import", archive, "--into", db, "--files", folder + "/f")
            #expect(withoutIdentity.status != 0)
            #expect(withoutIdentity.stderr.contains("--identity"), "\(withoutIdentity.stderr)")
            let otherKey = try handover(
                "import", archive, "--into", db, "--files", folder + "/f", "--identity", folder + "/id.txt", "--pubkey",
                folder + "/other/minisign.pub")
            #expect(otherKey.status == 1, "\(otherKey.stderr)")
            #expect(otherKey.stderr.contains("signature"), "\(otherKey.stderr)")
            #expect(try tables(db).isEmpty)
            let good = try handover(
                "import", archive, "--into", db, "--files", folder + "/f", "--identity", folder + "/id.txt", "--pubkey",
                folder + "/keys/minisign.pub", "--json")
            #expect(good.status == 0, "\(good.stderr)")
            #expect((try jsonObject(good.stdout)["rows"] as? Int ?? 0) > 0)
        }
    }

    @Test func eachExporterIntoASchemaOfItsOwnOnPostgreSQL() async throws {
        try await withTemporaryDirectory { folder in
            let archive = try demoBundle(folder)
            try await withPostgresSchema("") { url, schema in
                let result = try handover(
                    "import", archive, "--into", url, "--naming", "schemas", "--files", folder + "/f", "--map-out",
                    folder + "/maps", "--json")
                #expect(result.status == 0, "\(result.stderr)")
                let users = try await psql("SELECT count(*) FROM sales.users")
                #expect((Int(users.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) > 0, "\(users)")
                let ledger = try await psql("SELECT request_id FROM \"\(schema)\".handover_imports")
                #expect(ledger.contains("req-imp"))
                try await psql("DROP SCHEMA sales CASCADE")
            }
            let sqlite = try handover(
                "import", archive, "--into", folder + "/x.sqlite", "--naming", "schemas", "--files", folder + "/f")
            #expect(sqlite.status == 64, "\(sqlite.stderr)")
        }
    }

    @Test(arguments: ImportTarget.allCases)
    func aNulInTextIsKeptBySQLiteAndRefusedByPostgreSQLNamingTheField(_ target: ImportTarget) async throws {
        try await withTemporaryDirectory { folder in
            let original = try peopleBundle(
                folder, exporter: "nul", name: "'before' || char(0) || 'secret-after'", request: "req-nul")
            try await ImportRoundTripTests.withTarget(target) { url in
                if target == .sqlite {
                    let again = try ImportRoundTripTests.roundTrip(
                        archive: original.archive, exporter: "nul", scope: ["--subject", "request_id=req-nul"],
                        format: "json", target: target, folder: folder, url: nil)
                    ImportRoundTripTests.compare(original.data, again, "NUL via SQLite")
                } else {
                    let result = try handover("import", original.archive, "--into", url!)
                    #expect(result.status == 65, "\(result.stderr)")
                    #expect(
                        result.stderr.contains("people row 1, field name") && result.stderr.contains("NUL"),
                        "\(result.stderr)")
                    #expect(!result.stderr.contains("secret"))
                    // All or nothing: not even the tables stay.
                    let schema = try #require(
                        URLComponents(string: url!)?.queryItems?.first { $0.name == "schema" }?.value)
                    let left = try await psql(
                        "SELECT count(*) FROM information_schema.tables WHERE table_schema = '\(schema)'")
                    #expect(left.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "\(left)")
                }
            }
        }
    }
}
