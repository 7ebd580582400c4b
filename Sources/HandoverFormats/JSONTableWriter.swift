public import HandoverCore

/// Writes a table as a JSON array of objects, one object per line, keys in field order.
///
/// Dates are ISO 8601 strings, binary values base64 strings, nulls `null`.
public struct JSONTableWriter<Sink: ByteSink>: TableWriter {
    /// The writer proper, not generic, so that its per-field loop runs specialised whatever the sink.
    private var encoder: JSONRowEncoder

    /// Starts the document.
    public init(schema: TableSchema, sink: Sink) throws {
        encoder = JSONRowEncoder(schema: schema, sink: sink)
    }

    /// Writes one row as an object.
    public mutating func write(_ row: Row) throws {
        try encoder.write(row)
    }

    /// Closes the array and flushes.
    public mutating func finish() throws {
        try encoder.finish()
    }

    /// The sink.
    public var sink: Sink { encoder.out.sink as! Sink }
}

/// Writes JSON objects into an ``OutputBuffer``: every value formatted straight into the output bytes.
struct JSONRowEncoder {
    var out: OutputBuffer
    private let shape: RowShape
    /// Each field's `"name":` prefix, encoded once, with the `,` before it for every field but the first, all in one
    /// array.
    private let keys: [UInt8]
    /// Where each field's prefix ends in ``keys``; field `i`'s starts where field `i - 1`'s ends.
    private let keyEnds: [Int]
    private var rows = 0

    init(schema: TableSchema, sink: any ByteSink) {
        self.shape = RowShape(schema)
        self.out = OutputBuffer(sink: sink)
        var keys = OutputBuffer(sink: MemorySink())
        var ends: [Int] = []
        for (index, field) in schema.fields.enumerated() {
            if index > 0 { keys.append(UInt8(ascii: ",")) }
            JSONText.appendString(field.name, to: &keys)
            keys.append(UInt8(ascii: ":"))
            ends.append(keys.count)
        }
        self.keys = keys.bytes
        self.keyEnds = ends
        out.append("[")
    }

    /// Writes one row as an object.
    mutating func write(_ row: Row) throws {
        try shape.check(row)
        out.beginWrite()
        out.append(rows == 0 ? "\n{" : ",\n{")
        let keys = self.keys
        let keyEnds = self.keyEnds
        try keys.withUnsafeBufferPointer { keys in
            try keyEnds.withUnsafeBufferPointer { keyEnds in
                try row.values.withUnsafeBufferPointer { values in
                    var keyStart = 0
                    for index in 0..<values.count {
                        let keyEnd = keyEnds[index]
                        out.append(UnsafeBufferPointer(rebasing: keys[keyStart..<keyEnd]))
                        keyStart = keyEnd
                        switch values[index] {
                        case .null: out.append("null")
                        case .string(let text): JSONText.appendString(text, to: &out)
                        case .integer(let value): out.append(integer: value)
                        case .number(let value):
                            guard value.isFinite else { throw shape.notFinite(row, field: index) }
                            out.append(utf8: value.description)
                        case .decimal(let text): out.append(utf8: text)
                        case .boolean(let value): out.append(value ? "true" : "false")
                        case .date(let text): JSONText.appendString(text, to: &out)
                        case .datetime(let time):
                            out.reserve(Timestamp.iso8601MaximumLength + 2)
                            out.put(UInt8(ascii: "\""))
                            out.append(timestamp: time)
                            out.append(UInt8(ascii: "\""))
                        case .binary(let bytes):
                            out.append(UInt8(ascii: "\""))
                            out.append(base64: bytes)
                            out.append(UInt8(ascii: "\""))
                        }
                    }
                }
            }
        }
        out.append(UInt8(ascii: "}"))
        rows += 1
        try out.flushIfFull()
    }

    /// Closes the array and flushes.
    mutating func finish() throws {
        out.append(rows == 0 ? "]\n" : "\n]\n")
        try out.flush()
    }
}

/// JSON string literals.
enum JSONText {
    /// The lower-case hexadecimal digits.
    static let hex: StaticString = "0123456789abcdef"

    /// Appends `text` as a JSON string literal, escaping quotes, backslashes and control characters.
    @inline(__always)
    static func appendString(_ text: String, to out: inout OutputBuffer) {
        if text.utf8.withContiguousStorageIfAvailable({ appendString(utf8: $0, to: &out) }) != nil { return }
        var text = text
        text.withUTF8 { appendString(utf8: $0, to: &out) }
    }

    /// Appends UTF-8 text as a JSON string literal. Text without anything to escape (most text) is copied in one
    /// move; otherwise the room for the longest escape of every byte is made once.
    static func appendString(utf8: UnsafeBufferPointer<UInt8>, to out: inout OutputBuffer) {
        var plain = true
        for byte in utf8 where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
            plain = false
            break
        }
        if plain {
            out.reserve(utf8.count &+ 2)
            out.put(UInt8(ascii: "\""))
            out.put(utf8)
            out.put(UInt8(ascii: "\""))
            return
        }
        out.reserve(utf8.count &* 6 &+ 2)
        out.put(UInt8(ascii: "\""))
        for byte in utf8 {
            guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else {
                out.put(byte)
                continue
            }
            out.put(UInt8(ascii: "\\"))
            switch byte {
            case UInt8(ascii: "\""): out.put(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): out.put(UInt8(ascii: "\\"))
            case 0x0A: out.put(UInt8(ascii: "n"))
            case 0x0D: out.put(UInt8(ascii: "r"))
            case 0x09: out.put(UInt8(ascii: "t"))
            case 0x08: out.put(UInt8(ascii: "b"))
            case 0x0C: out.put(UInt8(ascii: "f"))
            default:
                out.put(UInt8(ascii: "u"))
                out.put(UInt8(ascii: "0"))
                out.put(UInt8(ascii: "0"))
                hex.withUTF8Buffer { hex in
                    out.put(hex[Int(byte >> 4)])
                    out.put(hex[Int(byte & 15)])
                }
            }
        }
        out.put(UInt8(ascii: "\""))
    }
}
