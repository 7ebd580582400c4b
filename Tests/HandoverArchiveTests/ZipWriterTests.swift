import Crypto
import Foundation
import HandoverCore
import TestSupport
import Testing

@testable import HandoverArchive

/// Handover's own zip writer, judged by libarchive (through ``ZipLayout``'s cross-checks), Python's `zipfile` and
/// `unzip`: every kind of entry it writes, and Zip64 records (forced into a small archive by lowering the limits).
@Suite struct ZipWriterTests {
    let time = Timestamp(iso8601: "2026-01-02T03:04:05Z")!

    /// Text-like bytes, the same for the same seed.
    static func bytes(_ count: Int, seed: Int) -> [UInt8] {
        (0..<count).map { index in
            let mixed: Int = (index &* 31 &+ seed &* 17) ^ (index >> 5)
            return UInt8(97 + mixed % 23)
        }
    }

    /// A zip of every kind of entry: in memory, read from disk (deflated and stored), deflated already, and empty.
    func writeZip(at path: String, folder: String, limits: ZipWriter.Limits) throws -> [String: [UInt8]] {
        var contents: [String: [UInt8]] = [:]
        let compression = try ContentCompression(format: .zip, level: nil, chunkSize: 4096, workers: 2)
        defer { compression.stop() }
        let deflated = Self.bytes(50_000, seed: 1)
        let file = try compression.file(at: folder + "/c.compressed")
        try deflated.withUnsafeBytes { try file.append($0) }
        try file.end()
        try compression.finish()
        let content = try #require(file.content)
        let onDisk = Self.bytes(300_000, seed: 2)
        try Data(onDisk).write(to: URL(fileURLWithPath: folder + "/disk.bin"))
        try Data().write(to: URL(fileURLWithPath: folder + "/empty.bin"))
        try ArchiveWriter.write(
            to: path, format: .zip, compressionLevel: nil, filters: [], chunkSize: 4096, workers: 2, zipLimits: limits
        ) { archive in
            try archive.addFile(bytes: Array("BagIt-Version: 1.0\n".utf8), as: "b/bagit.txt", modificationTime: time)
            contents["b/bagit.txt"] = Array("BagIt-Version: 1.0\n".utf8)
            try archive.addFile(from: folder + "/disk.bin", as: "b/data/disk.bin", modificationTime: time)
            contents["b/data/disk.bin"] = onDisk
            try archive.addFile(
                from: folder + "/disk.bin", as: "b/data/files/stored.wav", modificationTime: time, stored: true)
            contents["b/data/files/stored.wav"] = onDisk
            try archive.addCompressedFile(content, as: "b/data/données.csv", modificationTime: time)
            contents["b/data/données.csv"] = deflated
            try archive.addFile(from: folder + "/empty.bin", as: "b/data/empty.json", modificationTime: time)
            contents["b/data/empty.json"] = []
            try archive.addFile(bytes: [], as: "b/data/empty.xml", modificationTime: time)
            contents["b/data/empty.xml"] = []
        }
        return contents
    }

    /// What Python's `zipfile` reads of each entry: its content's digest, method, flags, mode, and whether its central
    /// record has a Zip64 field.
    func pythonListing(_ path: String) throws -> [String: [String: Any]] {
        let script = """
            import sys, zipfile, hashlib, json
            def has_zip64(extra):
                k = 0
                while k + 4 <= len(extra):
                    if int.from_bytes(extra[k:k + 2], 'little') == 1:
                        return True
                    k += 4 + int.from_bytes(extra[k + 2:k + 4], 'little')
                return False
            out = {}
            with zipfile.ZipFile(sys.argv[1]) as z:
                assert z.testzip() is None
                for i in z.infolist():
                    out[i.filename] = {"sha256": hashlib.sha256(z.read(i)).hexdigest(), "method": i.compress_type,
                        "utf8": i.flag_bits & 0x800 != 0, "descriptor": i.flag_bits & 0x8 != 0,
                        "mode": i.external_attr >> 16, "zip64": has_zip64(i.extra)}
            print(json.dumps(out))
            """
        let result = try run("/usr/bin/env", ["python3", "-c", script, path])
        #expect(result.status == 0, "\(result.stderr)")
        return try #require(
            try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: [String: Any]])
    }

    /// With the default limits, and with limits lowered: Zip64 records, and every entry past 1000 bytes streamed
    /// through zlib rather than deflated whole by libdeflate.
    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func everyKindOfEntryReadsBackInEveryTool(zip64: Bool, streamed: Bool) async throws {
        try await withTemporaryDirectory { folder in
            let path = folder + "/out.zip"
            var limits = zip64 ? ZipWriter.Limits(largeValue: 1000, manyEntries: 3) : ZipWriter.Limits()
            if streamed { limits.wholeEntry = 1000 }
            let contents = try writeZip(at: path, folder: folder, limits: limits)
            #expect(try readArchive(path) == contents)
            let unzip = try run("/usr/bin/env", ["unzip", "-tq", path])
            #expect(unzip.status == 0, "unzip -t: \(unzip.stdout) \(unzip.stderr)")
            let listing = try pythonListing(path)
            #expect(Set(listing.keys) == Set(contents.keys))
            for (name, info) in listing {
                #expect(info["sha256"] as? String == contents[name]?.sha256Hex, "\(name)")
                #expect(info["method"] as? Int == (name.hasSuffix(".wav") ? 0 : 8), "\(name)")
                #expect(info["utf8"] as? Bool == !name.allSatisfy(\.isASCII), "\(name)")
                // Only the entry deflated before it was added has its CRC-32 and sizes in its local header.
                #expect(info["descriptor"] as? Bool == !name.hasSuffix(".csv"), "\(name)")
                #expect(info["mode"] as? Int == 0o100600, "\(name)")
            }
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
            let zip64EndRecord: [UInt8] = [0x50, 0x4B, 0x06, 0x06]
            let hasZip64End = (0...(bytes.count - 4)).contains { Array(bytes[$0..<($0 + 4)]) == zip64EndRecord }
            #expect(hasZip64End == zip64)
            // With the limits lowered, the entries past 1000 bytes carry Zip64 sizes.
            #expect((listing["b/data/disk.bin"]?["zip64"] as? Bool) == zip64)
        }
    }

    /// An entry that turns out longer than it said (a file that grew while it was read) goes on through zlib from
    /// where it passed the limit of entries deflated whole; shorter ones stay whole; all read back in every tool.
    @Test func anEntryThatGrowsPastTheWholeLimitStreamsOn() async throws {
        try await withTemporaryDirectory { folder in
            let path = folder + "/grown.zip"
            let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            #expect(descriptor >= 0)
            var contents: [String: [UInt8]] = [:]
            let zip = ZipWriter(
                output: FilteredOutput(descriptor: descriptor, filters: []), level: nil,
                limits: ZipWriter.Limits(wholeEntry: 1000))
            try zip.start()
            // Said and written: (declared size, bytes, piece size).
            for (index, (declared, count, piece)) in [
                (10, 5000, 100), (1000, 1000, 999), (900, 1001, 1001), (5000, 5000, 700), (0, 0, 1), (0, 3, 1),
            ].enumerated() {
                let name = "e\(index).txt"
                let bytes = Self.bytes(count, seed: index)
                try zip.begin(name: name, size: UInt64(declared), modificationTime: time, stored: false)
                for start in stride(from: 0, to: count, by: piece) {
                    try bytes[start..<min(start + piece, count)].withUnsafeBytes { try zip.write($0) }
                }
                try zip.end()
                contents[name] = bytes
            }
            try zip.finish()
            close(descriptor)
            #expect(try readArchive(path) == contents)
            let unzip = try run("/usr/bin/env", ["unzip", "-tq", path])
            #expect(unzip.status == 0, "unzip -t: \(unzip.stdout) \(unzip.stderr)")
            let listing = try pythonListing(path)
            for (name, info) in listing {
                #expect(info["sha256"] as? String == contents[name]?.sha256Hex, "\(name)")
            }
            #expect(listing.count == contents.count)
        }
    }

    @Test func theSameEntriesGiveTheSameBytes() async throws {
        try await withTemporaryDirectory { folder in
            var outputs: Set<[UInt8]> = []
            for index in 0..<2 {
                let work = folder + "/\(index)"
                try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
                _ = try writeZip(at: work + "/out.zip", folder: work, limits: ZipWriter.Limits())
                outputs.insert(Array(try Data(contentsOf: URL(fileURLWithPath: work + "/out.zip"))))
            }
            #expect(outputs.count == 1)
        }
    }

    /// Names a zip cannot hold, or that a reader would take for another entry's, fail the archive, naming the
    /// problem but not the name, and leave no file.
    @Test(arguments: ["", "b/a\u{0}b", "b/" + String(repeating: "n", count: 65_534)])
    func aNameTheZipCannotHoldFailsTheArchive(name: String) async throws {
        try await withTemporaryDirectory { folder in
            #expect {
                try ArchiveWriter.write(to: folder + "/out.zip", format: .zip) { archive in
                    try archive.addFile(bytes: [1], as: name, modificationTime: time)
                }
            } throws: { error in
                guard let error = error as? HandoverError, error.code == .archiveFailed else { return false }
                return error.message.contains("name") && (name.isEmpty || !error.message.contains(name))
            }
            #expect(listFolder(folder).isEmpty)
        }
    }

    @Test func dosTimesAreLocalAndClampedToWhatTheyCanHold() throws {
        // 1970 and 2200 lie outside DOS dates (1980-2107); they become the first and last they can hold.
        #expect(ZipWriter.dosTime(Timestamp(millisecondsSince1970: 0)) == (0, 0x21))
        #expect(ZipWriter.dosTime(Timestamp(iso8601: "2200-01-01T00:00:00Z")!) == (0xBF7D, 0xFF9F))
        let (time, date) = ZipWriter.dosTime(self.time)
        var seconds = time_t(self.time.millisecondsSince1970 / 1000)
        var parts = tm()
        localtime_r(&seconds, &parts)
        #expect(Int(date >> 9) + 1980 == Int(parts.tm_year) + 1900)
        #expect(Int(date >> 5 & 0xF) == Int(parts.tm_mon) + 1 && Int(date & 0x1F) == Int(parts.tm_mday))
        #expect(Int(time >> 11) == Int(parts.tm_hour) && Int(time >> 5 & 0x3F) == Int(parts.tm_min))
        #expect(Int(time & 0x1F) == Int(parts.tm_sec) / 2)
    }

    @Test func aCompressedFileThatDoesNotAddUpFailsTheArchiveAndLeavesNoFile() async throws {
        try await withTemporaryDirectory { folder in
            let out = folder + "/out"
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            let compression = try ContentCompression(format: .zip, level: nil, chunkSize: 4096, workers: 2)
            defer { compression.stop() }
            let file = try compression.file(at: folder + "/c.compressed")
            try Self.bytes(10_000, seed: 5).withUnsafeBytes { try file.append($0) }
            try file.end()
            try compression.finish()
            let content = try #require(file.content)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: content.path!))
            try handle.truncate(atOffset: UInt64(content.compressedBytes - 1))
            try handle.close()
            #expect {
                try ArchiveWriter.write(to: out + "/a.zip", format: .zip) {
                    try $0.addCompressedFile(content, as: "b/data/a.csv", modificationTime: time)
                }
            } throws: { error in
                (error as? HandoverError)?.message.contains("changed size") == true
            }
            // Compressed for a zip, archived as tar.zst.
            #expect(throws: HandoverError.self) {
                try ArchiveWriter.write(to: out + "/b.tar.zst", format: .tzst) {
                    try $0.addCompressedFile(content, as: "b/data/a.csv", modificationTime: time)
                }
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: out).isEmpty)
        }
    }
}

extension Array where Element == UInt8 {
    fileprivate var sha256Hex: String {
        var hasher = Crypto.SHA256()
        hasher.update(data: self)
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
