internal import Crypto
internal import HandoverArchive
internal import HandoverCore
internal import HandoverFormats

#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Darwin)
    internal import Darwin
#endif

/// A new file that counts and hashes (SHA-256) every byte written to it, and hands the same bytes to a validator
/// when one is attached.
///
/// With content compression (every archive format but tar.xz), the bytes are compressed as they are written instead
/// of stored: the working file `<path>.compressed` holds them compressed for the archive, and nothing is written at
/// `path`.
final class FileSink: ByteSink {
    let path: String
    /// Checks the bytes against the file's schema as they are written; ended by ``close()``.
    var validation: StreamValidation?
    /// Compresses the bytes for the archive as they are written, instead of storing them; ended by ``close()``.
    let compressed: CompressedFile?
    private var descriptor: Int32
    private var hasher = SHA256()
    private(set) var bytes: Int64 = 0

    /// Creates the file, or with `compression` its working file of compressed bytes; it must not exist.
    init(path: String, compression: ContentCompression? = nil) throws {
        self.path = path
        if let compression {
            compressed = try compression.file(at: path + ".compressed")
            descriptor = -1
            return
        }
        compressed = nil
        descriptor = try AtomicFile.createPrivateFile(at: path)
    }

    deinit {
        if descriptor >= 0 { _ = Glibc.close(descriptor) }
    }

    func write(_ buffer: UnsafeRawBufferPointer) throws {
        hasher.update(bufferPointer: buffer)
        if let compressed {
            try compressed.append(buffer)
        } else {
            do {
                try AtomicFile.writeAll(buffer, to: descriptor)
            } catch let error as HandoverError {
                throw HandoverError(.outputUnavailable, "cannot write '\(path)'", cause: error.cause)
            }
        }
        bytes += Int64(buffer.count)
        try validation?.push(buffer)
    }

    /// Closes the file and returns its SHA-256 in lowercase hexadecimal.
    func close() throws -> String {
        validation?.end()
        try compressed?.end()
        guard descriptor >= 0 else { return hasher.finalize().hexString }
        let result = Glibc.close(descriptor)
        descriptor = -1
        guard result == 0 else {
            throw HandoverError(errno: errno, .outputUnavailable, "cannot close '\(path)'")
        }
        return hasher.finalize().hexString
    }

    /// Writes `bytes` to a new file at `path` (a working file of the bundle: private, and not flushed to disk, which
    /// only the published archive needs).
    /// - Throws: ``HandoverError/Code/outputUnavailable`` when the file cannot be created or written.
    static func write(_ bytes: some Collection<UInt8>, to path: String) throws {
        let file = try FileSink(path: path)
        try Array(bytes).withUnsafeBytes { try file.write($0) }
        _ = try file.close()
    }
}
