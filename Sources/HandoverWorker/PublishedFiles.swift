internal import Crypto
internal import Foundation
internal import HandoverCore
public import HandoverStore

extension ArchiveFile {
    /// The files published at `path`: the archive itself (and its detached `.minisig` signature when it has one),
    /// or each part (and signature) in a split bundle's folder in name order,
    /// with size and SHA-256 (read once, in blocks), for delivery's `ETag` and the API.
    /// - Throws: ``HandoverError/Code/outputUnavailable`` when a file cannot be read.
    public static func describe(published path: String) throws -> [ArchiveFile] {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw HandoverError(.outputUnavailable, "the published archive '\(path)' is not there")
        }
        let files: [(name: String, path: String)]
        if isFolder.boolValue {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            files = names.sorted().map { ($0, path + "/" + $0) }
        } else {
            // A signed archive's detached signature stands beside it and is delivered with it.
            let name = (path as NSString).lastPathComponent
            files =
                [(name, path)]
                + (FileManager.default.fileExists(atPath: path + ".minisig")
                    ? [(name + ".minisig", path + ".minisig")] : [])
        }
        return try files.map { file in
            guard let handle = FileHandle(forReadingAtPath: file.path) else {
                throw HandoverError(.outputUnavailable, "cannot read the published file '\(file.path)'")
            }
            defer { try? handle.close() }
            var hasher = SHA256()
            var bytes: Int64 = 0
            do {
                while let block = try handle.read(upToCount: 1 << 20), !block.isEmpty {
                    hasher.update(data: block)
                    bytes += Int64(block.count)
                }
            } catch {
                throw HandoverError(.outputUnavailable, "cannot read the published file '\(file.path)'")
            }
            return ArchiveFile(name: file.name, bytes: bytes, sha256: hasher.finalize().hexString)
        }
    }
}
