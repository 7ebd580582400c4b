import Foundation
import HandoverCore
import TestSupport
import Testing

@testable import HandoverBundle

/// The bundle's side of carrying files: it opens only the file its source checked, and names rows, not paths.
@Suite struct ContentFilesTests {
    @Test func aFileReplacedAfterTheCheckIsRefusedAndOneCheckedIsCarriedByteForByte() async throws {
        try await withTemporaryDirectory { folder in
            let path = folder + "/pitch.wav"
            try Data("RIFF recording".utf8).write(to: URL(fileURLWithPath: path))
            var status = stat()
            #expect(stat(path, &status) == 0)
            let checked = ExportFile.Source.file(path, device: UInt64(status.st_dev), inode: UInt64(status.st_ino))
            let stale = ExportFile.Source.file(path, device: UInt64(status.st_dev), inode: UInt64(status.st_ino) + 1)
            try FileManager.default.createDirectory(atPath: folder + "/work", withIntermediateDirectories: true)
            let stage = BundleStage(folder: folder + "/work")

            let recording = ContentFiles(stage: stage, exporterID: "sales", policy: .record)
            try recording.carry(
                ExportFile(field: "file", path: "a/pitch.wav", row: "id=1", source: checked), table: "items")
            try recording.carry(
                ExportFile(field: "file", path: "b/pitch.wav", row: "id=2", source: stale), table: "items")
            #expect(recording.records.map(\.path) == ["data/files/sales/items/a/pitch.wav"])
            #expect(recording.records.first?.mediaType == "audio/wav")
            #expect(
                recording.missing == [
                    Manifest.MissingFile(
                        table: "items", field: "file", row: "id=2", reason: "replaced while it was being read")
                ])
            // A small file is held in memory: nothing is written in the working folder.
            #expect(try stage["data/files/sales/items/a/pitch.wav"]?.read() == Array("RIFF recording".utf8))
            #expect(stage["data/files/sales/items/b/pitch.wav"] == nil)
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder + "/work").isEmpty)

            let failing = ContentFiles(stage: stage, exporterID: "sales", policy: .fail)
            #expect {
                try failing.carry(
                    ExportFile(field: "file", path: "secret-name.wav", row: "id=7", source: stale), table: "items")
            } throws: { error in
                let message = (error as? HandoverError)?.message ?? ""
                return message.contains("table items, row id=7, field file") && !message.contains("secret-name")
            }
        }
    }

    @Test func aFileLargerThanTheStagesLimitGoesToAPrivateWorkingFileWhole() async throws {
        try await withTemporaryDirectory { folder in
            let path = folder + "/talk.wav"
            // Larger than the limit, and than the 1 MiB blocks the file is read in.
            let content = (0..<(3 << 19)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) }
            try Data(content).write(to: URL(fileURLWithPath: path))
            var status = stat()
            #expect(stat(path, &status) == 0)
            let checked = ExportFile.Source.file(path, device: UInt64(status.st_dev), inode: UInt64(status.st_ino))
            try FileManager.default.createDirectory(atPath: folder + "/work", withIntermediateDirectories: true)
            let stage = BundleStage(folder: folder + "/work", fileLimit: 64 << 10)

            let files = ContentFiles(stage: stage, exporterID: "sales", policy: .fail)
            try files.carry(ExportFile(field: "file", path: "talk.wav", row: "id=1", source: checked), table: "items")
            let staged = try #require(stage["data/files/sales/items/talk.wav"])
            let working = try #require(staged.path, "a file past the limit is not held in memory")
            #expect(working.hasPrefix(folder + "/work/"))
            #expect(try staged.read() == content)
            #expect(files.records.first?.sha256 == content.sha256Hex)
            #expect(try FileManager.default.attributesOfItem(atPath: working)[.posixPermissions] as? Int == 0o600)
            #expect(stage.area.heldBytes == 0, "what the file held in memory before it outgrew it is given back")

            // A failed exporter's files are forgotten, and their working files removed.
            stage.remove(under: "data/files/sales")
            #expect(stage["data/files/sales/items/talk.wav"] == nil)
            #expect(!FileManager.default.fileExists(atPath: working))
        }
    }
}
