internal import Foundation
internal import HandoverCore

#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Darwin)
    internal import Darwin
#endif

/// Where an export keeps its files between writing them and packing them into the archive: in memory while each is
/// small and the export's allowance lasts, otherwise in a private file of its working folder.
///
/// A subject's export then creates no working file at all, where it created one per data file and schema (54 for
/// the demo's subject in three formats), and an export of a large tenant holds at most ``memoryLimit`` bytes of its
/// files in memory: every file that outgrows ``fileLimit``, or comes when the allowance is spent, goes to disk, as all
/// of them did before. Creating and removing files is what costs most in a small export: on a busy ext4 file system
/// without a journal, each new file can take a third of a millisecond.
///
/// Files on disk are named by a number only (`<folder>/<n>`), never by a name from the data, and are mode 0600.
/// Safe to use from several threads (the compressing threads write the files they compress).
package final class StagingArea: @unchecked Sendable {
    /// The largest file held in memory by default: 256 KiB.
    package static let defaultFileLimit = 256 << 10
    /// The most bytes of one export's data files held in memory by default: 4 MiB (a tenant's export stays within its
    /// 64 MiB).
    package static let defaultMemoryLimit = 4 << 20

    /// The private working folder the files that do not stay in memory go to; it must exist.
    package let folder: String
    /// The largest file held in memory.
    package let fileLimit: Int
    /// The most bytes held in memory at once.
    package let memoryLimit: Int
    private let lock = NSLock()
    private var held = 0
    private var created = 0

    /// A staging area whose files on disk go into `folder`, which must exist.
    package init(
        folder: String, fileLimit: Int = StagingArea.defaultFileLimit,
        memoryLimit: Int = StagingArea.defaultMemoryLimit
    ) {
        self.folder = folder
        self.fileLimit = fileLimit
        self.memoryLimit = memoryLimit
    }

    /// Bytes held in memory now.
    package var heldBytes: Int { lock.withLock { held } }
    /// Files created on disk so far.
    package var filesCreated: Int { lock.withLock { created } }

    /// Takes `count` more bytes of the allowance for a file that would then hold `total` bytes in memory.
    /// - Returns: False, taking nothing, when the file would pass ``fileLimit`` or the export ``memoryLimit``: the
    ///   file goes to disk.
    package func reserve(_ count: Int, total: Int) -> Bool {
        guard total <= fileLimit else { return false }
        return lock.withLock {
            guard held + count <= memoryLimit else { return false }
            held += count
            return true
        }
    }

    /// Gives back `count` bytes of the allowance (a file that went to disk after all).
    package func release(_ count: Int) {
        lock.withLock { held -= count }
    }

    /// Creates a new private file (mode 0600) in the working folder, for a file that does not stay in memory.
    /// - Returns: Its path and descriptor, which the caller closes.
    /// - Throws: ``HandoverError/Code/outputUnavailable`` with the errno when it cannot be created.
    package func createFile() throws -> (path: String, descriptor: Int32) {
        let number = lock.withLock {
            created += 1
            return created
        }
        let path = folder + "/\(number)"
        return (path, try AtomicFile.createPrivateFile(at: path))
    }
}

/// A staged file's bytes: in memory, or in a working file on disk.
package enum StagedBytes: Sendable, Hashable {
    /// The bytes, held in memory.
    case memory([UInt8])
    /// The working file that holds them.
    case file(String)

    /// The working file's path; nil for bytes in memory.
    package var path: String? {
        if case .file(let path) = self { return path }
        return nil
    }

    /// Every byte, read from the working file when they are on disk.
    /// - Throws: ``HandoverError/Code/outputUnavailable`` when the working file cannot be read.
    package func read() throws -> [UInt8] {
        switch self {
        case .memory(let bytes):
            return bytes
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw HandoverError(.outputUnavailable, "cannot read the working file '\(path)'")
            }
            return Array(data)
        }
    }
}
