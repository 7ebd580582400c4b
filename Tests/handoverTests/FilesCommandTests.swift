import Foundation
import TestSupport
import Testing

/// Files that rows name, carried into bundles: the demo's recordings and documents, hostile paths, missing files,
/// split bundles, memory.
@Suite struct FilesCommandTests {
    @Test func theDemoSubjectsRecordingsAndDocumentsAreInTheBundleAndPlayInABrowser() async throws {
        try await withTemporaryDirectory { folder in
            let demo = try handover("demo", "--out", folder, "--json")
            #expect(demo.status == 0, "\(demo.stderr)")
            let archive = try #require(try jsonObject(demo.stdout)["archive"] as? String)
            let files = try readArchive(archive)
            let root = try #require(files.keys.first?.split(separator: "/").first).description
            let manifest = try jsonObject(String(decoding: try #require(files[root + "/manifest.json"]), as: UTF8.self))
            let contents = try #require(manifest["contents"] as? [[String: Any]])
            // The demo subject (user 1) owns content items 1 to 6, each with a file: exactly those, byte for byte.
            let expected = (1...6).map { $0 % 3 != 0 ? "recordings/pitch-\($0).wav" : "documents/deck-\($0).pdf" }
            #expect(
                contents.compactMap { $0["path"] as? String }
                    == expected.map { "data/files/sales/content_items/" + $0 }.sorted())
            for file in expected {
                let carried = try #require(files[root + "/data/files/sales/content_items/" + file])
                #expect(carried == Array(try Data(contentsOf: URL(fileURLWithPath: folder + "/media/" + file))))
                let record = try #require(contents.first { ($0["path"] as? String)?.hasSuffix(file) == true })
                #expect(record["mediaType"] as? String == (file.hasSuffix(".wav") ? "audio/wav" : "application/pdf"))
                #expect((record["bytes"] as? Int) == carried.count)
                #expect(record["field"] as? String == "file_ref")
                let id = file.filter(\.isNumber)
                #expect(record["row"] as? String == "id=\(id)")
            }
            let bagManifest = String(decoding: try #require(files[root + "/manifest-sha256.txt"]), as: UTF8.self)
            #expect(bagManifest.contains("data/files/sales/content_items/recordings/pitch-1.wav"))
            // Stored as they are in the zip (media is not recompressed).
            let listing = try run(
                "/usr/bin/env",
                [
                    "python3", "-c",
                    """
                    import sys, zipfile
                    for info in zipfile.ZipFile(sys.argv[1]).infolist():
                        if "/data/files/" in info.filename:
                            print(info.compress_type)
                    """, archive,
                ])
            #expect(listing.stdout.split(separator: "\n") == Array(repeating: "0", count: 6), "\(listing.stderr)")
            // The receivers' tools: bagit-python, and a browser that plays the recordings from the page.
            let unpacked = try unpack(files, into: folder + "/unpacked")
            let bag = try run(
                "/usr/bin/env",
                ["python3", "-c", "import sys, bagit; bagit.Bag(sys.argv[1]).validate(); print('ok')", unpacked])
            #expect(bag.stdout.contains("ok"), "\(bag.stderr)")
            let page = try await runOffThread(
                "/usr/bin/env", ["python3", packageRoot + "/scripts/page-media-test.py", unpacked, "4"])
            #expect(
                page.status == 0 && page.stdout.contains("page-media-test: OK (4 audio, "),
                "\(page.stdout) \(page.stderr)")
        }
    }

    /// A map of one table `docs`, tenant by `tenant`, with `columns` (flow YAML) whose `path` names files under
    /// `root` beside the map.
    static func docsMap(
        tenant: String = "id", columns: String = "{id: integer, path: {type: string, file: {root: root}}}"
    )
        -> String
    {
        """
        handover-map: 1
        exporter: {id: docs}
        tenant: {table: docs, key: \(tenant)}
        tables:
          docs:
            tenant: \(tenant)
            columns: \(columns)
        """
    }

    /// A folder of files, one row per name, each row its own tenant; the map names the root.
    func makeHostileSource(_ folder: String) throws -> (db: String, map: String, names: [String]) {
        let root = folder + "/root"
        let manager = FileManager.default
        try manager.createDirectory(atPath: root + "/inside", withIntermediateDirectories: true)
        try manager.createDirectory(atPath: folder + "/outside", withIntermediateDirectories: true)
        try Data("the subject's own file".utf8).write(to: URL(fileURLWithPath: root + "/ok.txt"))
        try Data("outside-secret".utf8).write(to: URL(fileURLWithPath: folder + "/outside.txt"))
        try Data("outside-secret".utf8).write(to: URL(fileURLWithPath: folder + "/outside/secret.txt"))
        try Data("bidi".utf8).write(to: URL(fileURLWithPath: root + "/bidi\u{202E}txt.exe"))
        try manager.createSymbolicLink(atPath: root + "/link-out.txt", withDestinationPath: "../outside.txt")
        try manager.createSymbolicLink(atPath: root + "/link-in.txt", withDestinationPath: "ok.txt")
        try manager.createSymbolicLink(atPath: root + "/dir-link", withDestinationPath: folder + "/outside")
        #expect(mkfifo(root + "/fifo", 0o600) == 0)
        let names = [
            "ok.txt", "/etc/hostname", "../outside.txt", "link-out.txt", "link-in.txt", "missing.txt", "inside",
            "fifo", "inside/../ok.txt", "bidi\u{202E}txt.exe", "dir-link/secret.txt", "./ok.txt",
            String(repeating: "deep/", count: 1200) + "ok.txt", "nul-placeholder",
        ]
        var sql = "CREATE TABLE docs (id INTEGER PRIMARY KEY, path TEXT);"
        for (index, name) in names.enumerated() {
            sql += "INSERT INTO docs VALUES (\(index + 1), '\(name.replacingOccurrences(of: "'", with: "''"))');"
        }
        // A NUL inside a path (SQLite text may hold one; a C path would end there, at ok.txt).
        sql += "UPDATE docs SET path = 'ok.txt' || char(0) || '../../outside.txt' WHERE path = 'nul-placeholder';"
        let db = folder + "/docs.sqlite"
        #expect(try run("/usr/bin/sqlite3", [db, sql]).status == 0)
        let map = folder + "/map.yaml"
        try Self.docsMap().write(toFile: map, atomically: true, encoding: .utf8)
        return (db, map, names)
    }

    @Test func pathsThatLeaveTheRootOrNameNoFileAreRefusedNamingTheRowNotThePath() async throws {
        try await withTemporaryDirectory { folder in
            let (db, map, names) = try makeHostileSource(folder)
            let readable = ["ok.txt", "link-in.txt"]
            for (index, name) in names.enumerated() {
                let tenant = String(index + 1)
                let arguments = ["export", "--db", db, "--map", map, "--tenant", tenant, "--quiet", "--json"]
                let failed = try handover(arguments + ["--out", folder + "/fail-\(tenant)"])
                if readable.contains(name) {
                    #expect(failed.status == 0, "\(name): \(failed.stderr)")
                    continue
                }
                #expect(failed.status == 65, "\(name.debugDescription) was not refused: \(failed.stdout)")
                #expect(failed.stderr.contains("table docs, row id=\(tenant), field path: the file it names is"))
                for fragment in ["hostname", "outside.txt", "missing.txt", "fifo", "secret.txt", "txt.exe", "inside/"] {
                    #expect(!failed.stderr.contains(fragment), "\(name.debugDescription): \(failed.stderr)")
                }
                #expect(listFolder(folder + "/fail-\(tenant)").isEmpty, "no bundle, no half file")
            }
            // Recorded: one bundle of every row, the readable files in it, every other listed with its reason.
            let recorded = try handover(
                "export", "--db", db, "--map", map, "--tenant", "1", "--out", folder + "/record", "--missing-files",
                "record", "--quiet", "--json")
            #expect(recorded.status == 0, "\(recorded.stderr)")
            let archive = try #require(try jsonObject(recorded.stdout)["archive"] as? String)
            #expect(try handover("verify", archive).status == 0)
            let files = try readArchive(archive)
            #expect(
                files.keys.filter { $0.contains("/data/files/") }.map { String($0.split(separator: "/").last!) } == [
                    "ok.txt"
                ])
            for (name, bytes) in files where name.contains("/data/") || name.hasSuffix("manifest.json") {
                #expect(!String(decoding: bytes, as: UTF8.self).contains("outside-secret"), "\(name)")
            }
        }
    }

    @Test func everyMissingFileIsListedInTheManifestAndOnThePage() async throws {
        try await withTemporaryDirectory { folder in
            let (db, _, names) = try makeHostileSource(folder)
            // One tenant for every row.
            #expect(
                try run("/usr/bin/sqlite3", [db, "ALTER TABLE docs ADD COLUMN tenant INTEGER NOT NULL DEFAULT 1;"])
                    .status == 0)
            try Self.docsMap(
                tenant: "tenant", columns: "{id: integer, tenant: integer, path: {type: string, file: {root: root}}}"
            )
            .write(toFile: folder + "/all.yaml", atomically: true, encoding: .utf8)
            let recorded = try handover(
                "export", "--db", db, "--map", folder + "/all.yaml", "--tenant", "1", "--out", folder + "/out",
                "--missing-files", "record", "--quiet", "--json")
            #expect(recorded.status == 0, "\(recorded.stderr)")
            let archive = try #require(try jsonObject(recorded.stdout)["archive"] as? String)
            let files = try readArchive(archive)
            let root = try #require(files.keys.first?.split(separator: "/").first).description
            let manifest = try jsonObject(String(decoding: try #require(files[root + "/manifest.json"]), as: UTF8.self))
            #expect(manifest["status"] as? String == "partial")
            let exporter = try #require((manifest["exporters"] as? [[String: Any]])?.first)
            #expect(exporter["status"] as? String == "partial")
            let missing = try #require(exporter["missingFiles"] as? [[String: Any]])
            let reasons = Dictionary(
                uniqueKeysWithValues: missing.map { ($0["row"] as! String, $0["reason"] as! String) })
            #expect(reasons.count == names.count - 2, "\(reasons)")
            #expect(reasons["id=2"]?.contains("absolute") == true)
            #expect(reasons["id=3"]?.contains("'..'") == true)
            #expect(reasons["id=4"]?.contains("outside the root") == true)
            #expect(reasons["id=6"] == "no such file")
            #expect(reasons["id=7"] == "not a regular file")
            #expect(reasons["id=8"] == "not a regular file")
            #expect(reasons["id=11"]?.contains("outside the root") == true)
            #expect(reasons["id=13"] == "no such file", "a path of 6,000 bytes: \(reasons["id=13"] ?? "")")
            #expect(reasons["id=14"] == "a path with control characters")
            let contents = try #require(manifest["contents"] as? [[String: Any]])
            #expect(
                contents.compactMap { $0["path"] as? String } == [
                    "data/files/docs/docs/link-in.txt", "data/files/docs/docs/ok.txt",
                ])
            let page = String(decoding: try #require(files[root + "/data/index.html"]), as: UTF8.self)
            #expect(page.contains("id=\"missing-files\""))
            #expect(page.contains("docs / docs, record id=6, path: no such file"))
            #expect(page.contains("<a href=\"files/docs/docs/ok.txt\">ok.txt</a>"))
            let verified = try handover("verify", archive, "--json")
            #expect(try jsonObject(verified.stdout)["status"] as? String == "partial")
        }
    }

    @Test func aSplitBundlePlacesWholeFilesInPartsAndALargeFileAlone() async throws {
        try await withTemporaryDirectory { folder in
            let root = folder + "/root"
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            var sql = "CREATE TABLE docs (id INTEGER PRIMARY KEY, tenant INTEGER NOT NULL, path TEXT);"
            var originals: [String: [UInt8]] = [:]
            for (index, size) in [300_000, 900_000, 2_500_000, 400_000].enumerated() {
                var random = SystemRandomNumberGenerator()
                let bytes = (0..<size).map { _ in UInt8.random(in: 0...255, using: &random) }
                let name = "blob-\(index).bin"
                try Data(bytes).write(to: URL(fileURLWithPath: root + "/" + name))
                originals[name] = bytes
                sql += "INSERT INTO docs VALUES (\(index + 1), 1, '\(name)');"
            }
            #expect(try run("/usr/bin/sqlite3", [folder + "/docs.sqlite", sql]).status == 0)
            try Self.docsMap(
                tenant: "tenant", columns: "{id: integer, tenant: integer, path: {type: string, file: {root: root}}}"
            )
            .write(toFile: folder + "/map.yaml", atomically: true, encoding: .utf8)
            let exported = try handover(
                "export", "--db", folder + "/docs.sqlite", "--map", folder + "/map.yaml", "--tenant", "1", "--out",
                folder + "/out", "--split-size", "1M", "--quiet", "--json")
            #expect(exported.status == 0, "\(exported.stderr)")
            let report = try jsonObject(exported.stdout)
            let parts = try #require(report["parts"] as? [String])
            #expect(parts.count >= 3, "\(parts)")
            var seen: [String: Int] = [:]
            for part in parts {
                for (name, bytes) in try readArchive(part) where name.contains("/data/files/") {
                    let file = String(name.split(separator: "/").last!)
                    seen[file, default: 0] += 1
                    #expect(bytes == originals[file], "\(file) whole and intact in \(part)")
                }
            }
            #expect(seen == originals.mapValues { _ in 1 }, "each file in exactly one part")
            let verified = try handover("verify", try #require(report["archive"] as? String))
            #expect(verified.status == 0, "\(verified.stdout) \(verified.stderr)")
        }
    }

    /// A file of 400 MiB costs no more memory to carry than one of 4 MiB (blocks, not the whole file).
    @Test func memoryDoesNotGrowWithTheSizeOfAFile() async throws {
        try await withTemporaryDirectory { folder in
            let root = folder + "/root"
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            var peaks: [Int] = []
            for (index, size) in [4 << 20, 400 << 20].enumerated() {
                let name = "zeros-\(index).bin"
                #expect(FileManager.default.createFile(atPath: root + "/" + name, contents: nil))
                let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: root + "/" + name))
                try handle.truncate(atOffset: UInt64(size))
                try handle.close()
                let db = folder + "/docs-\(index).sqlite"
                #expect(
                    try run(
                        "/usr/bin/sqlite3",
                        [
                            db,
                            "CREATE TABLE docs (id INTEGER PRIMARY KEY, path TEXT); INSERT INTO docs VALUES (1, '\(name)');",
                        ]
                    ).status == 0)
                try Self.docsMap().write(toFile: folder + "/map.yaml", atomically: true, encoding: .utf8)
                let (kib, result) = try peakMemory([
                    "export", "--db", db, "--map", folder + "/map.yaml", "--tenant", "1", "--archive", "tzst", "--out",
                    folder + "/out-\(index)", "--quiet",
                ])
                #expect(result.status == 0, "\(result.stderr)")
                peaks.append(kib)
            }
            print("peak RSS carrying a file: 4 MiB → \(peaks[0] / 1024) MiB; 400 MiB → \(peaks[1] / 1024) MiB")
            #expect(peaks.allSatisfy { $0 > 0 })
            #expect(peaks[1] - peaks[0] < 8 * 1024, "memory grew by \((peaks[1] - peaks[0]) / 1024) MiB")
        }
    }
}
