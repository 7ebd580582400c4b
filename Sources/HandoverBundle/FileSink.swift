internal import Crypto
internal import HandoverArchive
internal import HandoverCore
internal import HandoverFormats

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
    /// The bytes, in memory or in a working file; nil with compression.
    private let output: StagedWriter?
    private var hasher = SHA256()
    private(set) var bytes: Int64 = 0
    /// Where the bytes are, once ``close()`` returned (nil for compressed content: see ``compressed``).
    private(set) var staged: StagedBytes?

    /// A new file at `path` in the bundle, kept in `staging`, compressed with `compression` when given.
    init(path: String, staging: StagingArea, compression: ContentCompression? = nil) throws {
        self.path = path
        compressed = try compression?.file(in: staging)
        output = compressed == nil ? StagedWriter(in: staging, label: path) : nil
    }

    func write(_ buffer: UnsafeRawBufferPointer) throws {
        hasher.update(bufferPointer: buffer)
        if let compressed {
            try compressed.append(buffer)
        } else {
            try output?.write(buffer)
        }
        bytes += Int64(buffer.count)
        try validation?.push(buffer)
    }

    /// Closes the file and returns its SHA-256 in lowercase hexadecimal; ``staged`` says where its bytes are.
    func close() throws -> String {
        validation?.end()
        try compressed?.end()
        staged = try output?.finish()
        return hasher.finalize().hexString
    }
}
