import Foundation
import HandoverCore
import TestSupport
import Testing

/// Where a round trip imports into.
enum ImportTarget: String, CaseIterable, CustomStringConvertible, Sendable {
    case sqlite
    case postgres
    var description: String { rawValue }
}

/// Export → import → export again with the map the import wrote: the data files are the same, byte for byte.
@Suite struct ImportRoundTripTests {
    /// A bundle exported with `arguments` (all three formats), and its data files (tables and carried files) by
    /// path inside the bundle.
    static func export(_ arguments: [String], read: Bool = true, formats: String = "json,csv,xml") throws -> (
        archive: String, data: [String: [UInt8]]
    ) {
        let exported = try handover(["export", "--json", "--quiet", "--formats", formats] + arguments)
        #expect(exported.status == 0, "\(exported.stderr)")
        let archive = try #require(try jsonObject(exported.stdout)["archive"] as? String)
        var data: [String: [UInt8]] = [:]
        guard read else { return (archive, data) }
        for (name, bytes) in try readArchive(archive) {
            let parts = name.split(separator: "/", maxSplits: 1)
            guard parts.count == 2, parts[1].hasPrefix("data/"), !parts[1].hasPrefix("data/schemas/"),
                parts[1] != "data/index.html"
            else { continue }
            data[String(parts[1])] = bytes
        }
        return (archive, data)
    }

    /// Runs one round trip of `archive` through `format` into `target`; returns the second export's data files.
    static func roundTrip(
        archive: String, exporter: String, scope: [String], format: String, target: ImportTarget, folder: String,
        url: String?, formats: String = "json,csv,xml", check: ([String: Any]) throws -> Void = { _ in }
    ) throws -> [String: [UInt8]] {
        let into = target == .sqlite ? "sqlite:" + folder + "/imported-\(format).sqlite" : url!
        let db = target == .sqlite ? folder + "/imported-\(format).sqlite" : url!
        let imported = try handover(
            "import", archive, "--into", into, "--from", format, "--files", folder + "/files-\(format)", "--map-out",
            folder + "/maps-\(format)", "--json", "--quiet")
        #expect(imported.status == 0, "\(format) into \(target): \(imported.stderr)")
        let report = try jsonObject(imported.stdout)
        #expect((report["rows"] as? Int ?? 0) > 0, "\(imported.stdout)")
        #expect(report["alreadyImported"] as? Bool == false)
        try check(report)
        // Again: nothing is added, and it says so.
        let again = try handover(
            "import", archive, "--into", into, "--from", format, "--files", folder + "/files-\(format)")
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("already imported"), "\(again.stdout)")
        let second = try export(
            ["--db", db, "--map", folder + "/maps-\(format)/\(exporter).yaml", "--out", folder + "/again-\(format)"]
                + scope, formats: formats)
        return second.data
    }

    static func compare(_ first: [String: [UInt8]], _ second: [String: [UInt8]], _ label: String) {
        #expect(
            Set(first.keys) == Set(second.keys),
            "\(label): \(Set(first.keys).symmetricDifference(second.keys).sorted())")
        for (path, bytes) in first.sorted(by: { $0.key < $1.key }) {
            guard let other = second[path] else { continue }
            if bytes != other {
                let a = String(decoding: bytes, as: UTF8.self)
                let b = String(decoding: other, as: UTF8.self)
                let firstLine = zip(
                    a.split(separator: "\n", omittingEmptySubsequences: false),
                    b.split(separator: "\n", omittingEmptySubsequences: false)
                )
                .first { $0 != $1 }
                Issue.record(
                    "\(label): \(path) differs (\(bytes.count) vs \(other.count) bytes); first different line:\n\(firstLine.map { "\($0.0.prefix(300))\n\($0.1.prefix(300))" } ?? "(lengths)")"
                )
            }
        }
    }

    /// Runs `body` with a fresh PostgreSQL URL for `target` (nil for SQLite).
    static func withTarget(_ target: ImportTarget, _ body: (String?) async throws -> Void) async throws {
        if target == .postgres {
            try await withPostgresSchema("") { url, _ in try await body(url) }
        } else {
            try await body(nil)
        }
    }

    @Test(arguments: ImportTarget.allCases)
    func aDemoTenantWithItsFilesComesBackTheSame(_ target: ImportTarget) async throws {
        try await withTemporaryDirectory { folder in
            let setup = try workerSetup(folder)
            let original = try Self.export(setup + ["--tenant", "1", "--request-id", "req-rt-demo"])
            #expect(original.data.keys.contains { $0.hasPrefix("data/files/") }, "the demo tenant carries files")
            for format in ["json", "csv", "xml"] {
                try await Self.withTarget(target) { url in
                    let again = try Self.roundTrip(
                        archive: original.archive, exporter: "sales", scope: ["--tenant", "1"], format: format,
                        target: target, folder: folder, url: url)
                    Self.compare(original.data, again, "demo tenant via \(format) into \(target)")
                }
            }
        }
    }

    @Test(arguments: ImportTarget.allCases)
    func hostileValuesOfEveryTypeComeBackTheSame(_ target: ImportTarget) async throws {
        try await withTemporaryDirectory { folder in
            let sqlite = folder + "/typed.sqlite"
            let created = try run("/usr/bin/sqlite3", [sqlite, TypedFixture.sqliteSQL])
            #expect(created.status == 0, "\(created.stderr)")
            try TypedFixture.map.write(toFile: folder + "/map.yaml", atomically: true, encoding: .utf8)
            let original = try Self.export([
                "--db", sqlite, "--map", folder + "/map.yaml", "--subject", "id=1", "--request-id", "req-rt-typed",
                "--out", folder + "/out",
            ])
            for format in ["json", "csv", "xml"] {
                try await Self.withTarget(target) { url in
                    let again = try Self.roundTrip(
                        archive: original.archive, exporter: "typed", scope: ["--subject", "request_id=req-rt-typed"],
                        format: format, target: target, folder: folder, url: url)
                    Self.compare(original.data, again, "hostile subject via \(format) into \(target)")
                }
            }
        }
    }

    @Test(arguments: ImportTarget.allCases)
    func everyPostgreSQLTypeComesBackTheSame(_ target: ImportTarget) async throws {
        try await withTemporaryDirectory { folder in
            try TypedFixture.map.write(toFile: folder + "/map.yaml", atomically: true, encoding: .utf8)
            try await withPostgresSchema(TypedFixture.postgresSQL) { source, _ in
                for person in [1, 3] {
                    try FileManager.default.createDirectory(
                        atPath: folder + "/\(person)", withIntermediateDirectories: true)
                    let original = try Self.export([
                        "--db", source, "--map", folder + "/map.yaml", "--subject", "id=\(person)", "--request-id",
                        "req-rt-pg-\(person)", "--out", folder + "/out-\(person)",
                    ])
                    let people = String(decoding: original.data["data/typed/people.json"] ?? [], as: UTF8.self)
                    #expect(people.contains("\"ratio\""), "the person's row is there")
                    for format in ["json", "csv", "xml"] {
                        try await Self.withTarget(target) { url in
                            let again = try Self.roundTrip(
                                archive: original.archive, exporter: "typed",
                                scope: ["--subject", "request_id=req-rt-pg-\(person)"], format: format, target: target,
                                folder: folder + "/\(person)", url: url)
                            Self.compare(
                                original.data, again, "PostgreSQL person \(person) via \(format) into \(target)")
                        }
                    }
                }
            }
        }
    }

    @Test(arguments: ImportTarget.allCases)
    func aGeneratedDatabaseOfEveryTypeComesBackTheSame(_ target: ImportTarget) async throws {
        try await withTemporaryDirectory { folder in
            let sqlite = folder + "/generated.sqlite"
            try GeneratedTypesFixture.sqliteSQL().write(
                toFile: folder + "/generated.sql", atomically: true, encoding: .utf8)
            let created = try run("/usr/bin/sqlite3", [sqlite, ".read " + folder + "/generated.sql"])
            #expect(created.status == 0, "\(created.stderr)")
            try GeneratedTypesFixture.map.write(toFile: folder + "/map.yaml", atomically: true, encoding: .utf8)
            let original = try Self.export([
                "--db", sqlite, "--map", folder + "/map.yaml", "--tenant", "1", "--request-id", "req-rt-generated",
                "--out", folder + "/out",
            ])
            let items = String(decoding: original.data["data/generated/items.json"] ?? [], as: UTF8.self)
            for hard in ["1e+20", "5e-324", "123456789012345678901234567890.0123456789", "1.50", "\\u0001", "=1+2"] {
                #expect(items.contains(hard), "the fixture holds \(hard)")
            }
            for format in ["json", "csv", "xml"] {
                try await Self.withTarget(target) { url in
                    let again = try Self.roundTrip(
                        archive: original.archive, exporter: "generated", scope: ["--tenant", "1"], format: format,
                        target: target, folder: folder, url: url
                    ) { report in
                        // Doubles, exact decimals, and both kinds in one column are each stored as what they are.
                        let tables = try #require(report["tables"] as? [[String: Any]])
                        let items = try #require(tables.first { $0["table"] as? String == "items" })
                        let storage = Dictionary(
                            uniqueKeysWithValues: (items["columns"] as? [[String: Any]] ?? []).map {
                                ($0["name"] as? String ?? "", $0["storage"] as? String ?? "")
                            })
                        #expect(storage["ratio"] == "double" && storage["amount"] == "decimal", "\(storage)")
                        #expect(storage["mixed"] == "numberText" && storage["data"] == "binary", "\(storage)")
                    }
                    Self.compare(original.data, again, "generated database via \(format) into \(target)")
                }
            }
        }
    }
}
