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

    /// Compiles a schema from its bytes.
    /// - Throws: ``HandoverError/Code/invalidSchema`` when the bytes are not a usable XML Schema.
    public init(schema bytes: [UInt8]) throws {
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
    }

    deinit {
        xmlSchemaFree(schema)
    }

    /// Validates one document read from `source`.
    /// - Parameters:
    ///   - source: The document's bytes.
    ///   - maxErrors: Stop collecting after this many problems.
    /// - Returns: The row count and the problems; no problems means valid.
    /// - Throws: What `source` throws, or ``HandoverError/Code/internalError`` when libxml2 cannot start.
    public func validate<Source: ByteSource>(from source: inout Source, maxErrors: Int = 100) throws
        -> XMLValidationResult
    {
        let input = InputBox(source)
        defer { if let typed = input.source as? Source { source = typed } }
        let collector = ErrorCollector(limit: maxErrors)
        let options = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_HUGE.rawValue)
        guard
            let reader = xmlReaderForIO(
                readInput, nil, Unmanaged.passUnretained(input).toOpaque(), "document.xml", nil, options)
        else {
            throw HandoverError(.internalError, "libxml2 could not create a reader")
        }
        defer { xmlFreeTextReader(reader) }
        xmlTextReaderSetStructuredErrorHandler(reader, collectError, Unmanaged.passUnretained(collector).toOpaque())
        guard xmlTextReaderSetSchema(reader, schema) == 0 else {
            throw HandoverError(.internalError, "libxml2 could not attach the schema")
        }
        var rows = 0
        while true {
            let status = xmlTextReaderRead(reader)
            if status <= 0 {
                // The reader stops with an error only for a document that is not well-formed; libxml2
                // does not always pass that error to the handler (a premature end after a schema error).
                if status < 0 && !collector.errors.contains(where: { $0.message.hasPrefix("not well-formed") }) {
                    collector.errors.append(
                        XMLValidationError(
                            line: Int(xmlTextReaderGetParserLineNumber(reader)), element: nil,
                            message: "not well-formed XML (truncated or damaged)"))
                }
                break
            }
            let type = xmlTextReaderNodeType(reader)
            if type == Int32(XML_READER_TYPE_DOCUMENT_TYPE.rawValue) {
                collector.add(
                    XMLValidationError(
                        line: Int(xmlTextReaderGetParserLineNumber(reader)), element: nil,
                        message: "a DOCTYPE is not allowed"))
                break
            }
            if type == Int32(XML_READER_TYPE_ELEMENT.rawValue), xmlTextReaderDepth(reader) == 1 {
                rows += 1
            }
            if collector.isFull { break }
        }
        if let failure = input.failure { throw failure }
        if collector.errors.isEmpty && xmlTextReaderIsValid(reader) != 1 {
            collector.add(XMLValidationError(line: 0, element: nil, message: "does not match the schema"))
        }
        return XMLValidationResult(rows: rows, errors: collector.errors)
    }
}

/// Holds the source a libxml2 read callback pulls from, and what it threw.
private final class InputBox {
    var source: any ByteSource
    var failure: (any Error)?

    init(_ source: any ByteSource) {
        self.source = source
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

private func readInput(_ context: UnsafeMutableRawPointer?, _ buffer: UnsafeMutablePointer<CChar>?, _ length: Int32)
    -> Int32
{
    guard let context, let buffer, length > 0 else { return -1 }
    let box = Unmanaged<InputBox>.fromOpaque(context).takeUnretainedValue()
    do {
        return Int32(try box.source.read(into: UnsafeMutableRawBufferPointer(start: buffer, count: Int(length))))
    } catch {
        box.failure = error
        return -1
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
