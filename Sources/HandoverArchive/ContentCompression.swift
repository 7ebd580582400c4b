internal import Crypto
internal import Foundation
public import HandoverCore

/// Compresses files while they are written, for an archive packed later: each file's content is cut into
/// 512 KiB chunks, compressed on two threads of their own, started at the first chunk, and kept in memory while they
/// are few (``StagingArea``), else in a working file of compressed bytes. For a tar, the chunks are zstd frames or
/// gzip members, exactly as the archive compresses its own tar stream; for a zip, they are pieces of one deflate
/// stream (``ChunkCodec/deflatePiece(_:last:)``), so that one entry is deflated on two cores. When the archive is packed,
/// ``ArchiveWriter/addCompressedFile(_:as:modificationTime:observe:)`` puts those bytes in the archive as they are,
/// so an export compresses its data while it writes it instead of after.
///
/// The file's bytes are compressed exactly as they are handed to ``CompressedFile/append(_:)``: the caller hands
/// the same blocks it hashes and validates. Every file of one export shares the two compressing threads; their
/// results are written in the order submitted, so memory stays bounded by the chunks in flight. One thread feeds
/// it at a time (the export's).
package final class ContentCompression: @unchecked Sendable {
    /// The archive format the content is compressed for.
    package let format: ArchiveFormat
    private let compressor: ParallelCompressor
    fileprivate let chunkSize: Int
    /// How the chunks are compressed: for zip, as pieces of one deflate stream per file, the last of which ends it
    /// (or, at level 0, kept as they are, for stored entries).
    fileprivate let codec: ChunkCodec
    /// The files being written, by stream number (from 1).
    private let box = Files()
    private var finished = false

    /// Compression for `format` at `level` (nil: the format's default); nil for tar.xz, whose encoders (3 MiB each
    /// at level 0, 9 MiB at 1, 94 MiB at 6) are kept away from the export's validators, so that it stays under
    /// 64 MiB at any level up to 1: its archive is compressed when it is packed.
    /// - Throws: ``HandoverError/Code/invalidArgument`` for a level the format does not take.
    package convenience init?(format: ArchiveFormat, level: Int?) throws {
        guard format != .txz else {
            try format.checkLevel(level)
            return nil
        }
        try self.init(
            format: format, level: level, chunkSize: ParallelCompressor.defaultChunkSize,
            workers: ParallelCompressor.defaultWorkers)
    }

    /// ``init(format:level:)`` with the chunk size and number of threads chosen (tests use small chunks).
    package init(format: ArchiveFormat, level: Int?, chunkSize: Int, workers: Int) throws {
        let codec = ChunkCodec(format: format, level: level)
        try format.checkLevel(level)
        self.format = format
        self.chunkSize = chunkSize
        let box = self.box
        compressor = ParallelCompressor(codec: codec, chunkSize: chunkSize, workers: workers) { stream, chunk in
            try box.files[stream]?.take(chunk)
        }
        self.codec = codec
    }

    /// The open files by stream number; read and changed on the feeding thread only.
    private final class Files {
        var files: [Int: CompressedFile] = [:]
    }

    /// Starts a file of compressed content at `path`, which must not exist (mode 0600).
    /// - Throws: ``HandoverError/Code/outputUnavailable`` when it cannot be created.
    package func file(at path: String) throws -> CompressedFile {
        guard !finished else { throw HandoverError(.internalError, "content compression has finished") }
        let file = try CompressedFile(path: path, stream: box.files.count + 1, owner: self)
        box.files[file.stream] = file
        return file
    }

    /// Starts a file of compressed content held in memory while `staging` allows, else in a working file of its
    /// folder.
    /// - Throws: ``HandoverError/Code/internalError`` after ``finish()``.
    package func file(in staging: StagingArea) throws -> CompressedFile {
        guard !finished else { throw HandoverError(.internalError, "content compression has finished") }
        let file = CompressedFile(staging: staging, stream: box.files.count + 1, owner: self)
        box.files[file.stream] = file
        return file
    }

    /// Writes every compressed chunk out, closes every file and stops the threads; after it, each ended file's
    /// ``CompressedFile/content`` is known.
    /// - Throws: ``HandoverError/Code/archiveFailed`` when compressing failed,
    ///   ``HandoverError/Code/outputUnavailable`` when writing failed.
    package func finish() throws {
        guard !finished else { return }
        finished = true
        defer { stop() }
        try compressor.finish()
        for file in box.files.values { try file.close() }
    }

    /// Whether the compressing threads were started (some file had bytes to compress); for tests.
    var threadsStarted: Bool { compressor.workersStarted }

    /// Stops the threads without writing more; the export failed. Safe to call more than once.
    package func stop() {
        compressor.stop()
    }

    fileprivate func submit(_ job: ChunkJob, stream: Int) throws {
        try compressor.submit(job, stream: stream)
    }
}

/// One file's content as it is being compressed; see ``ContentCompression``.
package final class CompressedFile {
    /// What a finished file holds: its compressed bytes (in memory or a working file) and what the archive needs to
    /// know.
    package struct Content: Sendable, Hashable {
        /// The compressed bytes: in memory, or in a working file.
        package let storage: StagedBytes
        /// The format they were compressed for.
        package let format: ArchiveFormat
        /// The content's size uncompressed (the tar entry's size).
        package let size: Int64
        /// The compressed bytes' count.
        package let compressedBytes: Int64
        /// The compressed bytes' SHA-256, lowercase hexadecimal: what the archive reads back must be what was
        /// compressed.
        package let compressedSHA256: String
        /// For zip, the content's CRC-32 (the entry records it); 0 for a tar.
        package let crc32: UInt32
        /// For zip at level 0, the bytes are the content as it is, for a stored entry; otherwise they are deflated.
        package let stored: Bool

        /// The working file of compressed bytes; nil when they are held in memory.
        package var path: String? { storage.path }
    }

    let stream: Int
    private unowned let owner: ContentCompression
    /// The compressed bytes, in memory or in a working file.
    private let output: StagedWriter
    private var closed = false
    private var current: [UInt8] = []
    private var size: Int64 = 0
    private var compressedBytes: Int64 = 0
    private var hasher = SHA256()
    /// For deflate: the CRC-32 of the content written so far.
    private var crc32: UInt32 = 0
    private var ended = false
    /// Chunks submitted and not yet written.
    private var pending = 0
    /// Set once the file has ended and its last chunk is written (its working file closed then, so that an export
    /// of many tables does not hold a descriptor for each), or by ``ContentCompression/finish()``.
    package private(set) var content: Content?

    fileprivate init(path: String, stream: Int, owner: ContentCompression) throws {
        self.stream = stream
        self.owner = owner
        output = try StagedWriter(creating: path)
    }

    fileprivate init(staging: StagingArea, stream: Int, owner: ContentCompression) {
        self.stream = stream
        self.owner = owner
        output = StagedWriter(in: staging, label: "a compressed file")
    }

    /// Adds the next bytes of the file's content.
    /// - Throws: What compressing or writing the chunks before threw.
    package func append(_ bytes: UnsafeRawBufferPointer) throws {
        guard !ended else { throw HandoverError(.internalError, "bytes added to a compressed file after its end") }
        let chunkSize = owner.chunkSize
        var offset = 0
        while offset < bytes.count {
            // A file's first chunk starts small and grows: most files of a subject's export are a few KiB, and a
            // 512 KiB buffer each is an mmap and munmap (with its TLB shootdown) per file. Later chunks take it whole.
            if current.isEmpty { current.reserveCapacity(size == 0 ? min(chunkSize, 16 << 10) : chunkSize) }
            let take = min(chunkSize - current.count, bytes.count - offset)
            current.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + take]))
            offset += take
            size += Int64(take)
            if current.count == chunkSize { try submitCurrent(last: false) }
        }
    }

    /// Says the content is complete: its last, partial chunk is compressed too (for deflate, always a last chunk,
    /// however short, which ends the stream).
    /// - Throws: What compressing or writing the chunks before threw.
    package func end() throws {
        guard !ended else { return }
        ended = true
        if !current.isEmpty || owner.codec.kind == .deflate { try submitCurrent(last: true) }
        if pending == 0 { try close() }
    }

    private func submitCurrent(last: Bool) throws {
        let job = ChunkJob(bytes: current, last: owner.codec.kind == .deflate && last)
        current = []
        pending += 1
        try owner.submit(job, stream: stream)
    }

    /// Writes a compressed chunk, in order.
    fileprivate func take(_ chunk: CompressedChunk) throws {
        let bytes = chunk.bytes
        try bytes.withUnsafeBytes { try output.write($0) }
        hasher.update(data: bytes)
        compressedBytes += Int64(bytes.count)
        crc32 = ChunkCodec.crc32(combining: crc32, chunk.crc32, secondCount: chunk.count)
        pending -= 1
        if ended && pending == 0 { try close() }
    }

    /// Closes the working file, if there is one; an ended file's ``content`` is known from now on.
    fileprivate func close() throws {
        guard !closed else { return }
        closed = true
        let storage = try output.finish()
        if ended {
            content = Content(
                storage: storage, format: owner.format, size: size, compressedBytes: compressedBytes,
                compressedSHA256: hasher.finalize().hexString, crc32: crc32, stored: owner.codec.stores)
        }
    }
}

extension ChunkCodec {
    /// The codec that compresses a file's content for `format`: deflate for zip, and for a tar what compresses its
    /// stream.
    init(format: ArchiveFormat, level: Int?) {
        switch format {
        case .zip: self.init(kind: .deflate, level: level)
        case .tgz: self.init(kind: .gzip, level: level)
        case .txz: self.init(kind: .xz, level: level)
        case .tzst: self.init(kind: .zstd, level: level)
        }
    }
}

extension ArchiveFormat {
    /// Checks that the format takes compression level `level` (nil: its default).
    /// - Throws: ``HandoverError/Code/invalidArgument`` naming the levels it takes.
    func checkLevel(_ level: Int?) throws {
        if let level, !compressionLevels.contains(level) {
            throw HandoverError(
                .invalidArgument,
                "a compression level for \(rawValue) is \(compressionLevels.lowerBound) to \(compressionLevels.upperBound)"
            )
        }
    }
}
