internal import CZlib
internal import HandoverCore

#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Darwin)
    internal import Darwin
#endif

/// Writes a zip (APPNOTE 6.3) front to back, through ``FilteredOutput``, never seeking: what ``ArchiveWriter`` uses
/// for ``ArchiveFormat/zip``.
///
/// Handover writes its zips itself because libarchive's zip writer compresses every entry
/// itself, on one thread: an export's data files arrive deflated already (``ContentCompression``, on two cores),
/// and go in as they are, with the CRC-32 and sizes known in their local header. Other entries are deflated (or
/// stored) as they are added, with their CRC-32 and sizes in a data descriptor after their data, as libarchive
/// wrote them: an entry of up to ``Limits/wholeEntry`` bytes (1 MiB) is kept whole and deflated at once by
/// libdeflate, a larger one streams through zlib.
///
/// The layout is what ``ZipLayout`` accepts and what readers agree on: each entry's local header, data and
/// descriptor back to back from offset 0, then the central directory and the end record; no comments; names in
/// UTF-8, flagged as such when not ASCII; the same name never twice; Unix mode 0600; the modification time as a
/// DOS time (local time, as zip has it) and as UTC seconds (the `UT` field); uid and gid 0 (the `ux` field); Zip64
/// fields for an entry, an offset or a count too large for the classic ones.
final class ZipWriter {
    /// Where classic fields run out: a size or offset at or past ``largeValue`` and ``manyEntries`` entries or more
    /// take Zip64 fields. Tests lower them to write Zip64 into small archives.
    struct Limits {
        var largeValue: UInt64 = 0xFFFF_FFFF
        var manyEntries = 0xFFFF
        /// The largest entry deflated whole by libdeflate (about three times faster than zlib); a larger one, or one
        /// that grows past this while it is written, streams through zlib.
        var wholeEntry = 1 << 20
    }

    private let output: FilteredOutput
    private let level: Int32
    private let limits: Limits
    /// Bytes not yet handed to ``output`` (written in blocks of ``blockSize``: one age chunk each).
    private var pending: [UInt8] = []
    private static let blockSize = 64 * 1024
    /// Bytes of the zip so far, ``pending`` included.
    private var offset: UInt64 = 0
    private var directory: [UInt8] = []
    private var entries = 0
    private var names: Set<String> = []
    /// The entry being added through ``write(_:)``, between ``begin`` and ``end``.
    private var open: OpenEntry?
    /// The deflate stream of the entries added through ``write(_:)``, reset for each (made at the first).
    private var deflater: Deflater?
    /// The compressor of the small entries deflated whole (made at the first).
    private var wholeDeflater: WholeDeflater?

    private struct OpenEntry {
        var header: Header
        var crc: UInt32 = 0
        var size: UInt64 = 0
        var compressed: UInt64 = 0
        /// The content of a small deflated entry, kept whole to be deflated at once by libdeflate at ``end()``; nil
        /// when the entry streams through zlib.
        var whole: [UInt8]?
    }

    /// What an entry's local header and central record share.
    private struct Header {
        var name: [UInt8]
        var stored: Bool
        var modificationTime: Timestamp
        /// Whether the sizes are Zip64 fields (decided before the data, from the size the entry will have).
        var zip64: Bool
        /// Whether the CRC-32 and sizes follow the data in a descriptor.
        var deferred: Bool
        var localOffset: UInt64 = 0
    }

    init(output: FilteredOutput, level: Int?, limits: Limits = Limits()) {
        self.output = output
        self.level = Int32(level ?? ChunkCodec.defaultDeflateLevel)
        self.limits = limits
        pending.reserveCapacity(Self.blockSize)
    }

    /// Starts the output (the filters' headers).
    func start() throws {
        try output.start()
    }

    /// Starts an entry whose bytes follow through ``write(_:)``: deflated, or stored as they are when `stored`.
    /// `size` is what the content will hold, known before it is read (the file's size); its CRC-32 and compressed size
    /// follow the data in a descriptor.
    /// - Throws: ``HandoverError/Code/archiveFailed`` for a name the zip holds already or an entry still open.
    func begin(name: String, size: UInt64, modificationTime: Timestamp, stored: Bool) throws {
        // A deflated entry can come out slightly larger than its content; leave room for that.
        let largest = stored ? size : size + size >> 10 + 1024
        var header = Header(
            name: try claim(name), stored: stored || level == 0, modificationTime: modificationTime,
            zip64: largest >= limits.largeValue, deferred: true)
        header.localOffset = offset
        try emit(localHeader(header, crc: 0, size: 0, compressed: 0))
        var entry = OpenEntry(header: header)
        if !header.stored {
            if size <= UInt64(limits.wholeEntry) {
                entry.whole = []
                entry.whole?.reserveCapacity(Int(size))
            } else {
                try startDeflater()
            }
        }
        open = entry
    }

    /// Readies the zlib stream for an entry's bytes.
    private func startDeflater() throws {
        if let deflater { try deflater.reset() } else { deflater = try Deflater(level: level) }
    }

    /// Adds the next bytes of the entry ``begin`` started.
    /// - Throws: ``HandoverError/Code/archiveFailed`` when no entry is open or zlib fails; what the output throws.
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard var entry = open else { throw HandoverError(.internalError, "zip data written outside an entry") }
        entry.crc = ChunkCodec.crc32(entry.crc, bytes)
        entry.size += UInt64(bytes.count)
        if entry.header.stored {
            entry.compressed += UInt64(bytes.count)
            open = entry
            try emit(bytes)
        } else if var whole = entry.whole.take() {
            whole.append(contentsOf: bytes)
            guard whole.count > limits.wholeEntry else {
                entry.whole = whole
                open = entry
                return
            }
            // Larger than it said: zlib takes it from here, the bytes so far first.
            try startDeflater()
            guard let deflater else { throw HandoverError(.internalError, "a deflated zip entry has no deflater") }
            let out = try whole.withUnsafeBytes { try deflater.deflate($0, finish: false) }
            entry.compressed += UInt64(out.count)
            open = entry
            try emit(out)
        } else {
            guard let deflater else { throw HandoverError(.internalError, "a deflated zip entry has no deflater") }
            let out = try deflater.deflate(bytes, finish: false)
            entry.compressed += UInt64(out.count)
            open = entry
            try emit(out)
        }
    }

    /// Ends the entry ``begin`` started: the last deflated bytes, the data descriptor, the central record.
    /// - Throws: ``HandoverError/Code/archiveFailed`` when the entry came out larger than its header allowed.
    func end() throws {
        guard var entry = open else { throw HandoverError(.internalError, "no zip entry to end") }
        open = nil
        if let whole = entry.whole {
            if wholeDeflater == nil { wholeDeflater = try WholeDeflater(level: level) }
            guard let wholeDeflater else { throw HandoverError(.internalError, "a zip entry has no deflater") }
            let out = try wholeDeflater.deflate(whole)
            entry.compressed += UInt64(out.count)
            try emit(out)
        } else if !entry.header.stored {
            guard let deflater else { throw HandoverError(.internalError, "a deflated zip entry has no deflater") }
            let out = try deflater.deflate(UnsafeRawBufferPointer(start: nil, count: 0), finish: true)
            entry.compressed += UInt64(out.count)
            try emit(out)
        }
        let header = entry.header
        guard header.zip64 || (entry.size < limits.largeValue && entry.compressed < limits.largeValue) else {
            throw HandoverError(.archiveFailed, "a zip entry grew past the size its header allowed")
        }
        var descriptor = ZipBytes()
        descriptor.u32(0x0807_4B50)
        descriptor.u32(entry.crc)
        if header.zip64 {
            descriptor.u64(entry.compressed)
            descriptor.u64(entry.size)
        } else {
            descriptor.u32(UInt32(entry.compressed))
            descriptor.u32(UInt32(entry.size))
        }
        try emit(descriptor.bytes)
        record(header, crc: entry.crc, size: entry.size, compressed: entry.compressed)
    }

    /// Adds an entry whose content was deflated already (``CompressedFile``), or is `stored` as it is: its CRC-32
    /// and sizes go in its local header, then the bytes `next` gives, piece by piece (nil at their end), as they are.
    /// - Throws: ``HandoverError/Code/archiveFailed`` when the pieces do not add up to `compressedSize`, or a
    ///   stored entry's sizes differ.
    func addCompressed(
        name: String, modificationTime: Timestamp, crc: UInt32, size: UInt64, compressedSize: UInt64, stored: Bool,
        next: () throws -> [UInt8]?
    ) throws {
        guard open == nil else { throw HandoverError(.internalError, "a zip entry is still open") }
        guard !stored || size == compressedSize else {
            throw HandoverError(.archiveFailed, "a stored file's sizes differ")
        }
        var header = Header(
            name: try claim(name), stored: stored, modificationTime: modificationTime,
            zip64: max(size, compressedSize) >= limits.largeValue, deferred: false)
        header.localOffset = offset
        try emit(localHeader(header, crc: crc, size: size, compressed: compressedSize))
        var total: UInt64 = 0
        while let piece = try next() {
            total += UInt64(piece.count)
            try piece.withUnsafeBytes { try emit($0) }
        }
        guard total == compressedSize else {
            throw HandoverError(.archiveFailed, "a compressed file changed size while it was archived")
        }
        record(header, crc: crc, size: size, compressed: compressedSize)
    }

    /// Writes the central directory and the end records, and finishes the output.
    func finish() throws {
        guard open == nil else { throw HandoverError(.internalError, "a zip entry is still open") }
        let directoryOffset = offset
        try emit(directory)
        let directorySize = UInt64(directory.count)
        directory = []
        var end = ZipBytes()
        let zip64 =
            entries >= limits.manyEntries || directoryOffset >= limits.largeValue
            || directorySize >= limits.largeValue
        if zip64 {
            let recordOffset = offset
            end.u32(0x0606_4B50)
            end.u64(44)
            end.u16(Self.madeBy(45))
            end.u16(45)
            end.u32(0)  // this disk
            end.u32(0)  // the directory's disk
            end.u64(UInt64(entries))
            end.u64(UInt64(entries))
            end.u64(directorySize)
            end.u64(directoryOffset)
            end.u32(0x0706_4B50)
            end.u32(0)
            end.u64(recordOffset)
            end.u32(1)  // disks in all
        }
        let count = entries >= limits.manyEntries ? 0xFFFF : UInt16(entries)
        end.u32(0x0605_4B50)
        end.u16(0)
        end.u16(0)
        end.u16(count)
        end.u16(count)
        end.u32(directorySize >= limits.largeValue ? 0xFFFF_FFFF : UInt32(directorySize))
        end.u32(directoryOffset >= limits.largeValue ? 0xFFFF_FFFF : UInt32(directoryOffset))
        end.u16(0)  // no comment
        try emit(end.bytes)
        try flush()
        try output.finish()
    }

    // MARK: Records

    private func claim(_ name: String) throws -> [UInt8] {
        guard open == nil else { throw HandoverError(.internalError, "a zip entry is still open") }
        guard !name.isEmpty, !name.utf8.contains(0) else {
            throw HandoverError(.archiveFailed, "a zip entry's name is empty or holds a NUL byte")
        }
        guard name.utf8.count <= 0xFFFF else {
            throw HandoverError(.archiveFailed, "a zip entry's name is longer than 65,535 bytes")
        }
        guard names.insert(name).inserted else {
            throw HandoverError(.archiveFailed, "the zip holds an entry of that name already")
        }
        return Array(name.utf8)
    }

    /// Version 2.0 (deflate), 1.0 (stored) or 4.5 (Zip64) needed to extract.
    private static func versionNeeded(_ header: Header) -> UInt16 {
        header.zip64 ? 45 : header.stored ? 10 : 20
    }

    /// Made on Unix (3), by the version of the format it needs.
    private static func madeBy(_ version: UInt16) -> UInt16 { 3 << 8 | version }

    /// Bit 3: CRC-32 and sizes in a descriptor after the data; bit 11: the name is UTF-8.
    private static func flags(_ header: Header) -> UInt16 {
        (header.deferred ? 0x0008 : 0) | (header.name.allSatisfy { $0 < 0x80 } ? 0 : 0x0800)
    }

    /// The fields a local header and a central record share, in the same order: flags, method, DOS time and date,
    /// CRC-32, compressed size and size (the Zip64 marker when the sizes are in a Zip64 field).
    private static func shared(
        _ header: Header, crc: UInt32, size: UInt64, compressed: UInt64, into bytes: inout ZipBytes
    ) {
        let (time, date) = dosTime(header.modificationTime)
        bytes.u16(flags(header))
        bytes.u16(header.stored ? 0 : 8)
        bytes.u16(time)
        bytes.u16(date)
        bytes.u32(crc)
        bytes.u32(header.zip64 ? 0xFFFF_FFFF : UInt32(compressed))
        bytes.u32(header.zip64 ? 0xFFFF_FFFF : UInt32(size))
    }

    private func localHeader(_ header: Header, crc: UInt32, size: UInt64, compressed: UInt64) -> [UInt8] {
        var bytes = ZipBytes()
        bytes.u32(0x0403_4B50)
        bytes.u16(Self.versionNeeded(header))
        Self.shared(header, crc: crc, size: size, compressed: compressed, into: &bytes)
        var extra = Self.commonExtra(header.modificationTime)
        if header.zip64 {
            extra.u16(0x0001)
            extra.u16(16)
            extra.u64(size)
            extra.u64(compressed)
        }
        bytes.u16(UInt16(header.name.count))
        bytes.u16(UInt16(extra.bytes.count))
        bytes.append(header.name)
        bytes.append(extra.bytes)
        return bytes.bytes
    }

    /// Adds the entry's central directory record.
    private func record(_ header: Header, crc: UInt32, size: UInt64, compressed: UInt64) {
        let largeOffset = header.localOffset >= limits.largeValue
        var bytes = ZipBytes()
        let version = largeOffset ? 45 : Self.versionNeeded(header)
        bytes.u32(0x0201_4B50)
        bytes.u16(Self.madeBy(version))
        bytes.u16(version)
        Self.shared(header, crc: crc, size: size, compressed: compressed, into: &bytes)
        var extra = Self.commonExtra(header.modificationTime)
        if header.zip64 || largeOffset {
            // In this order, each only when its classic field holds the marker.
            extra.u16(0x0001)
            extra.u16(UInt16((header.zip64 ? 16 : 0) + (largeOffset ? 8 : 0)))
            if header.zip64 {
                extra.u64(size)
                extra.u64(compressed)
            }
            if largeOffset { extra.u64(header.localOffset) }
        }
        bytes.u16(UInt16(header.name.count))
        bytes.u16(UInt16(extra.bytes.count))
        bytes.u16(0)  // no comment
        bytes.u16(0)  // disk 0
        bytes.u16(0)  // internal attributes
        bytes.u32(UInt32(0o100600) << 16)  // a regular file, private to whoever unpacks it
        bytes.u32(largeOffset ? 0xFFFF_FFFF : UInt32(header.localOffset))
        bytes.append(header.name)
        bytes.append(extra.bytes)
        directory += bytes.bytes
        entries += 1
    }

    /// The `UT` field (the modification time in UTC seconds, when it fits) and the `ux` field (uid and gid 0).
    private static func commonExtra(_ time: Timestamp) -> ZipBytes {
        var extra = ZipBytes()
        let seconds = time.millisecondsSince1970.floorDivided(by: 1000).quotient
        if let utc = Int32(exactly: seconds) {
            extra.u16(0x5455)
            extra.u16(5)
            extra.append([1])  // the modification time only
            extra.u32(UInt32(bitPattern: utc))
        }
        extra.u16(0x7875)
        extra.u16(11)
        extra.append([1, 4, 0, 0, 0, 0, 4, 0, 0, 0, 0])
        return extra
    }

    /// The DOS time and date of `time` in local time, within what they can hold (1980 to 2107).
    static func dosTime(_ time: Timestamp) -> (time: UInt16, date: UInt16) {
        var seconds = time_t(time.millisecondsSince1970.floorDivided(by: 1000).quotient)
        var parts = tm()
        guard localtime_r(&seconds, &parts) != nil else { return (0, 0x21) }
        let year = Int(parts.tm_year) + 1900
        if year < 1980 { return (0, 0x21) }  // 1980-01-01 00:00:00
        if year > 2107 { return (0xBF7D, 0xFF9F) }  // 2107-12-31 23:59:58
        let dosTime = UInt16(parts.tm_hour) << 11 | UInt16(parts.tm_min) << 5 | UInt16(min(parts.tm_sec, 59) / 2)
        let dosDate = UInt16(year - 1980) << 9 | UInt16(parts.tm_mon + 1) << 5 | UInt16(parts.tm_mday)
        return (dosTime, dosDate)
    }

    // MARK: Output

    private func emit(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try emit($0) }
    }

    private func emit(_ bytes: UnsafeRawBufferPointer) throws {
        offset += UInt64(bytes.count)
        if pending.count + bytes.count <= Self.blockSize {
            pending.append(contentsOf: bytes)
            if pending.count == Self.blockSize { try flush() }
            return
        }
        try flush()
        if bytes.count >= Self.blockSize {
            try output.process(bytes)
        } else {
            pending.append(contentsOf: bytes)
        }
    }

    private func flush() throws {
        guard !pending.isEmpty else { return }
        try pending.withUnsafeBytes { try output.process($0) }
        pending.removeAll(keepingCapacity: true)
    }
}

/// One entry's raw deflate stream through zlib, fed piece by piece.
private final class Deflater {
    private var stream = z_stream()
    private var output = [UInt8](repeating: 0, count: 64 * 1024)

    init(level: Int32) throws {
        let status = handover_deflate_init_raw(&stream, level)
        guard status == Z_OK else {
            throw HandoverError(.archiveFailed, "zlib could not start deflating (status \(status))")
        }
    }

    deinit { deflateEnd(&stream) }

    /// Starts a new stream with the same level, keeping zlib's memory.
    func reset() throws {
        let status = deflateReset(&stream)
        guard status == Z_OK else {
            throw HandoverError(.archiveFailed, "zlib could not start deflating (status \(status))")
        }
    }

    /// Deflates `bytes`, ending the stream when `finish`; returns what zlib produced.
    func deflate(_ bytes: UnsafeRawBufferPointer, finish: Bool) throws -> [UInt8] {
        var produced: [UInt8] = []
        stream.next_in = UnsafeMutablePointer(mutating: bytes.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(bytes.count)
        while true {
            let status = output.withUnsafeMutableBufferPointer { buffer in
                stream.next_out = buffer.baseAddress
                stream.avail_out = uInt(buffer.count)
                let status = CZlib.deflate(&stream, finish ? Z_FINISH : Z_NO_FLUSH)
                produced += buffer[0..<(buffer.count - Int(stream.avail_out))]
                return status
            }
            if status == Z_STREAM_END { break }
            guard status == Z_OK || status == Z_BUF_ERROR else {
                throw HandoverError(.archiveFailed, "zlib could not deflate an entry (status \(status))")
            }
            // Without finishing, zlib is done with the input when it leaves output room over.
            if !finish && stream.avail_out > 0 { break }
        }
        return produced
    }
}

/// Little-endian fields of zip records, appended in order.
private struct ZipBytes {
    var bytes: [UInt8] = []

    mutating func u16(_ value: UInt16) {
        bytes += [UInt8(truncatingIfNeeded: value), UInt8(truncatingIfNeeded: value >> 8)]
    }

    mutating func u32(_ value: UInt32) {
        u16(UInt16(truncatingIfNeeded: value))
        u16(UInt16(truncatingIfNeeded: value >> 16))
    }

    mutating func u64(_ value: UInt64) {
        u32(UInt32(truncatingIfNeeded: value))
        u32(UInt32(truncatingIfNeeded: value >> 32))
    }

    mutating func append(_ more: [UInt8]) { bytes += more }
}
