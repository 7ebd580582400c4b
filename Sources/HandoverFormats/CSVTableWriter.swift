public import HandoverCore

/// Writes a table as RFC 4180 CSV: UTF-8, a header row of field names, CRLF line ends.
///
/// A field is quoted when it holds a comma, a quote, CR or LF, or is an empty string or empty
/// bytes; a null is an empty unquoted field, so `""` (empty text) and nothing (null) stay apart for readers that
/// look at quoting. Booleans are `true`/`false`, binary values base64. With the formula guard, a string value a
/// spreadsheet would run as a formula is written with a leading `'` (see ``CSVFormulaGuard``).
public struct CSVTableWriter<Sink: ByteSink>: TableWriter {
    /// The writer proper, not generic, so that its per-field loop runs specialised whatever the sink.
    private var encoder: CSVRowEncoder

    /// Starts the document with its header row; `formulaGuard` guards string cells (off by default).
    public init(schema: TableSchema, sink: Sink, formulaGuard: Bool = false) throws {
        encoder = CSVRowEncoder(schema: schema, sink: sink, formulaGuard: formulaGuard)
    }

    /// Writes one row as a record.
    public mutating func write(_ row: Row) throws {
        try encoder.write(row)
    }

    /// Flushes; CSV has no closing part.
    public mutating func finish() throws {
        try encoder.out.flush()
    }

    /// The sink.
    public var sink: Sink { encoder.out.sink as! Sink }
}

/// Writes CSV records into an ``OutputBuffer``: every value formatted straight into the output bytes.
struct CSVRowEncoder {
    var out: OutputBuffer
    private let shape: RowShape
    private let formulaGuard: Bool

    init(schema: TableSchema, sink: any ByteSink, formulaGuard: Bool) {
        self.shape = RowShape(schema)
        self.formulaGuard = formulaGuard
        self.out = OutputBuffer(sink: sink)
        for (index, field) in schema.fields.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            appendText(field.name, guarding: false)
        }
        out.append("\r\n")
    }

    /// Writes one row as a record.
    mutating func write(_ row: Row) throws {
        try shape.check(row)
        out.beginWrite()
        try row.values.withUnsafeBufferPointer { values in
            for index in 0..<values.count {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                switch values[index] {
                case .null: break
                case .string(let text): appendText(text, guarding: formulaGuard)
                case .integer(let value): out.append(integer: value)
                case .number(let value):
                    guard value.isFinite else { throw shape.notFinite(row, field: index) }
                    out.append(utf8: value.description)
                case .decimal(let text): out.append(utf8: text)
                case .boolean(let value): out.append(value ? "true" : "false")
                case .date(let text): out.append(utf8: text)
                case .datetime(let time): out.append(timestamp: time)
                case .binary(let bytes):
                    if bytes.isEmpty { out.append("\"\"") } else { out.append(base64: bytes) }
                }
            }
        }
        out.append("\r\n")
        try out.flushIfFull()
    }

    /// Writes a text cell, quoted when it must be, with the guard's `'` when `guarding` and the text needs it (the
    /// apostrophe goes inside the quotes of a quoted field: it is part of the cell).
    @inline(__always)
    private mutating func appendText(_ text: String, guarding: Bool) {
        if text.utf8.withContiguousStorageIfAvailable({ appendText(utf8: $0, guarding: guarding) }) != nil { return }
        var text = text
        text.withUTF8 { appendText(utf8: $0, guarding: guarding) }
    }

    private mutating func appendText(utf8: UnsafeBufferPointer<UInt8>, guarding: Bool) {
        let guarded = guarding && CSVFormulaGuard.needsGuard(utf8: utf8)
        var quotes = 0
        var needsQuotes = utf8.isEmpty && !guarded
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "\""): quotes &+= 1
            case UInt8(ascii: ","), 0x0A, 0x0D: needsQuotes = true
            default: continue
            }
        }
        out.reserve(utf8.count &+ quotes &+ 3)
        guard needsQuotes || quotes > 0 else {
            if guarded { out.put(CSVFormulaGuard.prefix) }
            out.put(utf8)
            return
        }
        out.put(UInt8(ascii: "\""))
        if guarded { out.put(CSVFormulaGuard.prefix) }
        if quotes == 0 {
            out.put(utf8)
        } else {
            for byte in utf8 {
                if byte == UInt8(ascii: "\"") { out.put(byte) }
                out.put(byte)
            }
        }
        out.put(UInt8(ascii: "\""))
    }
}
