internal import CArchive
public import HandoverCore

#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Darwin)
    internal import Darwin
#endif

/// One entry of an archive being read.
public struct ArchiveEntry: Sendable, Hashable {
    /// The entry's path as stored (UTF-8).
    public var name: String
    /// Whether it is a regular file (as opposed to a directory, link or device).
    public var isRegularFile: Bool
    /// Whether it is a directory.
    public var isDirectory: Bool
    /// The size the header declares, if it declares one.
    public var size: Int64?
    /// The modification time.
    public var modificationTime: Timestamp
}

/// Reads a zip, or a tar (plain, gzip, xz or Zstandard), one entry at a time.
///
/// Every reader of one file must see the same archive, so the reader refuses files that tools
/// could read differently (each refusal is ``HandoverError/Code/archiveCorrupt``):
///
/// - A zip is first checked structurally (see `ZipLayout`): its central directory, local headers,
///   data descriptors and end records must agree and account for every byte of the file. libarchive
///   then reads it through its central directory, and every name it reports must be one the
///   central directory lists, each once, all of them by the end.
/// - A tar's compressed stream must be whole: a stream without its end (a gzip member without its
///   trailer, a cut xz or Zstandard frame) is truncated, bytes after the compressed stream are
///   refused, and after the tar's end-of-archive blocks only zero padding may follow. A gzip's
///   trailers, which libarchive does not check, must match what was decompressed: a gzip is one
///   member, or members that each give their whole length in an extra field (as ``ArchiveWriter``
///   writes them), so that every member's CRC-32 and length are checked.
public final class ArchiveReader {
    fileprivate let archive: OpaquePointer
    /// For a zip: how many times each name the central directory lists is still to come.
    private var expectedNames: [String: Int]?
    /// For a tar: the decompressing reader the tar reader pulls from.
    private let stream: TarStream?
    private var finished = false
    /// For a tar: where the last entry's data (padded to 512 bytes) ends in the decompressed stream.
    private var tarDataEnd: UInt64 = 0
    /// For a zip: the position libarchive reads from.
    private let cursor: InputCursor

    /// Opens the archive at `path` for the duration of `body`.
    /// - Throws: ``HandoverError/Code/archiveCorrupt`` when it cannot be opened as an archive, or what `body` throws.
    public static func read<T>(_ path: String, _ body: (ArchiveReader) throws -> T) throws -> T {
        try read(input: try FileInput(path: path), label: path, body)
    }

    /// Opens the archive held in `input` for the duration of `body`; `label` names it in errors (a path).
    /// - Throws: ``HandoverError/Code/archiveCorrupt`` when it cannot be opened as an archive, or what `body` throws.
    public static func read<T>(input: any ArchiveInput, label: String, _ body: (ArchiveReader) throws -> T) throws -> T
    {
        try withUTF8Locale {
            let reader = try ArchiveReader(input: input, path: label)
            defer { reader.free() }
            return try body(reader)
        }
    }

    /// Opens the archive held in `input` for the duration of an asynchronous `body` (a reader that feeds a database
    /// between entries); `label` names it in errors. Run it with a preference for a blocking executor (see
    /// `ThreadPoolExecutor`): every read blocks. Each call on the reader sets the locale it needs, whichever thread
    /// the task resumes on.
    /// - Throws: ``HandoverError/Code/archiveCorrupt`` when it cannot be opened as an archive, or what `body` throws.
    public static func read<T>(
        input: any ArchiveInput, label: String, _ body: (ArchiveReader) async throws -> T
    ) async throws -> T {
        let reader = try withUTF8Locale { try ArchiveReader(input: input, path: label) }
        defer { reader.free() }
        return try await body(reader)
    }

    private init(input: any ArchiveInput, path: String) throws {
        var magic = [UInt8](repeating: 0, count: 4)
        let got = input.size >= 4 ? try magic.withUnsafeMutableBytes { try input.read(at: 0, into: $0) } : 0
        let isZip = got == 4 && (magic == [0x50, 0x4B, 0x03, 0x04] || magic == [0x50, 0x4B, 0x05, 0x06])

        guard let archive = archive_read_new() else {
            throw HandoverError(.archiveCorrupt, "libarchive could not allocate a reader")
        }
        self.archive = archive
        cursor = InputCursor(input)
        if isZip {
            stream = nil
            do {
                expectedNames = Dictionary(
                    try ZipLayout.check(input: input).names.map { ($0, 1) }, uniquingKeysWith: +)
            } catch {
                archive_read_free(archive)
                throw error
            }
            // Zip only through its central directory: the streaming zip reader would accept an
            // archive whose end has been cut off.
            archive_read_support_format_zip_seekable(archive)
            guard cursor.open(archive, seekable: true) == ARCHIVE_OK else {
                let text = cursor.failure?.description ?? archive_error_string(archive).map { String(cString: $0) }
                archive_read_free(archive)
                throw HandoverError(.archiveCorrupt, "cannot open '\(path)' as an archive", underlying: text)
            }
        } else {
            let stream: TarStream
            do {
                stream = try TarStream(path: path, input: input)
            } catch {
                archive_read_free(archive)
                throw error
            }
            self.stream = stream
            archive_read_support_format_tar(archive)
            let client = Unmanaged.passUnretained(stream).toOpaque()
            guard archive_read_open(archive, client, nil, tarStreamRead, nil) == ARCHIVE_OK else {
                let text = stream.failure ?? archive_error_string(archive).map { String(cString: $0) }
                archive_read_free(archive)
                stream.free()
                throw HandoverError(.archiveCorrupt, "cannot open '\(path)' as an archive", underlying: text)
            }
        }
    }

    private func free() {
        archive_read_free(archive)
        stream?.free()
    }

    /// Moves to the next entry; nil at the end.
    /// - Throws: ``HandoverError/Code/archiveCorrupt`` when the archive is damaged or truncated.
    public func nextEntry() throws -> ArchiveEntry? {
        // The locale is set here too, not only around `read`: an asynchronous reader may resume on another thread.
        try withUTF8Locale { try readNextEntry() }
    }

    private func readNextEntry() throws -> ArchiveEntry? {
        var entry: OpaquePointer?
        if finished { return nil }
        let status = archive_read_next_header(archive, &entry)
        if status == ARCHIVE_EOF {
            try finish()
            finished = true
            return nil
        }
        guard status == ARCHIVE_OK || status == ARCHIVE_WARN, let entry else {
            throw HandoverError(
                .archiveCorrupt, "cannot read the next entry", underlying: errorText(), cause: libarchiveErrno(archive))
        }
        let name: String
        if let utf8 = archive_entry_pathname_utf8(entry) {
            name = String(cString: utf8)
        } else if let raw = archive_entry_pathname(entry) {
            name = String(decoding: UnsafeRawBufferPointer(start: raw, count: strlen(raw)), as: UTF8.self)
        } else {
            name = ""
        }
        if expectedNames != nil {
            // The name libarchive took from the local header must be one the central directory lists.
            let key = expectedNames![name] != nil ? name : name + "/"
            guard let remaining = expectedNames![key], remaining > 0 else {
                throw HandoverError(.archiveCorrupt, "an entry's name is not one the zip's central directory lists")
            }
            expectedNames![key] = remaining - 1
        }
        if stream != nil {
            let size = UInt64(max(0, archive_entry_size(entry)))
            tarDataEnd = UInt64(max(0, archive_filter_bytes(archive, 0))) + (size + 511) / 512 * 512
        }
        let type = archive_entry_filetype(entry)
        return ArchiveEntry(
            name: name,
            isRegularFile: type == handover_archive_regular_file(),
            isDirectory: type == handover_archive_directory(),
            size: archive_entry_size_is_set(entry) != 0 ? archive_entry_size(entry) : nil,
            modificationTime: Timestamp(
                millisecondsSince1970: Int64(archive_entry_mtime(entry)) * 1000
                    + Int64(archive_entry_mtime_nsec(entry)) / 1_000_000))
    }

    /// Streams the current entry's data to `consume`, in blocks.
    /// - Throws: ``HandoverError/Code/archiveCorrupt`` when the data is damaged or truncated, or what `consume` throws.
    public func readData(_ consume: (UnsafeRawBufferPointer) throws -> Void) throws {
        let blockSize = 256 * 1024
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = archive_read_data(archive, buffer.baseAddress, blockSize)
            if count == 0 { return }
            guard count > 0 else {
                throw HandoverError(
                    .archiveCorrupt, "cannot read an entry's data", underlying: errorText(),
                    cause: libarchiveErrno(archive))
            }
            try consume(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
    }

    /// The current entry's data as a pull stream, valid until the next call to ``nextEntry()``.
    public func entrySource() -> EntrySource {
        EntrySource(reader: self)
    }

    /// The current entry's data, pulled block by block.
    public struct EntrySource: ByteSource {
        let reader: ArchiveReader

        /// Reads the next block of the entry; 0 at its end.
        /// - Throws: ``HandoverError/Code/archiveCorrupt`` when the data is damaged or truncated.
        public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            try withUTF8Locale {
                let count = archive_read_data(reader.archive, buffer.baseAddress, buffer.count)
                guard count >= 0 else {
                    throw HandoverError(
                        .archiveCorrupt, "cannot read an entry's data", underlying: reader.errorText(),
                        cause: libarchiveErrno(reader.archive))
                }
                return count
            }
        }
    }

    /// The current entry's data, whole; for small entries such as a manifest.
    /// - Parameter limit: The most bytes accepted.
    /// - Throws: ``HandoverError/Code/archiveCorrupt`` when damaged or larger than `limit`.
    public func readAll(limit: Int = 64 << 20) throws -> [UInt8] {
        var bytes: [UInt8] = []
        try readData { block in
            guard bytes.count + block.count <= limit else {
                throw HandoverError(.archiveCorrupt, "an entry is larger than \(limit) bytes")
            }
            bytes.append(contentsOf: block)
        }
        return bytes
    }

    fileprivate func errorText() -> String? {
        stream?.failure ?? stream?.cursor.failure?.description ?? cursor.failure?.description
            ?? archive_error_string(archive).map { String(cString: $0) }
    }

    /// The checks that can only be made once every entry has been read.
    private func finish() throws {
        if let expectedNames, expectedNames.values.contains(where: { $0 != 0 }) {
            throw HandoverError(.archiveCorrupt, "the zip's central directory lists entries that were not read")
        }
        if let stream {
            let consumed = UInt64(max(0, archive_filter_bytes(archive, 0)))
            // A tar ends with zero blocks; one cut at an entry's end reads as shorter, not as damaged.
            guard consumed >= tarDataEnd + 512 else {
                throw HandoverError(.archiveCorrupt, "the tar has no end-of-archive blocks (truncated)")
            }
            try stream.finish(tarConsumed: consumed)
        }
    }
}

/// The decompressed stream of a tar, pulled by libarchive's tar reader through ``tarStreamRead``.
///
/// A second libarchive reader (the raw format with the gzip, xz and Zstandard filters) decompresses
/// the file; keeping it separate lets the stream be read to its very end once the tar reader has
/// found the end of the archive, so that a truncated stream cannot pass.
private final class TarStream {
    let raw: OpaquePointer
    let path: String
    let input: any ArchiveInput
    /// The position the decompressing reader reads the file from.
    let cursor: InputCursor
    let fileSize: UInt64
    let buffer: UnsafeMutableRawBufferPointer
    /// What went wrong in the decompressing reader, for the tar reader's error.
    var failure: String?
    /// The bytes handed to the tar reader so far.
    var handed: UInt64 = 0
    /// The position just after the last non-zero byte handed to the tar reader.
    var lastNonZeroEnd: UInt64 = 0
    var crc = CRC32()
    /// Whether the stream is gzip, whose trailer libarchive does not check.
    var isGzip = false
    /// For a gzip of several members: each member's trailer, found through the length in its extra field.
    var members: [GzipMembers.Trailer]?
    /// The member whose decompressed bytes come next, and how many of them have come.
    var member = 0
    var memberDone: UInt64 = 0
    var ended = false
    private var freed = false

    init(path: String, input: any ArchiveInput) throws {
        fileSize = input.size
        self.path = path
        self.input = input
        cursor = InputCursor(input)
        guard let raw = archive_read_new() else {
            throw HandoverError(.archiveCorrupt, "libarchive could not allocate a reader")
        }
        self.raw = raw
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 16)
        archive_read_support_filter_gzip(raw)
        archive_read_support_filter_xz(raw)
        archive_read_support_filter_zstd(raw)
        archive_read_support_format_raw(raw)
        var entry: OpaquePointer?
        guard cursor.open(raw, seekable: false) == ARCHIVE_OK,
            archive_read_next_header(raw, &entry) == ARCHIVE_OK
        else {
            let text = cursor.failure?.description ?? archive_error_string(raw).map { String(cString: $0) }
            free()
            throw HandoverError(.archiveCorrupt, "cannot open '\(path)' as an archive", underlying: text)
        }
        guard archive_filter_count(raw) <= 2 else {
            free()
            throw HandoverError(.archiveCorrupt, "'\(path)' is compressed more than once")
        }
        isGzip = archive_filter_code(raw, 0) == ARCHIVE_FILTER_GZIP
        if isGzip {
            do {
                members = try GzipMembers.trailers(of: input)
            } catch {
                free()
                throw error
            }
        }
    }

    /// Checks `block` against the members' trailers; false when a member's CRC-32 or length does not match.
    func checkMembers(_ block: UnsafeRawBufferPointer, _ members: [GzipMembers.Trailer]) -> Bool {
        var offset = 0
        while true {
            // A member is checked as soon as its last byte has come (an empty one, at once).
            while member < members.count, memberDone == UInt64(members[member].size) {
                guard crc.value == members[member].crc else { return false }
                member += 1
                memberDone = 0
                crc = CRC32()
            }
            guard offset < block.count else { return true }
            guard member < members.count else { return false }
            let take = Int(min(UInt64(block.count - offset), UInt64(members[member].size) - memberDone))
            crc.update(UnsafeRawBufferPointer(rebasing: block[offset..<offset + take]))
            memberDone += UInt64(take)
            offset += take
        }
    }

    /// The index of the last non-zero byte, scanning back eight bytes at a time.
    static func lastNonZero(_ block: UnsafeRawBufferPointer) -> Int? {
        var end = block.count
        while end % 8 != 0 {
            if block[end - 1] != 0 { return end - 1 }
            end -= 1
        }
        while end >= 8, block.loadUnaligned(fromByteOffset: end - 8, as: UInt64.self) == 0 { end -= 8 }
        while end > 0 {
            if block[end - 1] != 0 { return end - 1 }
            end -= 1
        }
        return nil
    }

    func free() {
        guard !freed else { return }
        freed = true
        archive_read_free(raw)
        buffer.deallocate()
    }

    /// The next block of decompressed bytes, or 0 at the end, or `ARCHIVE_FATAL` with ``failure`` set.
    func next() -> Int {
        if ended { return 0 }
        let count = archive_read_data(raw, buffer.baseAddress, buffer.count)
        guard count >= 0 else {
            failure =
                cursor.failure?.description
                ?? ("the compressed stream is damaged or truncated ("
                    + (archive_error_string(raw).map { String(cString: $0) } ?? "no detail") + ")")
            return Int(ARCHIVE_FATAL)
        }
        if count == 0 {
            ended = true
            return 0
        }
        let block = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
        if let members {
            guard checkMembers(block, members) else {
                failure = "a gzip member's trailer does not match its data (damaged)"
                return Int(ARCHIVE_FATAL)
            }
        } else if isGzip {
            crc.update(block)
        }
        if let last = Self.lastNonZero(block) { lastNonZeroEnd = handed + UInt64(last) + 1 }
        handed += UInt64(count)
        return count
    }

    /// Reads the stream to its end after the tar reader found the end of the archive at `tarConsumed`.
    func finish(tarConsumed: UInt64) throws {
        guard lastNonZeroEnd <= tarConsumed else {
            throw HandoverError(.archiveCorrupt, "data follows the tar's end-of-archive blocks")
        }
        while true {
            let count = next()
            if count == 0 { break }
            guard count > 0 else { throw HandoverError(.archiveCorrupt, failure ?? "the compressed stream is damaged") }
            guard lastNonZeroEnd <= tarConsumed else {
                throw HandoverError(.archiveCorrupt, "data follows the tar's end-of-archive blocks")
            }
        }
        guard UInt64(max(0, archive_filter_bytes(raw, -1))) == fileSize else {
            throw HandoverError(.archiveCorrupt, "bytes follow the end of the compressed stream")
        }
        if let members {
            guard checkMembers(UnsafeRawBufferPointer(start: nil, count: 0), members), member == members.count else {
                throw HandoverError(.archiveCorrupt, "the gzip members' trailers do not match the stream (damaged)")
            }
        } else if isGzip {
            // libarchive does not check the gzip trailer: CRC-32 and length (mod 2^32) of the whole stream.
            guard fileSize >= 8 else { throw HandoverError(.archiveCorrupt, "the gzip trailer cannot be read") }
            let trailer = try input.bytes(at: fileSize - 8, count: 8)
            func word(_ at: Int) -> UInt32 {
                (0..<4).reduce(UInt32(0)) { $0 | UInt32(trailer[at + $1]) << (8 * $1) }
            }
            guard word(0) == crc.value, word(4) == UInt32(truncatingIfNeeded: handed) else {
                throw HandoverError(
                    .archiveCorrupt, "the gzip trailer does not match the stream (damaged, or several gzip members)")
            }
        }
    }
}

/// libarchive's read callback for the tar reader: the next block of the decompressed stream.
private let tarStreamRead:
    @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, UnsafeMutablePointer<UnsafeRawPointer?>?) -> la_ssize_t =
        { _, client, out in
            let stream = Unmanaged<TarStream>.fromOpaque(client!).takeUnretainedValue()
            let count = stream.next()
            if count > 0 { out?.pointee = UnsafeRawPointer(stream.buffer.baseAddress) }
            return la_ssize_t(count)
        }

/// The members of a gzip that ``ArchiveWriter`` wrote in chunks: each member's header carries an extra subfield
/// (`Hv`, 4 bytes) with the member's whole length, which leads from one member to the next without inflating.
enum GzipMembers {
    /// A member's trailer: the CRC-32 and length (mod 2^32) of its decompressed bytes.
    struct Trailer {
        var crc: UInt32
        var size: UInt32
    }

    /// The trailers of every member, or nil when the first member gives no length (a gzip of one member).
    /// - Throws: ``HandoverError/Code/archiveCorrupt`` when a member after the first gives no length, or the lengths
    ///   do not lead exactly to the end of the file.
    static func trailers(of input: any ArchiveInput) throws -> [Trailer]? {
        let size = input.size
        var offset: UInt64 = 0
        var trailers: [Trailer] = []
        while offset < size {
            guard let length = try memberLength(input, at: offset) else {
                if offset == 0 { return nil }
                throw HandoverError(.archiveCorrupt, "a gzip member gives no length (several kinds of member)")
            }
            guard length >= 28, size - offset >= length else {
                throw HandoverError(.archiveCorrupt, "a gzip member's length points past the end of the file")
            }
            let trailer = try input.bytes(at: offset + length - 8, count: 8)
            trailers.append(Trailer(crc: word(trailer, 0), size: word(trailer, 4)))
            offset += length
        }
        return trailers
    }

    /// The length in the extra field of the member at `offset`, or nil when it has none.
    private static func memberLength(_ input: any ArchiveInput, at offset: UInt64) throws -> UInt64? {
        guard input.size - offset >= 22 else { return nil }
        let header = try input.bytes(at: offset, count: 22)
        let id = ChunkCodec.gzipSubfieldID
        guard header[0] == 0x1F, header[1] == 0x8B, header[2] == 8, header[3] == 0x04,
            header[10] == 8, header[11] == 0, header[12] == id.0, header[13] == id.1, header[14] == 4,
            header[15] == 0
        else { return nil }
        return UInt64(word(header, 16))
    }

    private static func word(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[at + $1]) << (8 * $1) }
    }
}

/// CRC-32 (ISO-HDLC, as gzip and zip use it).
struct CRC32 {
    private static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 != 0 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }
    private var state: UInt32 = 0xFFFF_FFFF

    /// The CRC of everything given so far.
    var value: UInt32 { state ^ 0xFFFF_FFFF }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var crc = state
        Self.table.withUnsafeBufferPointer { table in
            for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        }
        state = crc
    }
}
