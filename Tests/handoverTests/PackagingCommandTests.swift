import Foundation
import TestSupport
import Testing

@Suite struct PackagingCommandTests {
    @Test func formatsSplitPartsAndPinnedRebuildsFromTheCommandLine() async throws {
        try await withTemporaryDirectory { folder in
            let (db, map) = try makeDemo(in: folder)
            try Data("a test key of thirty-two bytes!!".utf8).write(to: URL(fileURLWithPath: folder + "/key"))
            let common = [
                "export", "--db", db, "--map", map, "--tenant", "1", "--pseudonym-key-file", folder + "/key", "--json",
            ]
            for format in ["tgz", "txz", "tzst"] {
                let result = try run(
                    handoverBinary,
                    common + ["--out", folder + "/\(format)", "--archive", format, "--compression-level", "6"])
                #expect(result.status == 0, "\(result.stderr)")
                let archive = try #require(try jsonObject(result.stdout)["archive"] as? String)
                #expect(try handover("verify", archive).status == 0)
            }

            let split = try run(handoverBinary, common + ["--out", folder + "/split", "--split-size", "200K"])
            #expect(split.status == 0, "\(split.stderr)")
            let report = try jsonObject(split.stdout)
            let parts = try #require(report["parts"] as? [String])
            #expect(parts.count > 1)
            let folderVerify = try handover("verify", try #require(report["archive"] as? String))
            #expect(folderVerify.status == 0, "\(folderVerify.stdout)")
            #expect(try run(handoverBinary, ["verify"] + parts).status == 0)
            let lacking = try run(handoverBinary, ["verify"] + parts.dropFirst())
            #expect(lacking.status == 1)
            #expect(lacking.stdout.contains("part: "))

            let pinned = ["--request-id", "req-same", "--generated-at", "2026-11-25T10:00:00Z", "--archive", "tzst"]
            let first = try run(handoverBinary, common + pinned + ["--out", folder + "/a"])
            let second = try run(handoverBinary, common + pinned + ["--out", folder + "/b"])
            let a = try Data(
                contentsOf: URL(fileURLWithPath: try #require(try jsonObject(first.stdout)["archive"] as? String)))
            let b = try Data(
                contentsOf: URL(fileURLWithPath: try #require(try jsonObject(second.stdout)["archive"] as? String)))
            #expect(a == b)
        }
    }

    @Test(arguments: [
        (["--archive", "rar"], "'zip', 'tgz', 'txz' or 'tzst'"),
        (["--archive", "zip", "--compression-level", "12"], "compression level"),
        (["--split-size", "lots"], "split size"),
        (["--split-size", "1K"], "split size"),
        (["--generated-at", "yesterday"], "ISO 8601"),
    ])
    func badPackagingOptionsAreUsageErrors(options: [String], words: String) async throws {
        try await withTemporaryDirectory { folder in
            let (db, map) = try makeDemo(in: folder)
            let result = try run(
                handoverBinary,
                ["export", "--db", db, "--map", map, "--tenant", "1", "--out", folder + "/out"] + options)
            #expect(result.status == 64, "\(result.stderr)")
            #expect(result.stderr.contains(words), "\(result.stderr)")
            #expect(listFolder(folder + "/out").isEmpty)
        }
    }
}
