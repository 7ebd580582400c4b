import HandoverCore

#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Darwin)
    internal import Darwin
#endif

/// A zip's structure as its own records state it, checked for agreement before libarchive reads a byte of it.
///
/// A zip states everything twice: the central directory at its end (which `unzip`, Python's
/// `zipfile` and most tools read) and a local header before each entry's data (which libarchive
/// takes names from). When the two disagree, two tools read two different archives from one file.
/// ``check(input:)`` reads the end record (and the Zip64 end record and locator when present),
/// the central directory (within ``centralDirectoryLimit``) and each local header and data
/// descriptor, never an entry's data, and refuses:
///
/// - a central directory and local header that disagree on an entry's name (byte for byte), flags,
///   compression method, CRC-32 or sizes, or a data descriptor that disagrees with the central directory;
/// - bytes no record accounts for: before the first entry, between entries, between the last entry and
///   the central directory, between the central directory and the end record, or after it. Entries
///   therefore neither overlap nor leave gaps;
/// - comments (on the archive or an entry; Handover writes none, and an archive comment is where a
///   second end record could hide), several disks, encryption, methods other than stored and deflate,
///   entries that need a version of the format later than 4.5,
///   Info-ZIP Unicode path fields (which some readers prefer to the name and others ignore), names
///   that are empty, hold a NUL byte, are not UTF-8, or are not ASCII without the UTF-8 flag (which
///   some readers would decode as CP437), the same name twice, and an entry count that differs from
///   the entries listed.
struct ZipLayout {
    /// The most bytes of central directory read (about 500,000 entries with short names).
    static let centralDirectoryLimit = 64 << 20

    /// Each entry's name, in central-directory order.
    var names: [String] = []

    /// One central-directory record, with Zip64 values applied.
    private struct Record {
        var name: [UInt8]
        var flags: UInt16
        var method: UInt16
        var crc: UInt32
        var compressedSize: UInt64
        var size: UInt64
        var offset: UInt64
    }

    private static func corrupt(_ what: String) -> HandoverError {
        HandoverError(.archiveCorrupt, "the zip's structure is inconsistent: " + what)
    }

    /// Reads and cross-checks the zip held in `input`.
    /// - Throws: ``HandoverError/Code/archiveCorrupt`` naming the kind of disagreement.
    static func check(input: any ArchiveInput) throws -> ZipLayout {
        let fileSize = input.size
        let file = Positioned(input: input)

        // The end record, last in the file: no archive comment, nothing after it.
        guard fileSize >= 22 else { throw corrupt("too short to hold an end of central directory record") }
        let endPosition = fileSize - 22
        let end = try file.read(at: endPosition, count: 22)
        guard end.u32(0) == 0x0605_4b50, end.u16(20) == 0 else {
            // Say why: a comment (which readers look behind for the record), or bytes after the record.
            let tail = try file.read(at: fileSize - min(fileSize, 22 + 0xFFFF), count: Int(min(fileSize, 22 + 0xFFFF)))
            let signatures = stride(from: tail.count - 22, through: 0, by: -1)
            if let found = signatures.first(where: { tail.u32($0) == 0x0605_4b50 }),
                found + 22 + Int(tail.u16(found + 20)) == tail.count
            {
                throw corrupt("the archive carries a comment (Handover writes none)")
            }
            throw corrupt("the end of central directory record is not at the end of the file")
        }
        var disk = UInt32(end.u16(4))
        var directoryDisk = UInt32(end.u16(6))
        var entriesHere = UInt64(end.u16(8))
        var entries = UInt64(end.u16(10))
        var directorySize = UInt64(end.u32(12))
        var directoryOffset = UInt64(end.u32(16))
        var directoryEnd = endPosition

        // Zip64: a locator just before the end record points to the Zip64 end record just before it.
        if endPosition >= 20, try file.read(at: endPosition - 20, count: 4).u32(0) == 0x0706_4b50 {
            let locator = try file.read(at: endPosition - 20, count: 20)
            guard locator.u32(4) == 0, locator.u32(16) == 1 else {
                throw corrupt("the Zip64 locator names other disks")
            }
            let recordOffset = locator.u64(8)
            guard recordOffset <= endPosition - 20, endPosition - 20 - recordOffset == 56 else {
                throw corrupt("the Zip64 end record is not where its locator says, or has extra bytes")
            }
            let record = try file.read(at: recordOffset, count: 56)
            guard record.u32(0) == 0x0606_4b50, record.u64(4) == 44 else {
                throw corrupt("the Zip64 end record is malformed")
            }
            func agree<T: FixedWidthInteger>(_ small: T, _ large: UInt64) -> Bool {
                small == T.max || UInt64(small) == large
            }
            guard agree(UInt16(disk), UInt64(record.u32(16))), agree(UInt16(directoryDisk), UInt64(record.u32(20))),
                agree(UInt16(entriesHere), record.u64(24)), agree(UInt16(entries), record.u64(32)),
                agree(UInt32(directorySize), record.u64(40)), agree(UInt32(directoryOffset), record.u64(48))
            else { throw corrupt("the end record and the Zip64 end record disagree") }
            disk = record.u32(16)
            directoryDisk = record.u32(20)
            entriesHere = record.u64(24)
            entries = record.u64(32)
            directorySize = record.u64(40)
            directoryOffset = record.u64(48)
            directoryEnd = recordOffset
        }
        guard disk == 0, directoryDisk == 0, entriesHere == entries else {
            throw corrupt("the archive spans several disks")
        }
        guard directoryOffset <= directoryEnd, directoryEnd - directoryOffset == directorySize else {
            throw corrupt(
                "bytes lie between the central directory and the end record, or the directory's size is wrong")
        }
        guard directorySize <= UInt64(centralDirectoryLimit) else {
            throw corrupt("the central directory is larger than \(centralDirectoryLimit >> 20) MiB")
        }
        guard entries <= directorySize / 46 else {
            throw corrupt("the entry count exceeds what the directory can hold")
        }

        // The central directory.
        let directory = try file.read(at: directoryOffset, count: Int(directorySize))
        var records: [Record] = []
        records.reserveCapacity(Int(entries))
        var seen = Set<[UInt8]>()
        var layout = ZipLayout()
        var position = 0
        while position < directory.count {
            guard directory.count - position >= 46, directory.u32(position) == 0x0201_4b50 else {
                throw corrupt("a central directory record is malformed")
            }
            let flags = directory.u16(position + 8)
            let method = directory.u16(position + 10)
            let nameLength = Int(directory.u16(position + 28))
            let extraLength = Int(directory.u16(position + 30))
            let commentLength = Int(directory.u16(position + 32))
            guard directory.count - position - 46 >= nameLength + extraLength + commentLength else {
                throw corrupt("a central directory record runs past the directory")
            }
            guard commentLength == 0 else { throw corrupt("an entry carries a comment (Handover writes none)") }
            let name = Array(directory[(position + 46)..<(position + 46 + nameLength)])
            let extra = directory[(position + 46 + nameLength)..<(position + 46 + nameLength + extraLength)]
            var record = Record(
                name: name, flags: flags, method: method, crc: directory.u32(position + 16),
                compressedSize: UInt64(directory.u32(position + 20)), size: UInt64(directory.u32(position + 24)),
                offset: UInt64(directory.u32(position + 42)))
            var entryDisk = UInt32(directory.u16(position + 34))
            try checkVersion(directory.u16(position + 6))
            try checkFlags(flags, method)
            layout.names.append(try checkName(name, flags))
            guard seen.insert(name).inserted else { throw corrupt("two entries have the same name") }
            // Zip64 values come in this order, each only when its field holds the marker.
            if let zip64 = try extraFields(extra)[0x0001] {
                var reader = LittleEndian(bytes: zip64)
                if record.size == 0xFFFF_FFFF { record.size = try reader.u64() }
                if record.compressedSize == 0xFFFF_FFFF { record.compressedSize = try reader.u64() }
                if record.offset == 0xFFFF_FFFF { record.offset = try reader.u64() }
                if entryDisk == 0xFFFF { entryDisk = try reader.u32() }
            }
            guard entryDisk == 0 else { throw corrupt("an entry lies on another disk") }
            records.append(record)
            position += 46 + nameLength + extraLength + commentLength
        }
        guard UInt64(records.count) == entries else {
            throw corrupt("the end record's entry count differs from the entries the central directory lists")
        }

        // Each entry's local header, data and data descriptor, back to back from offset 0 to the directory.
        let order = records.indices.sorted { records[$0].offset < records[$1].offset }
        var expected: UInt64 = 0
        for (rank, index) in order.enumerated() {
            let record = records[index]
            guard record.offset == expected else {
                throw corrupt(
                    record.offset < expected
                        ? "entries overlap" : "bytes that no entry accounts for lie before an entry")
            }
            let header = try file.read(at: record.offset, count: 30)
            guard header.u32(0) == 0x0403_4b50 else { throw corrupt("an entry's local header is missing") }
            let nameLength = Int(header.u16(26))
            let extraLength = Int(header.u16(28))
            let variable = try file.read(at: record.offset + 30, count: nameLength + extraLength)
            guard Array(variable[0..<nameLength]) == record.name else {
                throw corrupt("the central directory and a local header disagree on an entry's name")
            }
            try checkVersion(header.u16(4))
            guard header.u16(6) == record.flags else {
                throw corrupt("the central directory and a local header disagree on an entry's flags")
            }
            guard header.u16(8) == record.method else {
                throw corrupt("the central directory and a local header disagree on an entry's compression method")
            }
            var localCRC = header.u32(14)
            var localCompressed = UInt64(header.u32(18))
            var localSize = UInt64(header.u32(22))
            if let zip64 = try extraFields(variable[nameLength...])[0x0001] {
                var reader = LittleEndian(bytes: zip64)
                if localSize == 0xFFFF_FFFF { localSize = try reader.u64() }
                if localCompressed == 0xFFFF_FFFF { localCompressed = try reader.u64() }
            }
            // With a data descriptor (flag bit 3), the local header may leave the values zero.
            let deferred = record.flags & 0x0008 != 0
            if deferred && localCRC == 0 { localCRC = record.crc }
            if deferred && localCompressed == 0 { localCompressed = record.compressedSize }
            if deferred && localSize == 0 { localSize = record.size }
            guard localCRC == record.crc else {
                throw corrupt("the central directory and a local header disagree on an entry's CRC-32")
            }
            guard localCompressed == record.compressedSize, localSize == record.size else {
                throw corrupt("the central directory and a local header disagree on an entry's size")
            }
            let (dataStart, overflow1) = record.offset.addingReportingOverflow(UInt64(30 + nameLength + extraLength))
            let (dataEnd, overflow2) = dataStart.addingReportingOverflow(record.compressedSize)
            let next = rank + 1 < order.count ? records[order[rank + 1]].offset : directoryOffset
            guard !overflow1, !overflow2, dataEnd <= next else {
                throw corrupt("an entry's data runs into the next entry or the central directory")
            }
            let gap = next - dataEnd
            if deferred {
                guard gap <= 24 else { throw corrupt("bytes that no entry accounts for follow an entry's data") }
                let tail = try file.read(at: dataEnd, count: Int(gap))
                guard let descriptor = DataDescriptor(tail), descriptor.crc == record.crc,
                    descriptor.compressedSize == record.compressedSize, descriptor.size == record.size
                else { throw corrupt("an entry's data descriptor disagrees with the central directory") }
            } else if gap != 0 {
                throw corrupt("bytes that no entry accounts for follow an entry's data")
            }
            expected = next
        }
        if order.isEmpty && directoryOffset != 0 {
            throw corrupt("bytes that no entry accounts for lie before the central directory")
        }
        return layout
    }

    /// Refuses an entry that asks for a later version of the format than stored, deflate and Zip64 need
    /// (4.5); readers differ on such entries (Python's refuses from 6.4, libarchive ignores the field).
    private static func checkVersion(_ versionNeeded: UInt16) throws {
        guard versionNeeded & 0xFF <= 45 else { throw corrupt("an entry needs a later version of the zip format") }
    }

    /// Refuses what neither Handover writes nor every reader reads alike.
    private static func checkFlags(_ flags: UInt16, _ method: UInt16) throws {
        // Bit 0 encrypted, 5 patched data, 6 strong encryption, 13 masked headers.
        guard flags & 0b0010_0000_0110_0001 == 0 else { throw corrupt("an entry is encrypted or patched") }
        guard method == 0 || method == 8 else {
            throw corrupt("an entry uses a compression method other than stored or deflate")
        }
    }

    /// The name as every reader decodes it, or an error when readers could decode it differently.
    private static func checkName(_ name: [UInt8], _ flags: UInt16) throws -> String {
        guard !name.isEmpty, !name.contains(0) else { throw corrupt("an entry's name is empty or holds a NUL byte") }
        guard let text = String(validating: name, as: UTF8.self) else { throw corrupt("an entry's name is not UTF-8") }
        // Without the UTF-8 flag, readers decode names as CP437 or as the local character set.
        guard flags & 0x0800 != 0 || name.allSatisfy({ $0 < 0x80 }) else {
            throw corrupt("an entry's name is not ASCII but lacks the UTF-8 flag")
        }
        return text
    }

    /// The extra fields by their id; refuses malformed fields and those readers treat differently.
    private static func extraFields(_ extra: ArraySlice<UInt8>) throws -> [UInt16: ArraySlice<UInt8>] {
        var fields: [UInt16: ArraySlice<UInt8>] = [:]
        var position = extra.startIndex
        while position < extra.endIndex {
            guard extra.endIndex - position >= 4 else { throw corrupt("an entry's extra field is malformed") }
            let id = UInt16(extra[position]) | UInt16(extra[position + 1]) << 8
            let length = Int(UInt16(extra[position + 2]) | UInt16(extra[position + 3]) << 8)
            guard extra.endIndex - position - 4 >= length else { throw corrupt("an entry's extra field is malformed") }
            // Info-ZIP Unicode path and comment: some readers prefer them to the name, others ignore them.
            guard id != 0x7075, id != 0x6375 else { throw corrupt("an entry carries an alternative Unicode name") }
            guard fields[id] == nil else { throw corrupt("an entry repeats an extra field") }
            fields[id] = extra[(position + 4)..<(position + 4 + length)]
            position += 4 + length
        }
        return fields
    }

    /// A data descriptor: CRC-32 and sizes, 4 or 8 bytes each, with or without its signature.
    private struct DataDescriptor {
        var crc: UInt32
        var compressedSize: UInt64
        var size: UInt64

        init?(_ bytes: [UInt8]) {
            var body = bytes[...]
            if bytes.count == 16 || bytes.count == 24 {
                guard bytes.u32(0) == 0x0807_4b50 else { return nil }
                body = bytes[4...]
            }
            var reader = LittleEndian(bytes: body)
            switch body.count {
            case 12:
                guard let crc = try? reader.u32(), let compressed = try? reader.u32(), let size = try? reader.u32()
                else { return nil }
                (self.crc, compressedSize, self.size) = (crc, UInt64(compressed), UInt64(size))
            case 20:
                guard let crc = try? reader.u32(), let compressed = try? reader.u64(), let size = try? reader.u64()
                else { return nil }
                (self.crc, compressedSize, self.size) = (crc, compressed, size)
            default:
                return nil
            }
        }
    }

    /// Reads at absolute positions of a file of known size.
    private struct Positioned {
        let input: any ArchiveInput

        func read(at offset: UInt64, count: Int) throws -> [UInt8] {
            guard count >= 0, offset <= input.size, input.size - offset >= UInt64(count) else {
                throw ZipLayout.corrupt("a record points past the end of the file")
            }
            return try input.bytes(at: offset, count: count)
        }
    }

    /// Reads little-endian integers one after another.
    private struct LittleEndian {
        var bytes: ArraySlice<UInt8>

        mutating func u32() throws -> UInt32 { UInt32(truncatingIfNeeded: try take(4)) }

        mutating func u64() throws -> UInt64 { try take(8) }

        private mutating func take(_ count: Int) throws -> UInt64 {
            guard bytes.count >= count else { throw ZipLayout.corrupt("a Zip64 field is missing") }
            var value: UInt64 = 0
            for (shift, byte) in bytes.prefix(count).enumerated() { value |= UInt64(byte) << (8 * shift) }
            bytes = bytes.dropFirst(count)
            return value
        }
    }
}

extension Array where Element == UInt8 {
    fileprivate func u16(_ at: Int) -> UInt16 { UInt16(self[at]) | UInt16(self[at + 1]) << 8 }

    fileprivate func u32(_ at: Int) -> UInt32 { UInt32(u16(at)) | UInt32(u16(at + 2)) << 16 }

    fileprivate func u64(_ at: Int) -> UInt64 { UInt64(u32(at)) | UInt64(u32(at + 4)) << 32 }
}
