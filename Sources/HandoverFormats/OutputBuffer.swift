internal import HandoverCore

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
