internal import CLibXML2
public import HandoverCore

/// Makes sure libxml2 is initialised once, before any thread uses it.
let libxml2Initialised: Void = { xmlInitParser() }()

/// Writes a table as XML through libxml2's `xmlTextWriter`.
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
public struct XMLTableWriter<Sink: ByteSink>: TableWriter {
    private var out: OutputBuffer
    private let schema: TableSchema
    private let document: Document
    /// Each field's name, NUL-terminated, for libxml2.
    private let names: [[UInt8]]

    /// The namespace of `xsi:nil`.
    public static var schemaInstanceNamespace: String { "http://www.w3.org/2001/XMLSchema-instance" }

    /// Owns the libxml2 writer and its memory buffer.
    private final class Document {
        let buffer: xmlBufferPtr
        let writer: xmlTextWriterPtr

        init() throws {
            _ = libxml2Initialised
            guard let buffer = xmlBufferCreate() else {
                throw HandoverError(.formatFailed, "libxml2 could not allocate a buffer")
            }
            guard let writer = xmlNewTextWriterMemory(buffer, 0) else {
                xmlBufferFree(buffer)
                throw HandoverError(.formatFailed, "libxml2 could not create a text writer")
            }
            self.buffer = buffer
            self.writer = writer
        }

        deinit {
            xmlFreeTextWriter(writer)
            xmlBufferFree(buffer)
        }
    }

    /// Starts the document and its root element.
    public init(schema: TableSchema, sink: Sink) throws {
        self.schema = schema
        self.out = OutputBuffer(sink: sink)
        self.document = try Document()
        self.names = schema.fields.map { Array($0.name.utf8) + [0] }
        let writer = document.writer
        try check(xmlTextWriterSetIndent(writer, 1), "indent")
        try check(xmlTextWriterSetIndentString(writer, "  "), "indent")
        try check(xmlTextWriterStartDocument(writer, "1.0", "UTF-8", nil), "start the document")
        try check(xmlTextWriterStartElement(writer, "table"), "start the root element")
        try check(xmlTextWriterWriteAttribute(writer, "name", schema.name), "write an attribute")
        try check(xmlTextWriterWriteAttribute(writer, "xmlns:xsi", Self.schemaInstanceNamespace), "write an attribute")
    }

    /// Writes one row as a `<row>` element.
    public mutating func write(_ row: Row) throws {
        try checkRow(row, schema)
        let writer = document.writer
        try check(xmlTextWriterStartElement(writer, "row"), "start a row")
        for index in 0..<names.count {
            try names[index].withUnsafeBufferPointer { name in
                let name = name.baseAddress!
                switch row.values[index] {
                case .null:
                    try check(xmlTextWriterStartElement(writer, name), "start a field")
                    try check(xmlTextWriterWriteAttribute(writer, "xsi:nil", "true"), "write xsi:nil")
                    try check(xmlTextWriterEndElement(writer), "end a field")
                case .string(let text):
                    if Self.isXMLSafe(text) {
                        try writeElement(name, text)
                    } else {
                        let field = schema.fields[index]
                        guard field.constraints.enumeration == nil && field.constraints.pattern == nil else {
                            throw HandoverError(
                                .invalidData,
                                "table \(schema.name), row \(row.keyDescription(in: schema)), field \(field.name): "
                                    + "holds characters XML cannot carry, which a field with an enumeration or a "
                                    + "pattern cannot hold")
                        }
                        try check(xmlTextWriterStartElement(writer, name), "start a field")
                        try check(xmlTextWriterWriteAttribute(writer, "encoding", "base64"), "write an attribute")
                        try writeText(Base64.encode(Array(text.utf8)))
                        try check(xmlTextWriterEndElement(writer), "end a field")
                    }
                case .integer(let value): try writeElement(name, String(value))
                case .number(let value):
                    guard let text = numberText(value) else {
                        throw HandoverError(
                            .invalidData,
                            "table \(schema.name), row \(row.keyDescription(in: schema)), field \(schema.fields[index].name): not a finite number"
                        )
                    }
                    try writeElement(name, text)
                case .decimal(let text): try writeElement(name, text)
                case .boolean(let value): try writeElement(name, value ? "true" : "false")
                case .date(let text): try writeElement(name, text)
                case .datetime(let time): try writeElement(name, time.iso8601)
                case .binary(let bytes): try writeElement(name, Base64.encode(bytes))
                }
            }
        }
        try check(xmlTextWriterEndElement(writer), "end a row")
        try drain(force: false)
    }

    /// Closes the root element and the document, and flushes.
    public mutating func finish() throws {
        try check(xmlTextWriterEndDocument(document.writer), "end the document")
        try drain(force: true)
        try out.flush()
    }

    /// The sink.
    public var sink: Sink { out.sink as! Sink }

    /// Whether every character of `text` may appear in XML 1.0 content.
    public static func isXMLSafe(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { utf8 in
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
    }

    private func writeElement(_ name: UnsafePointer<UInt8>, _ text: String) throws {
        let writer = document.writer
        try check(xmlTextWriterStartElement(writer, name), "start a field")
        try writeText(text)
        try check(xmlTextWriterEndElement(writer), "end a field")
    }

    private func writeText(_ text: String) throws {
        guard !text.isEmpty else { return }
        try text.withCString { pointer in
            try pointer.withMemoryRebound(to: UInt8.self, capacity: text.utf8.count + 1) {
                try check(xmlTextWriterWriteString(document.writer, $0), "write text")
            }
        }
    }

    /// Moves what libxml2 has produced into the output buffer.
    private mutating func drain(force: Bool) throws {
        try check(xmlTextWriterFlush(document.writer), "flush")
        let length = Int(xmlBufferLength(document.buffer))
        guard length > 0, force || length >= 16 * 1024 else { return }
        let content = UnsafeRawBufferPointer(start: xmlBufferContent(document.buffer), count: length)
        out.bytes.append(contentsOf: content)
        xmlBufferEmpty(document.buffer)
        try out.flushIfFull()
    }

    private func check(_ result: Int32, _ what: String) throws {
        if result < 0 {
            throw HandoverError(.formatFailed, "table \(schema.name): libxml2 could not \(what)")
        }
    }
}
