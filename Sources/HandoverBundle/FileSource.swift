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
