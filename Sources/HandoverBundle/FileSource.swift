internal import Crypto
public import HandoverCore

#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Darwin)
    internal import Darwin
#endif

/// A file read as a stream.
final class FileSource: ByteSource {
    let path: String
    private var descriptor: Int32

    /// Opens `path` for reading.
    init(path: String) throws {
        self.path = path
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw HandoverError(errno: errno, .outputUnavailable, "cannot read '\(path)'")
        }
    }

    deinit {
        _ = close(descriptor)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let count = Glibc.read(descriptor, buffer.baseAddress, buffer.count)
            if count >= 0 { return count }
            if errno != EINTR {
                throw HandoverError(errno: errno, .outputUnavailable, "cannot read '\(path)'")
            }
        }
    }
}

/// Passes another source through, counting and hashing (SHA-256) what is read.
public struct HashingSource<Base: ByteSource>: ByteSource {
    /// The source being read.
    public var base: Base
    private var hasher = SHA256()
    /// The bytes read so far.
    public private(set) var bytes: Int64 = 0

    /// Wraps `base`.
    public init(_ base: Base) {
        self.base = base
    }

    /// Reads from the base source, hashing what comes.
    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = try base.read(into: buffer)
        if count > 0 {
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            bytes += Int64(count)
        }
        return count
    }

    /// Reads what is left, so that the hash covers the whole stream.
    public mutating func drain() throws {
        var block = [UInt8](repeating: 0, count: 64 * 1024)
        while try block.withUnsafeMutableBytes({ try read(into: $0) }) > 0 {}
    }

    /// The SHA-256 of everything read, in lowercase hexadecimal.
    public var sha256: String { hasher.finalize().hexString }
}
