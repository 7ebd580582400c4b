internal import CLibXML2
internal import HandoverCore

/// Reads a table's XML file, as ``XMLTableWriter`` writes it, through libxml2's streaming `xmlTextReader`.
///
/// The root is `<table name="…">`; each child a `<row>` holding one element per field, in the schema's order.
/// `xsi:nil="true"` is null, an empty element the empty string; `encoding="base64"` marks a string written as base64
/// of its UTF-8 bytes. Comments, processing instructions and white space between elements are skipped; anything else
/// is an error.
///
/// The document is parsed as it is pulled from the source, as ``XMLSchemaValidator`` parses: no network, no external
/// resource, no DTD. A DOCTYPE is refused before libxml2 sees it (see ``PrologScanner``), so no entity is ever
/// declared, let alone expanded.
final class XMLRowReader: RowReading {
    private let schema: TableSchema
    private let types: [FieldType]
    private let input: XMLInput
    private let reader: xmlTextReaderPtr
    /// The fields' names, interned in the reader's dictionary (so that comparing them is mostly comparing pointers).
    private let names: [UnsafePointer<xmlChar>]
    private let rowName: UnsafePointer<xmlChar>
    /// The text of the field being read.
    private var text: [UInt8] = []
    /// Whether the root element has been closed.
    private var rootClosed = false

    private static let element = Int32(XML_READER_TYPE_ELEMENT.rawValue)
    private static let endElement = Int32(XML_READER_TYPE_END_ELEMENT.rawValue)
    private static let textNode = Int32(XML_READER_TYPE_TEXT.rawValue)
    private static let cdata = Int32(XML_READER_TYPE_CDATA.rawValue)
    private static let whitespace = Int32(XML_READER_TYPE_WHITESPACE.rawValue)
    private static let significantWhitespace = Int32(XML_READER_TYPE_SIGNIFICANT_WHITESPACE.rawValue)
    private static let comment = Int32(XML_READER_TYPE_COMMENT.rawValue)
    private static let instruction = Int32(XML_READER_TYPE_PROCESSING_INSTRUCTION.rawValue)
    private static let documentType = Int32(XML_READER_TYPE_DOCUMENT_TYPE.rawValue)

    init(schema: TableSchema, source: some ByteSource) throws {
        _ = denyAllExternalEntities
        self.schema = schema
        self.types = schema.fields.map(\.type)
        let input = XMLInput(PulledSource(source))
        self.input = input
        // No XML_PARSE_NOENT (entities are not substituted), no DTD loading, no network; the encoding is UTF-8
        // whatever the declaration says. XML_PARSE_HUGE lifts libxml2's limit of 10 MB on one text node, which the
        // writer passes with a large value (a file's bytes in base64): the limits it also lifts guard against entity
        // expansion, and no entity can be declared here (the DOCTYPE is refused before libxml2 sees it), or bound
        // the size of one name or text, which the row holds anyway (as a CSV or JSON cell's size is not bounded).
        guard
            let reader = xmlReaderForIO(
                { context, buffer, length in
                    guard let context, let buffer, length > 0 else { return 0 }
                    let input = Unmanaged<XMLInput>.fromOpaque(context).takeUnretainedValue()
                    return input.read(into: UnsafeMutableRawBufferPointer(start: buffer, count: Int(length)))
                }, nil, Unmanaged.passUnretained(input).toOpaque(), "table.xml", "UTF-8",
                Int32(XML_PARSE_NONET.rawValue | XML_PARSE_HUGE.rawValue))
        else {
            if let error = input.error { throw error }
            throw HandoverError(.internalError, "libxml2 could not create a reader")
        }
        self.reader = reader
        xmlTextReaderSetStructuredErrorHandler(
            reader,
            { context, error in
                guard let context, let error, error.pointee.level.rawValue >= XML_ERR_ERROR.rawValue else { return }
                let input = Unmanaged<XMLInput>.fromOpaque(context).takeUnretainedValue()
                if input.parseError == nil { input.parseError = (Int(error.pointee.code), Int(error.pointee.line)) }
            }, Unmanaged.passUnretained(input).toOpaque())
        names = schema.fields.map { xmlTextReaderConstString(reader, $0.name)! }
        rowName = xmlTextReaderConstString(reader, "row")!

        // The prolog, then the root element.
        var type: Int32
        repeat {
            guard let next = try read(row: nil) else { throw fail("the document has no root element") }
            type = next
            if type == Self.documentType { throw fail("a DOCTYPE is not allowed") }
        } while type != Self.element
        guard xmlStrEqual(xmlTextReaderConstLocalName(reader), "table") == 1,
            xmlTextReaderConstNamespaceUri(reader) == nil
        else {
            throw fail("the root element is not <table>")
        }
        var named = false
        while xmlTextReaderMoveToNextAttribute(reader) == 1 {
            if xmlTextReaderIsNamespaceDecl(reader) == 1 { continue }
            guard xmlStrEqual(xmlTextReaderConstName(reader), "name") == 1 else {
                throw fail("the root element has an attribute other than name")
            }
            guard xmlStrEqual(xmlTextReaderConstValue(reader), schema.name) == 1 else {
                throw fail("the root element's name is not \(schema.name)")
            }
            named = true
        }
        xmlTextReaderMoveToElement(reader)
        guard named else { throw fail("the root element has no name") }
        rootClosed = xmlTextReaderIsEmptyElement(reader) == 1
    }

    deinit {
        xmlFreeTextReader(reader)
    }

    func next(number: Int) throws -> Row? {
        guard !rootClosed else { return try finish(row: number) }
        switch try skipToMarkup(row: number) {
        case Self.endElement:
            rootClosed = true
            return try finish(row: number)
        case Self.element:
            guard xmlStrEqual(xmlTextReaderConstLocalName(reader), rowName) == 1,
                xmlTextReaderConstNamespaceUri(reader) == nil
            else {
                throw fail("an element other than <row> in the root element", row: number)
            }
            guard xmlTextReaderHasAttributes(reader) == 0 else { throw fail("a <row> has attributes", row: number) }
        default:
            throw fail("text between rows", row: number)
        }
        let emptyRow = xmlTextReaderIsEmptyElement(reader) == 1
        var values: [Value] = []
        values.reserveCapacity(types.count)
        for index in 0..<types.count {
            if emptyRow { throw schema.readError(row: number, field: index, "the element is missing") }
            values.append(try field(index, row: number))
        }
        if !emptyRow {
            switch try skipToMarkup(row: number) {
            case Self.endElement: break
            case Self.element: throw fail("an element after the last field", row: number)
            default: throw fail("text after the last field", row: number)
            }
        }
        return Row(values)
    }

    /// Reads one field's element, and its content up to its end.
    private func field(_ index: Int, row: Int) throws -> Value {
        switch try skipToMarkup(row: row) {
        case Self.element:
            guard xmlStrEqual(xmlTextReaderConstLocalName(reader), names[index]) == 1,
                xmlTextReaderConstNamespaceUri(reader) == nil
            else {
                throw schema.readError(
                    row: row, field: index, "expected its element here (elements missing or out of order)")
            }
        case Self.endElement: throw schema.readError(row: row, field: index, "the element is missing")
        default: throw schema.readError(row: row, field: index, "text where its element should be")
        }
        var isNull = false
        var isBase64 = false
        if xmlTextReaderHasAttributes(reader) == 1 {
            while xmlTextReaderMoveToNextAttribute(reader) == 1 {
                let name = xmlTextReaderConstLocalName(reader)
                let namespace = xmlTextReaderConstNamespaceUri(reader)
                let value = xmlTextReaderConstValue(reader)
                if xmlStrEqual(namespace, XMLInput.schemaInstance) == 1 && xmlStrEqual(name, "nil") == 1 {
                    if xmlStrEqual(value, "true") == 1 || xmlStrEqual(value, "1") == 1 {
                        isNull = true
                    } else if xmlStrEqual(value, "false") == 0 && xmlStrEqual(value, "0") == 0 {
                        throw schema.readError(row: row, field: index, "xsi:nil is neither true nor false")
                    }
                } else if namespace == nil && xmlStrEqual(name, "encoding") == 1 {
                    guard xmlStrEqual(value, "base64") == 1, types[index] == .string else {
                        throw schema.readError(
                            row: row, field: index, "only a string field may have an encoding, and only base64")
                    }
                    isBase64 = true
                } else {
                    throw schema.readError(row: row, field: index, "an attribute other than xsi:nil and encoding")
                }
            }
            xmlTextReaderMoveToElement(reader)
        }
        text.removeAll(keepingCapacity: true)
        if xmlTextReaderIsEmptyElement(reader) == 0 {
            content: while true {
                guard let type = try read(row: row) else { throw truncated(row: row) }
                switch type {
                case Self.textNode, Self.cdata, Self.whitespace, Self.significantWhitespace:
                    if let value = xmlTextReaderConstValue(reader) {
                        text.append(contentsOf: UnsafeBufferPointer(start: value, count: Int(xmlStrlen(value))))
                    }
                case Self.comment, Self.instruction: continue
                case Self.endElement: break content
                default: throw schema.readError(row: row, field: index, "the element holds markup")
                }
            }
        }
        if isNull {
            guard text.isEmpty else { throw schema.readError(row: row, field: index, "xsi:nil but not empty") }
            guard !schema.fields[index].required else {
                throw schema.readError(row: row, field: index, "required but null")
            }
            return .null
        }
        if isBase64 {
            guard let bytes = Base64.decode(String(decoding: text, as: UTF8.self)),
                let string = bytes.withUnsafeBufferPointer({ CellText.string($0) })
            else {
                throw schema.readError(row: row, field: index, "expected base64 of valid UTF-8 text")
            }
            return .string(string)
        }
        let type = types[index]
        guard let value = text.withUnsafeBufferPointer({ CellText.value($0, type) }) else {
            throw schema.notAValue(row: row, field: index)
        }
        return value
    }

    /// The type of the next node that is neither white space, a comment nor a processing instruction.
    private func skipToMarkup(row: Int) throws -> Int32 {
        while true {
            guard let type = try read(row: row) else { throw truncated(row: row) }
            switch type {
            case Self.whitespace, Self.significantWhitespace, Self.comment, Self.instruction: continue
            default: return type
            }
        }
    }

    /// After the root element: only white space, comments and processing instructions up to the end.
    private func finish(row: Int) throws -> Row? {
        while let type = try read(row: row) {
            switch type {
            case Self.whitespace, Self.significantWhitespace, Self.comment, Self.instruction: continue
            default: throw fail("something other than a comment after the root element", row: row)
            }
        }
        return nil
    }

    /// The type of the next node; nil at the end of the document.
    private func read(row: Int?) throws -> Int32? {
        switch xmlTextReaderRead(reader) {
        case 1: return xmlTextReaderNodeType(reader)
        case 0: return nil
        default:
            if let error = input.error { throw error }
            if let refusal = input.prolog.refusal { throw fail(refusal, row: row) }
            if let parseError = input.parseError {
                throw fail(
                    "not well-formed XML (libxml2 error \(parseError.code), line \(parseError.line))", row: row)
            }
            throw fail("not well-formed XML", row: row)
        }
    }

    private func truncated(row: Int) -> HandoverError {
        fail("the document ends inside the root element", row: row)
    }

    private func fail(_ message: String, row: Int? = nil) -> HandoverError {
        if let row { return schema.readError(row: row, message) }
        return HandoverError(.invalidData, "table \(schema.name): " + message)
    }
}

/// What libxml2 pulls the document from: the source, the prolog's scan, and what went wrong.
final class XMLInput {
    /// The namespace of `xsi:nil`, NUL-terminated.
    static let schemaInstance: [xmlChar] = Array(XMLTableWriter<MemorySink>.schemaInstanceNamespace.utf8) + [0]

    let source: PulledSource
    var prolog = PrologScanner()
    /// What the source threw.
    var error: (any Error)?
    /// libxml2's first error: its code and line (its message may quote the document, so it is not kept).
    var parseError: (code: Int, line: Int)?

    init(_ source: PulledSource) {
        self.source = source
    }

    /// Fills `buffer`; -1 when the source fails or the prolog holds a DOCTYPE (nothing of it reaches libxml2).
    func read(into buffer: UnsafeMutableRawBufferPointer) -> Int32 {
        guard error == nil, prolog.refusal == nil else { return -1 }
        let count: Int
        do {
            count = try source.read(into: buffer)
        } catch {
            self.error = error
            return -1
        }
        if !prolog.isDone {
            prolog.scan(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            if prolog.refusal != nil { return -1 }
        }
        return Int32(count)
    }
}
