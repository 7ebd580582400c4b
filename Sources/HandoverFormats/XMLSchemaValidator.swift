internal import CLibXML2
public import HandoverCore

/// A problem found in an XML document: where, and what, without any of the document's values.
public struct XMLValidationError: Sendable, Hashable, CustomStringConvertible {
    /// The line in the document, from 1; 0 when unknown.
    public var line: Int
    /// The element concerned, when known.
    public var element: String?
    /// What is wrong, in words that never quote the document's content.
    public var message: String

    /// `line 12, element age: value is not of the declared type`.
    public var description: String {
        "line \(line)" + (element.map { ", element \($0)" } ?? "") + ": " + message
    }
}

/// What a validation found.
public struct XMLValidationResult: Sendable {
    /// The number of `<row>` elements directly under the root.
    public var rows: Int
    /// The problems, at most the number asked for.
    public var errors: [XMLValidationError]
}

/// Refuses every external resource libxml2 would load: no network, no files, no external entities.
let denyAllExternalEntities: Void = {
    _ = libxml2Initialised
    xmlSetExternalEntityLoader { _, _, context in
        if let context { xmlCtxtUseOptions(context, Int32(XML_PARSE_NONET.rawValue)) }
        return nil
    }
}()

/// Validates XML documents against an XML Schema, through libxml2.
///
/// The schema is compiled once; each document is read as a stream from a ``ByteSource``, so a file
/// of any size is checked in constant memory. Documents are parsed without network access, without
/// loading any external resource (Handover installs a libxml2 external entity loader that refuses
/// them all, for the whole process) and without a DTD: a document with a DOCTYPE is refused.
public final class XMLSchemaValidator: @unchecked Sendable {
    // A compiled xmlSchema is read-only and may be shared; each validation gets its own context.
    private let schema: xmlSchemaPtr
    /// The quick check, for a schema Handover generates.
    private let quick: XMLTableChecker?

    /// Compiles a schema from its bytes.
    ///
    /// When the schema is one Handover generates (byte for byte), documents in the form Handover writes are checked
    /// by a quick check of Handover's own, in one pass over their bytes; from the first thing it is not sure of (any
    /// other form, any invalid value), the rest of the document goes through libxml2 as below, so the verdict and the
    /// problems reported are libxml2's (see `XMLTableChecker`).
    /// - Throws: ``HandoverError/Code/invalidSchema`` when the bytes are not a usable XML Schema.
    public convenience init(schema bytes: [UInt8]) throws {
        try self.init(schema: bytes, quickCheck: true)
    }

    /// Compiles a schema from its bytes; with `quickCheck` false, every document goes through libxml2 whole (what
    /// the tests compare the quick check with).
    package init(schema bytes: [UInt8], quickCheck: Bool) throws {
        _ = denyAllExternalEntities
        let collector = ErrorCollector(limit: 5)
        let compiled: xmlSchemaPtr? = bytes.withUnsafeBytes { raw in
            guard
                let context = xmlSchemaNewMemParserCtxt(
                    raw.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(raw.count))
            else { return nil }
            defer { xmlSchemaFreeParserCtxt(context) }
            let box = Unmanaged.passUnretained(collector).toOpaque()
            xmlSchemaSetParserStructuredErrors(context, collectError, box)
            return xmlSchemaParse(context)
        }
        guard let compiled else {
            throw HandoverError(
                .invalidSchema,
                "not a usable XML Schema: " + collector.errors.map(\.description).joined(separator: "; "))
        }
        schema = compiled
        quick = quickCheck ? XMLTableChecker(schema: bytes) : nil
    }

    deinit {
        xmlSchemaFree(schema)
    }

    /// Validates one document read from `source`.
    ///
    /// The document goes through libxml2's push parser with its limits in force (no `XML_PARSE_HUGE`), entities
    /// not substituted and no DTD loaded; the schema validates the stream of SAX events as it comes, without a
    /// tree. Its prolog is read before libxml2 sees it: a DOCTYPE is refused before any entity is declared, let
    /// alone expanded. Text is handed to the schema one whole text node at a time, so that a long text node costs
    /// time linear in its length (libxml2 appends each piece of a text node to the whole, which is quadratic).
    /// - Parameters:
    ///   - source: The document's bytes.
    ///   - maxErrors: Stop collecting after this many problems.
    /// - Returns: The row count and the problems; no problems means valid.
    /// - Throws: What `source` throws, or ``HandoverError/Code/internalError`` when libxml2 cannot start.
    public func validate<Source: ByteSource>(from source: inout Source, maxErrors: Int = 100) throws
        -> XMLValidationResult
    {
        guard let quick else { return try validateFully(from: &source, maxErrors: maxErrors) }
        switch try quick.check(from: &source) {
        case .valid(let rows):
            return XMLValidationResult(rows: rows, errors: [])
        case .notSure(let replay):
            // libxml2 takes the document up where the quick check was last sure: after the writer's prolog and root
            // tag and as many line breaks as came before, the bytes read from there, then the rest of the source.
            let prefix = quick.prefix(before: replay) + replay.bytes
            return try withUnsafeMutablePointer(to: &source) { rest in
                var replayed = ReplayedSource(prefix: prefix, rest: rest)
                var result = try validateFully(from: &replayed, maxErrors: maxErrors)
                result.rows += replay.rows
                return result
            }
        }
    }

    /// Validates one document with libxml2 alone (see ``validate(from:maxErrors:)``).
    private func validateFully<Source: ByteSource>(from source: inout Source, maxErrors: Int) throws
        -> XMLValidationResult
    {
        let state = ParseState(limit: maxErrors)
        // Every callback gets the state's hot part, a plain pointer: no reference counting, no exclusivity checks.
        let box = UnsafeMutableRawPointer(state.hot)
        guard let validation = xmlSchemaNewValidCtxt(schema) else {
            throw HandoverError(.internalError, "libxml2 could not create a validation context")
        }
        defer { xmlSchemaFreeValidCtxt(validation) }
        xmlSchemaSetValidStructuredErrors(
            validation, collectError, Unmanaged.passUnretained(state.collector).toOpaque())

        // The handler under the schema's plug: counts rows and depth.
        var bottom = xmlSAXHandler()
        bottom.initialized = XML_SAX2_MAGIC
        bottom.startElementNs = { context, _, _, _, _, _, _, _, _ in
            guard let context else { return }
            let hot = context.assumingMemoryBound(to: HotState.self)
            hot.pointee.depth += 1
            if hot.pointee.depth == 2 { hot.pointee.rows += 1 }
            if hot.pointee.depth == 1 { hot.pointee.roots += 1 }
        }
        bottom.endElementNs = { context, _, _, _ in
            guard let context else { return }
            context.assumingMemoryBound(to: HotState.self).pointee.depth -= 1
        }
        guard let parser = xmlCreatePushParserCtxt(&bottom, box, nil, 0, "document.xml") else {
            throw HandoverError(.internalError, "libxml2 could not create a parser")
        }
        defer { xmlFreeParserCtxt(parser) }
        // libxml2's own limits stay in force: no XML_PARSE_HUGE; entities are not substituted (no XML_PARSE_NOENT).
        xmlCtxtUseOptions(parser, Int32(XML_PARSE_NONET.rawValue))
        state.parser = parser

        // The schema's plug takes the parser's handler; a buffering handler goes in front of it.
        // The plug keeps the addresses of the parser's two fields, to restore them when it is unplugged.
        let fields = UnsafeMutableRawPointer(parser)
        let saxField = (fields + MemoryLayout<xmlParserCtxt>.offset(of: \xmlParserCtxt.sax)!)
            .assumingMemoryBound(to: xmlSAXHandlerPtr?.self)
        let userDataField = (fields + MemoryLayout<xmlParserCtxt>.offset(of: \xmlParserCtxt.userData)!)
            .assumingMemoryBound(to: UnsafeMutableRawPointer?.self)
        guard let plug = xmlSchemaSAXPlug(validation, saxField, userDataField),
            let plugged = parser.pointee.sax
        else {
            throw HandoverError(.internalError, "libxml2 could not attach the schema")
        }
        state.hot.pointee.next = plugged
        state.hot.pointee.nextContext = parser.pointee.userData
        xmlSchemaValidateSetLocator(
            validation,
            { context, file, line in
                // libxml2 reads both answers whenever it asks (an error about an attribute asks for the file):
                // a file left unset was an uninitialised pointer that it then copied, and crashed on.
                file?.pointee = nil
                guard let context, let line else { return -1 }
                guard let state = context.assumingMemoryBound(to: HotState.self).pointee.state else { return -1 }
                line.pointee = UInt(state.line)
                return 0
            }, box)
        let front = UnsafeMutablePointer<xmlSAXHandler>.allocate(capacity: 1)
        front.initialize(to: Self.front(over: plugged.pointee))
        parser.pointee.sax = front
        parser.pointee.userData = box
        defer {
            parser.pointee.sax = plugged
            parser.pointee.userData = state.hot.pointee.nextContext
            xmlSchemaSAXUnplug(plug)
            front.deallocate()
        }

        var block = [UInt8](repeating: 0, count: 65536)
        var finished = false
        while !finished && !state.stopped {
            let count = try block.withUnsafeMutableBytes { try source.read(into: $0) }
            block.withUnsafeBytes { bytes in
                let chunk = UnsafeRawBufferPointer(rebasing: bytes[0..<count])
                if !state.prolog.isDone {
                    state.prolog.scan(chunk)
                    // Nothing of a refused document goes to libxml2.
                    if state.prolog.refusal != nil { return }
                }
                finished = count == 0
                _ = xmlParseChunk(
                    parser, chunk.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(count), finished ? 1 : 0)
            }
            if let refusal = state.prolog.refusal {
                return XMLValidationResult(
                    rows: 0, errors: [XMLValidationError(line: state.prolog.line, element: nil, message: refusal)])
            }
            if parser.pointee.wellFormed == 0 || state.collector.isFull || parser.pointee.disableSAX != 0 {
                break
            }
        }
        let collector = state.collector
        if parser.pointee.wellFormed == 0 || (!finished && !collector.isFull && !state.stopped) {
            // libxml2 does not always pass a well-formedness error to the handler (a premature end after a schema
            // error); the document is reported not well-formed all the same.
            if !collector.errors.contains(where: { $0.message.hasPrefix("not well-formed") }) {
                collector.add(
                    XMLValidationError(
                        line: state.line, element: nil, message: "not well-formed XML (truncated or damaged)"))
            }
        }
        if collector.errors.isEmpty && (state.hot.pointee.roots != 1 || state.hot.pointee.depth != 0) {
            // libxml2 can stop without an error to the handler, having seen no element or not the end of one (an
            // input its declared encoding cannot convert); the schema then has nothing to object to.
            collector.add(
                XMLValidationError(
                    line: state.line, element: nil, message: "not well-formed XML (truncated or damaged)"))
        }
        if collector.errors.isEmpty && xmlSchemaIsValid(validation) != 1 {
            collector.add(XMLValidationError(line: 0, element: nil, message: "does not match the schema"))
        }
        return XMLValidationResult(rows: state.hot.pointee.rows, errors: collector.errors)
    }

    /// The handler in front of the schema's plug: it gathers each text node's pieces (character data, CDATA
    /// sections) into one, passed on before the next other event, and refuses a DOCTYPE should one get past the
    /// prolog scan.
    private static func front(over next: xmlSAXHandler) -> xmlSAXHandler {
        var front = xmlSAXHandler()
        front.initialized = XML_SAX2_MAGIC
        front.serror = { context, error in
            guard let context else { return }
            guard let state = context.assumingMemoryBound(to: HotState.self).pointee.state else { return }
            collectError(Unmanaged.passUnretained(state.collector).toOpaque(), error)
        }
        let text: charactersSAXFunc = { context, characters, length in
            guard let context, let characters, length > 0 else { return }
            context.assumingMemoryBound(to: HotState.self).pointee.append(characters, Int(length))
        }
        front.characters = text
        front.ignorableWhitespace = text
        front.cdataBlock = text
        front.startElementNs = { context, name, prefix, uri, namespaceCount, namespaces, defaulted, count, attributes in
            guard let state = HotState.flushed(context) else { return }
            state.pointee.next?.pointee.startElementNs?(
                state.pointee.nextContext, name, prefix, uri, namespaceCount, namespaces, defaulted, count, attributes)
        }
        front.endElementNs = { context, name, prefix, uri in
            guard let state = HotState.flushed(context) else { return }
            state.pointee.next?.pointee.endElementNs?(state.pointee.nextContext, name, prefix, uri)
        }
        if next.comment != nil {
            front.comment = { context, value in
                guard let state = HotState.flushed(context) else { return }
                state.pointee.next?.pointee.comment?(state.pointee.nextContext, value)
            }
        }
        if next.processingInstruction != nil {
            front.processingInstruction = { context, target, data in
                guard let state = HotState.flushed(context) else { return }
                state.pointee.next?.pointee.processingInstruction?(state.pointee.nextContext, target, data)
            }
        }
        if next.startDocument != nil {
            front.startDocument = { context in
                guard let state = HotState.flushed(context) else { return }
                state.pointee.next?.pointee.startDocument?(state.pointee.nextContext)
            }
        }
        if next.endDocument != nil {
            front.endDocument = { context in
                guard let state = HotState.flushed(context) else { return }
                state.pointee.next?.pointee.endDocument?(state.pointee.nextContext)
            }
        }
        // A DOCTYPE that got past the prolog scan stops the parse; no entity is ever declared, looked up or loaded
        // (the other callbacks stay empty).
        front.internalSubset = { context, _, _, _ in
            guard let state = HotState.flushed(context)?.pointee.state else { return }
            state.collector.add(XMLValidationError(line: state.line, element: nil, message: "a DOCTYPE is not allowed"))
            state.stopped = true
            xmlStopParser(state.parser)
        }
        return front
    }
}

/// Bytes already read, then the rest of a source.
private struct ReplayedSource<Rest: ByteSource>: ByteSource {
    let prefix: [UInt8]
    var offset = 0
    let rest: UnsafeMutablePointer<Rest>

    init(prefix: [UInt8], rest: UnsafeMutablePointer<Rest>) {
        self.prefix = prefix
        self.rest = rest
    }

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard offset < prefix.count else { return try rest.pointee.read(into: buffer) }
        let count = min(buffer.count, prefix.count - offset)
        prefix.withUnsafeBytes { bytes in
            buffer.baseAddress!.copyMemory(from: bytes.baseAddress! + offset, byteCount: count)
        }
        offset += count
        return count
    }
}

/// What one validation keeps while libxml2 parses: the errors, the prolog scan, and the part every event touches
/// (``HotState``).
private final class ParseState {
    let collector: ErrorCollector
    var prolog = PrologScanner()
    var parser: xmlParserCtxtPtr?
    /// Whether the parse was stopped (a DOCTYPE).
    var stopped = false
    /// The state the callbacks get as their context; owned by this object.
    let hot: UnsafeMutablePointer<HotState>

    init(limit: Int) {
        collector = ErrorCollector(limit: limit)
        hot = .allocate(capacity: 1)
        hot.initialize(to: HotState())
        hot.pointee.state = self
    }

    deinit {
        hot.pointee.text?.deallocate()
        hot.deinitialize(count: 1)
        hot.deallocate()
    }

    /// The line libxml2 has reached.
    var line: Int {
        guard let input = parser?.pointee.input else { return 0 }
        return Int(input.pointee.line)
    }
}

/// The part of a validation's state that the SAX callbacks touch at every event: the handler behind the front one,
/// the text being gathered, the depth and the row count. Reached through a plain pointer, so that an event costs no
/// reference counting and no exclusivity check.
private struct HotState {
    /// The schema's plug, which the front handler passes events on to, and its context.
    var next: UnsafeMutablePointer<xmlSAXHandler>?
    var nextContext: UnsafeMutableRawPointer?
    /// The text node being gathered.
    var text: UnsafeMutablePointer<xmlChar>?
    var textCount = 0
    var textCapacity = 0
    var depth = 0
    var rows = 0
    /// Elements begun at the top: a whole document has one, and ends at depth 0.
    var roots = 0
    /// The state this is part of (which owns it).
    unowned(unsafe) var state: ParseState? = nil

    /// Adds a piece of the text node being gathered.
    @inline(__always)
    mutating func append(_ characters: UnsafePointer<xmlChar>, _ length: Int) {
        if textCount + length > textCapacity {
            let capacity = max(textCapacity * 2, textCount + length, 4096)
            let grown = UnsafeMutablePointer<xmlChar>.allocate(capacity: capacity)
            if let text {
                grown.update(from: text, count: textCount)
                text.deallocate()
            }
            text = grown
            textCapacity = capacity
        }
        (text! + textCount).update(from: characters, count: length)
        textCount += length
    }

    /// The state behind `context`, once the text gathered so far has gone to the schema as one piece.
    static func flushed(_ context: UnsafeMutableRawPointer?) -> UnsafeMutablePointer<HotState>? {
        guard let context else { return nil }
        let hot = context.assumingMemoryBound(to: HotState.self)
        if hot.pointee.textCount > 0, let text = hot.pointee.text {
            let characters = hot.pointee.next?.pointee.characters
            let count = hot.pointee.textCount
            var start = 0
            while start < count {
                let length = min(count - start, Int(Int32.max))
                characters?(hot.pointee.nextContext, text + start, Int32(length))
                start += length
            }
            hot.pointee.textCount = 0
            if hot.pointee.textCapacity > 65536 {
                text.deallocate()
                hot.pointee.text = nil
                hot.pointee.textCapacity = 0
            }
        }
        return hot
    }
}

/// Collects libxml2's structured errors as data-free ``XMLValidationError`` values.
private final class ErrorCollector {
    let limit: Int
    var errors: [XMLValidationError] = []
    var isFull: Bool { errors.count >= limit }

    init(limit: Int) {
        self.limit = limit
    }

    func add(_ error: XMLValidationError) {
        if errors.count < limit { errors.append(error) }
    }
}

private func collectError(_ context: UnsafeMutableRawPointer?, _ error: xmlErrorPtr?) {
    guard let context, let error else { return }
    let collector = Unmanaged<ErrorCollector>.fromOpaque(context).takeUnretainedValue()
    let pointee = error.pointee
    guard pointee.level.rawValue >= XML_ERR_ERROR.rawValue else { return }
    var element: String?
    if let node = pointee.node?.assumingMemoryBound(to: xmlNode.self), let name = node.pointee.name {
        element = String(cString: name)
    }
    collector.add(XMLValidationError(line: Int(pointee.line), element: element, message: describe(pointee)))
}

/// Words for libxml2's error codes; its own messages quote the offending values, so they are not used.
private func describe(_ error: xmlError) -> String {
    if error.domain == Int32(XML_FROM_PARSER.rawValue) || error.domain == Int32(XML_FROM_IO.rawValue) {
        return "not well-formed XML (libxml2 error \(error.code))"
    }
    switch xmlParserErrors(rawValue: UInt32(error.code)) {
    case XML_SCHEMAV_CVC_DATATYPE_VALID_1_2_1, XML_SCHEMAV_CVC_TYPE_3_1_2: return "value is not of the declared type"
    case XML_SCHEMAV_CVC_ENUMERATION_VALID: return "value is not one of the allowed values"
    case XML_SCHEMAV_CVC_DATATYPE_VALID_1_2_3: return "value is shorter or longer than allowed"
    case XML_SCHEMAV_CVC_PATTERN_VALID: return "value does not match the pattern"
    case XML_SCHEMAV_CVC_MINLENGTH_VALID: return "value is shorter than allowed"
    case XML_SCHEMAV_CVC_MAXLENGTH_VALID: return "value is longer than allowed"
    case XML_SCHEMAV_CVC_MININCLUSIVE_VALID: return "value is less than the minimum"
    case XML_SCHEMAV_CVC_MAXINCLUSIVE_VALID: return "value is more than the maximum"
    case XML_SCHEMAV_ELEMENT_CONTENT, XML_SCHEMAV_CVC_COMPLEX_TYPE_2_3, XML_SCHEMAV_CVC_COMPLEX_TYPE_4:
        return "an element is unexpected, missing or out of order"
    case XML_SCHEMAV_CVC_COMPLEX_TYPE_3_2_1, XML_SCHEMAV_CVC_COMPLEX_TYPE_3_2_2: return "an attribute is not allowed"
    case XML_SCHEMAV_CVC_ELT_3_1, XML_SCHEMAV_CVC_ELT_3_2_2: return "xsi:nil is not allowed here"
    case XML_SCHEMAV_CVC_ELT_5_2_2_1, XML_SCHEMAV_CVC_ELT_5_2_2_2_1, XML_SCHEMAV_CVC_ELT_5_2_2_2_2:
        return "value differs from the fixed value"
    default: return "does not match the schema (libxml2 error \(error.code))"
    }
}

/// Reads the prolog of a document (what comes before the root element: an XML declaration, comments, processing
/// instructions, white space) byte by byte, and refuses a DOCTYPE before libxml2 sees it, so that no entity is ever
/// declared, let alone expanded.
///
/// Only documents in UTF-8 (or an encoding that writes ASCII as UTF-8 does) are read: a UTF-8 byte-order mark is
/// skipped, and a NUL byte or a UTF-16/UTF-32 byte-order mark is refused, as is a prolog that holds anything but
/// markup and white space (a document in EBCDIC, or text before the root), since each could hide a DOCTYPE from
/// this scan.
struct PrologScanner {
    private enum State {
        case between, open, bang, bangDash, comment, commentDash, commentDashDash, instruction, instructionQuestion
    }

    private var state = State.between
    /// Whether the root element has started: the rest of the document is libxml2's.
    private(set) var isDone = false
    /// Why the document is refused, when it is.
    private(set) var refusal: String?
    /// The line reached, from 1.
    private(set) var line = 1

    mutating func scan(_ bytes: UnsafeRawBufferPointer) {
        for byte in bytes {
            if isDone || refusal != nil { return }
            step(byte)
        }
    }

    /// Bytes read so far.
    private var offset = 0

    private mutating func step(_ byte: UInt8) {
        offset += 1
        if offset <= 3 && byte == [0xEF, 0xBB, 0xBF][offset - 1] && (offset == 1 || state == .between) { return }
        if byte == 0 || byte == 0xFE || byte == 0xFF {
            refusal = "not well-formed XML (only UTF-8 documents are accepted)"
            return
        }
        if byte == 0x0A { line += 1 }
        switch state {
        case .between:
            switch byte {
            case UInt8(ascii: "<"): state = .open
            case 0x20, 0x09, 0x0A, 0x0D: break
            default: refusal = "not well-formed XML (the document does not start with markup)"
            }
        case .open:
            switch byte {
            case UInt8(ascii: "?"): state = .instruction
            case UInt8(ascii: "!"): state = .bang
            default: isDone = true
            }
        case .bang:
            switch byte {
            case UInt8(ascii: "-"): state = .bangDash
            case UInt8(ascii: "D"), UInt8(ascii: "d"): refusal = "a DOCTYPE is not allowed"
            default: refusal = "not well-formed XML (markup before the root element)"
            }
        case .bangDash:
            state = byte == UInt8(ascii: "-") ? .comment : .between
            if state == .between { refusal = "not well-formed XML (markup before the root element)" }
        case .comment:
            if byte == UInt8(ascii: "-") { state = .commentDash }
        case .commentDash:
            state = byte == UInt8(ascii: "-") ? .commentDashDash : .comment
        case .commentDashDash:
            if byte == UInt8(ascii: ">") {
                state = .between
            } else if byte != UInt8(ascii: "-") {
                state = .comment
            }
        case .instruction:
            if byte == UInt8(ascii: "?") { state = .instructionQuestion }
        case .instructionQuestion:
            if byte == UInt8(ascii: ">") {
                state = .between
            } else if byte != UInt8(ascii: "?") {
                state = .instruction
            }
        }
    }
}
