internal import Crypto
internal import HandoverArchive
internal import HandoverCore
internal import HandoverFormats

#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Darwin)
    internal import Darwin
#endif

/// A new file of the bundle that counts and hashes (SHA-256) every byte written to it, and hands the same bytes to
/// a validator when one is attached.
///
/// The bytes are kept in memory while the staging area allows (see ``StagingArea``), and go to a working file of its
/// folder once they outgrow it. With content compression (every archive format but tar.xz), they are compressed as
/// they are written instead, and the compressed bytes are kept the same way.
final class FileSink: ByteSink {
    /// The file's path in the bundle (for messages).
    let path: String
    /// Checks the bytes against the file's schema as they are written; ended by ``close()``.
    var validation: StreamValidation?
    /// Compresses the bytes for the archive as they are written, instead of storing them; ended by ``close()``.
    let compressed: CompressedFile?
    private let staging: StagingArea
    /// The bytes while they are held in memory.
    private var held: [UInt8] = []
    /// The working file, once the bytes outgrew memory.
    private var workingFile: String?
    private var descriptor: Int32 = -1
    private var hasher = SHA256()
    private(set) var bytes: Int64 = 0
    /// Where the bytes are, once ``close()`` returned (nil for compressed content: see ``compressed``).
    private(set) var staged: StagedBytes?

    /// A new file at `path` in the bundle, kept in `staging`, compressed with `compression` when given.
    init(path: String, staging: StagingArea, compression: ContentCompression? = nil) throws {
        self.path = path
        self.staging = staging
        compressed = try compression?.file(in: staging)
    }

    deinit {
        if descriptor >= 0 { _ = Glibc.close(descriptor) }
    }

    func write(_ buffer: UnsafeRawBufferPointer) throws {
        hasher.update(bufferPointer: buffer)
        if let compressed {
            try compressed.append(buffer)
        } else if workingFile == nil, staging.reserve(buffer.count, total: held.count + buffer.count) {
            held.append(contentsOf: buffer)
        } else {
            if workingFile == nil { try spill() }
            do {
                try AtomicFile.writeAll(buffer, to: descriptor)
            } catch let error as HandoverError {
                throw HandoverError(.outputUnavailable, "cannot write the working file of \(path)", cause: error.cause)
            }
        }
        bytes += Int64(buffer.count)
        try validation?.push(buffer)
    }

    /// Moves the bytes held in memory to a new working file, which takes the rest.
    private func spill() throws {
        do {
            let (file, descriptor) = try staging.createFile()
            workingFile = file
            self.descriptor = descriptor
            try AtomicFile.writeAll(held, to: descriptor)
        } catch let error as HandoverError {
            throw HandoverError(.outputUnavailable, "cannot write the working file of \(path)", cause: error.cause)
        }
        staging.release(held.count)
        held = []
    }

    /// Closes the file and returns its SHA-256 in lowercase hexadecimal; ``staged`` says where its bytes are.
    func close() throws -> String {
        validation?.end()
        try compressed?.end()
        if descriptor >= 0 {
            let result = Glibc.close(descriptor)
            descriptor = -1
            guard result == 0 else {
                throw HandoverError(errno: errno, .outputUnavailable, "cannot close the working file of \(path)")
            }
        }
        if compressed == nil { staged = workingFile.map { .file($0) } ?? .memory(held) }
        held = []
        return hasher.finalize().hexString
    }
}
