import Foundation
import HandoverArchive
import HandoverCore
import Logging
import TestSupport
import Testing

@testable import HandoverBundle

#if canImport(Glibc)
    import Glibc
#endif

/// A bundle of one table of two rows, CSV only: small enough to flip every byte of.
func smallBundle(in folder: String, format: ArchiveFormat = .zip) async throws -> String {
    let options = BundleOptions(
        outputDirectory: folder, formats: [.csv], archiveFormat: format, pseudonymizer: fixedKey,
        generatedAt: Timestamp(iso8601: "2026-11-25T10:00:00Z"))
    let builder = BundleBuilder(
        exporters: try ExporterRegistry([Many(count: 2)]), options: options, logger: Logger(label: "test"))
    return try await builder.build(
        for: ExportRequest(
            id: try RequestID("req-small"), purpose: .portability, scope: .tenant("x"),
            receivedAt: Timestamp(iso8601: "2026-11-20T09:00:00Z")!)
    ).archivePath
}

/// Every entry of an archive, in order, whole.
func entries(of archive: String) throws -> [(name: String, bytes: [UInt8])] {
    try ArchiveReader.read(archive) { reader in
        var entries: [(name: String, bytes: [UInt8])] = []
        while let entry = try reader.nextEntry() { entries.append((entry.name, try reader.readAll())) }
        return entries
    }
}

/// Adds payload files and lists them everywhere a careful sender would: Handover's manifest (as
/// documents), `manifest-sha256.txt`, the Payload-Oxum and `tagmanifest-sha256.txt`.
func addListed(_ entries: inout [(name: String, bytes: [UInt8])], _ files: [(path: String, bytes: [UInt8])]) throws {
    let root = entries[0].name.components(separatedBy: "/")[0]
    func index(_ name: String) -> Int { entries.firstIndex { $0.name == root + "/" + name }! }
    func text(_ name: String) -> String { String(decoding: entries[index(name)].bytes, as: UTF8.self) }
    var manifest = try ManifestCoding.decode(entries[index("manifest.json")].bytes)
    var lines = text("manifest-sha256.txt")
    var added = 0
    for file in files {
        let digest = sha256(file.bytes)
        manifest.documents.append(
            .init(path: file.path, mediaType: "text/plain", bytes: Int64(file.bytes.count), sha256: digest))
        lines += digest + "  " + file.path + "\n"
        added += file.bytes.count
        entries.append((root + "/" + file.path, file.bytes))
    }
    entries[index("manifest.json")].bytes = try ManifestCoding.encode(manifest)
    entries[index("manifest-sha256.txt")].bytes = Array(lines.utf8)
    let info = text("bag-info.txt").split(separator: "\n").map { line -> String in
        guard line.hasPrefix("Payload-Oxum: ") else { return String(line) }
        let parts = line.dropFirst("Payload-Oxum: ".count).split(separator: ".")
        return "Payload-Oxum: \(Int(parts[0])! + added).\(Int(parts[1])! + files.count)"
    }
    entries[index("bag-info.txt")].bytes = Array((info.joined(separator: "\n") + "\n").utf8)
    var tags = ""
    for line in text("tagmanifest-sha256.txt").split(separator: "\n") {
        let name = String(line.split(separator: " ").last!)
        tags += sha256(entries[index(name)].bytes) + "  " + name + "\n"
    }
    entries[index("tagmanifest-sha256.txt")].bytes = Array(tags.utf8)
}

/// Changes Handover's manifest and fixes the tag manifest, as a careful tamperer would.
func editManifest(_ entries: inout [(name: String, bytes: [UInt8])], _ change: (inout Manifest) -> Void) throws {
    let root = entries[0].name.components(separatedBy: "/")[0]
    func index(_ name: String) -> Int { entries.firstIndex { $0.name == root + "/" + name }! }
    var manifest = try ManifestCoding.decode(entries[index("manifest.json")].bytes)
    change(&manifest)
    entries[index("manifest.json")].bytes = try ManifestCoding.encode(manifest)
    var tags = ""
    for line in String(decoding: entries[index("tagmanifest-sha256.txt")].bytes, as: UTF8.self).split(separator: "\n") {
        let name = String(line.split(separator: " ").last!)
        tags += sha256(entries[index(name)].bytes) + "  " + name + "\n"
    }
    entries[index("tagmanifest-sha256.txt")].bytes = Array(tags.utf8)
}

/// The largest resident set this process has had, in bytes.
func peakResidentBytes() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_maxrss * 1024
}

@Suite struct HostileBundleTests {
    @Test func everyByteFlipThatChangesWhatAZipReaderSeesIsDetected() async throws {
        try await withTemporaryDirectory { folder in
            let archive = try await smallBundle(in: folder)
            #expect(BundleVerifier.verify(archive: archive).problems == [])
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: archive)))
            // Python's zipfile, a central-directory reader like unzip, is the judge of what a receiver reads:
            // each flip that changes an entry's name or content, or makes the archive unreadable to it.
            let script = """
                import io, json, sys, zipfile
                data = bytearray(open(sys.argv[1], 'rb').read())
                def read(b):
                    try:
                        z = zipfile.ZipFile(io.BytesIO(b))
                        return [(i.filename, z.read(i)) for i in z.infolist()]
                    except Exception:
                        return None
                original = read(bytes(data))
                assert original is not None
                changed = []
                for i in range(len(data)):
                    data[i] ^= 0xFF
                    if read(bytes(data)) != original:
                        changed.append(i)
                    data[i] ^= 0xFF
                print(json.dumps(changed))
                """
            let judged = try run("/usr/bin/env", ["python3", "-c", script, archive])
            #expect(judged.status == 0, "\(judged.stderr)")
            let changed = Set(try JSONDecoder().decode([Int].self, from: Data(judged.stdout.utf8)))
            // Every flip, verified in a few tasks at once, each with its own copy on disk.
            let tasks = 4
            let outcomes = try await withThrowingTaskGroup(of: [(Int, Bool)].self) { group in
                for task in 0..<tasks {
                    group.addTask {
                        let path = folder + "/flipped-\(task).zip"
                        var outcomes: [(Int, Bool)] = []
                        for offset in stride(from: task, to: bytes.count, by: tasks) {
                            var copy = bytes
                            copy[offset] ^= 0xFF
                            try Data(copy).write(to: URL(fileURLWithPath: path))
                            let report = BundleVerifier.verify(archive: path)
                            outcomes.append((offset, report.valid))
                            if offset % 5 == 0 {
                                // Every data file read ahead on a thread: the same problems.
                                let prefetched = BundleVerifier.verify(
                                    parts: [path], keys: VerificationKeys(), referencesInline: true, prefetchFrom: 0)
                                #expect(prefetched.problems == report.problems, "flip at \(offset)")
                            }
                        }
                        return outcomes
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(outcomes.count == bytes.count)
            let missed = outcomes.filter { changed.contains($0.0) && $0.1 }.map(\.0).sorted()
            let refusedUnchanged = outcomes.filter { !changed.contains($0.0) && !$0.1 }.count
            print(
                "byte flips: \(bytes.count); changing what zipfile reads: \(changed.count); detected: "
                    + "\(changed.count - missed.count); other flips refused: \(refusedUnchanged) of "
                    + "\(bytes.count - changed.count)")
            #expect(changed.count > bytes.count / 2, "the judge saw most flips")
            #expect(
                missed.isEmpty, "flips at offsets \(missed.prefix(20)) change what zipfile reads, yet verify passes")
        }
    }

    @Test func unlistedFilesOfZerosAreStreamedAndReportedWherever() async throws {
        try await withTemporaryDirectory { folder in
            let good = try await smallBundle(in: folder + "/good", format: .tzst)
            let files = try entries(of: good)
            let root = files[0].name.components(separatedBy: "/")[0]
            // 60 MiB of zeros, sparse on disk; 20 copies compress to almost nothing.
            let zeros = folder + "/zeros"
            #expect(FileManager.default.createFile(atPath: zeros, contents: nil))
            let handle = try #require(FileHandle(forWritingAtPath: zeros))
            try handle.truncate(atOffset: 60 << 20)
            try handle.close()
            let names = (0..<20).map { ["", "data/", "data/schemas/many/", "notes/"][$0 % 4] + "zeros-\($0).bin" }
            let path = folder + "/zeros.tar.zst"
            try ArchiveWriter.write(to: path, format: .tzst) { archive in
                for file in files { try archive.addFile(bytes: file.bytes, as: file.name, modificationTime: .now()) }
                for name in names { try archive.addFile(from: zeros, as: root + "/" + name, modificationTime: .now()) }
            }
            let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0
            let before = peakResidentBytes()
            let report = BundleVerifier.verify(archive: path)
            let growth = peakResidentBytes() - before
            print(
                "20 unlisted files of 60 MiB zeros in a \(size)-byte tar.zst: "
                    + "peak resident set grew \(growth >> 20) MiB")
            #expect(Set(report.problems.filter { $0.kind == .unlisted }.compactMap(\.path)) == Set(names))
            #expect(report.problems.allSatisfy { $0.kind == .unlisted || $0.kind == .bagit }, "\(report.problems)")
            // One file held whole would be 60 MiB.
            #expect(growth < 60 << 20)
        }
    }

    /// A manifest may not call a bundle complete when an exporter failed, nor partial when none did, nor list
    /// files of an exporter it records as failed.
    @Test(arguments: ["complete-over-failed", "partial-over-complete", "failed-with-files"])
    func aManifestWhoseStatusDoesNotFollowFromItsExportersIsAProblem(_ lie: String) async throws {
        try await withTemporaryDirectory { folder in
            var files = try entries(of: try await smallBundle(in: folder + "/good"))
            try editManifest(&files) { manifest in
                switch lie {
                case "complete-over-failed":
                    manifest.exporters[0].status = .failed
                    manifest.exporters[0].tables = []
                    manifest.status = .complete
                case "partial-over-complete":
                    manifest.status = .partial
                default:
                    manifest.exporters[0].status = .failed
                    manifest.status = .failed
                }
            }
            let path = folder + "/lie.zip"
            try ArchiveWriter.write(to: path, format: .zip) { archive in
                for file in files { try archive.addFile(bytes: file.bytes, as: file.name, modificationTime: .now()) }
            }
            let report = BundleVerifier.verify(archive: path)
            let messages = report.problems.filter { $0.kind == .manifest }.map(\.message)
            #expect(!report.valid)
            switch lie {
            case "complete-over-failed":
                #expect(messages.contains { $0.contains("status is complete but its exporters' make it failed") })
                #expect(messages.contains { $0.contains("recorded as failed but lists files") })
            case "partial-over-complete":
                #expect(messages == ["the bundle's status is partial but its exporters' make it complete"])
            default:
                #expect(messages == ["exporter many is recorded as failed but lists files"], "\(messages)")
            }
        }
    }

    @Test func twentyThousandListedFilesVerify() async throws {
        try await withTemporaryDirectory { folder in
            var files = try entries(of: try await smallBundle(in: folder + "/good"))
            let added = (1...20_000).map { number in
                (path: "data/notes/note-\(number).txt", bytes: Array("note \(number)\n".utf8))
            }
            try addListed(&files, added)
            let path = folder + "/many.zip"
            try ArchiveWriter.write(to: path, format: .zip) { archive in
                for file in files { try archive.addFile(bytes: file.bytes, as: file.name, modificationTime: .now()) }
            }
            let start = Date()
            let report = BundleVerifier.verify(archive: path)
            print("20,000 listed files: verified in \(Int(Date().timeIntervalSince(start) * 1000)) ms")
            #expect(report.problems == [], "\(report.problems.prefix(5))")
            #expect(report.files == files.count)
        }
    }

    @Test func listedFilesThatAreTooLargeToReadAreReportedNotHeld() async throws {
        try await withTemporaryDirectory { folder in
            var files = try entries(of: try await smallBundle(in: folder + "/good"))
            let root = files[0].name.components(separatedBy: "/")[0]
            let index = files.firstIndex { $0.name == root + "/datapackage.json" }!
            files[index].bytes += Array(repeating: 0x20, count: 17 << 20)
            let path = folder + "/large.zip"
            try ArchiveWriter.write(to: path, format: .zip) { archive in
                for file in files { try archive.addFile(bytes: file.bytes, as: file.name, modificationTime: .now()) }
            }
            let report = BundleVerifier.verify(archive: path)
            #expect(report.problems.contains { $0.path == "datapackage.json" && $0.message.contains("larger than") })
        }
    }
}
