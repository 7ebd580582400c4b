public import HandoverCore

/// Writes a table as a JSON array of objects, one object per line, keys in field order.
///
/// Dates are ISO 8601 strings, binary values base64 strings, nulls `null`.
public struct JSONTableWriter<Sink: ByteSink>: TableWriter {
    private var out: OutputBuffer
    private let schema: TableSchema
    /// Each field's `"name":` prefix, encoded once.
    private let keys: [[UInt8]]
    private var rows = 0

    /// Starts the document.
    public init(schema: TableSchema, sink: Sink) throws {
        self.schema = schema
        self.out = OutputBuffer(sink: sink)
        self.keys = schema.fields.map { field in
            var key = OutputBuffer(sink: MemorySink())
            JSONText.appendString(field.name, to: &key)
            key.append(UInt8(ascii: ":"))
            return key.bytes
        }
        out.append("[")
    }

    /// Writes one row as an object.
    public mutating func write(_ row: Row) throws {
        try checkRow(row, schema)
        out.append(rows == 0 ? "\n{" : ",\n{")
        for index in 0..<keys.count {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.bytes.append(contentsOf: keys[index])
            switch row.values[index] {
            case .null: out.append("null")
            case .string(let text): JSONText.appendString(text, to: &out)
            case .integer(let value): out.append(integer: value)
            case .number(let value):
                guard let text = numberText(value) else {
                    throw HandoverError(
                        .invalidData,
                        "table \(schema.name), row \(row.keyDescription(in: schema)), field \(schema.fields[index].name): not a finite number"
                    )
                }
                out.append(utf8: text)
            case .decimal(let text): out.append(utf8: text)
            case .boolean(let value): out.append(value ? "true" : "false")
            case .date(let text): JSONText.appendString(text, to: &out)
            case .datetime(let time): JSONText.appendString(time.iso8601, to: &out)
            case .binary(let bytes):
                out.append(UInt8(ascii: "\""))
                out.append(base64: bytes)
                out.append(UInt8(ascii: "\""))
            }
        }
        out.append(UInt8(ascii: "}"))
        rows += 1
        try out.flushIfFull()
    }

    /// Closes the array and flushes.
    public mutating func finish() throws {
        out.append(rows == 0 ? "]\n" : "\n]\n")
        try out.flush()
    }

    /// The sink.
    public var sink: Sink { out.sink as! Sink }

}

/// JSON string literals.
enum JSONText {
    static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// Appends `text` as a JSON string literal, escaping quotes, backslashes and control characters.
    static func appendString(_ text: String, to out: inout OutputBuffer) {
        out.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { utf8 in
            var start = 0
            for index in 0..<utf8.count {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                out.bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<index]))
                start = index + 1
                switch byte {
                case UInt8(ascii: "\""): out.append("\\\"")
                case UInt8(ascii: "\\"): out.append("\\\\")
                case 0x0A: out.append("\\n")
                case 0x0D: out.append("\\r")
                case 0x09: out.append("\\t")
                case 0x08: out.append("\\b")
                case 0x0C: out.append("\\f")
                default:
                    out.append("\\u00")
                    out.append(hex[Int(byte >> 4)])
                    out.append(hex[Int(byte & 15)])
                }
            }
            out.bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<utf8.count]))
        }
        out.append(UInt8(ascii: "\""))
    }
}
