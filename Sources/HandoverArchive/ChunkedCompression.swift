internal import CArchive
internal import CZlib
internal import Foundation
internal import HandoverCore

#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Darwin)
    internal import Darwin
#endif

/// How one chunk of a stream is compressed.
///
/// - gzip, xz, zstd (a tar stream, or a file's content for a tar): a whole zstd frame, gzip member or xz stream of
///   its own, made into memory by libarchive's raw format writer (xz, zstd) or libdeflate (gzip). Concatenated, the
///   chunks are one valid `.zst`, `.gz` or `.xz` file: zstd, gzip, xz, libarchive, Python and GNU tar all read on
///   from one frame, member or stream to the next.
/// - deflate (a zip entry's content): each chunk is deflated on its own by libdeflate, and every chunk but a file's
///   last is made to continue the stream (``deflatePiece(_:last:)``). Concatenated, the chunks are one deflate
///   stream.
struct ChunkCodec: Sendable {
    enum Kind: Sendable { case deflate, gzip, xz, zstd }

    let kind: Kind
    /// The level, or nil for the kind's default.
    let level: Int?

    /// The level xz uses when none is given: 0 (a 256 KiB dictionary, about 3 MiB of encoder memory), so that an
    /// export with two workers peaks well under 64 MiB. On a 1M-row tenant in every format, level 1 (1 MiB, about
    /// 9 MiB per encoder) peaked at 64-66 MiB for 5% less output and took longer (each chunk's encoder is new, and
    /// its pages are faulted in again); xz's own default, 6, needs 94 MiB per encoder.
    static let defaultXZLevel = 0
    /// The level zstd uses when none is given.
    static let defaultZstdLevel = 3

    /// The gzip extra subfield (RFC 1952, 2.3.1.1) that holds the whole member's length, so that a reader can find
    /// every member's trailer without inflating: `H`, `v`, then 4 bytes of length.
    static let gzipSubfieldID: (UInt8, UInt8) = (0x48, 0x76)

    /// The deflate level used when none is given: the default of zlib, `gzip` and `zip`.
    static let defaultDeflateLevel = 6

    /// Whether this codec stores instead of compressing: deflate at level 0, whose zip entries are stored (method 0),
    /// as `zip -0` and libarchive store them.
    var stores: Bool { kind == .deflate && level == 0 }

    /// Compresses a job's chunk; for deflate, also its CRC-32 (at level 0, the chunk as it is, to be stored).
    /// - Throws: ``HandoverError/Code/archiveFailed`` when libarchive, libdeflate or zlib fails.
    func compress(_ job: ChunkJob) throws -> CompressedChunk {
        guard kind == .deflate else { return CompressedChunk(bytes: try compress(job.bytes)) }
        return CompressedChunk(
            bytes: stores ? job.bytes : try deflatePiece(job.bytes, last: job.last),
            crc32: job.bytes.withUnsafeBytes { Self.crc32(0, $0) }, count: job.bytes.count)
    }

    /// Compresses `chunk` into one frame, member or stream (for deflate, a whole stream).
    /// - Throws: ``HandoverError/Code/archiveFailed`` when libarchive or libdeflate fails.
    func compress(_ chunk: [UInt8]) throws -> [UInt8] {
        switch kind {
        case .deflate: return try deflatePiece(chunk, last: true)
        case .gzip: return try Self.markGzipMember(try gzipMember(chunk))
        case .xz, .zstd: break
        }
        guard let archive = archive_write_new() else {
            throw HandoverError(.archiveFailed, "libarchive could not allocate a compressor")
        }
        defer { archive_write_free(archive) }
        let sink = MemorySink(capacity: chunk.count / 4 + 1024)
        func check(_ status: Int32, _ what: String) throws {
            guard status == ARCHIVE_OK || status == ARCHIVE_WARN else {
                throw HandoverError(
                    .archiveFailed, "libarchive could not \(what)",
                    underlying: archive_error_string(archive).map { String(cString: $0) },
                    cause: libarchiveErrno(archive))
            }
        }
        try check(archive_write_set_format_raw(archive), "set the raw format")
        switch kind {
        case .deflate, .gzip:
            break  // handled above, by libdeflate
        case .xz:
            try check(archive_write_add_filter_xz(archive), "add xz")
            // One thread per chunk: the chunks are the parallelism.
            try check(archive_write_set_options(archive, "xz:threads=1"), "use one thread")
            try check(
                archive_write_set_options(archive, "xz:compression-level=\(level ?? Self.defaultXZLevel)"),
                "set the level")
        case .zstd:
            try check(archive_write_add_filter_zstd(archive), "add zstd")
            try check(
                archive_write_set_options(archive, "zstd:compression-level=\(level ?? Self.defaultZstdLevel)"),
                "set the level")
        }
        try check(archive_write_set_bytes_per_block(archive, 64 * 1024), "set the block size")
        try check(archive_write_set_bytes_in_last_block(archive, 1), "set the block size")
        let client = Unmanaged.passUnretained(sink).toOpaque()
        try check(archive_write_open2(archive, client, nil, memoryWrite, nil, nil), "open the compressor")
        guard let entry = archive_entry_new() else { throw HandoverError(.archiveFailed, "libarchive out of memory") }
        defer { archive_entry_free(entry) }
        archive_entry_set_pathname(entry, "chunk")
        archive_entry_set_filetype(entry, handover_archive_regular_file())
        archive_entry_set_size(entry, Int64(chunk.count))
        try check(archive_write_header(archive, entry), "start a chunk")
        try chunk.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = archive_write_data(archive, bytes.baseAddress! + offset, bytes.count - offset)
                guard written > 0 else { return try check(ARCHIVE_FATAL, "compress a chunk") }
                offset += written
            }
        }
        try check(archive_write_close(archive), "finish a chunk")
        return sink.bytes
    }

    /// Adds to a gzip member's header (as libdeflate writes it: 10 bytes, no flags, no time) the extra field that
    /// gives the member's whole length.
    static func markGzipMember(_ member: [UInt8]) throws -> [UInt8] {
        guard member.count >= 18, member[0] == 0x1F, member[1] == 0x8B, member[2] == 8, member[3] == 0 else {
            throw HandoverError(.archiveFailed, "libdeflate wrote an unexpected gzip header")
        }
        let length = UInt32(member.count + 10)
        var marked: [UInt8] = [0x1F, 0x8B, 8, 0x04]  // FLG.FEXTRA
        marked.reserveCapacity(member.count + 10)
        marked += member[4..<9]
        marked.append(3)  // OS: Unix, as gzip on Linux and libarchive write (libdeflate says "unknown")
        marked += [8, 0, gzipSubfieldID.0, gzipSubfieldID.1, 4, 0]  // XLEN 8; one subfield of 4 bytes
        marked += (0..<4).map { UInt8(truncatingIfNeeded: length >> (8 * $0)) }
        marked += member[10...]
        return marked
    }
}

/// Where libarchive's raw writer puts a compressed chunk.
private final class MemorySink {
    var bytes: [UInt8] = []
    init(capacity: Int) { bytes.reserveCapacity(capacity) }
}

private let memoryWrite:
    @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, UnsafeRawPointer?, Int) -> la_ssize_t = {
        _, client, bytes, count in
        let sink = Unmanaged<MemorySink>.fromOpaque(client!).takeUnretainedValue()
        guard let bytes else { return 0 }
        sink.bytes.append(contentsOf: UnsafeRawBufferPointer(start: bytes, count: count))
        return la_ssize_t(count)
    }

/// A chunk to compress and, for deflate, whether it ends its stream. The other codecs compress every chunk alone.
struct ChunkJob {
    var bytes: [UInt8]
    var last = false
}

/// A compressed chunk; for deflate, with the CRC-32 and count of the bytes it holds (a zip entry records them).
struct CompressedChunk {
    var bytes: [UInt8]
    var crc32: UInt32 = 0
    var count = 0
}

/// Cuts a stream into chunks of a fixed size, compresses them on worker threads of its own, and hands the results
/// on in order.
///
/// The calling thread appends bytes and writes the results (through ``write``); the workers only compress. Chunks
/// are cut at fixed offsets, so the output is the same whatever the threads' timing. At most ``maximumInFlight``
/// (workers + 1) chunks are submitted and not yet written: the producer waits (writing what is ready) beyond
/// that, which bounds memory to about `(maximumInFlight + 1) × chunkSize` plus each worker's encoder.
///
/// Several streams can share one compressor (``submit(_:stream:)``): their chunks are compressed by the same workers
/// and written in the order submitted, each result with its stream's number. Bytes compressed already can be put
/// in line with the results (``insert(_:)``).
final class ParallelCompressor: @unchecked Sendable {
    /// The chunk size: 512 KiB. On a 155 MB export, 1 MiB chunks gave a zstd or gzip file 0.3-0.5% smaller but
    /// 7 MiB more peak memory (two workers, three chunks in flight); zstd lost nothing against one stream.
    static let defaultChunkSize = 512 << 10
    /// Workers: one per core, at most 2, so that memory stays bounded on larger machines too.
    static var defaultWorkers: Int { min(2, max(1, ProcessInfo.processInfo.activeProcessorCount)) }

    let codec: ChunkCodec
    let chunkSize: Int
    let maximumInFlight: Int
    /// Writes one result (a compressed chunk, or inserted bytes) of a stream; called on the producer's thread only,
    /// in the order submitted.
    private let write: (_ stream: Int, _ chunk: CompressedChunk) throws -> Void

    // Producer's state: touched by the calling thread only.
    private var current: [UInt8] = []
    private var finished = false

    // Shared state, guarded by `condition`.
    private let condition = NSCondition()
    private var queue: [(index: Int, job: ChunkJob)] = []
    private var results: [Int: CompressedChunk] = [:]
    /// The stream of each result not yet written, by index.
    private var streams: [Int: Int] = [:]
    private var submitted = 0
    private var nextToWrite = 0
    private var failure: (any Error)?
    private var stopping = false
    /// Workers started (at the first chunk to compress) and not yet returned.
    private var running = 0
    private var started = false
    private let workers: Int

    /// A compressor of one stream, whose results go to `write`; its `workers` threads start at its first chunk.
    convenience init(codec: ChunkCodec, chunkSize: Int, workers: Int, write: @escaping ([UInt8]) throws -> Void) {
        self.init(codec: codec, chunkSize: chunkSize, workers: workers, streams: { _, chunk in try write(chunk.bytes) })
    }

    /// A compressor of the chunks of any number of streams, whose results go to `write`; its `workers` threads start
    /// at the first chunk to compress, so that an archive or export with nothing to compress starts none.
    init(
        codec: ChunkCodec, chunkSize: Int, workers: Int,
        streams write: @escaping (_ stream: Int, _ chunk: CompressedChunk) throws -> Void
    ) {
        self.codec = codec
        self.chunkSize = chunkSize
        self.maximumInFlight = workers + 1
        self.write = write
        self.workers = workers
    }

    /// Adds bytes to the stream, submitting each chunk as it fills.
    /// - Throws: A worker's or ``write``'s failure.
    func append(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            if current.isEmpty { current.reserveCapacity(chunkSize) }
            let take = min(chunkSize - current.count, bytes.count - offset)
            current.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + take]))
            offset += take
            if current.count == chunkSize { try submitCurrent() }
        }
    }

    /// Submits what ``append(_:)`` holds as a chunk of its own, however short (nothing when it holds nothing).
    /// - Throws: A worker's or ``write``'s failure.
    func flush() throws {
        if !current.isEmpty { try submitCurrent() }
    }

    /// Puts `bytes`, compressed already, in line after everything submitted so far, as a result of stream 0.
    /// - Throws: A worker's or ``write``'s failure.
    func insert(_ bytes: [UInt8]) throws {
        try flush()
        try enqueue(ChunkJob(bytes: bytes), stream: 0, compressed: true)
    }

    /// Submits `job` of stream `stream` (one of several sharing this compressor) to be compressed.
    /// - Throws: A worker's or ``write``'s failure.
    func submit(_ job: ChunkJob, stream: Int) throws {
        try enqueue(job, stream: stream, compressed: false)
    }

    /// Submits the last, partial chunk, writes every result, and stops the workers.
    /// - Throws: A worker's or ``write``'s failure.
    func finish() throws {
        guard !finished else { return }
        finished = true
        defer { stop() }
        try flush()
        try drain(until: { $0.nextToWrite == $0.submitted })
    }

    /// Stops the workers, dropping what is queued; waits until they have returned. Safe to call more than once.
    func stop() {
        condition.lock()
        stopping = true
        queue.removeAll()
        condition.broadcast()
        while running > 0 { condition.wait() }
        condition.unlock()
    }

    private func submitCurrent() throws {
        let chunk = current
        current = []
        try enqueue(ChunkJob(bytes: chunk), stream: 0, compressed: false)
    }

    /// Waits for room, then queues `job` for a worker, or its bytes as a result already when `compressed`.
    private func enqueue(_ job: ChunkJob, stream: Int, compressed: Bool) throws {
        try drain(until: { $0.submitted - $0.nextToWrite < $0.maximumInFlight })
        condition.lock()
        if compressed {
            results[submitted] = CompressedChunk(bytes: job.bytes)
        } else {
            queue.append((submitted, job))
            if !started { startWorkers() }
        }
        if stream != 0 { streams[submitted] = stream }
        submitted += 1
        condition.broadcast()
        condition.unlock()
    }

    /// Whether the workers were started (a chunk was submitted to compress); for tests.
    var workersStarted: Bool {
        condition.lock()
        defer { condition.unlock() }
        return started
    }

    /// Starts the workers (the caller holds `condition`).
    private func startWorkers() {
        started = true
        running = workers
        for _ in 0..<workers {
            let thread = Thread { [self] in work() }
            thread.name = "handover-compress"
            thread.start()
        }
    }

    /// Writes results in order, waiting for them, until `done` holds (checked under the lock).
    private func drain(until done: (ParallelCompressor) -> Bool) throws {
        condition.lock()
        while true {
            if let failure {
                condition.unlock()
                throw failure
            }
            if stopping {
                condition.unlock()
                throw HandoverError(.archiveFailed, "the archive's compression was stopped")
            }
            var ready: [(stream: Int, chunk: CompressedChunk)] = []
            while let result = results.removeValue(forKey: nextToWrite) {
                ready.append((streams.removeValue(forKey: nextToWrite) ?? 0, result))
                nextToWrite += 1
            }
            if !ready.isEmpty {
                condition.unlock()
                do {
                    for result in ready { try write(result.stream, result.chunk) }
                } catch {
                    fail(error)
                    throw error
                }
                condition.lock()
                continue
            }
            if done(self) { break }
            condition.wait()
        }
        condition.unlock()
    }

    private func fail(_ error: any Error) {
        condition.lock()
        failure = failure ?? error
        condition.broadcast()
        condition.unlock()
    }

    /// A worker's loop: take the next chunk, compress it, post the result.
    private func work() {
        condition.lock()
        while true {
            while queue.isEmpty && !stopping { condition.wait() }
            if stopping || failure != nil { break }
            let job = queue.removeFirst()
            condition.unlock()
            let result = Result { try codec.compress(job.job) }
            condition.lock()
            switch result {
            case .success(let bytes): results[job.index] = bytes
            case .failure(let error): failure = failure ?? error
            }
            condition.broadcast()
        }
        running -= 1
        condition.broadcast()
        condition.unlock()
    }
}

/// The chain libarchive's tar writer writes into: the uncompressed tar stream goes to the compressor, whose chunks
/// go in order through the filters to the file.
final class ChunkedOutput {
    let output: FilteredOutput
    private(set) var compressor: ParallelCompressor?
    private let codec: ChunkCodec
    private let chunkSize: Int
    private let workers: Int
    /// Set when the archive is given up: closing then writes nothing more.
    var abandoned = false
    /// Bytes of libarchive's tar stream still to be dropped: a file's content whose compressed bytes were put in
    /// line already (``splice(_:length:)``).
    private(set) var skipping: Int64 = 0

    init(output: FilteredOutput, codec: ChunkCodec, chunkSize: Int, workers: Int) {
        self.output = output
        self.codec = codec
        self.chunkSize = chunkSize
        self.workers = workers
    }

    func start() throws {
        try output.start()
        let output = self.output
        compressor = ParallelCompressor(codec: codec, chunkSize: chunkSize, workers: workers) { bytes in
            try bytes.withUnsafeBytes { try output.process($0) }
        }
    }

    func finish() throws {
        try compressor?.finish()
        try output.finish()
    }

    /// Takes the next bytes of libarchive's tar stream: drops those ``skipping`` says to, compresses the rest.
    func take(_ bytes: UnsafeRawBufferPointer) throws {
        guard let compressor else { throw HandoverError(.archiveFailed, "the archive's compression is not open") }
        let dropped = Int(min(skipping, Int64(bytes.count)))
        skipping -= Int64(dropped)
        if dropped < bytes.count { try compressor.append(UnsafeRawBufferPointer(rebasing: bytes[dropped...])) }
    }

    /// Puts compressed bytes in line after what the stream held so far, and drops the next `length` bytes of the
    /// tar stream, which they stand for. `next` gives the compressed bytes piece by piece, nil at their end.
    func splice(_ next: () throws -> [UInt8]?, length: Int64) throws {
        guard let compressor, skipping == 0 else {
            throw HandoverError(.archiveFailed, "the archive's compression is not ready for a compressed file")
        }
        try compressor.flush()
        while let piece = try next() { try compressor.insert(piece) }
        skipping = length
    }

    /// Stops the workers without writing anything more.
    func abandon() {
        abandoned = true
        compressor?.stop()
    }
}

func chunked(_ client: UnsafeMutableRawPointer?) -> ChunkedOutput {
    Unmanaged<ChunkedOutput>.fromOpaque(client!).takeUnretainedValue()
}

let chunkedOpen: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?) -> Int32 = { _, client in
    let chunked = chunked(client)
    return chunked.output.attempt { try chunked.start() } ? ARCHIVE_OK : ARCHIVE_FATAL
}

let chunkedWrite: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, UnsafeRawPointer?, Int) -> la_ssize_t = {
    _, client, bytes, count in
    let chunked = chunked(client)
    // Freeing an abandoned writer makes libarchive write the tar's end: nothing more goes out.
    guard let bytes, !chunked.abandoned else { return la_ssize_t(ARCHIVE_FATAL) }
    return chunked.output.attempt { try chunked.take(UnsafeRawBufferPointer(start: bytes, count: count)) }
        ? la_ssize_t(count) : la_ssize_t(ARCHIVE_FATAL)
}

let chunkedClose: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?) -> Int32 = { _, client in
    let chunked = chunked(client)
    // libarchive calls close after a failed open or write too, and when an abandoned writer is freed.
    guard chunked.output.failure == nil, !chunked.abandoned else {
        chunked.abandon()
        return ARCHIVE_FATAL
    }
    return chunked.output.attempt { try chunked.finish() } ? ARCHIVE_OK : ARCHIVE_FATAL
}
