import Crypto
import Foundation
import HandoverArchive
import HandoverCore
import TestSupport
import Testing

@Suite struct ArchiveWriterTests {
    let time = Timestamp(iso8601: "2026-01-02T03:04:05Z")!

    func makeArchive(at path: String, source folder: String, format: ArchiveFormat = .zip) throws -> [String: [UInt8]] {
        var contents: [String: [UInt8]] = [
            "bundle/manifest.json": Array("{\"a\":1}\n".utf8),
            "bundle/data/données/été 李.csv": Array("a,b\r\n1,2\r\n".utf8),
            "bundle/data/empty.json": [],
        ]
        // A file larger than libarchive's and our read blocks, read from disk.
        let large = (0..<1_500_000).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }
        try Data(large).write(to: URL(fileURLWithPath: folder + "/large.bin"))
        contents["bundle/data/large.bin"] = large
        try ArchiveWriter.write(to: path, format: format) { archive in
            for (name, bytes) in contents.sorted(by: { $0.key < $1.key }) where name != "bundle/data/large.bin" {
                try archive.addFile(bytes: bytes, as: name, modificationTime: time)
            }
            try archive.addFile(from: folder + "/large.bin", as: "bundle/data/large.bin", modificationTime: time)
        }
        return contents
    }

    @Test(arguments: ArchiveFormat.allCases)
    func writesAnArchiveThatLibarchiveReadsBack(format: ArchiveFormat) async throws {
        try await withTemporaryDirectory { folder in
            let path = folder + "/out." + format.fileExtension
            let contents = try makeArchive(at: path, source: folder, format: format)
            let read = try readArchive(path)
            #expect(Set(read.keys) == Set(contents.keys))
            for (name, bytes) in contents {
                #expect(read[name]?.count == bytes.count, "size of \(name)")
                #expect(read[name] == bytes, "content of \(name)")
            }
            let times = try ArchiveReader.read(path) { reader in
                var times: [Timestamp] = []
                while let entry = try reader.nextEntry() { times.append(entry.modificationTime) }
                return times
            }
            #expect(times.count == contents.count)
            #expect(times.allSatisfy { $0 == time })
        }
    }

    /// Before 1970 the seconds round down and the nanoseconds stay positive (truncating gave -1 s and -500 ms for
    /// -1.5 s, a negative nanosecond count, which this libarchive happens to normalise: the test pins the result,
    /// it did not fail before). A time before 1970 takes a pax header, which keeps the milliseconds; after 1970
    /// tar keeps whole seconds.
    @Test(arguments: [ArchiveFormat.tgz, .txz, .tzst], [Int64(-1500), -1, -14_182_939_750, 2_000])
    func entryTimesBefore1970ReadBackExactly(format: ArchiveFormat, milliseconds: Int64) async throws {
        try await withTemporaryDirectory { folder in
            let path = folder + "/old." + format.fileExtension
            let old = Timestamp(millisecondsSince1970: milliseconds)
            try ArchiveWriter.write(to: path, format: format) { archive in
                try archive.addFile(bytes: Array("x".utf8), as: "bundle/x.txt", modificationTime: old)
            }
            let times = try ArchiveReader.read(path) { reader in
                var times: [Timestamp] = []
                while let entry = try reader.nextEntry() { times.append(entry.modificationTime) }
                return times
            }
            #expect(times == [old])
        }
    }

    @Test func pythonsZipfileReadsUTF8NamesAndContent() async throws {
        try await withTemporaryDirectory { folder in
            let path = folder + "/out.zip"
            let contents = try makeArchive(at: path, source: folder)
            let script = """
                import sys, zipfile, hashlib, json
                z = zipfile.ZipFile(sys.argv[1])
                assert z.testzip() is None
                print(json.dumps({i.filename: [hashlib.sha256(z.read(i)).hexdigest(), i.flag_bits & 0x800 != 0, i.compress_type] for i in z.infolist()}))
                """
            let result = try run("/usr/bin/env", ["python3", "-c", script, path])
            #expect(result.status == 0, "\(result.stderr)")
            let listing = try #require(
                try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: [Any]])
            #expect(Set(listing.keys) == Set(contents.keys))
            for (name, info) in listing {
                // ASCII names read the same in any charset; libarchive flags the others as UTF-8.
                if !name.allSatisfy(\.isASCII) { #expect(info[1] as? Bool == true, "UTF-8 flag of \(name)") }
                #expect(info[2] as? Int == 8, "deflate for \(name)")
            }
        }
    }

    @Test func nothingAppearsWhenTheBodyFails() async throws {
        struct Failure: Error {}
        try await withTemporaryDirectory { folder in
            let path = folder + "/out.zip"
            #expect(throws: Failure.self) {
                try ArchiveWriter.write(to: path, format: .zip) { archive in
                    try archive.addFile(bytes: Array(repeating: 7, count: 100_000), as: "a", modificationTime: time)
                    throw Failure()
                }
            }
            #expect(listFolder(folder).isEmpty)
        }
    }

    @Test func neverReplacesAnExistingFile() async throws {
        try await withTemporaryDirectory { folder in
            let path = folder + "/out.zip"
            try Data("keep me".utf8).write(to: URL(fileURLWithPath: path))
            #expect {
                try ArchiveWriter.write(to: path, format: .zip) { _ in }
            } throws: { ($0 as? HandoverError)?.code == .outputExists }
            #expect(try String(contentsOfFile: path, encoding: .utf8) == "keep me")
            #expect(listFolder(folder) == ["out.zip"])
        }
    }

    @Test func aFolderThatCannotBeWrittenIsAClearError() async throws {
        try await withTemporaryDirectory { folder in
            try Data().write(to: URL(fileURLWithPath: folder + "/file"))
            #expect {
                try ArchiveWriter.write(to: folder + "/file/out.zip", format: .zip) { _ in }
            } throws: { ($0 as? HandoverError)?.code == .outputUnavailable }
        }
    }

    @Test(arguments: ArchiveFormat.allCases)
    func pythonsTarfileAndZipfileReadEveryFormat(format: ArchiveFormat) async throws {
        try await withTemporaryDirectory { folder in
            let path = folder + "/out." + format.fileExtension
            let contents = try makeArchive(at: path, source: folder, format: format)
            let script = """
                import sys, zipfile, tarfile, hashlib, json, subprocess, io
                path = sys.argv[1]
                if path.endswith('.zip'):
                    z = zipfile.ZipFile(path)
                    files = {i.filename: z.read(i) for i in z.infolist()}
                else:
                    data = open(path, 'rb').read()
                    if path.endswith('.zst'):
                        data = subprocess.run(['zstd', '-dc'], input=data, capture_output=True, check=True).stdout
                    t = tarfile.open(fileobj=io.BytesIO(data))
                    files = {m.name: t.extractfile(m).read() for m in t.getmembers() if m.isfile()}
                    assert all(m.uid == 0 and m.gid == 0 and m.uname == '' for m in t.getmembers())
                print(json.dumps({name: hashlib.sha256(b).hexdigest() for name, b in files.items()}))
                """
            let result = try run("/usr/bin/env", ["python3", "-c", script, path])
            #expect(result.status == 0, "\(result.stderr)")
            let listing = try #require(
                try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: String])
            #expect(Set(listing.keys) == Set(contents.keys))
            for (name, bytes) in contents {
                let digest = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
                #expect(listing[name] == digest, "\(name)")
            }
        }
    }

    @Test func compressionLevelsAreCheckedPerFormat() async throws {
        try await withTemporaryDirectory { folder in
            #expect(throws: HandoverError.self) {
                try ArchiveWriter.write(to: folder + "/a.zip", format: .zip, compressionLevel: 12) { _ in }
            }
            try ArchiveWriter.write(to: folder + "/a.tar.zst", format: .tzst, compressionLevel: 12) { archive in
                try archive.addFile(bytes: Array(repeating: 1, count: 1000), as: "x", modificationTime: time)
            }
            #expect(try readArchive(folder + "/a.tar.zst") == ["x": Array(repeating: 1, count: 1000)])
            #expect(!FileManager.default.fileExists(atPath: folder + "/a.zip"))
        }
    }

    @Test(arguments: ArchiveFormat.allCases)
    func aTruncatedArchiveIsReportedAsCorrupt(format: ArchiveFormat) async throws {
        try await withTemporaryDirectory { folder in
            let path = folder + "/out." + format.fileExtension
            _ = try makeArchive(at: path, source: folder, format: format)
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            for keep in [bytes.count / 2, bytes.count - 30, 10] {
                let cut = folder + "/cut-\(keep)." + format.fileExtension
                try bytes.prefix(keep).write(to: URL(fileURLWithPath: cut))
                #expect(throws: HandoverError.self, "kept \(keep) of \(bytes.count) bytes") { _ = try readArchive(cut) }
            }
            try Data("not an archive at all".utf8).write(to: URL(fileURLWithPath: folder + "/text.zip"))
            #expect(throws: HandoverError.self) { _ = try readArchive(folder + "/text.zip") }
        }
    }
}

@Suite struct AtomicFileTests {
    @Test func leftoversOfDeadProcessesAreRemovedAndLiveOnesKept() async throws {
        try await withTemporaryDirectory { folder in
            // A process id that is certainly not running: a child that has exited and been reaped.
            let child = try run("/bin/sh", ["-c", "echo $$"])
            let deadPID = child.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let here = AtomicFile.hostTag
            let dead = AtomicFile.temporaryPrefix + deadPID + "-\(here)-abc-handover-x.zip"
            let deadFolder = AtomicFile.temporaryPrefix + deadPID + "-\(here)-def-handover-x.d"
            let live = AtomicFile.temporaryPrefix + "\(getpid())-\(here)-ghi-handover-y.zip"
            // Another machine writing into a shared folder: its process ids mean nothing here.
            let otherMachine = AtomicFile.temporaryPrefix + deadPID + "-0badf00d-jkl-handover-w.zip"
            try Data().write(to: URL(fileURLWithPath: folder + "/" + otherMachine))
            try Data().write(to: URL(fileURLWithPath: folder + "/" + dead))
            try FileManager.default.createDirectory(
                atPath: folder + "/" + deadFolder + "/data", withIntermediateDirectories: true)
            try Data().write(to: URL(fileURLWithPath: folder + "/" + live))
            try Data().write(to: URL(fileURLWithPath: folder + "/handover-z.zip"))
            #expect(AtomicFile.removeLeftovers(in: folder) == 2)
            #expect(listFolder(folder) == [live, otherMachine, "handover-z.zip"].sorted())
        }
    }

    @Test func workingFolderIsRemovedEvenOnFailure() async throws {
        struct Failure: Error {}
        try await withTemporaryDirectory { folder in
            await #expect(throws: Failure.self) {
                try await AtomicFile.withWorkingFolder(in: folder, named: "b") { work in
                    try Data("x".utf8).write(to: URL(fileURLWithPath: work + "/f"))
                    throw Failure()
                }
            }
            #expect(listFolder(folder).isEmpty)
        }
    }
}

/// Byte-level changes to archives that tools would read differently, each of which the reader must refuse.
@Suite struct ArchiveConsistencyTests {
    let time = Timestamp(iso8601: "2026-01-02T03:04:05Z")!
    static let honest = "bundle/data/aaaaaaaaaaaaaaaaaa/users.csv"
    static let evil = "../../../../tmp/pwned/users.csv"

    /// A zip of three small files, one with a name as long as ``evil`` padded.
    func smallZip(at path: String) throws -> [UInt8] {
        try ArchiveWriter.write(to: path, format: .zip) { archive in
            try archive.addFile(bytes: Array("{}\n".utf8), as: "bundle/manifest.json", modificationTime: time)
            try archive.addFile(bytes: Array("a,b\r\n1,2\r\n".utf8), as: Self.honest, modificationTime: time)
            try archive.addFile(bytes: Array("été".utf8), as: "bundle/data/été.txt", modificationTime: time)
        }
        return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// Where `needle` occurs in `bytes`, in order.
    func occurrences(of needle: [UInt8], in bytes: [UInt8]) -> [Int] {
        guard bytes.count >= needle.count else { return [] }
        return (0...(bytes.count - needle.count)).filter { Array(bytes[$0..<($0 + needle.count)]) == needle }
    }

    func expectRefused(_ bytes: [UInt8], _ folder: String, _ what: String, mentioning word: String? = nil) throws {
        let path = folder + "/changed-\(UUID().uuidString).zip"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(throws: HandoverError.self, "\(what)") { _ = try readArchive(path) }
        do {
            _ = try readArchive(path)
        } catch let error as HandoverError {
            #expect(error.code == .archiveCorrupt, "\(what)")
            if let word { #expect(error.message.contains(word), "\(what): \(error.message)") }
        }
    }

    @Test func aCentralDirectoryNameThatDiffersFromTheLocalHeaderIsRefused() async throws {
        try await withTemporaryDirectory { folder in
            let path = folder + "/good.zip"
            var bytes = try smallZip(at: path)
            #expect(try readArchive(path).count == 3)
            let honest = Array(Self.honest.utf8)
            let evil = Array((Self.evil + String(repeating: "x", count: honest.count - Self.evil.utf8.count)).utf8)
            let evilName = String(decoding: evil, as: UTF8.self)
            let places = occurrences(of: honest, in: bytes)
            #expect(places.count == 2, "the name in the local header and in the central directory")
            // Only the central directory's copy changes: what unzip and Python read.
            bytes.replaceSubrange(places[1]..<(places[1] + evil.count), with: evil)
            let changed = folder + "/traversal.zip"
            try Data(bytes).write(to: URL(fileURLWithPath: changed))
            let python = try run(
                "/usr/bin/env",
                ["python3", "-c", "import sys, zipfile; print(zipfile.ZipFile(sys.argv[1]).namelist())", changed])
            #expect(python.stdout.contains(evilName), "Python reads the climbing name: \(python.stdout)")
            try expectRefused(bytes, folder, "a climbing name in the central directory", mentioning: "name")
        }
    }

    /// Each change, applied to the small zip, and a word its refusal names.
    static let zipChanges: [(String, String)] = [
        ("bytes after the end record", "end"),
        ("an archive comment", "comment"),
        ("bytes before the first entry", "central directory"),
        ("an entry count one too high", "count"),
        ("a CRC-32 in the local header", "CRC"),
        ("a size in the data descriptor", "descriptor"),
        ("the same name twice", "same name"),
        ("a non-ASCII name without the UTF-8 flag", "UTF-8"),
    ]

    @Test(arguments: zipChanges)
    func everyDisagreementBetweenRecordsIsRefused(change: String, word: String) async throws {
        try await withTemporaryDirectory { folder in
            var bytes = try smallZip(at: folder + "/good.zip")
            let end = bytes.count - 22
            switch change {
            case "bytes after the end record":
                bytes += [0, 0, 0, 0]
            case "an archive comment":
                bytes[end + 20] = 4
                bytes += Array("note".utf8)
            case "bytes before the first entry":
                // As a self-extracting archive would: Python shifts every offset and still reads it.
                bytes = [0x50, 0x4B, 0x03, 0x04] + Array(repeating: 0, count: 60) + bytes
            case "an entry count one too high":
                bytes[end + 8] += 1
                bytes[end + 10] += 1
            case "a CRC-32 in the local header":
                bytes[14] ^= 0x01
            case "a size in the data descriptor":
                let descriptor = occurrences(of: [0x50, 0x4B, 0x07, 0x08], in: bytes)[0]
                bytes[descriptor + 8] ^= 0x01
            case "the same name twice":
                bytes = try duplicateNameZip(folder)
            case "a non-ASCII name without the UTF-8 flag":
                for place in occurrences(of: Array("bundle/data/été.txt".utf8), in: bytes) {
                    // The flags sit 20 bytes (central directory: 38) before a name; clear bit 11 in both.
                    let isLocal = bytes[place - 30] == 0x50 && bytes[place - 29] == 0x4B && bytes[place - 28] == 0x03
                    let flags = isLocal ? place - 30 + 7 : place - 46 + 9
                    bytes[flags] &= ~0x08
                }
            default:
                Issue.record("unknown change \(change)")
            }
            try expectRefused(bytes, folder, change, mentioning: word)
        }
    }

    @Test func zipsWrittenByPythonReadIncludingZip64Records() async throws {
        try await withTemporaryDirectory { folder in
            // More than 65,535 entries need the Zip64 end record and locator; force_zip64 puts Zip64 sizes
            // in a local header; the UTF-8 name sets the flag.
            let script = """
                import sys, zipfile
                with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:
                    for i in range(65537):
                        z.writestr('b/data/f%d.txt' % i, b'x')
                    with z.open('b/data/forced.txt', 'w', force_zip64=True) as f:
                        f.write(b'hello')
                    z.writestr('b/data/été.txt', b'accents')
                """
            let path = folder + "/python.zip"
            let result = try run("/usr/bin/env", ["python3", "-c", script, path])
            #expect(result.status == 0, "\(result.stderr)")
            let files = try readArchive(path)
            #expect(files.count == 65_539)
            #expect(files["b/data/forced.txt"] == Array("hello".utf8))
            #expect(files["b/data/été.txt"] == Array("accents".utf8))
        }
    }

    /// A zip whose two entries carry the same name: written with two names, the second renamed in its local header
    /// and its central record (the writer refuses a name twice).
    func duplicateNameZip(_ folder: String) throws -> [UInt8] {
        let path = folder + "/twice.zip"
        try ArchiveWriter.write(to: path, format: .zip) { archive in
            try archive.addFile(bytes: Array("one".utf8), as: "bundle/data/a.txt", modificationTime: time)
            try archive.addFile(bytes: Array("two".utf8), as: "bundle/data/b.txt", modificationTime: time)
        }
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        let places = occurrences(of: Array("bundle/data/b.txt".utf8), in: bytes)
        #expect(places.count == 2)
        for place in places { bytes[place + 12] = UInt8(ascii: "a") }
        return bytes
    }

    @Test func theZipWriterRefusesANameTwiceAndLeavesNoFile() async throws {
        try await withTemporaryDirectory { folder in
            let path = folder + "/twice.zip"
            #expect {
                try ArchiveWriter.write(to: path, format: .zip) { archive in
                    try archive.addFile(bytes: Array("one".utf8), as: "bundle/data/a.txt", modificationTime: time)
                    try archive.addFile(bytes: Array("two".utf8), as: "bundle/data/a.txt", modificationTime: time)
                }
            } throws: { error in
                (error as? HandoverError)?.code == .archiveFailed
                    && (error as? HandoverError)?.message.contains("bundle/data") == false
            }
            #expect(listFolder(folder).isEmpty)
        }
    }

    @Test(arguments: [ArchiveFormat.tgz, .txz, .tzst])
    func aCompressedTarCutAnywhereOrFollowedByBytesIsRefused(format: ArchiveFormat) async throws {
        try await withTemporaryDirectory { folder in
            let path = folder + "/out." + format.fileExtension
            try ArchiveWriter.write(to: path, format: format) { archive in
                try archive.addFile(bytes: Array("{}\n".utf8), as: "bundle/manifest.json", modificationTime: time)
                try archive.addFile(
                    bytes: (0..<5000).map { UInt8(truncatingIfNeeded: $0 * 7) }, as: "bundle/data/x.bin",
                    modificationTime: time)
            }
            #expect(try readArchive(path).count == 2)
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
            // Cutting only the gzip trailer (8 bytes) leaves every entry readable: it must still be refused.
            for cut in [1, 4, 8, 12] {
                let damaged = folder + "/cut-\(cut)." + format.fileExtension
                try Data(bytes.dropLast(cut)).write(to: URL(fileURLWithPath: damaged))
                #expect(throws: HandoverError.self, "\(format) without its last \(cut) bytes") {
                    _ = try readArchive(damaged)
                }
            }
            let trailing = folder + "/trailing." + format.fileExtension
            try Data(bytes + Array("more".utf8)).write(to: URL(fileURLWithPath: trailing))
            #expect(throws: HandoverError.self, "\(format) followed by bytes") { _ = try readArchive(trailing) }
            if format == .tgz {
                // The trailer's CRC-32, which libarchive does not check.
                var flipped = bytes
                flipped[flipped.count - 6] ^= 0xFF
                let damaged = folder + "/crc.tar.gz"
                try Data(flipped).write(to: URL(fileURLWithPath: damaged))
                #expect(throws: HandoverError.self, "a gzip trailer with a wrong CRC-32") {
                    _ = try readArchive(damaged)
                }
            }
        }
    }

    @Test func dataAfterTheTarsEndOrNoEndIsRefused() async throws {
        try await withTemporaryDirectory { folder in
            let path = folder + "/out.tar.gz"
            try ArchiveWriter.write(to: path, format: .tgz) { archive in
                try archive.addFile(bytes: Array("{}\n".utf8), as: "bundle/manifest.json", modificationTime: time)
            }
            // Decompress, append a second tar's worth of non-zero bytes after the end-of-archive blocks, recompress.
            let script = """
                import gzip, sys
                data = gzip.decompress(open(sys.argv[1], 'rb').read())
                open(sys.argv[2], 'wb').write(gzip.compress(data + b'\\0' * 1024 + b'hidden' * 100, mtime=0))
                open(sys.argv[3], 'wb').write(gzip.compress(data + b'\\0' * 10240, mtime=0))
                open(sys.argv[4], 'wb').write(gzip.compress(data[:-1024], mtime=0))
                """
            let result = try run(
                "/usr/bin/env",
                [
                    "python3", "-c", script, path, folder + "/hidden.tar.gz", folder + "/padded.tar.gz",
                    folder + "/unended.tar.gz",
                ])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(throws: HandoverError.self) { _ = try readArchive(folder + "/hidden.tar.gz") }
            // Without its end-of-archive blocks, as if cut after the last entry.
            #expect(throws: HandoverError.self) { _ = try readArchive(folder + "/unended.tar.gz") }
            #expect(try readArchive(folder + "/padded.tar.gz").count == 1, "zero padding after the end is a tar's norm")
        }
    }
}
