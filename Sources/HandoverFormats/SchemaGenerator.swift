public import HandoverCore

/// Generates, from one table declaration, the schema of each of its files.
///
/// Titles, descriptions, types, required fields and constraints carry into all three.
public enum SchemaGenerator {
    /// The schema of `kind` for `table`, as the bytes of a file; `csvFormulaGuard` describes a guarded CSV file.
    public static func schema(_ kind: SchemaKind, for table: TableSchema, csvFormulaGuard: Bool = false) -> [UInt8] {
        switch kind {
        case .jsonSchema: jsonSchema(for: table)
        case .xmlSchema: xmlSchema(for: table)
        case .tableSchema: tableSchema(for: table, formulaGuard: csvFormulaGuard)
        }
    }

    /// A JSON Schema (draft 2020-12) for the table's JSON file: an array of objects with every field present.
    public static func jsonSchema(for table: TableSchema) -> [UInt8] {
        var properties: [(String, Tree)] = []
        for field in table.fields {
            var property = annotations(title: field.title, description: field.description)
            let base: String =
                switch field.type {
                case .string, .date, .datetime, .binary: "string"
                case .integer: "integer"
                case .number: "number"
                case .boolean: "boolean"
                }
            property.append(("type", field.required ? .string(base) : .array([.string(base), .string("null")])))
            switch field.type {
            case .date: property.append(("format", .string("date")))
            case .datetime: property.append(("format", .string("date-time")))
            case .binary: property.append(("contentEncoding", .string("base64")))
            default: break
            }
            let c = field.constraints
            if let values = c.enumeration {
                property.append(("enum", .array(values.map(Tree.string) + (field.required ? [] : [.null]))))
            }
            if let pattern = c.pattern { property.append(("pattern", .string("^(?:" + pattern + ")$"))) }
            if let minimum = c.minimum { property.append(("minimum", .number(minimum))) }
            if let maximum = c.maximum { property.append(("maximum", .number(maximum))) }
            if let minLength = c.minLength { property.append(("minLength", .number(Double(minLength)))) }
            if let maxLength = c.maxLength { property.append(("maxLength", .number(Double(maxLength)))) }
            properties.append((field.name, .object(property)))
        }
        var root: [(String, Tree)] = [("$schema", .string("https://json-schema.org/draft/2020-12/schema"))]
        root += annotations(title: table.title ?? table.name, description: table.description)
        root += [
            ("type", .string("array")),
            (
                "items",
                .object([
                    ("type", .string("object")),
                    ("properties", .object(properties)),
                    ("required", .array(table.fields.map { .string($0.name) })),
                    ("additionalProperties", .bool(false)),
                ])
            ),
        ]
        // Annotations JSON Schema validators ignore, so that a bundle without its Table Schema still tells a reader
        // (`handover import`) the table's key and references.
        if !table.primaryKey.isEmpty {
            root.append(("x-handover-primaryKey", .array(table.primaryKey.map(Tree.string))))
        }
        if !table.foreignKeys.isEmpty {
            root.append(("x-handover-references", .array(table.foreignKeys.map(referenceTree))))
        }
        return Tree.object(root).render()
    }

    /// A Frictionless Table Schema (v2) for the table's CSV file.
    ///
    /// An empty unquoted field is null (`missingValues: [""]`); required string fields set their own
    /// `missingValues: []`, so that an empty string written as `""` stays a value. The table's references
    /// are described under `x-handover-references` (a property Frictionless readers ignore), not declared as
    /// `foreignKeys`: a schema file on its own names no resources to refer to; `datapackage.json` declares
    /// those that hold within the bundle.
    ///
    /// With `formulaGuard`, the file's string cells are guarded (``CSVFormulaGuard``): the schema says so under
    /// `x-handover-formulaGuard`, and its string constraints are loosened so that a guarded cell of a valid value
    /// passes them (the JSON and XML files, unguarded, are checked against the exact ones).
    public static func tableSchema(for table: TableSchema, formulaGuard: Bool = false) -> [UInt8] {
        tableSchemaTree(for: table, references: nil, formulaGuard: formulaGuard).render()
    }

    /// The Table Schema as a tree; `references` (for a resource of a Data Package) says which references are
    /// declared as `foreignKeys`, and under what resource names; nil for a schema file on its own.
    static func tableSchemaTree(for table: TableSchema, references: [DataPackage.Reference]?, formulaGuard: Bool)
        -> Tree
    {
        var fields: [Tree] = []
        for field in table.fields {
            var entry: [(String, Tree)] = [("name", .string(field.name))]
            entry += annotations(title: field.title, description: field.description)
            switch field.type {
            case .binary:
                entry += [("type", .string("string")), ("format", .string("binary"))]
            case .boolean:
                entry += [
                    ("type", .string("boolean")), ("trueValues", .array([.string("true")])),
                    ("falseValues", .array([.string("false")])),
                ]
            default:
                entry.append(("type", .string(field.type.rawValue)))
            }
            var constraints: [(String, Tree)] = []
            if field.required { constraints.append(("required", .bool(true))) }
            let c =
                formulaGuard && field.type == .string
                ? CSVFormulaGuard.loosened(field.constraints) : field.constraints
            if let values = c.enumeration { constraints.append(("enum", .array(values.map(Tree.string)))) }
            if let pattern = c.pattern { constraints.append(("pattern", .string(pattern))) }
            if let minimum = c.minimum { constraints.append(("minimum", .number(minimum))) }
            if let maximum = c.maximum { constraints.append(("maximum", .number(maximum))) }
            if let minLength = c.minLength { constraints.append(("minLength", .number(Double(minLength)))) }
            if let maxLength = c.maxLength { constraints.append(("maxLength", .number(Double(maxLength)))) }
            if !constraints.isEmpty { entry.append(("constraints", .object(constraints))) }
            if field.required && field.type == .string { entry.append(("missingValues", .array([]))) }
            fields.append(.object(entry))
        }
        var root: [(String, Tree)] = [
            ("$schema", .string("https://datapackage.org/profiles/2.0/tableschema.json")),
            ("fields", .array(fields)),
            ("missingValues", .array([.string("")])),
        ]
        if formulaGuard { root.append(("x-handover-formulaGuard", CSVFormulaGuard.description)) }
        if !table.primaryKey.isEmpty { root.append(("primaryKey", .array(table.primaryKey.map(Tree.string)))) }
        let described =
            references.flatMap { $0.isEmpty ? nil : $0 } ?? table.foreignKeys.map { DataPackage.Reference(key: $0) }
        let declared = described.filter(\.declared)
        if !declared.isEmpty {
            root.append(
                (
                    "foreignKeys",
                    .array(
                        declared.map { reference in
                            .object([
                                ("fields", .array(reference.key.fields.map(Tree.string))),
                                (
                                    "reference",
                                    .object([
                                        ("resource", .string(reference.resource ?? reference.key.table)),
                                        ("fields", .array(reference.key.referencedFields.map(Tree.string))),
                                    ])
                                ),
                            ])
                        })
                ))
        }
        if !described.isEmpty {
            root.append(
                (
                    "x-handover-references",
                    .array(
                        described.map { reference in
                            var target: [(String, Tree)] = [("table", .string(reference.key.table))]
                            if let resource = reference.resource { target.append(("resource", .string(resource))) }
                            target.append(("fields", .array(reference.key.referencedFields.map(Tree.string))))
                            var entry: [(String, Tree)] = [
                                ("fields", .array(reference.key.fields.map(Tree.string))),
                                ("reference", .object(target)),
                            ]
                            if reference.key.pseudonymized { entry.append(("pseudonymized", .bool(true))) }
                            if references != nil { entry.append(("foreignKey", .bool(reference.declared))) }
                            if let note = reference.note { entry.append(("note", .string(note))) }
                            return .object(entry)
                        })
                ))
        }
        return Tree.object(root)
    }

    /// An XML Schema for the table's XML file: `<table name="…">` holding `<row>` elements, one child per field.
    ///
    /// Nullable fields are `nillable`. String fields accept `encoding="base64"`, the form the writer uses for text
    /// XML cannot carry.
    public static func xmlSchema(for table: TableSchema) -> [UInt8] {
        var x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        x += "<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" elementFormDefault=\"unqualified\">\n"
        x += documentation(title: table.title ?? table.name, description: table.description, indent: "  ")
        // The key and references, for a reader of a bundle that holds XML only (`handover import`): JSON, in the
        // element XML Schema keeps for applications.
        var keys: [(String, Tree)] = []
        if !table.primaryKey.isEmpty {
            keys.append(("x-handover-primaryKey", .array(table.primaryKey.map(Tree.string))))
        }
        if !table.foreignKeys.isEmpty {
            keys.append(("x-handover-references", .array(table.foreignKeys.map(referenceTree))))
        }
        if !keys.isEmpty {
            x += "  <xs:annotation><xs:appinfo source=\"\(XMLSchemaReader.annotationSource)\">"
            x += escape(String(decoding: Tree.object(keys).render(), as: UTF8.self))
            x += "</xs:appinfo></xs:annotation>\n"
        }
        x += "  <xs:element name=\"table\">\n    <xs:complexType>\n      <xs:sequence>\n"
        x += "        <xs:element name=\"row\" minOccurs=\"0\" maxOccurs=\"unbounded\">\n"
        x += "          <xs:complexType>\n            <xs:sequence>\n"
        var textTypes: [Field] = []
        for field in table.fields {
            let indent = String(repeating: " ", count: 14)
            let nillable = field.required ? "" : " nillable=\"true\""
            let c = field.constraints
            let restricted = !c.isEmpty
            if field.type == .string && c.enumeration == nil && c.pattern == nil {
                // Text XML cannot carry is written as base64 with encoding="base64", so these elements accept the
                // attribute. With length limits, the content is the limited text or strict base64 (a union: XML
                // Schema cannot tie the content's type to the attribute); the exact value's length is checked in
                // the JSON and CSV files. A field with an enumeration or a pattern cannot hold such text at all.
                let base = restricted ? "text." + field.name : "xs:string"
                if restricted { textTypes.append(field) }
                x += indent + "<xs:element name=\"\(field.name)\"\(nillable)>\n"
                x += documentation(title: field.title, description: field.description, indent: indent + "  ")
                x += indent + "  <xs:complexType>\n" + indent + "    <xs:simpleContent>\n"
                x += indent + "      <xs:extension base=\"\(base)\">\n"
                x += indent + "        <xs:attribute name=\"encoding\" use=\"optional\">\n"
                x += indent + "          <xs:simpleType><xs:restriction base=\"xs:string\">"
                x += "<xs:enumeration value=\"base64\"/></xs:restriction></xs:simpleType>\n"
                x += indent + "        </xs:attribute>\n"
                x +=
                    indent + "      </xs:extension>\n" + indent + "    </xs:simpleContent>\n" + indent
                    + "  </xs:complexType>\n"
                x += indent + "</xs:element>\n"
            } else if restricted {
                x += indent + "<xs:element name=\"\(field.name)\"\(nillable)>\n"
                x += documentation(title: field.title, description: field.description, indent: indent + "  ")
                x += indent + "  <xs:simpleType>\n"
                x += indent + "    <xs:restriction base=\"\(xsdType(field.type))\">\n"
                x += facets(c, field.type, indent: indent + "      ")
                x += indent + "    </xs:restriction>\n" + indent + "  </xs:simpleType>\n" + indent + "</xs:element>\n"
            } else if field.title == nil && field.description == nil {
                x += indent + "<xs:element name=\"\(field.name)\" type=\"\(xsdType(field.type))\"\(nillable)/>\n"
            } else {
                x += indent + "<xs:element name=\"\(field.name)\" type=\"\(xsdType(field.type))\"\(nillable)>\n"
                x += documentation(title: field.title, description: field.description, indent: indent + "  ")
                x += indent + "</xs:element>\n"
            }
        }
        x += "            </xs:sequence>\n          </xs:complexType>\n        </xs:element>\n"
        x += "      </xs:sequence>\n"
        x += "      <xs:attribute name=\"name\" type=\"xs:string\" use=\"required\" fixed=\"\(table.name)\"/>\n"
        x += "    </xs:complexType>\n  </xs:element>\n"
        if !textTypes.isEmpty {
            x += "  <xs:simpleType name=\"base64.text\">\n    <xs:restriction base=\"xs:string\">\n"
            x += "      <xs:pattern value=\"([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?\"/>\n"
            x += "    </xs:restriction>\n  </xs:simpleType>\n"
        }
        for field in textTypes {
            x += "  <xs:simpleType name=\"text.\(field.name)\">\n    <xs:union memberTypes=\"base64.text\">\n"
            x += "      <xs:simpleType>\n        <xs:restriction base=\"xs:string\">\n"
            x += facets(field.constraints, field.type, indent: "          ")
            x += "        </xs:restriction>\n      </xs:simpleType>\n    </xs:union>\n  </xs:simpleType>\n"
        }
        x += "</xs:schema>\n"
        return Array(x.utf8)
    }

    /// The XML Schema facets of `c` for a field of `type`, one a line.
    static func facets(_ c: Constraints, _ type: FieldType, indent: String) -> String {
        var x = ""
        for value in c.enumeration ?? [] { x += indent + "<xs:enumeration value=\"\(escape(value))\"/>\n" }
        if let pattern = c.pattern { x += indent + "<xs:pattern value=\"\(escape(pattern))\"/>\n" }
        if let minimum = c.minimum { x += indent + "<xs:minInclusive value=\"\(bound(minimum, type))\"/>\n" }
        if let maximum = c.maximum { x += indent + "<xs:maxInclusive value=\"\(bound(maximum, type))\"/>\n" }
        if let minLength = c.minLength { x += indent + "<xs:minLength value=\"\(minLength)\"/>\n" }
        if let maxLength = c.maxLength { x += indent + "<xs:maxLength value=\"\(maxLength)\"/>\n" }
        return x
    }

    static func xsdType(_ type: FieldType) -> String {
        switch type {
        case .string: "xs:string"
        case .integer: "xs:long"
        case .number: "xs:double"
        case .boolean: "xs:boolean"
        case .date: "xs:date"
        case .datetime: "xs:dateTime"
        case .binary: "xs:base64Binary"
        }
    }

    static func bound(_ value: Double, _ type: FieldType) -> String {
        if type == .integer, let exact = Int64(exactly: value.rounded(value < 0 ? .down : .up)) { return String(exact) }
        return value.description
    }

    static func documentation(title: String?, description: String?, indent: String) -> String {
        let text = [title, description].compactMap { $0 }.joined(separator: " — ")
        guard !text.isEmpty else { return "" }
        return indent + "<xs:annotation><xs:documentation>" + escape(text) + "</xs:documentation></xs:annotation>\n"
    }

    /// XML text and attribute escaping.
    static func escape(_ text: String) -> String {
        MarkupText.escape(text)
    }

    /// A reference as `x-handover-references` lists it in a JSON Schema.
    static func referenceTree(_ key: ForeignKey) -> Tree {
        var entry: [(String, Tree)] = [
            ("fields", .array(key.fields.map(Tree.string))),
            (
                "reference",
                .object([("table", .string(key.table)), ("fields", .array(key.referencedFields.map(Tree.string)))])
            ),
        ]
        if key.pseudonymized { entry.append(("pseudonymized", .bool(true))) }
        return .object(entry)
    }

    static func annotations(title: String?, description: String?) -> [(String, Tree)] {
        var result: [(String, Tree)] = []
        if let title { result.append(("title", .string(title))) }
        if let description { result.append(("description", .string(description))) }
        return result
    }
}
