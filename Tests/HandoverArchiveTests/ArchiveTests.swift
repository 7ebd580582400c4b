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
