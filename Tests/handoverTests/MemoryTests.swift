import Foundation
import HandoverArchive
import TestSupport
import Testing

/// The peak resident memory of one run of the binary, in KiB, as GNU time reports it.
func peakMemory(_ arguments: [String]) throws -> (kib: Int, result: ProcessResult) {
    let result = try run("/usr/bin/time", ["-f", "peak-rss-kib=%M", handoverBinary] + arguments)
    let line = result.stderr.split(separator: "\n").last { $0.hasPrefix("peak-rss-kib=") }
    return (Int(line?.dropFirst("peak-rss-kib=".count) ?? "") ?? -1, result)
}

@Suite struct MemoryTests {
    /// Rows flow from the source through the writers into the archive: ten times the rows must not cost
    /// more than a few MiB more memory. No timing involved, so it holds on any machine.
    @Test func memoryDoesNotGrowWithTheSizeOfTheExport() async throws {
        try await withTemporaryDirectory { folder in
            try Data("a test key of thirty-two bytes!!".utf8).write(to: URL(fileURLWithPath: folder + "/key"))
            var peaks: [Int] = []
            var rows: [Int] = []
            for scale in [12, 124] {
                let db = folder + "/scale-\(scale)"
                let demo = try handover("demo", "--out", db, "--scale", "\(scale)", "--json")
                #expect(demo.status == 0, "\(demo.stderr)")
                let (kib, result) = try peakMemory([
                    "export", "--db", db + "/demo.sqlite", "--map", db + "/demo-map.yaml", "--tenant", "1", "--archive",
                    "tzst",
                    "--out", db + "/out", "--quiet", "--json", "--pseudonym-key-file", folder + "/key",
                ])
                #expect(result.status == 0, "\(result.stderr)")
                let report = try #require(
                    try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
                rows.append(report["records"] as? Int ?? 0)
                peaks.append(kib)
            }
            print("peak RSS: \(rows[0]) rows → \(peaks[0] / 1024) MiB; \(rows[1]) rows → \(peaks[1] / 1024) MiB")
            #expect(rows[0] > 15_000 && rows[0] < 25_000)
            #expect(rows[1] > 150_000 && rows[1] < 250_000)
            #expect(peaks.allSatisfy { $0 > 0 })
            #expect(
                peaks[1] - peaks[0] < 8 * 1024,
                "memory grew by \((peaks[1] - peaks[0]) / 1024) MiB for ten times the rows")
        }
    }

    /// Twenty unlisted files of 60 MiB zeros (70 KB as tar.zst) are hashed as they stream by: verifying them
    /// costs no more memory than verifying the bundle without them, give or take a few MiB.
    @Test func verifyingUnlistedFilesOfZerosDoesNotHoldThem() async throws {
        try await withTemporaryDirectory { folder in
            try Data("a test key of thirty-two bytes!!".utf8).write(to: URL(fileURLWithPath: folder + "/key"))
            let demo = try handover("demo", "--out", folder + "/db", "--quiet")
            #expect(demo.status == 0, "\(demo.stderr)")
            let export = try handover(
                "export", "--db", folder + "/db/demo.sqlite", "--map", folder + "/db/demo-map.yaml", "--tenant", "1",
                "--archive", "tzst", "--out", folder + "/out", "--request-id", "zeros", "--quiet",
                "--pseudonym-key-file", folder + "/key")
            #expect(export.status == 0, "\(export.stderr)")
            let good = folder + "/out/handover-zeros.tar.zst"
            let zeros = folder + "/zeros"
            #expect(FileManager.default.createFile(atPath: zeros, contents: nil))
            let handle = try #require(FileHandle(forWritingAtPath: zeros))
            try handle.truncate(atOffset: 60 << 20)
            try handle.close()
            let hostile = folder + "/zeros.tar.zst"
            try ArchiveWriter.write(to: hostile, format: .tzst) { writer in
                try ArchiveReader.read(good) { reader in
                    while let entry = try reader.nextEntry() {
                        try writer.addFile(bytes: try reader.readAll(), as: entry.name, modificationTime: .now())
                    }
                }
                for number in 0..<20 {
                    try writer.addFile(from: zeros, as: "handover-zeros/zeros-\(number).bin", modificationTime: .now())
                }
            }
            let (clean, cleanResult) = try peakMemory(["verify", good])
            #expect(cleanResult.status == 0, "\(cleanResult.stdout)")
            let (kib, result) = try peakMemory(["verify", hostile, "--json"])
            #expect(result.status == 1)
            let report = try #require(
                try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            let problems = report["problems"] as? [[String: Any]] ?? []
            #expect(problems.count == 20 && problems.allSatisfy { $0["kind"] as? String == "unlisted" })
            print(
                "verify peak RSS: bundle \(clean / 1024) MiB; "
                    + "with 20 unlisted files of 60 MiB zeros \(kib / 1024) MiB")
            #expect(clean > 0 && kib > 0)
            #expect(kib - clean < 16 * 1024, "verifying grew by \((kib - clean) / 1024) MiB")
        }
    }
}
