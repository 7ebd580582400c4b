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
            try FileManager.default.createDirectory(atPath: folder + "/bundle", withIntermediateDirectories: true)

            let recording = ContentFiles(root: folder + "/bundle", exporterID: "sales", policy: .record)
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
            let carried = try Data(
                contentsOf: URL(fileURLWithPath: folder + "/bundle/data/files/sales/items/a/pitch.wav"))
            #expect(carried == Data("RIFF recording".utf8))
            #expect(!FileManager.default.fileExists(atPath: folder + "/bundle/data/files/sales/items/b/pitch.wav"))

            let failing = ContentFiles(root: folder + "/bundle2", exporterID: "sales", policy: .fail)
            #expect {
                try failing.carry(
                    ExportFile(field: "file", path: "secret-name.wav", row: "id=7", source: stale), table: "items")
            } throws: { error in
                let message = (error as? HandoverError)?.message ?? ""
                return message.contains("table items, row id=7, field file") && !message.contains("secret-name")
            }
        }
    }
}
