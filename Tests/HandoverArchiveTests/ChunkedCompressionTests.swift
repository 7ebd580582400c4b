import Foundation
import HandoverCore
import TestSupport
import Testing

@testable import HandoverArchive

/// The tar formats compressed in chunks on worker threads: each chunk a zstd frame, gzip member or xz stream.
@Suite struct ChunkedCompressionTests {
    let time = Timestamp(iso8601: "2026-01-02T03:04:05Z")!

    /// About 1.6 MiB of tar in small chunks: many frames, members or streams.
    func writeChunked(
        at path: String, format: ArchiveFormat, level: Int? = nil, chunkSize: Int = 64 * 1024, workers: Int = 2,
        filters: [any ArchiveOutputFilter] = []
    ) throws -> [String: [UInt8]] {
        var contents: [String: [UInt8]] = [
            "bundle/manifest.json": Array("{\"a\":1}\n".utf8),
            "bundle/data/été.csv": Array(String(repeating: "a,b\r\n1,2\r\n", count: 20_000).utf8),
            "bundle/data/empty.json": [],
        ]
        contents["bundle/data/noise.bin"] = (0..<1_400_000).map {
            UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 13)
        }
        try ArchiveWriter.write(
            to: path, format: format, compressionLevel: level, filters: filters, chunkSize: chunkSize, workers: workers
        ) { archive in
            for (name, bytes) in contents.sorted(by: { $0.key < $1.key }) {
                try archive.addFile(bytes: bytes, as: name, modificationTime: time)
            }
        }
        return contents
    }

    @Test(arguments: [ArchiveFormat.tgz, .txz, .tzst])
    func chunksMakeOneFileThatEveryToolReads(format: ArchiveFormat) async throws {
        try await withTemporaryDirectory { folder in
            let path = folder + "/out." + format.fileExtension
            let contents = try writeChunked(at: path, format: format)
            #expect(try readArchive(path) == contents)
            let tool = compressionTool(format)
            let test = try run("/usr/bin/env", [tool, "-t", path])
            #expect(test.status == 0, "\(tool) -t: \(test.stderr)")
            let listing = try run("/usr/bin/env", ["tar", "-tf", path])
            #expect(listing.status == 0, "tar -tf: \(listing.stderr)")
            #expect(Set(listing.stdout.split(separator: "\n").map(String.init)) == Set(contents.keys))
            let extracted = folder + "/x"
            try FileManager.default.createDirectory(atPath: extracted, withIntermediateDirectories: true)
            let extract = try run("/usr/bin/env", ["tar", "-xf", path, "-C", extracted])
            #expect(extract.status == 0, "tar -xf: \(extract.stderr)")
            for (name, bytes) in contents {
                #expect(Array(try Data(contentsOf: URL(fileURLWithPath: extracted + "/" + name))) == bytes, "\(name)")
            }
            if format != .tzst {
                let script = """
                    import sys, tarfile, hashlib, json
                    with tarfile.open(sys.argv[1]) as t:
                        print(json.dumps({m.name: hashlib.sha256(t.extractfile(m).read()).hexdigest()
                                          for m in t.getmembers() if m.isfile()}))
                    """
                let python = try run("/usr/bin/env", ["python3", "-c", script, path])
                #expect(python.status == 0, "\(python.stderr)")
                let names = try JSONSerialization.jsonObject(with: Data(python.stdout.utf8)) as? [String: String]
                #expect(Set(names?.keys ?? [:].keys) == Set(contents.keys))
            }
        }
    }

    @Test(arguments: [ArchiveFormat.tgz, .txz, .tzst])
    func theBytesDependOnTheInputOnlyNotOnThreads(format: ArchiveFormat) async throws {
        try await withTemporaryDirectory { folder in
            var outputs: [[UInt8]] = []
            for (index, workers) in [1, 2, 2, 3].enumerated() {
                let path = folder + "/out-\(index)." + format.fileExtension
                _ = try writeChunked(at: path, format: format, workers: workers)
                outputs.append(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
            }
            #expect(Set(outputs).count == 1)
        }
    }

    @Test func aGzipOfManyMembersGivesEachMembersLength() async throws {
        try await withTemporaryDirectory { folder in
            let path = folder + "/out.tar.gz"
            _ = try writeChunked(at: path, format: .tgz, level: 9)
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
            // No timestamp, the level's XFL (2: best compression), Unix.
            #expect(Array(bytes[0..<10]) == [0x1F, 0x8B, 8, 4, 0, 0, 0, 0, 2, 3])
            let trailers = try #require(try GzipMembers.trailers(of: FileInput(path: path)))
            #expect(trailers.count > 20)
            #expect(trailers.dropLast().allSatisfy { $0.size == 64 * 1024 })
        }
    }

    @Test func aDamagedMemberOrAForeignMemberIsRefused() async throws {
        try await withTemporaryDirectory { folder in
            let path = folder + "/out.tar.gz"
            _ = try writeChunked(at: path, format: .tgz)
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
            let trailers = try #require(try GzipMembers.trailers(of: FileInput(path: path)))
            let firstLength = Int(bytes[16]) | Int(bytes[17]) << 8 | Int(bytes[18]) << 16 | Int(bytes[19]) << 24
            #expect(trailers.count > 2)

            // The first member's CRC-32 (in its trailer), which libarchive does not check.
            var damaged = bytes
            damaged[firstLength - 8] ^= 0x01
            let crc = folder + "/crc.tar.gz"
            try Data(damaged).write(to: URL(fileURLWithPath: crc))
            #expect(throws: HandoverError.self, "a member with a wrong CRC-32") { _ = try readArchive(crc) }

            // A member's length that leads nowhere.
            damaged = bytes
            damaged[16] ^= 0x10
            let length = folder + "/length.tar.gz"
            try Data(damaged).write(to: URL(fileURLWithPath: length))
            #expect(throws: HandoverError.self, "a wrong member length") { _ = try readArchive(length) }

            // A gzip member without a length appended: gzip reads it, so it must not pass unseen.
            let appended = folder + "/appended.tar.gz"
            let script = """
                import gzip, sys
                open(sys.argv[2], 'wb').write(open(sys.argv[1], 'rb').read() + gzip.compress(b'\\0' * 1024, mtime=0))
                """
            let result = try run("/usr/bin/env", ["python3", "-c", script, path, appended])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(throws: HandoverError.self, "a member without its length") { _ = try readArchive(appended) }
        }
    }

    @Test(arguments: [ArchiveFormat.tgz, .txz, .tzst])
    func aFailingOutputFailsTheArchiveAndLeavesNoFile(format: ArchiveFormat) async throws {
        try await withTemporaryDirectory { folder in
            let path = folder + "/out." + format.fileExtension
            #expect(throws: HandoverError.self) {
                _ = try writeChunked(at: path, format: format, filters: [FailingFilter(after: 3)])
            }
            let left = try FileManager.default.contentsOfDirectory(atPath: folder)
            #expect(left.isEmpty)
        }
    }

    @Test func aWorkersFailureFailsTheStream() async throws {
        // libarchive refuses xz level 42: every chunk fails on a worker.
        let compressor = ParallelCompressor(
            codec: ChunkCodec(kind: .xz, level: 42), chunkSize: 1024, workers: 2, write: { _ in })
        defer { compressor.stop() }
        let bytes = [UInt8](repeating: 7, count: 10_000)
        #expect(throws: HandoverError.self) {
            try bytes.withUnsafeBytes { try compressor.append($0) }
            try compressor.finish()
        }
    }

    @Test func aBodyThatThrowsStopsTheWorkersAndLeavesNoFile() async throws {
        struct Stop: Error {}
        try await withTemporaryDirectory { folder in
            let path = folder + "/out.tar.zst"
            #expect(throws: Stop.self) {
                try ArchiveWriter.write(
                    to: path, format: .tzst, compressionLevel: nil, filters: [], chunkSize: 4096, workers: 2
                ) { archive in
                    try archive.addFile(bytes: [UInt8](repeating: 1, count: 100_000), as: "a", modificationTime: time)
                    throw Stop()
                }
            }
            let left = try FileManager.default.contentsOfDirectory(atPath: folder)
            #expect(left.isEmpty)
        }
    }
}

/// The command-line tool of a tar format's compression: gzip, xz or zstd.
func compressionTool(_ format: ArchiveFormat) -> String {
    switch format {
    case .tgz: "gzip"
    case .txz: "xz"
    default: "zstd"
    }
}

/// Passes `after` blocks on, then fails.
private final class FailingFilter: ArchiveOutputFilter {
    var left: Int
    init(after: Int) { left = after }
    func start() throws -> [UInt8] { [] }
    func process(_ bytes: UnsafeRawBufferPointer) throws -> [UInt8] {
        left -= 1
        if left < 0 { throw HandoverError(.outputUnavailable, "the test's filter fails") }
        return Array(bytes)
    }
    func finish() throws -> [UInt8] { [] }
}
