internal import CArchive
public import HandoverCore

#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Darwin)
    internal import Darwin
#endif

/// Writes an archive through libarchive.
///
/// Use ``write(to:format:compressionLevel:_:)``: the archive is written under a temporary name in
/// the destination's folder, flushed to disk, and only then given its final name. If the body
/// throws, or the process dies, no file stands under the final name.
public final class ArchiveWriter {
    private let archive: OpaquePointer
    private let path: String
    private var closed = false

    /// Writes an archive at `destination`, which must not exist yet.
    /// - Parameters:
    ///   - destination: The final path of the archive.
    ///   - format: The container format.
    ///   - compressionLevel: 0 to 9, or nil for the format's default.
    ///   - body: Adds the entries.
    /// - Returns: What `body` returns.
    /// - Throws: ``HandoverError/Code/outputExists`` when `destination` exists,
    ///   ``HandoverError/Code/outputUnavailable`` when its folder cannot be written,
    ///   ``HandoverError/Code/archiveFailed`` when libarchive fails, or what `body` throws.
    public static func write<T>(
        to destination: String, format: ArchiveFormat, compressionLevel: Int? = nil,
        _ body: (ArchiveWriter) throws -> T
    ) throws -> T {
        try withUTF8Locale {
            try AtomicFile.create(at: destination) { descriptor, temporaryPath in
                let writer = try ArchiveWriter(
                    descriptor: descriptor, path: temporaryPath, format: format, level: compressionLevel)
                defer { writer.free() }
                let result = try body(writer)
                try writer.close()
                return result
            }
        }
    }

    private init(descriptor: Int32, path: String, format: ArchiveFormat, level: Int?) throws {
        guard let archive = archive_write_new() else {
            throw HandoverError(.archiveFailed, "libarchive could not allocate a writer")
        }
        self.archive = archive
        self.path = path
        do {
            if let level, !format.compressionLevels.contains(level) {
                throw HandoverError(
                    .invalidArgument,
                    "a compression level for \(format.rawValue) is \(format.compressionLevels.lowerBound) to \(format.compressionLevels.upperBound)"
                )
            }
            switch format {
            case .zip:
                try check(archive_write_set_format_zip(archive), "set the zip format")
                try check(archive_write_set_options(archive, "zip:compression=deflate"), "choose deflate")
                try check(archive_write_set_options(archive, "zip:hdrcharset=UTF-8"), "choose UTF-8 names")
                if let level {
                    try check(archive_write_set_options(archive, "zip:compression-level=\(level)"), "set the level")
                }
            case .tgz, .txz, .tzst:
                // Restricted pax: plain ustar headers, with pax extensions only where needed (UTF-8 or long names).
                try check(archive_write_set_format_pax_restricted(archive), "set the pax format")
                switch format {
                case .tgz:
                    try check(archive_write_add_filter_gzip(archive), "add gzip")
                    // No timestamp in the gzip header, so that the same bundle gives the same bytes.
                    try check(archive_write_set_options(archive, "gzip:!timestamp"), "drop the gzip timestamp")
                    if let level {
                        try check(
                            archive_write_set_options(archive, "gzip:compression-level=\(level)"), "set the level")
                    }
                case .txz:
                    try check(archive_write_add_filter_xz(archive), "add xz")
                    // One thread: xz's threaded mode holds a block per thread (about 150 MiB at level 6).
                    try check(archive_write_set_options(archive, "xz:threads=1"), "use one thread")
                    if let level {
                        try check(archive_write_set_options(archive, "xz:compression-level=\(level)"), "set the level")
                    }
                default:
                    try check(archive_write_add_filter_zstd(archive), "add zstd")
                    // One thread: zstd's threaded mode buffers jobs (about 40 MiB more) and was no faster here.
                    try check(
                        archive_write_set_options(archive, "zstd:compression-level=\(level ?? 3)"), "set the level")
                }
            }
            // Write whole blocks as they fill; no padding of the last block.
            try check(archive_write_set_bytes_in_last_block(archive, 1), "set the block size")
            try check(archive_write_open_fd(archive, descriptor), "open the file")
        } catch {
            archive_write_free(archive)
            throw error
        }
    }

    private func free() {
        archive_write_free(archive)
    }

    private func close() throws {
        guard !closed else { return }
        closed = true
        try check(archive_write_close(archive), "finish the archive")
    }

    /// Adds a regular file read from disk.
    /// - Parameters:
    ///   - source: The file to read.
    ///   - name: The entry's path inside the archive (UTF-8, relative, `/`-separated).
    ///   - modificationTime: The entry's mtime.
    /// - Throws: ``HandoverError/Code/archiveFailed`` when reading or writing fails.
    public func addFile(from source: String, as name: String, modificationTime: Timestamp) throws {
        let descriptor = open(source, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw HandoverError(errno: errno, .archiveFailed, "cannot read '\(source)'")
        }
        defer { _ = Glibc.close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw HandoverError(errno: errno, .archiveFailed, "cannot stat '\(source)'")
        }
        try writeHeader(name: name, size: Int64(status.st_size), modificationTime: modificationTime)
        let blockSize = 256 * 1024
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 16)
        defer { buffer.deallocate() }
        var total: Int64 = 0
        while true {
            let count = read(descriptor, buffer.baseAddress, blockSize)
            if count < 0 {
                if errno == EINTR { continue }
                throw HandoverError(errno: errno, .archiveFailed, "cannot read '\(source)'")
            }
            if count == 0 { break }
            try writeData(UnsafeRawBufferPointer(rebasing: buffer[0..<count]), entry: name)
            total += Int64(count)
        }
        guard total == Int64(status.st_size) else {
            throw HandoverError(.archiveFailed, "'\(source)' changed size while it was archived")
        }
        try check(archive_write_finish_entry(archive), "finish entry \(name)")
    }

    /// Adds a regular file from bytes in memory.
    /// - Throws: ``HandoverError/Code/archiveFailed`` when writing fails.
    public func addFile(bytes: [UInt8], as name: String, modificationTime: Timestamp) throws {
        try writeHeader(name: name, size: Int64(bytes.count), modificationTime: modificationTime)
        try bytes.withUnsafeBytes { try writeData($0, entry: name) }
        try check(archive_write_finish_entry(archive), "finish entry \(name)")
    }

    private func writeHeader(name: String, size: Int64, modificationTime: Timestamp) throws {
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

    private func writeData(_ bytes: UnsafeRawBufferPointer, entry name: String) throws {
        var offset = 0
        while offset < bytes.count {
            // archive_write_data returns the bytes taken, or a negative status; check every call.
            let written = archive_write_data(archive, bytes.baseAddress! + offset, bytes.count - offset)
            guard written > 0 else {
                throw HandoverError(
                    .archiveFailed, "cannot write entry \(name)", underlying: libarchiveText(),
                    cause: libarchiveCause())
            }
            offset += written
        }
    }

    private func check(_ status: Int32, _ what: String) throws {
        guard status == ARCHIVE_OK || status == ARCHIVE_WARN else {
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
