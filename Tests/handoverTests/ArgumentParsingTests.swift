import Foundation
import TestSupport
import Testing

/// The command line parses its closed sets of values (formats, archive formats, purposes, request states) and
/// checks the compression level against the archive format before any command starts work.
@Suite struct ArgumentParsingTests {
    /// A command given a bad value for one option, and every value the option accepts. `{folder}` is a fresh
    /// empty folder; `--db` names a database that does not exist, so a command that started work would fail
    /// on it (exit 66) instead of refusing the value.
    static let badValues: [(String, [String], [String])] = [
        (
            "export --formats",
            [
                "export", "--db", "{folder}/none.sqlite", "--map", "{folder}/none.yaml", "--tenant", "1", "--out",
                "{folder}/out", "--formats", "json,pdf",
            ],
            ["json", "csv", "xml"]
        ),
        (
            "export --archive",
            [
                "export", "--db", "{folder}/none.sqlite", "--map", "{folder}/none.yaml", "--tenant", "1", "--out",
                "{folder}/out", "--archive", "rar",
            ],
            ["zip", "tgz", "txz", "tzst"]
        ),
        (
            "export --purpose",
            [
                "export", "--db", "{folder}/none.sqlite", "--map", "{folder}/none.yaml", "--tenant", "1", "--out",
                "{folder}/out", "--purpose", "curiosity",
            ],
            ["access", "portability", "controller-transfer"]
        ),
        (
            "worker --formats",
            [
                "worker", "--store", "sqlite:{folder}/store.sqlite", "--db", "{folder}/none.sqlite", "--map",
                "{folder}/none.yaml", "--out", "{folder}/out", "--until-idle", "--formats", "csv,yaml",
            ],
            ["json", "csv", "xml"]
        ),
        (
            "worker --archive",
            [
                "worker", "--store", "sqlite:{folder}/store.sqlite", "--db", "{folder}/none.sqlite", "--map",
                "{folder}/none.yaml", "--out", "{folder}/out", "--until-idle", "--archive", "tar",
            ],
            ["zip", "tgz", "txz", "tzst"]
        ),
        (
            "requests submit --purpose",
            ["requests", "submit", "--store", "sqlite:{folder}/store.sqlite", "--tenant", "1", "--purpose", "Access"],
            ["access", "portability", "controller-transfer"]
        ),
        (
            "requests list --state",
            ["requests", "list", "--store", "sqlite:{folder}/store.sqlite", "--state", "done"],
            ["received", "verified", "queued", "running", "completed", "failed", "cancelled", "expired"]
        ),
    ]

    @Test(arguments: badValues)
    func aBadValueExits64BeforeAnyWorkAndListsTheValidOnes(name: String, arguments: [String], valid: [String])
        async throws
    {
        try await withTemporaryDirectory { folder in
            let result = try run(
                handoverBinary, arguments.map { $0.replacingOccurrences(of: "{folder}", with: folder) })
            #expect(result.status == 64, "\(name): \(result.stderr)")
            let error = result.stderr.split(separator: "\n").first.map(String.init) ?? ""
            #expect(error.hasPrefix("handover: error: The value '"), "\(name): \(result.stderr)")
            // Up to five values are listed on the error's line, more as a list below it.
            for value in valid {
                #expect(
                    error.contains("'\(value)'") || result.stderr.contains("\n  - \(value)\n"),
                    "\(name) does not list \(value): \(result.stderr)")
            }
            #expect(result.stdout.isEmpty)
            // Nothing was written: no output folder, no store, no database.
            #expect(listFolder(folder).isEmpty, "\(name) left \(listFolder(folder))")
        }
    }

    /// Each command's help and the values it lists for one option.
    static let helpPages: [([String], String)] = [
        (["export", "--help"], "(values: json, csv, xml; default: json,csv,xml)"),
        (["export", "--help"], "(values: zip, tgz, txz, tzst; default: zip)"),
        (["export", "--help"], "(values: access, portability, controller-transfer)"),
        (["worker", "--help"], "(values: json, csv, xml; default: json,csv,xml)"),
        (["worker", "--help"], "(values: zip, tgz, txz, tzst; default: zip)"),
        (["requests", "submit", "--help"], "(values: access, portability, controller-transfer)"),
        (
            ["requests", "list", "--help"],
            "(values: received, verified, queued, running, completed, failed, cancelled, expired)"
        ),
    ]

    @Test(arguments: helpPages)
    func helpListsTheValues(arguments: [String], values: String) throws {
        let help = try run(handoverBinary, arguments)
        #expect(help.status == 0)
        // Help wraps long lines: compare with the line breaks and indentation taken out.
        let flat = help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(flat.contains(values), "\(arguments): \(help.stdout)")
    }

    @Test func aListWithSpacesAndAnArchiveExtensionAreAccepted() async throws {
        try await withTemporaryDirectory { folder in
            let (db, map) = try makeDemo(in: folder)
            try Data(repeating: 7, count: 32).write(to: URL(fileURLWithPath: folder + "/key"))
            let done = try handover(
                "export", "--db", db, "--map", map, "--tenant", "2", "--formats", "csv, json", "--archive", "tar.gz",
                "--purpose", "controller-transfer", "--out", folder + "/out", "--json", "--quiet",
                "--pseudonym-key-file", folder + "/key")
            #expect(done.status == 0, "\(done.stderr)")
            let report = try jsonObject(done.stdout)
            #expect((report["archive"] as? String)?.hasSuffix(".tar.gz") == true)
            let formats = Set(((report["files"] as? [[String: Any]]) ?? []).compactMap { $0["format"] as? String })
            #expect(formats == ["csv", "json"])
        }
    }

    @Test(arguments: ["0", "3", "-1"])
    func anExtensionOfOtherThanOneOrTwoMonthsIsRefusedBeforeTheStoreIsOpened(months: String) async throws {
        try await withTemporaryDirectory { folder in
            let result = try handover(
                "requests", "extend", "req-1", "--months=" + months, "--reason", "many systems", "--store",
                "sqlite:" + folder + "/store.sqlite")
            #expect(result.status == 64, "\(result.stderr)")
            #expect(result.stderr.hasPrefix("handover: error: --months is 1 or 2"), "\(result.stderr)")
            #expect(listFolder(folder).isEmpty)
        }
    }

    /// A level outside each archive format's range, and that range.
    static let badLevels: [(String, String, String)] = [
        ("zip", "10", "0 to 9"), ("tgz", "10", "0 to 9"), ("txz", "10", "0 to 9"), ("tzst", "0", "1 to 19"),
        ("tzst", "20", "1 to 19"), ("zip", "-1", "0 to 9"),
    ]

    @Test(arguments: badLevels)
    func aBadCompressionLevelExits64AtOnce(format: String, level: String, range: String) async throws {
        try await withTemporaryDirectory { folder in
            // The database does not exist: an export that started would fail on it (66), not on the level.
            let result = try handover(
                "export", "--db", folder + "/none.sqlite", "--map", folder + "/none.yaml", "--tenant", "1", "--out",
                folder + "/out", "--archive", format, "--compression-level=" + level)
            #expect(result.status == 64, "\(format) \(level): \(result.stderr)")
            #expect(
                result.stderr.hasPrefix("handover: error: a compression level for \(format) is \(range)"),
                "\(result.stderr)")
            #expect(listFolder(folder).isEmpty)
        }
    }

    @Test(arguments: [("zip", "0"), ("zip", "9"), ("tzst", "1"), ("tzst", "19"), ("txz", "9")])
    func aGoodCompressionLevelPassesTheCheck(format: String, level: String) async throws {
        try await withTemporaryDirectory { folder in
            let result = try handover(
                "export", "--db", folder + "/none.sqlite", "--map", folder + "/none.yaml", "--tenant", "1", "--out",
                folder + "/out", "--archive", format, "--compression-level", level)
            // Past the check, the export fails on what it then reads: the dataset map that is not there.
            #expect(result.status == 66, "\(format) \(level): \(result.stderr)")
            #expect(!result.stderr.contains("compression level"))
        }
    }
}
