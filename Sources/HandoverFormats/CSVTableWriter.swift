public import HandoverCore

/// Writes a table as RFC 4180 CSV: UTF-8, a header row of field names, CRLF line ends.
///
/// A field is quoted when it holds a comma, a quote, CR or LF, or is an empty string or empty
/// bytes; a null is an empty unquoted field, so `""` (empty text) and nothing (null) stay apart for readers that
/// look at quoting. Booleans are `true`/`false`, binary values base64. With the formula guard, a string value a
/// spreadsheet would run as a formula is written with a leading `'` (see ``CSVFormulaGuard``).
public struct CSVTableWriter<Sink: ByteSink>: TableWriter {
    private var out: OutputBuffer
    private let schema: TableSchema
    private let formulaGuard: Bool

    /// Starts the document with its header row; `formulaGuard` guards string cells (off by default).
    public init(schema: TableSchema, sink: Sink, formulaGuard: Bool = false) throws {
        self.schema = schema
        self.formulaGuard = formulaGuard
        self.out = OutputBuffer(sink: sink)
        for (index, field) in schema.fields.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            Self.appendField(field.name, to: &out)
        }
        out.append("\r\n")
    }

    /// Writes one row as a record.
    public mutating func write(_ row: Row) throws {
        try checkRow(row, schema)
        for index in 0..<row.values.count {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            switch row.values[index] {
            case .null: break
            case .string(let text):
                // The apostrophe goes inside the quotes of a quoted field: it is part of the cell.
                Self.appendField(
                    formulaGuard && CSVFormulaGuard.needsGuard(text.utf8) ? "'" + text : text, to: &out)
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
            case .date(let text): out.append(utf8: text)
            case .datetime(let time): out.append(utf8: time.iso8601)
            case .binary(let bytes):
                if bytes.isEmpty { out.append("\"\"") } else { out.append(base64: bytes) }
            }
        }
        out.append("\r\n")
        try out.flushIfFull()
    }

    /// Flushes; CSV has no closing part.
    public mutating func finish() throws {
        try out.flush()
    }

    /// The sink.
    public var sink: Sink { out.sink as! Sink }

    static func appendField(_ text: String, to out: inout OutputBuffer) {
        var text = text
        text.withUTF8 { utf8 in
            var needsQuotes = utf8.isEmpty
            var quotes = 0
            for byte in utf8 {
                switch byte {
                case UInt8(ascii: "\""): quotes += 1; needsQuotes = true
                case UInt8(ascii: ","), 0x0A, 0x0D: needsQuotes = true
                default: continue
                }
            }
            guard needsQuotes else {
                out.bytes.append(contentsOf: utf8)
                return
            }
            out.append(UInt8(ascii: "\""))
            if quotes == 0 {
                out.bytes.append(contentsOf: utf8)
            } else {
                for byte in utf8 {
                    if byte == UInt8(ascii: "\"") { out.append(byte) }
                    out.append(byte)
                }
            }
            out.append(UInt8(ascii: "\""))
        }
    }
}
