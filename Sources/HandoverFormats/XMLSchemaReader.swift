internal import CLibXML2
public import HandoverCore

/// Reads back the fields of a table from the XML Schema ``SchemaGenerator/xmlSchema(for:)`` wrote, for a bundle that
/// holds XML files only (`handover import`).
package enum XMLSchemaReader {
    /// What an XML Schema declares of a table: its fields (names, types, whether nullable) in order, and the
    /// Handover annotation (`xs:appinfo source="urn:handover:table"`: the primary key and references, as JSON), if any.
    package struct Declaration: Sendable {
        /// The fields, in order.
        package var fields: [Field]
        /// The text of the Handover annotation.
        package var annotation: String?
    }

    /// The `appinfo` source of Handover's annotation.
    package static let annotationSource = "urn:handover:table"

    private static let element = Int32(XML_READER_TYPE_ELEMENT.rawValue)
    private static let endElement = Int32(XML_READER_TYPE_END_ELEMENT.rawValue)
    private static let textNode = Int32(XML_READER_TYPE_TEXT.rawValue)
    private static let documentType = Int32(XML_READER_TYPE_DOCUMENT_TYPE.rawValue)
    private static let schemaNamespace = "http://www.w3.org/2001/XMLSchema"

    /// The declaration in `bytes`, an XML Schema as Handover writes it.
    /// - Throws: ``HandoverError/Code/invalidSchema`` naming `path` when it is not such a schema.
    package static func declaration(_ bytes: [UInt8], path: String) throws -> Declaration {
        _ = denyAllExternalEntities
        let input = XMLInput(PulledSource(MemorySource(bytes)))
        func fail(_ problem: String) -> HandoverError { HandoverError(.invalidSchema, "\(path) \(problem)") }
        guard
            let reader = xmlReaderForIO(
                { context, buffer, length in
                    guard let context, let buffer, length > 0 else { return 0 }
                    let input = Unmanaged<XMLInput>.fromOpaque(context).takeUnretainedValue()
                    return input.read(into: UnsafeMutableRawBufferPointer(start: buffer, count: Int(length)))
                }, nil, Unmanaged.passUnretained(input).toOpaque(), "schema.xsd", "UTF-8",
                Int32(XML_PARSE_NONET.rawValue))
        else { throw HandoverError(.internalError, "libxml2 could not create a reader") }
        defer { xmlFreeTextReader(reader) }
        xmlTextReaderSetStructuredErrorHandler(reader, { _, _ in }, nil)

        func attribute(_ name: String) -> String? { Self.attribute(name, of: reader) }
        var fields: [Field] = []
        var annotation: String?
        var rowDepth: Int32?
        /// The field being read: its name, whether nullable, its depth, and its type once known.
        var current: (name: String, nullable: Bool, depth: Int32, type: FieldType?)?
        var inAnnotation = false
        while true {
            let status = xmlTextReaderRead(reader)
            if status == 0 { break }
            guard status == 1 else { throw fail("is not well-formed XML") }
            let type = xmlTextReaderNodeType(reader)
            if type == documentType { throw fail("has a DOCTYPE") }
            let depth = xmlTextReaderDepth(reader)
            if type == textNode, inAnnotation, let value = xmlTextReaderConstValue(reader) {
                annotation = (annotation ?? "") + String(cString: value)
                continue
            }
            if type == endElement {
                if let field = current, depth == field.depth {
                    fields.append(
                        Field(
                            field.name, try field.type ?? { throw fail("gives field \(field.name) no type") }(),
                            required: !field.nullable))
                    current = nil
                }
                inAnnotation = false
                continue
            }
            guard type == element, let uri = xmlTextReaderConstNamespaceUri(reader),
                String(cString: uri) == schemaNamespace, let local = xmlTextReaderConstLocalName(reader)
            else { continue }
            let name = String(cString: local)
            if name == "appinfo", attribute("source") == annotationSource {
                inAnnotation = xmlTextReaderIsEmptyElement(reader) == 0
                continue
            }
            if name == "element", attribute("name") == "row", rowDepth == nil {
                rowDepth = depth
                continue
            }
            if let rowDepth, name == "element", depth == rowDepth + 3, current == nil {
                guard let fieldName = attribute("name") else { throw fail("has a field element without a name") }
                let field = (
                    name: fieldName, nullable: attribute("nillable") == "true", depth: depth,
                    type: try attribute("type").map {
                        try fieldType($0) ?? { throw fail("gives field \(fieldName) an unknown type") }()
                    }
                )
                if xmlTextReaderIsEmptyElement(reader) == 1 {
                    fields.append(
                        Field(
                            fieldName, try field.type ?? { throw fail("gives field \(fieldName) no type") }(),
                            required: !field.nullable))
                } else {
                    current = field
                }
                continue
            }
            if current != nil, current?.type == nil, name == "restriction" || name == "extension",
                let base = attribute("base")
            {
                current?.type = base.hasPrefix("text.") ? .string : fieldType(base)
            }
        }
        if let error = input.error { throw error }
        guard rowDepth != nil, !fields.isEmpty else { throw fail("declares no row fields") }
        return Declaration(fields: fields, annotation: annotation)
    }

    /// The value of the attribute `name` of the element `reader` stands on, if it has one.
    static func attribute(_ name: String, of reader: xmlTextReaderPtr) -> String? {
        guard xmlTextReaderMoveToAttribute(reader, name) == 1 else { return nil }
        defer { xmlTextReaderMoveToElement(reader) }
        return xmlTextReaderConstValue(reader).map { String(cString: $0) }
    }

    /// The field type of an XML Schema built-in type, as ``SchemaGenerator`` maps them.
    static func fieldType(_ name: String) -> FieldType? {
        switch name {
        case "xs:string": .string
        case "xs:long": .integer
        case "xs:double": .number
        case "xs:boolean": .boolean
        case "xs:date": .date
        case "xs:dateTime": .datetime
        case "xs:base64Binary": .binary
        default: nil
        }
    }
}
