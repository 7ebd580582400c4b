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

/// One file written into a ``StagingArea``: its bytes held in memory while the area allows, then in a new working
/// file of it, which takes what was held and the rest. ``FileSink``'s plain files and ``CompressedFile``'s compressed
/// bytes are both kept this way. One thread at a time writes it.
package final class StagedWriter {
    /// Names the file in messages (a path in the bundle, or a working file's path; no data).
    private let label: String
    /// Where the bytes stay in memory while they are few; nil when they go to a working file from the start.
    private let staging: StagingArea?
    /// The bytes while they are held in memory.
    private var held: [UInt8] = []
    /// The working file, once there is one.
    package private(set) var path: String?
    private var descriptor: Int32 = -1

    /// A file held in `staging` while it allows; `label` names it in messages.
    package init(in staging: StagingArea, label: String) {
        self.staging = staging
        self.label = label
    }

    /// A file written to the new private file `path` from the start (mode 0600; it must not exist).
    /// - Throws: ``HandoverError/Code/outputUnavailable`` when it cannot be created.
    package init(creating path: String) throws {
        staging = nil
        label = path
        descriptor = try AtomicFile.createPrivateFile(at: path)
        self.path = path
    }

    deinit {
        if descriptor >= 0 { _ = close(descriptor) }
    }

    /// Adds the next bytes.
    /// - Throws: ``HandoverError/Code/outputUnavailable`` when the working file cannot be created or written.
    package func write(_ bytes: UnsafeRawBufferPointer) throws {
        if path == nil, let staging, staging.reserve(bytes.count, total: held.count + bytes.count) {
            held.append(contentsOf: bytes)
            return
        }
        if path == nil { try spill() }
        try writeAll(bytes)
    }

    /// Moves the bytes held in memory to a new working file, which takes the rest: the file outgrew the staging
    /// area's limit, or the export's allowance is spent.
    private func spill() throws {
        guard let staging else { throw HandoverError(.internalError, "a staged file without a place") }
        do {
            (path, descriptor) = try staging.createFile()
        } catch let error as HandoverError {
            throw HandoverError(.outputUnavailable, "cannot write the working file of \(label)", cause: error.cause)
        }
        try held.withUnsafeBytes { try writeAll($0) }
        staging.release(held.count)
        held = []
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        do {
            try AtomicFile.writeAll(bytes, to: descriptor)
        } catch let error as HandoverError {
            throw HandoverError(.outputUnavailable, "cannot write the working file of \(label)", cause: error.cause)
        }
    }

    /// Closes the working file, if there is one; once.
    /// - Returns: Where the bytes are.
    /// - Throws: ``HandoverError/Code/outputUnavailable`` when closing fails.
    package func finish() throws -> StagedBytes {
        if descriptor >= 0 {
            let result = close(descriptor)
            descriptor = -1
            guard result == 0 else {
                throw HandoverError(errno: errno, .outputUnavailable, "cannot close the working file of \(label)")
            }
        }
        defer { held = [] }
        return path.map { .file($0) } ?? .memory(held)
    }
}
