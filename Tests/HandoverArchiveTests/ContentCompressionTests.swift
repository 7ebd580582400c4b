import Crypto
import Foundation
import HandoverCore
import TestSupport
import Testing

@testable import HandoverArchive

/// Files compressed while they are written and put into a tar archive as they are: the archive is the same tar
/// stream, every tool reads it, and what goes in is checked.
@Suite struct ContentCompressionTests {
    let time = Timestamp(iso8601: "2026-01-02T03:04:05Z")!
    /// Sizes around the chunk size (1 KiB here) and the tar block (512 bytes).
    static let sizes = [0, 1, 511, 512, 513, 1023, 1024, 1025, 3 * 1024 + 500, 100_000]

    /// Text-like bytes (compressible), with some noise; the same for the same seed.
    static func bytes(_ count: Int, seed: Int) -> [UInt8] {
        (0..<count).map { index in
            let draw = UInt64(index &+ seed &* 7919) &* 0x9E37_79B9_7F4A_7C15
            return draw >> 61 == 0 ? UInt8(truncatingIfNeeded: draw >> 40) : UInt8(97 + (draw >> 33) % 6)
        }
    }

    /// Compresses `sizes.count` files in uneven blocks, as writers hand them; into working files in `folder`, or kept
    /// in `staging` when given.
    func compress(into folder: String, format: ArchiveFormat, workers: Int = 2, staging: StagingArea? = nil) throws
        -> [(
            name: String, bytes: [UInt8], content: CompressedFile.Content
        )]
    {
        let compression = try ContentCompression(format: format, level: nil, chunkSize: 1024, workers: workers)
        defer { compression.stop() }
        var files: [(name: String, bytes: [UInt8], file: CompressedFile)] = []
        for (index, size) in Self.sizes.enumerated() {
            let bytes = Self.bytes(size, seed: index)
            let file =
                try staging.map { try compression.file(in: $0) }
                ?? compression.file(at: folder + "/c\(index).compressed")
            var offset = 0
            var step = 1
            while offset < bytes.count {
                let count = min(step, bytes.count - offset)
                try bytes[offset..<offset + count].withUnsafeBytes { try file.append($0) }
                offset += count
                step = step * 3 + 1
            }
            try file.end()
            files.append(("bundle/data/c\(index).csv", bytes, file))
        }
        // Files whose chunks are all written are closed as they end, before finish.
        #expect(files.prefix(files.count - 3).allSatisfy { $0.file.content != nil })
        try compression.finish()
        return try files.map { ($0.name, $0.bytes, try #require($0.file.content)) }
    }

    /// An archive of plain files and compressed ones, interleaved; with `plainOnly`, the same entries all plain.
    func writeArchive(
        at path: String, format: ArchiveFormat,
        files: [(name: String, bytes: [UInt8], content: CompressedFile.Content)],
        plainOnly: Bool = false, workers: Int = 2
    ) throws -> [String: [UInt8]] {
        var contents: [String: [UInt8]] = ["bundle/bagit.txt": Array("BagIt-Version: 1.0\n".utf8)]
        try ArchiveWriter.write(
            to: path, format: format, compressionLevel: nil, filters: [], chunkSize: 1024, workers: workers
        ) { archive in
            try archive.addFile(bytes: contents["bundle/bagit.txt"]!, as: "bundle/bagit.txt", modificationTime: time)
            for (index, file) in files.enumerated() {
                if plainOnly {
                    try archive.addFile(bytes: file.bytes, as: file.name, modificationTime: time)
                } else {
                    try archive.addCompressedFile(file.content, as: file.name, modificationTime: time)
                }
                contents[file.name] = file.bytes
                if index % 3 == 0 {
                    let plain = Self.bytes(700 + index, seed: 100 + index)
                    try archive.addFile(bytes: plain, as: "bundle/plain-\(index).txt", modificationTime: time)
                    contents["bundle/plain-\(index).txt"] = plain
                }
            }
        }
        return contents
    }

    @Test(arguments: [ArchiveFormat.tgz, .txz, .tzst])
    func compressedFilesMakeTheSameTarStreamAndEveryToolReadsIt(format: ArchiveFormat) async throws {
        try await withTemporaryDirectory { folder in
            let files = try compress(into: folder, format: format)
            for file in files {
                #expect(file.content.size == Int64(file.bytes.count))
                let stored = Array(try Data(contentsOf: URL(fileURLWithPath: file.content.path!)))
                #expect(Int64(stored.count) == file.content.compressedBytes)
                #expect(stored.sha256Hex == file.content.compressedSHA256)
            }
            let spliced = folder + "/spliced." + format.fileExtension
            let plain = folder + "/plain." + format.fileExtension
            let contents = try writeArchive(at: spliced, format: format, files: files)
            #expect(try writeArchive(at: plain, format: format, files: files, plainOnly: true) == contents)
            #expect(try readArchive(spliced) == contents)
            // The decompressed stream is byte for byte the tar that libarchive writes of the same entries.
            let tool = compressionTool(format)
            let splicedTar = try run("/usr/bin/env", [tool, "-dc", spliced])
            let plainTar = try run("/usr/bin/env", [tool, "-dc", plain])
            #expect(splicedTar.status == 0 && plainTar.status == 0, "\(splicedTar.stderr)")
            #expect(splicedTar.stdout.count > 100_000)
            #expect(splicedTar.stdout == plainTar.stdout)
            let test = try run("/usr/bin/env", [tool, "-t", spliced])
            #expect(test.status == 0, "\(tool) -t: \(test.stderr)")
            let extracted = folder + "/x"
            try FileManager.default.createDirectory(atPath: extracted, withIntermediateDirectories: true)
            let extract = try run("/usr/bin/env", ["tar", "-xf", spliced, "-C", extracted])
            #expect(extract.status == 0, "tar -xf: \(extract.stderr)")
            for (name, bytes) in contents {
                #expect(Array(try Data(contentsOf: URL(fileURLWithPath: extracted + "/" + name))) == bytes, "\(name)")
            }
        }
    }

    @Test(arguments: [ArchiveFormat.zip, .tgz, .txz, .tzst])
    func filesKeptInMemoryOrSpilledToWorkingFilesMakeTheSameArchive(format: ArchiveFormat) async throws {
        try await withTemporaryDirectory { folder in
            let work = folder + "/work"
            try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
            // Small limits: the small files stay in memory until the allowance is spent, the large one goes to disk.
            let staging = StagingArea(folder: work, fileLimit: 4096, memoryLimit: 1500)
            let files = try compress(into: folder, format: format, staging: staging)
            let inMemory = files.filter { $0.content.path == nil }
            let onDisk = files.filter { $0.content.path != nil }
            #expect(inMemory.count >= 3, "\(files.map(\.content.compressedBytes))")
            #expect(inMemory.allSatisfy { $0.content.compressedBytes <= 4096 })
            #expect(inMemory.reduce(0) { $0 + $1.content.compressedBytes } <= 1500)
            #expect(onDisk.contains { $0.bytes.count == 100_000 }, "the largest file outgrows memory")
            #expect(onDisk.contains { $0.content.compressedBytes <= 4096 }, "a small file once the allowance is spent")
            #expect(staging.filesCreated == onDisk.count)
            #expect(try FileManager.default.contentsOfDirectory(atPath: work).count == onDisk.count)
            for file in onDisk {
                let path = try #require(file.content.path)
                #expect(path.hasPrefix(work + "/"))
                #expect(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int == 0o600)
                let stored = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
                #expect(stored.sha256Hex == file.content.compressedSHA256)
            }
            let spliced = folder + "/spliced." + format.fileExtension
            let contents = try writeArchive(at: spliced, format: format, files: files)
            #expect(
                try writeArchive(
                    at: folder + "/plain." + format.fileExtension, format: format, files: files,
                    plainOnly: true) == contents)
            #expect(try readArchive(spliced) == contents)
            let check =
                format == .zip
                ? try run("/usr/bin/env", ["unzip", "-tq", spliced])
                : try run("/usr/bin/env", ["tar", "-tf", spliced])
            #expect(check.status == 0, "\(check.stdout) \(check.stderr)")
        }
    }

    @Test func deflatedFilesMakeAZipThatEveryToolReads() async throws {
        try await withTemporaryDirectory { folder in
            let files = try compress(into: folder, format: .zip)
            for file in files {
                #expect(file.content.size == Int64(file.bytes.count))
                #expect(file.content.crc32 == UInt32(file.bytes.withUnsafeBytes { ChunkCodec.crc32(0, $0) }))
            }
            let spliced = folder + "/spliced.zip"
            let contents = try writeArchive(at: spliced, format: .zip, files: files)
            #expect(
                try writeArchive(at: folder + "/plain.zip", format: .zip, files: files, plainOnly: true) == contents)
            #expect(try readArchive(spliced) == contents)
            // unzip and Python inflate every entry and check its CRC-32 and size against the central directory.
            let unzip = try run("/usr/bin/env", ["unzip", "-tq", spliced])
            #expect(unzip.status == 0, "unzip -t: \(unzip.stdout) \(unzip.stderr)")
            let script = """
                import sys, zipfile, hashlib
                with zipfile.ZipFile(sys.argv[1]) as z:
                    assert z.testzip() is None
                    for info in z.infolist():
                        print(info.filename, info.compress_type, hashlib.sha256(z.read(info)).hexdigest())
                """
            let python = try run("/usr/bin/env", ["python3", "-c", script, spliced])
            #expect(python.status == 0, "\(python.stderr)")
            var expected = ""
            for (name, bytes) in contents.sorted(by: { $0.key < $1.key }) {
                expected += "\(name) 8 \(bytes.sha256Hex)\n"
            }
            #expect(python.stdout.split(separator: "\n").sorted().joined(separator: "\n") + "\n" == expected)
        }
    }

    /// Chunk sizes below and above deflate's 32 KiB window up to the default, and files that end on a chunk's end or
    /// not.
    @Test(arguments: [1024, 32 * 1024 + 1, 100_000, ParallelCompressor.defaultChunkSize])
    func deflateChunksAreOneStreamThatZlibInflates(chunkSize: Int) async throws {
        try await withTemporaryDirectory { folder in
            let compression = try ContentCompression(format: .zip, level: nil, chunkSize: chunkSize, workers: 2)
            defer { compression.stop() }
            // Repetitive text at distances up to 40 KiB: chunks refer back into the one before.
            let phrase = Self.bytes(40 * 1024, seed: 3)
            let sizes = [0, 1, chunkSize, 3 * chunkSize, 3 * chunkSize + 17, 300_000]
            var written: [(bytes: [UInt8], file: CompressedFile)] = []
            for (index, size) in sizes.enumerated() {
                let bytes = (0..<size).map { phrase[($0 * 7 / 5) % phrase.count] }
                let file = try compression.file(at: folder + "/d\(index).compressed")
                try bytes.withUnsafeBytes { try file.append($0) }
                try file.end()
                written.append((bytes, file))
            }
            try compression.finish()
            for (bytes, file) in written {
                let content = try #require(file.content)
                let script = """
                    import sys, zlib, hashlib
                    data = open(sys.argv[1], 'rb').read()
                    inflater = zlib.decompressobj(-15)
                    out = inflater.decompress(data)
                    print(inflater.eof, len(inflater.unused_data), len(out), zlib.crc32(out), hashlib.sha256(out).hexdigest())
                    whole = zlib.compressobj(6, zlib.DEFLATED, -15)
                    print(len(whole.compress(out) + whole.flush()))
                    """
                let python = try run("/usr/bin/env", ["python3", "-c", script, content.path!])
                #expect(python.status == 0, "\(python.stderr)")
                let crc = bytes.withUnsafeBytes { ChunkCodec.crc32(0, $0) }
                let lines = python.stdout.split(separator: "\n")
                #expect(lines.first == "True 0 \(bytes.count) \(crc) \(bytes.sha256Hex)")
                #expect(content.crc32 == crc)
                // At the default chunk size, the pieces (each starting without the window before it) deflate within
                // 1% of zlib's one stream at the same level, plus a few bytes each for the stored block that joins
                // them. (At 100,000 bytes they are about 2% larger.)
                let whole = try #require(lines.count == 2 ? Int64(lines[1]) : nil)
                let chunks = Int64(bytes.count / chunkSize + 1)
                if chunkSize >= ParallelCompressor.defaultChunkSize {
                    #expect(content.compressedBytes <= whole + whole / 100 + 8 * chunks, "one stream: \(whole)")
                }
            }
        }
    }

    @Test(arguments: [0, 1, 9])
    func everyLevelMakesAReadableZipAndLevelZeroStores(level: Int) async throws {
        try await withTemporaryDirectory { folder in
            let compression = try ContentCompression(format: .zip, level: level, chunkSize: 4096, workers: 2)
            defer { compression.stop() }
            let bytes = Self.bytes(20_000, seed: level)
            let file = try compression.file(at: folder + "/a.compressed")
            try bytes.withUnsafeBytes { try file.append($0) }
            try file.end()
            try compression.finish()
            let content = try #require(file.content)
            #expect((content.compressedBytes == Int64(bytes.count)) == (level == 0), "level 0 stores")
            #expect(content.stored == (level == 0))
            let path = folder + "/a.zip"
            try ArchiveWriter.write(to: path, format: .zip, compressionLevel: level) { archive in
                try archive.addCompressedFile(content, as: "bundle/data/a.csv", modificationTime: time)
                try archive.addFile(bytes: bytes, as: "bundle/data/b.csv", modificationTime: time)
            }
            #expect(try readArchive(path) == ["bundle/data/a.csv": bytes, "bundle/data/b.csv": bytes])
            #expect(try run("/usr/bin/env", ["unzip", "-tq", path]).status == 0)
            // Level 0 stores every entry (method 0), as `zip -0` does; the others deflate (method 8).
            let script =
                "import sys, zipfile; print({i.compress_type for i in zipfile.ZipFile(sys.argv[1]).infolist()})"
            let methods = try run("/usr/bin/env", ["python3", "-c", script, path])
            #expect(methods.stdout == (level == 0 ? "{0}\n" : "{8}\n"))
        }
    }

    @Test(arguments: [ArchiveFormat.zip, .tgz, .txz, .tzst])
    func theBytesDependOnTheInputOnlyNotOnThreads(format: ArchiveFormat) async throws {
        try await withTemporaryDirectory { folder in
            var outputs: [[UInt8]] = []
            for (index, workers) in [1, 2, 3].enumerated() {
                let files = folder + "/files-\(index)"
                try FileManager.default.createDirectory(atPath: files, withIntermediateDirectories: true)
                let compressed = try compress(into: files, format: format, workers: workers)
                let path = folder + "/out-\(index)." + format.fileExtension
                _ = try writeArchive(at: path, format: format, files: compressed, workers: workers)
                outputs.append(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
            }
            #expect(Set(outputs).count == 1)
        }
    }

    @Test func theArchiveReadsBackExactlyTheCompressedBytes() async throws {
        try await withTemporaryDirectory { folder in
            let files = try compress(into: folder, format: .tzst)
            let file = try #require(files.last)
            var seen: [UInt8] = []
            try ArchiveWriter.write(to: folder + "/a.tar.zst", format: .tzst, compressionLevel: nil, filters: []) {
                try $0.addCompressedFile(file.content, as: file.name, modificationTime: time) {
                    seen += Array($0)
                }
            }
            #expect(Int64(seen.count) == file.content.compressedBytes)
            #expect(seen.sha256Hex == file.content.compressedSHA256)
        }
    }

    @Test func aChangedWorkingFileOrAnotherFormatFailsTheArchiveAndLeavesNoFile() async throws {
        try await withTemporaryDirectory { folder in
            let files = try compress(into: folder, format: .tzst)
            let file = try #require(files.last)
            let out = folder + "/out"
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            // Compressed for tar.zst, archived as tar.gz.
            #expect(throws: HandoverError.self) {
                try ArchiveWriter.write(to: out + "/a.tar.gz", format: .tgz, compressionLevel: nil, filters: []) {
                    try $0.addCompressedFile(file.content, as: file.name, modificationTime: time)
                }
            }
            // Bytes appended to the working file after it was compressed.
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: file.content.path!))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data([1, 2, 3]))
            try handle.close()
            #expect {
                try ArchiveWriter.write(to: out + "/b.tar.zst", format: .tzst, compressionLevel: nil, filters: []) {
                    try $0.addCompressedFile(file.content, as: file.name, modificationTime: time)
                }
            } throws: { error in
                (error as? HandoverError)?.message.contains("changed size") == true
            }
            // A working file that is gone.
            unlink(file.content.path!)
            #expect(throws: HandoverError.self) {
                try ArchiveWriter.write(to: out + "/c.tar.zst", format: .tzst, compressionLevel: nil, filters: []) {
                    try $0.addCompressedFile(file.content, as: file.name, modificationTime: time)
                }
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: out).isEmpty)
        }
    }

    @Test func xzHasNoContentCompressionAndALevelOutOfRangeIsRefused() throws {
        #expect(try ContentCompression(format: .zip, level: nil) != nil)
        #expect(
            try ContentCompression(format: .txz, level: 1) == nil, "xz's encoders would pass 64 MiB beside the export")
        #expect(try ContentCompression(format: .tzst, level: nil) != nil)
        #expect(try ContentCompression(format: .tgz, level: 9) != nil)
        #expect {
            _ = try ContentCompression(format: .tzst, level: 42)
        } throws: { error in
            (error as? HandoverError)?.code == .invalidArgument
        }
        #expect(throws: HandoverError.self) { _ = try ContentCompression(format: .txz, level: 10) }
    }

    @Test func filesWithNothingToCompressStartNoThread() async throws {
        try await withTemporaryDirectory { folder in
            let compression = try ContentCompression(format: .tzst, level: nil, chunkSize: 1024, workers: 2)
            let empty = try compression.file(at: folder + "/empty.compressed")
            try empty.end()
            try compression.finish()
            #expect(!compression.threadsStarted)
            #expect(empty.content?.size == 0 && empty.content?.compressedBytes == 0)

            let other = try ContentCompression(format: .tzst, level: nil, chunkSize: 1024, workers: 2)
            let small = try other.file(at: folder + "/small.compressed")
            try [UInt8](repeating: 7, count: 10).withUnsafeBytes { try small.append($0) }
            try small.end()
            try other.finish()
            #expect(other.threadsStarted)
            #expect(small.content?.size == 10)
        }
    }

    @Test func stoppingWithoutFinishingJoinsTheThreadsAndWritesNothingMore() async throws {
        try await withTemporaryDirectory { folder in
            let compression = try ContentCompression(format: .tzst, level: nil, chunkSize: 1024, workers: 2)
            let file = try compression.file(at: folder + "/a.compressed")
            let bytes = Self.bytes(50_000, seed: 9)
            try bytes.withUnsafeBytes { try file.append($0) }
            compression.stop()
            #expect(throws: HandoverError.self, "nothing more is taken once stopped") {
                try bytes.withUnsafeBytes { try file.append($0) }
                try file.end()
                try compression.finish()
            }
            #expect(file.content == nil, "a file that was not finished has no content to archive")
        }
    }
}

extension Array where Element == UInt8 {
    fileprivate var sha256Hex: String { SHA256.hash(data: self).map { String(format: "%02x", $0) }.joined() }
}
