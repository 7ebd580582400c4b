import CLibXML2
import HandoverCore

@testable import HandoverFormats

// The writers as they were before their per-row paths were rewritten for speed (formatting straight into bytes,
// no libxml2 for XML), kept as the reference that the differential tests compare the real writers with, byte for
// byte. Do not "improve" these: their output is the contract. Instants are written with `Timestamp.iso8601`, which
// TimestampTests holds to the string formatter these writers used, for any instant.

/// The reference writers' byte buffer: every byte in memory.
struct ReferenceBuffer {
    var bytes: [UInt8] = []

    mutating func append(_ byte: UInt8) { bytes.append(byte) }

    mutating func append(_ text: StaticString) { text.withUTF8Buffer { bytes.append(contentsOf: $0) } }

    mutating func append(utf8 text: String) {
        var text = text
        text.withUTF8 { bytes.append(contentsOf: $0) }
    }

    mutating func append(integer value: Int64) { append(utf8: String(value)) }

    mutating func append(base64 data: [UInt8]) { Base64.encode(data) { bytes.append($0) } }
}

/// A writer of the reference set.
protocol ReferenceWriter {
    mutating func write(_ row: Row) throws
    mutating func finish() throws
    var bytes: [UInt8] { get }
}

enum Reference {
    /// The reference writer of `format`.
    static func writer(_ format: TableFormat, _ schema: TableSchema, formulaGuard: Bool = false) throws
        -> any ReferenceWriter
    {
        switch format {
        case .json: ReferenceJSONWriter(schema: schema)
        case .csv: ReferenceCSVWriter(schema: schema, formulaGuard: formulaGuard)
        case .xml: try ReferenceXMLWriter(schema: schema)
        }
    }

    static func checkRow(_ row: Row, _ schema: TableSchema) throws {
        guard row.values.count == schema.fields.count else {
            throw HandoverError(
                .invalidData,
                "table \(schema.name): a row has \(row.values.count) values for \(schema.fields.count) fields")
        }
        for (index, field) in schema.fields.enumerated() {
            let value = row.values[index]
            if value.isNull {
                if field.required {
                    throw HandoverError(
                        .invalidData,
                        "table \(schema.name), row \(row.keyDescription(in: schema)), field \(field.name): required but null"
                    )
                }
            } else if !value.fits(field.type) {
                throw HandoverError(
                    .invalidData,
                    "table \(schema.name), row \(row.keyDescription(in: schema)), field \(field.name): not of type \(field.type.rawValue)"
                )
            }
        }
    }

    static func numberText(_ value: Double) -> String? {
        guard value.isFinite else { return nil }
        return value.description
    }

    static func appendJSONString(_ text: String, to out: inout ReferenceBuffer) {
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
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

struct ReferenceJSONWriter: ReferenceWriter {
    var out = ReferenceBuffer()
    let schema: TableSchema
    let keys: [[UInt8]]
    var rows = 0

    init(schema: TableSchema) {
        self.schema = schema
        self.keys = schema.fields.map { field in
            var key = ReferenceBuffer()
            Reference.appendJSONString(field.name, to: &key)
            key.append(UInt8(ascii: ":"))
            return key.bytes
        }
        out.append("[")
    }

    mutating func write(_ row: Row) throws {
        try Reference.checkRow(row, schema)
        out.append(rows == 0 ? "\n{" : ",\n{")
        for index in 0..<keys.count {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.bytes.append(contentsOf: keys[index])
            switch row.values[index] {
            case .null: out.append("null")
            case .string(let text): Reference.appendJSONString(text, to: &out)
            case .integer(let value): out.append(integer: value)
            case .number(let value):
                guard let text = Reference.numberText(value) else {
                    throw HandoverError(
                        .invalidData,
                        "table \(schema.name), row \(row.keyDescription(in: schema)), field \(schema.fields[index].name): not a finite number"
                    )
                }
                out.append(utf8: text)
            case .decimal(let text): out.append(utf8: text)
            case .boolean(let value): out.append(value ? "true" : "false")
            case .date(let text): Reference.appendJSONString(text, to: &out)
            case .datetime(let time): Reference.appendJSONString(time.iso8601, to: &out)
            case .binary(let bytes):
                out.append(UInt8(ascii: "\""))
                out.append(base64: bytes)
                out.append(UInt8(ascii: "\""))
            }
        }
        out.append(UInt8(ascii: "}"))
        rows += 1
    }

    mutating func finish() throws {
        out.append(rows == 0 ? "]\n" : "\n]\n")
    }

    var bytes: [UInt8] { out.bytes }
}

struct ReferenceCSVWriter: ReferenceWriter {
    var out = ReferenceBuffer()
    let schema: TableSchema
    let formulaGuard: Bool

    init(schema: TableSchema, formulaGuard: Bool) {
        self.schema = schema
        self.formulaGuard = formulaGuard
        for (index, field) in schema.fields.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            Self.appendField(field.name, to: &out)
        }
        out.append("\r\n")
    }

    mutating func write(_ row: Row) throws {
        try Reference.checkRow(row, schema)
        for index in 0..<row.values.count {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            switch row.values[index] {
            case .null: break
            case .string(let text):
                Self.appendField(
                    formulaGuard && CSVFormulaGuard.needsGuard(text.utf8) ? "'" + text : text, to: &out)
            case .integer(let value): out.append(integer: value)
            case .number(let value):
                guard let text = Reference.numberText(value) else {
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
    }

    mutating func finish() throws {}

    var bytes: [UInt8] { out.bytes }

    static func appendField(_ text: String, to out: inout ReferenceBuffer) {
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

/// The XML writer as it was: libxml2's `xmlTextWriter`, indenting by two spaces.
struct ReferenceXMLWriter: ReferenceWriter {
    var out = ReferenceBuffer()
    let schema: TableSchema
    let document: Document
    let names: [[UInt8]]

    final class Document {
        let buffer: xmlBufferPtr
        let writer: xmlTextWriterPtr

        init() throws {
            xmlInitParser()
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

    init(schema: TableSchema) throws {
        self.schema = schema
        self.document = try Document()
        self.names = schema.fields.map { Array($0.name.utf8) + [0] }
        let writer = document.writer
        try check(xmlTextWriterSetIndent(writer, 1), "indent")
        try check(xmlTextWriterSetIndentString(writer, "  "), "indent")
        try check(xmlTextWriterStartDocument(writer, "1.0", "UTF-8", nil), "start the document")
        try check(xmlTextWriterStartElement(writer, "table"), "start the root element")
        try check(xmlTextWriterWriteAttribute(writer, "name", schema.name), "write an attribute")
        try check(
            xmlTextWriterWriteAttribute(writer, "xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"),
            "write an attribute")
    }

    mutating func write(_ row: Row) throws {
        try Reference.checkRow(row, schema)
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
                    if XMLTableWriter<MemorySink>.isXMLSafe(text) {
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
                    guard let text = Reference.numberText(value) else {
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
        try drain()
    }

    mutating func finish() throws {
        try check(xmlTextWriterEndDocument(document.writer), "end the document")
        try drain()
    }

    var bytes: [UInt8] { out.bytes }

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

    private mutating func drain() throws {
        try check(xmlTextWriterFlush(document.writer), "flush")
        let length = Int(xmlBufferLength(document.buffer))
        guard length > 0 else { return }
        out.bytes.append(contentsOf: UnsafeRawBufferPointer(start: xmlBufferContent(document.buffer), count: length))
        xmlBufferEmpty(document.buffer)
    }

    private func check(_ result: Int32, _ what: String) throws {
        if result < 0 { throw HandoverError(.formatFailed, "table \(schema.name): libxml2 could not \(what)") }
    }
}
