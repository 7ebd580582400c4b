internal import Foundation
internal import HandoverCore

#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Darwin)
    internal import Darwin
#endif

/// Files that appear under their final name only when complete.
///
/// Everything created here holds personal data, so it is private to its owner whatever the process's umask:
/// files are mode 0600 and folders 0700.
public enum AtomicFile {
    /// The mode of every file created here: read and write for the owner only.
    public static let fileMode: UInt32 = 0o600
    /// The mode of every folder created here: the owner only.
    public static let folderMode: UInt32 = 0o700

    /// The prefix of temporary files, so that leftovers of a killed process can be recognised.
    public static let temporaryPrefix = ".handover-partial-"

    /// Creates the new private file `path` (mode 0600, whatever the umask) for writing; it must not exist.
    /// - Returns: Its descriptor, which the caller closes.
    /// - Throws: ``HandoverError/Code/outputUnavailable`` naming the path, with the errno.
    package static func createPrivateFile(at path: String) throws -> Int32 {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, fileMode)
        guard descriptor >= 0 else { throw HandoverError(errno: errno, .outputUnavailable, "cannot create '\(path)'") }
        guard fchmod(descriptor, fileMode) == 0 else {
            let error = HandoverError(errno: errno, .outputUnavailable, "cannot create '\(path)'")
            _ = close(descriptor)
            throw error
        }
        return descriptor
    }

    /// Creates the file at `destination` through a temporary file in the same folder.
    ///
    /// The body writes through the descriptor; on success the file is flushed to disk, linked to
    /// its final name (never replacing an existing file), and the folder is flushed. On failure
    /// the temporary file is removed.
    /// - Parameters:
    ///   - destination: The final path; must not exist.
    ///   - body: Writes the content; gets the descriptor and the temporary path.
    /// - Throws: ``HandoverError/Code/outputExists``, ``HandoverError/Code/outputUnavailable``, or what `body` throws.
    public static func create<T>(at destination: String, _ body: (Int32, String) throws -> T) throws -> T {
        let (folder, name) = split(destination)
        if access(destination, F_OK) == 0 {
            throw HandoverError(.outputExists, "'\(destination)' already exists")
        }
        let temporary = folder + "/" + temporaryName(for: name)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, fileMode)
        guard descriptor >= 0 else {
            throw HandoverError(errno: errno, .outputUnavailable, "cannot create a file in '\(folder)'")
        }
        var linked = false
        defer {
            _ = close(descriptor)
            if !linked { unlink(temporary) }
        }
        // The umask can only take bits away; this makes the mode exact.
        guard fchmod(descriptor, fileMode) == 0 else {
            throw HandoverError(errno: errno, .outputUnavailable, "cannot make '\(temporary)' private")
        }
        let result = try body(descriptor, temporary)
        guard fsync(descriptor) == 0 else {
            throw HandoverError(errno: errno, .outputUnavailable, "cannot flush '\(temporary)' to disk")
        }
        guard link(temporary, destination) == 0 else {
            if errno == EEXIST { throw HandoverError(.outputExists, "'\(destination)' already exists") }
            throw HandoverError(errno: errno, .outputUnavailable, "cannot name the file '\(destination)'")
        }
        linked = true
        unlink(temporary)
        syncFolder(folder)
        return result
    }

    /// Creates the file at `destination` holding `bytes`, mode 0600, appearing only when complete (see
    /// ``create(at:_:)``).
    /// - Throws: ``HandoverError/Code/outputExists``, ``HandoverError/Code/outputUnavailable``.
    public static func write(_ bytes: [UInt8], to destination: String) throws {
        try create(at: destination) { descriptor, _ in try writeAll(bytes, to: descriptor) }
    }

    /// Creates the file at `destination` (see ``create(at:_:)``) holding what `filters` make of every byte of
    /// `source`, read in 1 MiB blocks: an archive encrypted, or copied while a digest of it is computed.
    /// - Returns: The bytes written.
    /// - Throws: What ``create(at:_:)``, the source or a filter throws; ``HandoverError/Code/outputUnavailable`` when
    ///   the source changes size while it is read.
    public static func write(from source: any ArchiveInput, to destination: String, filters: [any ArchiveOutputFilter])
        throws -> Int64
    {
        try create(at: destination) { descriptor, _ in
            let output = FilteredOutput(descriptor: descriptor, filters: filters)
            try output.start()
            var block = [UInt8](repeating: 0, count: 1 << 20)
            var offset: UInt64 = 0
            while true {
                let count = try block.withUnsafeMutableBytes { try source.read(at: offset, into: $0) }
                if count == 0 { break }
                offset += UInt64(count)
                try block.withUnsafeBytes { try output.process(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            }
            guard offset == source.size else {
                throw HandoverError(.outputUnavailable, "the file changed size while it was read")
            }
            try output.finish()
            return output.written
        }
    }

    /// Writes all of `bytes` to `descriptor`.
    /// - Throws: ``HandoverError/Code/outputUnavailable`` naming the `errno` when writing fails.
    public static func writeAll(_ bytes: [UInt8], to descriptor: Int32) throws {
        try bytes.withUnsafeBytes { try writeAll($0, to: descriptor) }
    }

    /// Writes all of `buffer` to `descriptor`, retrying short writes and interruptions.
    /// - Throws: ``HandoverError/Code/outputUnavailable`` naming the `errno` when writing fails.
    public static func writeAll(_ buffer: UnsafeRawBufferPointer, to descriptor: Int32) throws {
        var offset = 0
        while offset < buffer.count {
            let written = Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw HandoverError(errno: errno, .outputUnavailable, "cannot write a file")
            }
            offset += written
        }
    }

    /// A temporary name for `name`: the prefix, this process's id, this machine's tag, a random part, then `name`.
    static func temporaryName(for name: String) -> String {
        var random = SystemRandomNumberGenerator()
        return temporaryPrefix + String(getpid()) + "-" + hostTag + "-" + String(random.next() as UInt64, radix: 36)
            + "-" + name
    }

    /// Eight hex digits naming this machine (a hash of its host name), so that a process id is judged only on
    /// the machine it belongs to when several machines write into one shared folder.
    public static let hostTag: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count - 1)
        var hash: UInt32 = 2_166_136_261
        for byte in buffer.prefix(while: { $0 != 0 }) {
            hash = (hash ^ UInt32(UInt8(bitPattern: byte))) &* 16_777_619
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex
    }()

    /// Creates a private working folder inside `folder`, removed after `body` whatever happens.
    ///
    /// The folder carries the temporary prefix and this process's id, so that if the process is
    /// killed, ``removeLeftovers(in:)`` run by a later process removes it.
    /// - Throws: ``HandoverError/Code/outputUnavailable`` when it cannot be created, or what `body` throws.
    public static func withWorkingFolder<T>(in folder: String, named name: String, _ body: (String) async throws -> T)
        async throws -> T
    {
        let path = folder + "/" + temporaryName(for: name + ".d")
        guard mkdir(path, folderMode) == 0 else {
            throw HandoverError(errno: errno, .outputUnavailable, "cannot create a working folder in '\(folder)'")
        }
        defer { try? FileManager.default.removeItem(atPath: path) }
        guard chmod(path, folderMode) == 0 else {
            throw HandoverError(errno: errno, .outputUnavailable, "cannot make '\(path)' private")
        }
        return try await body(path)
    }

    /// Creates the folder at `destination` through a temporary folder beside it, renamed when `body` succeeds.
    ///
    /// Files written inside appear under the final folder all at once, or not at all.
    /// - Throws: ``HandoverError/Code/outputExists``, ``HandoverError/Code/outputUnavailable``, or what `body` throws.
    public static func createFolder<T>(at destination: String, _ body: (String) throws -> T) throws -> T {
        let (folder, name) = split(destination)
        let temporary = folder + "/" + temporaryName(for: name)
        guard mkdir(temporary, folderMode) == 0 else {
            throw HandoverError(errno: errno, .outputUnavailable, "cannot create a folder in '\(folder)'")
        }
        var published = false
        defer { if !published { try? FileManager.default.removeItem(atPath: temporary) } }
        guard chmod(temporary, folderMode) == 0 else {
            throw HandoverError(errno: errno, .outputUnavailable, "cannot make '\(temporary)' private")
        }
        let result = try body(temporary)
        syncFolder(temporary)
        guard access(destination, F_OK) != 0 else {
            throw HandoverError(.outputExists, "'\(destination)' already exists")
        }
        guard rename(temporary, destination) == 0 else {
            throw HandoverError(errno: errno, .outputUnavailable, "cannot name the folder '\(destination)'")
        }
        published = true
        syncFolder(folder)
        return result
    }

    /// Creates the folder at `path`, and any missing folder above it, private to the owner (mode 0700 whatever the
    /// umask). A folder that already exists is left as it is: its mode is the operator's choice.
    /// - Throws: ``HandoverError/Code/outputUnavailable`` when a folder cannot be created or a file stands in the way.
    public static func createPrivateFolder(at path: String) throws {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) {
            guard isFolder.boolValue else { throw HandoverError(.outputUnavailable, "'\(path)' is not a folder") }
            return
        }
        let (parent, _) = split(path)
        if parent != path, parent != "/", parent != "." { try createPrivateFolder(at: parent) }
        guard mkdir(path, folderMode) == 0 else {
            // Another process may have created it meanwhile; then it is theirs as it is.
            if errno == EEXIST, FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue
            {
                return
            }
            throw HandoverError(errno: errno, .outputUnavailable, "cannot create the folder '\(path)'")
        }
        guard chmod(path, folderMode) == 0 else {
            throw HandoverError(errno: errno, .outputUnavailable, "cannot make '\(path)' private")
        }
    }

    /// Removes what processes that are no longer running left in `folder` while writing; returns how many.
    ///
    /// Only names with the temporary prefix are touched, and only those written on this machine whose
    /// process id names no running process, so that a concurrent export into the same folder, from this
    /// machine or another sharing the folder, is left alone.
    @discardableResult
    public static func removeLeftovers(in folder: String) -> Int {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return 0 }
        var removed = 0
        for name in names where name.hasPrefix(temporaryPrefix) {
            let rest = name.dropFirst(temporaryPrefix.count)
            let fields = rest.split(separator: "-", maxSplits: 2)
            guard fields.count == 3, let pid = Int32(fields[0]), fields[1] == hostTag else { continue }
            if pid == getpid() || kill(pid, 0) == 0 || errno != ESRCH { continue }
            if (try? FileManager.default.removeItem(atPath: folder + "/" + name)) != nil { removed += 1 }
        }
        return removed
    }

    static func split(_ path: String) -> (folder: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let folder = String(path[..<slash])
        return (folder.isEmpty ? "/" : folder, String(path[path.index(after: slash)...]))
    }

    static func syncFolder(_ folder: String) {
        let descriptor = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        _ = fsync(descriptor)
        _ = close(descriptor)
    }
}
