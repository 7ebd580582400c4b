internal import CArchive
public import HandoverCore

#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Darwin)
    internal import Darwin
#endif

/// Writes an archive: a tar through libarchive, a zip through ``ZipWriter``.
///
/// Use ``write(to:format:compressionLevel:_:)``: the archive is written under a temporary name in
/// the destination's folder, flushed to disk, and only then given its final name. If the body
/// throws, or the process dies, no file stands under the final name.
public final class ArchiveWriter {
    /// libarchive's writer, for the tar formats; nil for zip.
    private let tar: OpaquePointer?
    /// The zip writer, for zip; nil for the tar formats.
    private let zip: ZipWriter?
    private let path: String
    private let format: ArchiveFormat
    private var closed = false
    /// The filters' chain to the file.
    private let output: FilteredOutput
    /// For the tar formats: the compressor between libarchive's tar stream and ``output``.
    private let chunked: ChunkedOutput?

    /// Writes an archive at `destination`, which must not exist yet.
    /// - Parameters:
    ///   - destination: The final path of the archive.
    ///   - format: The container format.
    ///   - compressionLevel: 0 to 9, or nil for the format's default.
    ///   - filters: Transformations of the archive's bytes on their way to the file, in order (encryption, a
    ///     digest of what is written); none by default.
    ///   - body: Adds the entries.
    /// - Returns: What `body` returns.
    /// - Throws: ``HandoverError/Code/outputExists`` when `destination` exists,
    ///   ``HandoverError/Code/outputUnavailable`` when its folder cannot be written,
    ///   ``HandoverError/Code/archiveFailed`` when libarchive fails, or what `body` throws.
    public static func write<T>(
        to destination: String, format: ArchiveFormat, compressionLevel: Int? = nil,
        filters: [any ArchiveOutputFilter] = [], _ body: (ArchiveWriter) throws -> T
    ) throws -> T {
        try write(
            to: destination, format: format, compressionLevel: compressionLevel, filters: filters,
            chunkSize: ParallelCompressor.defaultChunkSize, workers: ParallelCompressor.defaultWorkers, body)
    }

    /// ``write(to:format:compressionLevel:filters:_:)`` with the tar formats' chunk size and number of compressing
    /// threads chosen (tests use small chunks to get many of them), and the zip's Zip64 limits (tests lower them).
    static func write<T>(
        to destination: String, format: ArchiveFormat, compressionLevel: Int?, filters: [any ArchiveOutputFilter],
        chunkSize: Int, workers: Int, zipLimits: ZipWriter.Limits = ZipWriter.Limits(),
        _ body: (ArchiveWriter) throws -> T
    ) throws -> T {
        func create() throws -> T {
            try AtomicFile.create(at: destination) { descriptor, temporaryPath in
                let writer = try ArchiveWriter(
                    descriptor: descriptor, path: temporaryPath, format: format, level: compressionLevel,
                    filters: filters, chunkSize: chunkSize, workers: workers, zipLimits: zipLimits)
                defer { writer.free() }
                let result = try body(writer)
                try writer.close()
                return result
            }
        }
        // Only libarchive converts names through the locale; the zip writer takes them as UTF-8 bytes (and a process
        // that writes only zips does not load the locale's files).
        return try format == .zip ? create() : withUTF8Locale(create)
    }

    private init(
        descriptor: Int32, path: String, format: ArchiveFormat, level: Int?, filters: [any ArchiveOutputFilter],
        chunkSize: Int, workers: Int, zipLimits: ZipWriter.Limits
    ) throws {
        try format.checkLevel(level)
        self.path = path
        self.format = format
        let output = FilteredOutput(descriptor: descriptor, filters: filters)
        self.output = output
        guard format != .zip else {
            tar = nil
            chunked = nil
            let zip = ZipWriter(output: output, level: level, limits: zipLimits)
            self.zip = zip
            try zip.start()
            return
        }
        guard let archive = archive_write_new() else {
            throw HandoverError(.archiveFailed, "libarchive could not allocate a writer")
        }
        tar = archive
        zip = nil
        let chunked = ChunkedOutput(
            output: output, codec: ChunkCodec(format: format, level: level), chunkSize: chunkSize, workers: workers)
        self.chunked = chunked
        do {
            // Restricted pax: plain ustar headers, with pax extensions only where needed (UTF-8 or long names).
            // No filter here: the tar stream is cut into chunks that ChunkedOutput compresses on its own threads,
            // each chunk a gzip member, xz stream or zstd frame of its own.
            try check(archive_write_set_format_pax_restricted(archive), "set the pax format")
            // Write whole blocks as they fill; no padding of the last block.
            try check(archive_write_set_bytes_in_last_block(archive, 1), "set the block size")
            // No blocking: each header, data block and padding reaches ChunkedOutput as it is written, which
            // cuts the stream into chunks itself, and which must have a file's header before the compressed
            // content put after it (addCompressedFile).
            try check(archive_write_set_bytes_per_block(archive, 0), "set the block size")
            let client = Unmanaged.passUnretained(chunked).toOpaque()
            try check(
                archive_write_open2(archive, client, chunkedOpen, chunkedWrite, chunkedClose, nil), "open the file")
        } catch {
            chunked.abandon()
            archive_write_free(archive)
            throw error
        }
    }

    /// libarchive's writer; only the tar formats' paths use it.
    private var archive: OpaquePointer { tar! }

    private func free() {
        // After a failure, freeing closes the archive: nothing more is compressed or written.
        if !closed { chunked?.abandon() }
        if let tar { archive_write_free(tar) }
        chunked?.abandon()
    }

    private func close() throws {
        guard !closed else { return }
        closed = true
        if let zip { return try zip.finish() }
        try check(archive_write_close(archive), "finish the archive")
    }

    /// Adds a regular file read from disk, in blocks (memory does not grow with its size).
    /// - Parameters:
    ///   - source: The file to read.
    ///   - name: The entry's path inside the archive (UTF-8, relative, `/`-separated).
    ///   - modificationTime: The entry's mtime.
    ///   - stored: In a zip, store the bytes as they are instead of deflating them (media that is compressed
    ///     already); tar formats compress the whole stream either way.
    ///   - observe: Called with each block read, in order, before it is archived: a caller hashes what goes into
    ///     the archive to know it is what it checked.
    /// - Throws: ``HandoverError/Code/archiveFailed`` when reading or writing fails.
    public func addFile(
        from source: String, as name: String, modificationTime: Timestamp, stored: Bool = false,
        observe: (UnsafeRawBufferPointer) -> Void = { _ in }
    ) throws {
        let descriptor = try Self.openForReading(source)
        defer { _ = Glibc.close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw HandoverError(errno: errno, .archiveFailed, "cannot stat '\(source)'")
        }
        try writeHeader(name: name, size: Int64(status.st_size), modificationTime: modificationTime, stored: stored)
        let blockSize = 256 * 1024
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 16)
        defer { buffer.deallocate() }
        var total: Int64 = 0
        while true {
            let count = try Self.readBlock(descriptor, into: buffer, path: source)
            if count == 0 { break }
            observe(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            try writeData(UnsafeRawBufferPointer(rebasing: buffer[0..<count]), entry: name)
            total += Int64(count)
        }
        guard total == Int64(status.st_size) else {
            throw HandoverError(.archiveFailed, "'\(source)' changed size while it was archived")
        }
        try finishEntry(name)
    }

    /// Adds a regular file whose content ``ContentCompression`` compressed for this archive while it was written.
    /// In a tar, libarchive writes the entry's header (and its padding) into the tar stream, and the compressed bytes
    /// are put in line after the header as they are, standing for the content. In a zip, they are the entry's
    /// deflated data, after a local header that gives their CRC-32 and sizes.
    /// - Parameters:
    ///   - content: The compressed content (its format must be this archive's).
    ///   - name: The entry's path inside the archive.
    ///   - modificationTime: The entry's mtime.
    ///   - observe: Called with each block of compressed bytes read, in order: a caller hashes them to know they
    ///     are what was compressed.
    /// - Throws: ``HandoverError/Code/archiveFailed`` when reading or writing fails, or the content was compressed
    ///   for another format.
    package func addCompressedFile(
        _ content: CompressedFile.Content, as name: String, modificationTime: Timestamp,
        observe: (UnsafeRawBufferPointer) -> Void = { _ in }
    ) throws {
        guard content.format == format else {
            throw HandoverError(.archiveFailed, "\(name) was compressed for another archive format")
        }
        let source: String
        var held: [UInt8]?
        switch content.storage {
        case .memory(let bytes): (source, held) = (name, bytes)
        case .file(let path): source = path
        }
        let descriptor = held == nil ? try Self.openForReading(source) : -1
        defer { if descriptor >= 0 { _ = Glibc.close(descriptor) } }
        let blockSize = 256 * 1024
        var total: Int64 = 0
        func next() throws -> [UInt8]? {
            var piece: [UInt8]
            if let bytes = held {
                // Held in memory: the whole content in one piece.
                held = []
                piece = bytes
            } else if descriptor >= 0 {
                piece = [UInt8](repeating: 0, count: blockSize)
                let count = try piece.withUnsafeMutableBytes {
                    try Self.readBlock(descriptor, into: $0, path: source)
                }
                piece.removeLast(blockSize - count)
            } else {
                piece = []
            }
            guard !piece.isEmpty else { return nil }
            total += Int64(piece.count)
            piece.withUnsafeBytes { observe($0) }
            return piece
        }
        if let zip {
            try zip.addCompressed(
                name: name, modificationTime: modificationTime, crc: content.crc32, size: UInt64(content.size),
                compressedSize: UInt64(content.compressedBytes), stored: content.stored, next: next)
            return
        }
        guard let chunked else { throw HandoverError(.internalError, "a tar archive without its compressor") }
        try writeHeader(name: name, size: content.size, modificationTime: modificationTime, stored: false)
        try chunked.splice(next, length: content.size)
        guard total == content.compressedBytes else {
            throw HandoverError(.archiveFailed, "'\(source)' changed size while it was archived")
        }
        // libarchive counts the entry's bytes: hand it as many zeros, which ChunkedOutput drops.
        var remaining = content.size
        while remaining > 0 {
            let count = Int(min(remaining, Int64(Self.zeros.count)))
            try Self.zeros.withUnsafeBytes {
                try writeData(UnsafeRawBufferPointer(rebasing: $0[0..<count]), entry: name)
            }
            remaining -= Int64(count)
        }
        guard chunked.skipping == 0 else {
            throw HandoverError(.archiveFailed, "libarchive wrote entry \(name) with another size")
        }
        try finishEntry(name)
    }

    /// A descriptor reading `path`, for the caller to close.
    /// - Throws: ``HandoverError/Code/archiveFailed`` with the errno when the file cannot be opened.
    private static func openForReading(_ path: String) throws -> Int32 {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw HandoverError(errno: errno, .archiveFailed, "cannot read '\(path)'") }
        return descriptor
    }

    /// Reads the next bytes of `descriptor` into `buffer`, again when a signal interrupts the read; 0 at the end.
    /// - Throws: ``HandoverError/Code/archiveFailed`` with the errno when reading `path` fails.
    private static func readBlock(_ descriptor: Int32, into buffer: UnsafeMutableRawBufferPointer, path: String)
        throws -> Int
    {
        while true {
            let count = read(descriptor, buffer.baseAddress, buffer.count)
            if count >= 0 { return count }
            if errno != EINTR { throw HandoverError(errno: errno, .archiveFailed, "cannot read '\(path)'") }
        }
    }

    /// Zeros standing for a compressed file's content in libarchive's count (dropped on the way out).
    private static let zeros = [UInt8](repeating: 0, count: 256 * 1024)

    /// Adds a regular file from bytes in memory.
    /// - Parameters:
    ///   - bytes: The file's content.
    ///   - name: The entry's path inside the archive (UTF-8, relative, `/`-separated).
    ///   - modificationTime: The entry's mtime.
    ///   - stored: In a zip, store the bytes as they are instead of deflating them.
    ///   - observe: Called with the bytes before they are archived.
    /// - Throws: ``HandoverError/Code/archiveFailed`` when writing fails.
    public func addFile(
        bytes: [UInt8], as name: String, modificationTime: Timestamp, stored: Bool = false,
        observe: (UnsafeRawBufferPointer) -> Void = { _ in }
    ) throws {
        try writeHeader(name: name, size: Int64(bytes.count), modificationTime: modificationTime, stored: stored)
        try bytes.withUnsafeBytes {
            observe($0)
            try writeData($0, entry: name)
        }
        try finishEntry(name)
    }

    /// Adds a regular file a ``StagingArea`` kept: from memory, or read from its working file.
    /// - Throws: ``HandoverError/Code/archiveFailed`` when reading or writing fails.
    package func addFile(
        _ staged: StagedBytes, as name: String, modificationTime: Timestamp, stored: Bool = false,
        observe: (UnsafeRawBufferPointer) -> Void = { _ in }
    ) throws {
        switch staged {
        case .memory(let bytes):
            try addFile(bytes: bytes, as: name, modificationTime: modificationTime, stored: stored, observe: observe)
        case .file(let path):
            try addFile(from: path, as: name, modificationTime: modificationTime, stored: stored, observe: observe)
        }
    }

    /// Starts an entry of `size` bytes; in a zip, deflated or, when `stored`, stored as they are.
    private func writeHeader(name: String, size: Int64, modificationTime: Timestamp, stored: Bool) throws {
        if let zip {
            return try zip.begin(
                name: name, size: UInt64(size), modificationTime: modificationTime, stored: stored)
        }
        guard let entry = archive_entry_new() else { throw HandoverError(.archiveFailed, "libarchive out of memory") }
        defer { archive_entry_free(entry) }
        archive_entry_set_pathname_utf8(entry, name)
        archive_entry_set_filetype(entry, handover_archive_regular_file())
        archive_entry_set_perm(entry, 0o600)  // personal data: private to whoever unpacks it
        archive_entry_set_size(entry, size)
        setCommon(entry, modificationTime)
        try check(archive_write_header(archive, entry), "write entry \(name)")
    }

    private func setCommon(_ entry: OpaquePointer, _ time: Timestamp) {
        // Rounded down, so that the nanoseconds stay in 0..<1e9 before 1970 too.
        let (seconds, millis) = time.millisecondsSince1970.floorDivided(by: 1000)
        archive_entry_set_mtime(entry, time_t(seconds), Int(millis) * 1_000_000)
        archive_entry_set_uid(entry, 0)
        archive_entry_set_gid(entry, 0)
    }

    private func finishEntry(_ name: String) throws {
        if let zip { return try zip.end() }
        try check(archive_write_finish_entry(archive), "finish entry \(name)")
    }

    private func writeData(_ bytes: UnsafeRawBufferPointer, entry name: String) throws {
        if let zip { return try zip.write(bytes) }
        var offset = 0
        while offset < bytes.count {
            // archive_write_data returns the bytes taken, or a negative status; check every call.
            let written = archive_write_data(archive, bytes.baseAddress! + offset, bytes.count - offset)
            guard written > 0 else {
                if let failure = output.failure { throw failure }
                throw HandoverError(
                    .archiveFailed, "cannot write entry \(name)", underlying: libarchiveText(),
                    cause: libarchiveCause())
            }
            offset += written
        }
    }

    private func check(_ status: Int32, _ what: String) throws {
        guard status == ARCHIVE_OK || status == ARCHIVE_WARN else {
            if let failure = output.failure { throw failure }
            throw HandoverError(
                .archiveFailed, "libarchive could not \(what)", underlying: libarchiveText(), cause: libarchiveCause())
        }
    }

    private func libarchiveText() -> String? {
        archive_error_string(archive).map { String(cString: $0) }
    }

    private func libarchiveCause() -> HandoverError.Cause? {
        libarchiveErrno(archive)
    }
}

/// The `errno` libarchive recorded with its last error, as a cause; nil when it recorded none of its own
/// (`ARCHIVE_ERRNO_MISC` is -1).
func libarchiveErrno(_ archive: OpaquePointer) -> HandoverError.Cause? {
    let number = archive_errno(archive)
    return number > 0 ? .errno(number) : nil
}

/// A transformation of an archive's bytes on their way to the file: encryption, or a digest that passes the
/// bytes on unchanged. ``ArchiveWriter`` calls ``start()`` once, ``process(_:)`` for each block, and
/// ``finish()`` once at the end; what each returns goes on to the next filter, and from the last to the file.
public protocol ArchiveOutputFilter: AnyObject {
    /// The bytes that come first (a header); called once, before anything else.
    /// - Throws: ``HandoverError`` to fail the archive.
    func start() throws -> [UInt8]
    /// The bytes that stand for `bytes` (possibly fewer, held back until more come, or more).
    /// - Throws: ``HandoverError`` to fail the archive.
    func process(_ bytes: UnsafeRawBufferPointer) throws -> [UInt8]
    /// The bytes that end the output; called once, after the last ``process(_:)``.
    /// - Throws: ``HandoverError`` to fail the archive.
    func finish() throws -> [UInt8]
}

/// The chain from the archive's writer (libarchive's tar callbacks, or ``ZipWriter``) through the filters to the file.
final class FilteredOutput {
    let descriptor: Int32
    let filters: [any ArchiveOutputFilter]
    /// The first failure, reported instead of libarchive's generic one.
    var failure: HandoverError?
    /// The bytes written to the file so far.
    private(set) var written: Int64 = 0

    init(descriptor: Int32, filters: [any ArchiveOutputFilter]) {
        self.descriptor = descriptor
        self.filters = filters
    }

    /// Passes `bytes` from filter `index` on through the rest and writes what comes out.
    func pass(_ bytes: [UInt8], from index: Int) throws {
        var bytes = bytes
        for filter in filters[index...] {
            if bytes.isEmpty { return }
            bytes = try bytes.withUnsafeBytes { try filter.process($0) }
        }
        try writeAll(bytes)
    }

    func start() throws {
        for (index, filter) in filters.enumerated() { try pass(try filter.start(), from: index + 1) }
    }

    func process(_ bytes: UnsafeRawBufferPointer) throws {
        guard let first = filters.first else {
            try AtomicFile.writeAll(bytes, to: descriptor)
            written += Int64(bytes.count)
            return
        }
        try pass(try first.process(bytes), from: 1)
    }

    func finish() throws {
        for (index, filter) in filters.enumerated() { try pass(try filter.finish(), from: index + 1) }
    }

    private func writeAll(_ bytes: [UInt8]) throws {
        try AtomicFile.writeAll(bytes, to: descriptor)
        written += Int64(bytes.count)
    }

    /// Runs `body`, keeping its error for the writer; returns whether it succeeded.
    func attempt(_ body: () throws -> Void) -> Bool {
        do {
            try body()
            return true
        } catch let error as HandoverError {
            failure = failure ?? error
        } catch {
            failure = failure ?? HandoverError(.archiveFailed, "an output filter failed")
        }
        return false
    }
}
