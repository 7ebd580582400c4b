/// Where a writer's bytes go: a file, a hash, a buffer in a test.
public protocol ByteSink {
    /// Accepts the next bytes of the stream.
    /// - Throws: When the bytes cannot be stored.
    mutating func write(_ bytes: UnsafeRawBufferPointer) throws
}

/// Where a reader's bytes come from, pulled one block at a time: a file, an archive entry, memory.
///
/// Validators read through a source so that a file of any size is checked in constant memory.
public protocol ByteSource {
    /// Fills the start of `buffer` with the next bytes.
    /// - Returns: How many bytes were written; 0 only at the end of the stream.
    /// - Throws: When the underlying stream fails (a damaged archive, an I/O error).
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

/// A source over bytes in memory; for tests and small documents.
public struct MemorySource: ByteSource, Sendable {
    private let bytes: [UInt8]
    private var offset = 0
    private let blockSize: Int

    /// Reads `bytes`, handing out at most `blockSize` bytes per call (small blocks exercise boundaries).
    public init(_ bytes: [UInt8], blockSize: Int = 64 * 1024) {
        self.bytes = bytes
        self.blockSize = max(1, blockSize)
    }

    /// Copies the next block.
    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = min(buffer.count, blockSize, bytes.count - offset)
        guard count > 0 else { return 0 }
        bytes.withUnsafeBytes { source in
            buffer.baseAddress!.copyMemory(from: source.baseAddress! + offset, byteCount: count)
        }
        offset += count
        return count
    }
}

extension ByteSource {
    /// Reads everything that is left, up to `limit` bytes.
    /// - Throws: ``HandoverError/Code/invalidData`` when there is more than `limit`, or what the source throws.
    public mutating func readAll(limit: Int = 64 << 20) throws -> [UInt8] {
        var result: [UInt8] = []
        var block = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = try block.withUnsafeMutableBytes { try read(into: $0) }
            if count == 0 { return result }
            guard result.count + count <= limit else {
                throw HandoverError(.invalidData, "a document is larger than \(limit) bytes")
            }
            result.append(contentsOf: block[0..<count])
        }
    }
}

extension Sequence<UInt8> {
    /// Lowercase hexadecimal.
    package var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension UInt8 {
    /// The value of this byte as a hexadecimal digit (`0`–`9`, `a`–`f`, `A`–`F`), or nil.
    package var hexDigitValue: UInt8? {
        switch self {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): self - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): self - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): self - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
