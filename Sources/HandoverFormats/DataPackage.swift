public import HandoverCore

/// A Frictionless Data Package (v2) descriptor of a bundle's tabular files.
public enum DataPackage {
    /// One tabular file.
    public struct Resource: Sendable {
        /// The resource name: lowercase letters, digits, `-`, `_` and `.`.
        public var name: String
        /// The file's path relative to the descriptor.
        public var path: String
        /// The file's format (`csv` or `json`).
        public var format: TableFormat
        /// Its size in bytes.
        public var bytes: Int64
        /// Its SHA-256 in lowercase hexadecimal.
        public var sha256: String
        /// The table it holds.
        public var schema: TableSchema
        /// How each of the table's references is described (in `schema.foreignKeys` order); none declared when empty.
        public var references: [Reference]
        /// Whether the CSV file's string cells are guarded against spreadsheet formulas (``CSVFormulaGuard``).
        public var formulaGuard = false

        /// Creates a resource.
        public init(
            name: String, path: String, format: TableFormat, bytes: Int64, sha256: String, schema: TableSchema,
            references: [Reference] = []
        ) {
            self.name = name
            self.path = path
            self.format = format
            self.bytes = bytes
            self.sha256 = sha256
            self.schema = schema
            self.references = references
        }
    }

    /// One reference of a resource's table: declared as a foreign key when it holds for every row of the
    /// package, otherwise only described, under `x-handover-references`, with why.
    public struct Reference: Sendable, Hashable {
        /// The reference, with the referenced table's own name.
        public var key: ForeignKey
        /// The referenced resource's name in the package; nil when the table is not in it.
        public var resource: String?
        /// Whether it is declared in `foreignKeys`.
        public var declared: Bool
        /// Why it is not declared; nil when it is.
        public var note: String?

        /// Creates a description; by default an undeclared reference to no resource.
        public init(key: ForeignKey, resource: String? = nil, declared: Bool = false, note: String? = nil) {
            self.key = key
            self.resource = resource
            self.declared = declared
            self.note = note
        }
    }

    /// The descriptor's bytes: name, title, creation time and every resource with its inline Table Schema.
    public static func descriptor(name: String, title: String, created: String, resources: [Resource]) -> [UInt8] {
        let items: [Tree] = resources.map { resource in
            var entry: [(String, Tree)] = [
                ("name", .string(resource.name)), ("type", .string("table")), ("path", .string(resource.path)),
                ("format", .string(resource.format.rawValue)), ("mediatype", .string(resource.format.mediaType)),
                ("encoding", .string("utf-8")), ("bytes", .number(Double(resource.bytes))),
                ("hash", .string("sha256:" + resource.sha256)),
            ]
            if let title = resource.schema.title { entry.append(("title", .string(title))) }
            if let description = resource.schema.description { entry.append(("description", .string(description))) }
            if resource.format == .csv {
                entry.append(
                    (
                        "dialect",
                        .object(
                            [
                                ("header", .bool(true)), ("delimiter", .string(",")),
                                ("lineTerminator", .string("\r\n")),
                                ("quoteChar", .string("\"")), ("doubleQuote", .bool(true)),
                            ] + (resource.formulaGuard ? [("description", .string(CSVFormulaGuard.dialectNote))] : []))
                    ))
            }
            if resource.formulaGuard && resource.format == .csv {
                // Beside the dialect, not in it: Frictionless reads unknown dialect keys as controls and refuses them.
                entry.append(("x-handover-formulaGuard", CSVFormulaGuard.description))
            }
            entry.append(
                (
                    "schema",
                    SchemaGenerator.tableSchemaTree(
                        for: resource.schema, references: resource.references,
                        formulaGuard: resource.formulaGuard && resource.format == .csv)
                ))
            return .object(entry)
        }
        return Tree.object([
            ("$schema", .string("https://datapackage.org/profiles/2.0/datapackage.json")),
            ("name", .string(name)), ("title", .string(title)), ("created", .string(created)),
            ("resources", .array(items)),
        ]).render()
    }
}
