public import HandoverCore

/// A sink that keeps everything in memory; for tests and small documents.
public struct MemorySink: ByteSink, Sendable {
    /// Everything written so far.
    public private(set) var bytes: [UInt8] = []

    /// Creates an empty sink.
    public init() {}

    /// Appends the bytes.
    public mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        self.bytes.append(contentsOf: bytes)
    }

    /// What was written, decoded as UTF-8.
    public var string: String { String(decoding: bytes, as: UTF8.self) }
}

/// Collects small writes and hands them to a sink in blocks of about 64 KiB.
///
/// Not generic on purpose: the writers' hot paths append bytes here many times per row, and a buffer
/// generic over a sink type from another module would run unspecialised, looking up generic metadata
/// at run time on every append. The sink is called once per block, through an existential.
struct OutputBuffer {
    static var blockSize: Int { 64 * 1024 }

    var sink: any ByteSink
    var bytes: [UInt8]

    init(sink: any ByteSink) {
        self.sink = sink
        self.bytes = []
        self.bytes.reserveCapacity(Self.blockSize + 4096)
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        bytes.append(byte)
    }

    @inline(__always)
    mutating func append(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    @inline(__always)
    mutating func append(utf8 text: String) {
        var text = text
        text.withUTF8 { bytes.append(contentsOf: $0) }
    }

    mutating func append(integer value: Int64) {
        if value >= 0 && value < 10 {
            bytes.append(0x30 + UInt8(value))
            return
        }
        var magnitude = value.magnitude
        var digits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)  // 32 bytes of scratch space
        let count = withUnsafeMutableBytes(of: &digits) { scratch -> Int in
            var position = 32
            while magnitude > 0 {
                position -= 1
                scratch[position] = 0x30 + UInt8(magnitude % 10)
                magnitude /= 10
            }
            if value < 0 {
                position -= 1
                scratch[position] = UInt8(ascii: "-")
            }
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[position...]))
            return 32 - position
        }
        _ = count
    }

    /// Writes the bytes as standard base64 with padding.
    mutating func append(base64 data: [UInt8]) {
        Base64.encode(data) { bytes.append($0) }
    }

    /// Hands the collected bytes to the sink when a block is full.
    @inline(__always)
    mutating func flushIfFull() throws {
        if bytes.count >= Self.blockSize { try flush() }
    }

    /// Hands every collected byte to the sink.
    mutating func flush() throws {
        guard !bytes.isEmpty else { return }
        try bytes.withUnsafeBytes { try sink.write($0) }
        bytes.removeAll(keepingCapacity: true)
    }
}

/// Standard base64 (RFC 4648 §4) with padding.
public enum Base64 {
    static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Encodes `data`, passing each output byte to `emit`.
    static func encode(_ data: [UInt8], _ emit: (UInt8) -> Void) {
        var index = 0
        while index + 3 <= data.count {
            let chunk = UInt32(data[index]) << 16 | UInt32(data[index + 1]) << 8 | UInt32(data[index + 2])
            emit(alphabet[Int(chunk >> 18 & 63)])
            emit(alphabet[Int(chunk >> 12 & 63)])
            emit(alphabet[Int(chunk >> 6 & 63)])
            emit(alphabet[Int(chunk & 63)])
            index += 3
        }
        let rest = data.count - index
        if rest > 0 {
            let chunk = UInt32(data[index]) << 16 | (rest == 2 ? UInt32(data[index + 1]) << 8 : 0)
            emit(alphabet[Int(chunk >> 18 & 63)])
            emit(alphabet[Int(chunk >> 12 & 63)])
            emit(rest == 2 ? alphabet[Int(chunk >> 6 & 63)] : UInt8(ascii: "="))
            emit(UInt8(ascii: "="))
        }
    }

    /// Encodes `data` as a string.
    public static func encode(_ data: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((data.count + 2) / 3 * 4)
        encode(data) { out.append($0) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes standard base64 with padding, or returns nil when the text is not such base64.
    public static func decode(_ text: String) -> [UInt8]? {
        var lookup = [Int8](repeating: -1, count: 256)
        for (index, byte) in alphabet.enumerated() { lookup[Int(byte)] = Int8(index) }
        let input = Array(text.utf8)
        guard input.count % 4 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(input.count / 4 * 3)
        var index = 0
        while index < input.count {
            var chunk: UInt32 = 0
            var padding = 0
            for k in 0..<4 {
                let byte = input[index + k]
                if byte == UInt8(ascii: "="), index + 4 == input.count, k >= 2 {
                    padding += 1
                    chunk <<= 6
                    continue
                }
                guard padding == 0, lookup[Int(byte)] >= 0 else { return nil }
                chunk = chunk << 6 | UInt32(lookup[Int(byte)])
            }
            out.append(UInt8(chunk >> 16 & 0xFF))
            if padding < 2 { out.append(UInt8(chunk >> 8 & 0xFF)) }
            if padding < 1 { out.append(UInt8(chunk & 0xFF)) }
            index += 4
        }
        return out
    }
}
