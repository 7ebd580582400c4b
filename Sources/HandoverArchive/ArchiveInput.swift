internal import CArchive
public import HandoverCore

#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Darwin)
    internal import Darwin
#endif

/// The bytes an archive is read from, readable at any position: a file, or a file decrypted as it is read.
///
/// ``ArchiveReader`` reads a zip through its central directory, so it needs positions, not only a stream.
public protocol ArchiveInput: AnyObject {
    /// The number of bytes.
    var size: UInt64 { get }
    /// Reads up to `buffer.count` bytes starting at `offset` into `buffer`; returns how many, 0 only at the end.
    /// - Throws: ``HandoverError`` when the bytes cannot be read or do not authenticate.
    func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

extension ArchiveInput {
    /// Exactly `count` bytes at `offset`.
    /// - Throws: ``HandoverError/Code/archiveCorrupt`` when the input ends first, or what ``read(at:into:)`` throws.
    public func bytes(at offset: UInt64, count: Int) throws -> [UInt8] {
        guard count >= 0, offset <= size, size - offset >= UInt64(count) else {
            throw HandoverError(.archiveCorrupt, "a record points past the end of the file")
        }
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let got = try bytes.withUnsafeMutableBytes { buffer in
                try read(at: offset + UInt64(done), into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]))
            }
            guard got > 0 else {
                throw HandoverError(.archiveCorrupt, "the file cannot be read", underlying: "unexpected end of file")
            }
            done += got
        }
        return bytes
    }
}

/// A file read with `pread`; the descriptor is closed when the input is released.
public final class FileInput: ArchiveInput {
    let descriptor: Int32
    /// The file's size when it was opened.
    public let size: UInt64

    /// Opens the file at `path` for reading.
    /// - Throws: ``HandoverError/Code/archiveCorrupt`` naming the `errno` when it cannot be opened.
    public init(path: String) throws {
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw HandoverError(errno: errno, .archiveCorrupt, "cannot open '\(path)' as an archive")
        }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            let number = errno
            _ = close(descriptor)
            throw HandoverError(errno: number, .archiveCorrupt, "cannot open '\(path)' as an archive")
        }
        size = UInt64(info.st_size)
    }

    deinit { _ = close(descriptor) }

    /// Reads up to `buffer.count` bytes at `offset`.
    /// - Throws: ``HandoverError/Code/archiveCorrupt`` naming the `errno` when reading fails.
    public func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let got = pread(descriptor, buffer.baseAddress, buffer.count, off_t(offset))
            if got >= 0 { return got }
            if errno == EINTR { continue }
            throw HandoverError(errno: errno, .archiveCorrupt, "the file cannot be read")
        }
    }
}

/// A position in an ``ArchiveInput`` that libarchive reads, skips and seeks through its callbacks.
final class InputCursor {
    let input: any ArchiveInput
    var position: UInt64 = 0
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 16)
    /// The first failure of the input, kept for the reader's error (libarchive only sees a fatal status).
    var failure: HandoverError?

    init(_ input: any ArchiveInput) { self.input = input }

    deinit { buffer.deallocate() }

    /// Opens `archive` (configured with its formats and filters) on this cursor.
    func open(_ archive: OpaquePointer, seekable: Bool) -> Int32 {
        let client = Unmanaged.passUnretained(self).toOpaque()
        archive_read_set_read_callback(archive, inputRead)
        archive_read_set_skip_callback(archive, inputSkip)
        if seekable { archive_read_set_seek_callback(archive, inputSeek) }
        archive_read_set_callback_data(archive, client)
        return archive_read_open1(archive)
    }
}

private func cursor(_ client: UnsafeMutableRawPointer?) -> InputCursor {
    Unmanaged<InputCursor>.fromOpaque(client!).takeUnretainedValue()
}

private let inputRead:
    @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, UnsafeMutablePointer<UnsafeRawPointer?>?) -> la_ssize_t =
        { _, client, out in
            let cursor = cursor(client)
            do {
                let count = try cursor.input.read(at: cursor.position, into: cursor.buffer)
                cursor.position += UInt64(count)
                out?.pointee = UnsafeRawPointer(cursor.buffer.baseAddress)
                return la_ssize_t(count)
            } catch {
                cursor.failure = cursor.failure ?? (error as? HandoverError)
                return la_ssize_t(ARCHIVE_FATAL)
            }
        }

private let inputSkip: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, la_int64_t) -> la_int64_t = {
    _, client, request in
    let cursor = cursor(client)
    guard request > 0 else { return 0 }
    let skipped = min(UInt64(request), cursor.input.size - min(cursor.position, cursor.input.size))
    cursor.position += skipped
    return la_int64_t(skipped)
}

private let inputSeek: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, la_int64_t, Int32) -> la_int64_t = {
    _, client, offset, whence in
    let cursor = cursor(client)
    let base: Int64
    switch whence {
    case SEEK_SET: base = 0
    case SEEK_CUR: base = Int64(cursor.position)
    case SEEK_END: base = Int64(cursor.input.size)
    default: return la_int64_t(ARCHIVE_FATAL)
    }
    let target = base + Int64(offset)
    guard target >= 0 else { return la_int64_t(ARCHIVE_FATAL) }
    cursor.position = UInt64(target)
    return la_int64_t(target)
}
