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

/// Reads an archive of any format libarchive knows, one entry at a time.
public final class ArchiveReader {
    fileprivate let archive: OpaquePointer

    /// Opens the archive at `path` for the duration of `body`.
    /// - Throws: ``HandoverError/Code/archiveCorrupt`` when it cannot be opened as an archive, or what `body` throws.
    public static func read<T>(_ path: String, _ body: (ArchiveReader) throws -> T) throws -> T {
        try withUTF8Locale {
            let reader = try ArchiveReader(path: path)
            defer { archive_read_free(reader.archive) }
            return try body(reader)
        }
    }

    private init(path: String) throws {
        guard let archive = archive_read_new() else {
            throw HandoverError(.archiveCorrupt, "libarchive could not allocate a reader")
        }
        self.archive = archive
        // Zip only through its central directory: the streaming zip reader would accept an
        // archive whose end has been cut off.
        archive_read_support_format_zip_seekable(archive)
        archive_read_support_format_tar(archive)
        archive_read_support_filter_all(archive)
        guard archive_read_open_filename(archive, path, 256 * 1024) == ARCHIVE_OK else {
            let text = archive_error_string(archive).map { String(cString: $0) }
            archive_read_free(archive)
            throw HandoverError(.archiveCorrupt, "cannot open '\(path)' as an archive", underlying: text)
        }
    }

    /// Moves to the next entry; nil at the end.
    /// - Throws: ``HandoverError/Code/archiveCorrupt`` when the archive is damaged or truncated.
    public func nextEntry() throws -> ArchiveEntry? {
        var entry: OpaquePointer?
        let status = archive_read_next_header(archive, &entry)
        if status == ARCHIVE_EOF { return nil }
        guard status == ARCHIVE_OK || status == ARCHIVE_WARN, let entry else {
            throw HandoverError(.archiveCorrupt, "cannot read the next entry", underlying: errorText())
        }
        let name: String
        if let utf8 = archive_entry_pathname_utf8(entry) {
            name = String(cString: utf8)
        } else if let raw = archive_entry_pathname(entry) {
            name = String(decoding: UnsafeRawBufferPointer(start: raw, count: strlen(raw)), as: UTF8.self)
        } else {
            name = ""
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
                throw HandoverError(.archiveCorrupt, "cannot read an entry's data", underlying: errorText())
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
                    throw HandoverError(.archiveCorrupt, "cannot read an entry's data", underlying: reader.errorText())
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
        archive_error_string(archive).map { String(cString: $0) }
    }
}
