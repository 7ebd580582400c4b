internal import CLibXML2
public import HandoverCore

/// Makes sure libxml2 is initialised once, before any thread uses it (the validators and readers use it; the
/// writer does not).
let libxml2Initialised: Void = { xmlInitParser() }()

/// Writes a table as XML.
///
/// ```xml
/// <table name="users" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
///   <row>
///     <id>1</id>
///     <email xsi:nil="true"/>
///   </row>
/// </table>
/// ```
/// Nulls are `xsi:nil`, binary values base64. Text holding characters that XML 1.0 cannot carry
/// (control characters other than tab, LF and CR; U+FFFE; U+FFFF) is written as base64 of its
/// UTF-8 bytes with `encoding="base64"` on the element, so the document stays well-formed and
/// nothing is lost.
///
/// The bytes are those libxml2's `xmlTextWriter` wrote with an indent of two spaces (which this writer used before):
/// `<`, `>`, `&`, `"` and CR escaped in text, an element without content closed as `<name/>`. The writer makes them
/// itself, a row at a time, with no library call per value; so libxml2 is free for the validators, on other
/// threads.
public struct XMLTableWriter<Sink: ByteSink>: TableWriter {
    /// The writer proper, not generic, so that its per-field loop runs specialised whatever the sink.
    private var encoder: XMLRowEncoder

    /// The namespace of `xsi:nil`.
    public static var schemaInstanceNamespace: String { "http://www.w3.org/2001/XMLSchema-instance" }

    /// Starts the document and its root element.
    public init(schema: TableSchema, sink: Sink) throws {
        encoder = XMLRowEncoder(schema: schema, sink: sink)
    }

    /// Writes one row as a `<row>` element.
    public mutating func write(_ row: Row) throws {
        try encoder.write(row)
    }

    /// Closes the root element and the document, and flushes.
    public mutating func finish() throws {
        try encoder.finish()
    }

    /// The sink.
    public var sink: Sink { encoder.out.sink as! Sink }

    /// Whether every character of `text` may appear in XML 1.0 content.
    public static func isXMLSafe(_ text: String) -> Bool {
        if let safe = text.utf8.withContiguousStorageIfAvailable({ XMLText.isSafe(utf8: $0) }) { return safe }
        var text = text
        return text.withUTF8 { XMLText.isSafe(utf8: $0) }
    }
}

/// XML text and attribute values, escaped as libxml2's writer escapes them.
enum XMLText {
    /// Whether every character of the UTF-8 text may appear in XML 1.0 content.
    static func isSafe(utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        var index = 0
        let count = utf8.count
        while index < count {
            let byte = utf8[index]
            if byte < 0x20 {
                if byte != 0x09 && byte != 0x0A && byte != 0x0D { return false }
            } else if byte == 0xEF, index + 2 < count, utf8[index + 1] == 0xBF,
                utf8[index + 2] == 0xBE || utf8[index + 2] == 0xBF
            {
                return false  // U+FFFE or U+FFFF
            }
            index += 1
        }
        return true
    }

    /// The most bytes ``escape(_:into:safeOnly:)`` writes for `count` bytes of text.
    @inline(__always)
    static func escapedLimit(_ count: Int) -> Int { count &* 6 }

    /// Writes UTF-8 text as element content at `out`, which has room for ``escapedLimit(_:)`` bytes: `<`, `>`, `&`,
    /// `"` and CR as references (libxml2's `xmlEncodeSpecialChars`), everything else as it is.
    /// - Parameter safeOnly: Whether to stop at a character XML cannot carry (see ``isSafe(utf8:)``).
    /// - Returns: How many bytes were written; nil when `safeOnly` and the text holds such a character.
    @inline(__always)
    static func escape(_ utf8: UnsafeBufferPointer<UInt8>, into out: UnsafeMutablePointer<UInt8>, safeOnly: Bool)
        -> Int?
    {
        var position = 0
        @inline(__always) func put(_ text: StaticString) {
            text.withUTF8Buffer { text in
                for byte in text {
                    out[position] = byte
                    position &+= 1
                }
            }
        }
        var index = 0
        let count = utf8.count
        while index < count {
            let byte = utf8[index]
            index &+= 1
            switch byte {
            case UInt8(ascii: "<"): put("&lt;")
            case UInt8(ascii: ">"): put("&gt;")
            case UInt8(ascii: "&"): put("&amp;")
            case UInt8(ascii: "\""): put("&quot;")
            case 0x0D: put("&#13;")
            case 0x09, 0x0A:
                out[position] = byte
                position &+= 1
            case 0..<0x20:
                if safeOnly { return nil }
                out[position] = byte
                position &+= 1
            case 0xEF:
                if safeOnly, index + 1 < count, utf8[index] == 0xBF, utf8[index + 1] == 0xBE || utf8[index + 1] == 0xBF
                {
                    return nil  // U+FFFE or U+FFFF
                }
                out[position] = byte
                position &+= 1
            default:
                out[position] = byte
                position &+= 1
            }
        }
        return position
    }

    /// `text` as libxml2's writer writes an attribute value (`xmlBufAttrSerializeTxtContent`): markup, tab, LF and
    /// CR as references, every other character as it is; only the text before any NUL (what a C string holds).
    static func attribute(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\0": return out
            case "\n": out += Array("&#10;".utf8)
            case "\r": out += Array("&#13;".utf8)
            case "\t": out += Array("&#9;".utf8)
            case "\"": out += Array("&quot;".utf8)
            case "<": out += Array("&lt;".utf8)
            case ">": out += Array("&gt;".utf8)
            case "&": out += Array("&amp;".utf8)
            default:
                out += Array(String(scalar).utf8)
            }
        }
        return out
    }

    /// The UTF-8 bytes of `text` before any NUL (what a C string of it holds).
    static func cString(_ text: String) -> [UInt8] {
        Array(text.utf8.prefix { $0 != 0 })
    }
}

/// Writes `<row>` elements into an ``OutputBuffer``: every value formatted and escaped straight into the output
/// bytes, every tag made once per field.
struct XMLRowEncoder {
    var out: OutputBuffer
    private let shape: RowShape
    /// The tags of every field, one after the other: for field `i`, the spans `5 * i + Tag.rawValue` of ``spans``.
    private let tags: [UInt8]
    private let spans: [Range<Int>]
    /// Whether a field's text must be carried as it is (it has an enumeration or a pattern): no base64.
    private let restricted: [Bool]
    private var rows = 0

    /// The parts written for a field.
    private enum Tag: Int {
        /// `    <name>`
        case open
        /// `</name>` and a line end.
        case close
        /// `    <name xsi:nil="true"/>` and a line end.
        case null
        /// `    <name/>` and a line end.
        case empty
        /// `    <name encoding="base64">`
        case base64
    }

    init(schema: TableSchema, sink: any ByteSink) {
        self.shape = RowShape(schema)
        self.out = OutputBuffer(sink: sink)
        var tags: [UInt8] = []
        var spans: [Range<Int>] = []
        for field in schema.fields {
            let name = XMLText.cString(field.name)
            for part in [
                Array("    <".utf8) + name + Array(">".utf8),
                Array("</".utf8) + name + Array(">\n".utf8),
                Array("    <".utf8) + name + Array(" xsi:nil=\"true\"/>\n".utf8),
                Array("    <".utf8) + name + Array("/>\n".utf8),
                Array("    <".utf8) + name + Array(" encoding=\"base64\">".utf8),
            ] {
                spans.append(tags.count..<tags.count + part.count)
                tags += part
            }
        }
        self.tags = tags
        self.spans = spans
        self.restricted = schema.fields.map {
            $0.constraints.enumeration != nil || $0.constraints.pattern != nil
        }
        out.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<table name=\"")
        out.append(XMLText.attribute(schema.name))
        out.append("\" xmlns:xsi=\"")
        out.append(utf8: XMLTableWriter<MemorySink>.schemaInstanceNamespace)
        out.append(UInt8(ascii: "\""))
    }

    /// Writes one row as a `<row>` element.
    mutating func write(_ row: Row) throws {
        try shape.check(row)
        out.beginWrite()
        if rows == 0 { out.append(">\n") }
        rows += 1
        guard !row.values.isEmpty else {
            out.append("  <row/>\n")
            return try out.flushIfFull()
        }
        out.append("  <row>\n")
        let tags = self.tags
        let spans = self.spans
        let restricted = self.restricted
        try tags.withUnsafeBufferPointer { tags in
            try spans.withUnsafeBufferPointer { spans in
                try row.values.withUnsafeBufferPointer { values in
                    for index in 0..<values.count {
                        let first = index &* 5
                        @inline(__always) func tag(_ tag: Tag) -> UnsafeBufferPointer<UInt8> {
                            UnsafeBufferPointer(rebasing: tags[spans[first &+ tag.rawValue]])
                        }
                        switch values[index] {
                        case .null: out.append(tag(.null))
                        case .string(let text):
                            if Self.appendString(
                                text, to: &out, open: tag(.open), close: tag(.close), empty: tag(.empty))
                            {
                                break
                            }
                            guard !restricted[index] else { throw unsafeText(row, field: index) }
                            Self.appendBase64(text, to: &out, open: tag(.base64), close: tag(.close))
                        case .integer(let value):
                            out.append(tag(.open))
                            out.append(integer: value)
                            out.append(tag(.close))
                        case .number(let value):
                            guard value.isFinite else { throw shape.notFinite(row, field: index) }
                            out.append(tag(.open))
                            out.append(utf8: value.description)
                            out.append(tag(.close))
                        case .decimal(let text), .date(let text):
                            Self.appendCText(text, to: &out, open: tag(.open), close: tag(.close), empty: tag(.empty))
                        case .boolean(let value):
                            out.append(tag(.open))
                            out.append(value ? "true" : "false")
                            out.append(tag(.close))
                        case .datetime(let time):
                            out.append(tag(.open))
                            out.append(timestamp: time)
                            out.append(tag(.close))
                        case .binary(let bytes):
                            if bytes.isEmpty {
                                out.append(tag(.empty))
                            } else {
                                out.append(tag(.open))
                                out.append(base64: bytes)
                                out.append(tag(.close))
                            }
                        }
                    }
                }
            }
        }
        out.append("  </row>\n")
        try out.flushIfFull()
    }

    /// Writes a string field: escaped text, or `empty` for no text. Returns false, having written nothing, when the
    /// text holds characters XML cannot carry (see ``appendBase64(_:to:open:close:)``).
    @inline(__always)
    private static func appendString(
        _ text: String, to out: inout OutputBuffer, open: UnsafeBufferPointer<UInt8>, close: UnsafeBufferPointer<UInt8>,
        empty: UnsafeBufferPointer<UInt8>
    ) -> Bool {
        if let done = text.utf8.withContiguousStorageIfAvailable({
            appendString(utf8: $0, to: &out, open: open, close: close, empty: empty)
        }) {
            return done
        }
        var text = text
        return text.withUTF8 { appendString(utf8: $0, to: &out, open: open, close: close, empty: empty) }
    }

    private static func appendString(
        utf8: UnsafeBufferPointer<UInt8>, to out: inout OutputBuffer, open: UnsafeBufferPointer<UInt8>,
        close: UnsafeBufferPointer<UInt8>,
        empty: UnsafeBufferPointer<UInt8>
    ) -> Bool {
        guard !utf8.isEmpty else {
            out.append(empty)
            return true
        }
        out.reserve(open.count &+ XMLText.escapedLimit(utf8.count) &+ close.count)
        let start = out.count
        out.put(open)
        var written: Int?
        out.write(atMost: XMLText.escapedLimit(utf8.count)) { at in
            written = XMLText.escape(utf8, into: at, safeOnly: true)
            return written ?? 0
        }
        guard written != nil else {
            out.truncate(to: start)
            return false
        }
        out.put(close)
        return true
    }

    /// Writes a string field whose text XML cannot carry: `open` (the tag with `encoding="base64"`), the text's UTF-8
    /// bytes in base64, `close`.
    private static func appendBase64(
        _ text: String, to out: inout OutputBuffer, open: UnsafeBufferPointer<UInt8>, close: UnsafeBufferPointer<UInt8>
    ) {
        var text = text
        text.withUTF8 { utf8 in
            out.append(open)
            out.write(atMost: (utf8.count + 2) / 3 * 4) { at in Base64.encode(utf8, into: at) }
            out.append(close)
        }
    }

    /// The error for text XML cannot carry in field `index` of `row`, a field with an enumeration or a pattern.
    private func unsafeText(_ row: Row, field index: Int) -> HandoverError {
        let field = shape.schema.fields[index]
        return HandoverError(
            .invalidData,
            "table \(shape.schema.name), row \(row.keyDescription(in: shape.schema)), field \(field.name): "
                + "holds characters XML cannot carry, which a field with an enumeration or a pattern cannot hold")
    }

    /// Writes the text of a decimal or a date as libxml2 wrote any C string: only what comes before a NUL, escaped;
    /// `empty` for no text at all.
    private static func appendCText(
        _ text: String, to out: inout OutputBuffer, open: UnsafeBufferPointer<UInt8>, close: UnsafeBufferPointer<UInt8>,
        empty: UnsafeBufferPointer<UInt8>
    ) {
        guard !text.isEmpty else { return out.append(empty) }
        var text = text
        text.withUTF8 { utf8 in
            var end = 0
            while end < utf8.count, utf8[end] != 0 { end += 1 }
            let before = UnsafeBufferPointer(rebasing: utf8[..<end])
            out.reserve(open.count &+ XMLText.escapedLimit(before.count) &+ close.count)
            out.put(open)
            out.write(atMost: XMLText.escapedLimit(before.count)) { at in
                XMLText.escape(before, into: at, safeOnly: false) ?? 0
            }
            out.put(close)
        }
    }

    /// Closes the root element and flushes.
    mutating func finish() throws {
        out.beginWrite()
        out.append(rows == 0 ? "/>\n" : "</table>\n")
        try out.flush()
    }
}
