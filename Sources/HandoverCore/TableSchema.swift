/// The type of a field's values.
public enum FieldType: String, Sendable, Codable, CaseIterable {
    /// Unicode text.
    case string
    /// A 64-bit signed integer.
    case integer
    /// A finite double-precision number.
    case number
    /// `true` or `false`.
    case boolean
    /// A calendar date, `YYYY-MM-DD`.
    case date
    /// An instant, ISO 8601 in UTC.
    case datetime
    /// Bytes; base64 in every text format.
    case binary
}

/// One column of a table.
public struct Field: Sendable, Hashable {
    /// The field's name: an ``Identifier``.
    public var name: String
    /// The type of its values.
    public var type: FieldType
    /// Whether every row must have a value (no nulls).
    public var required: Bool
    /// A short human title.
    public var title: String?
    /// A longer description.
    public var description: String?

    /// Creates a field.
    public init(
        _ name: String, _ type: FieldType, required: Bool = false, title: String? = nil, description: String? = nil
    ) {
        self.name = name
        self.type = type
        self.required = required
        self.title = title
        self.description = description
    }
}

/// A reference from some fields of one table to the key of another.
public struct ForeignKey: Sendable, Hashable {
    /// The referencing fields in this table.
    public var fields: [String]
    /// The referenced table.
    public var table: String
    /// The referenced fields in that table.
    public var referencedFields: [String]

    /// Creates a reference.
    public init(fields: [String], table: String, referencedFields: [String]) {
        self.fields = fields
        self.table = table
        self.referencedFields = referencedFields
    }
}

/// The declaration of one table: its typed fields, primary key and references.
///
/// One declaration yields the table's JSON, CSV and XML files and their schemas.
public struct TableSchema: Sendable, Hashable {
    /// The table's name: an ``Identifier``, also its file name.
    public var name: String
    /// A short human title.
    public var title: String?
    /// A longer description.
    public var description: String?
    /// The fields, in the order they are written.
    public var fields: [Field]
    /// The names of the fields that form the primary key.
    public var primaryKey: [String]
    /// References to other tables.
    public var foreignKeys: [ForeignKey]

    /// Creates a table declaration; call ``validate()`` to check it.
    public init(
        name: String, title: String? = nil, description: String? = nil, fields: [Field], primaryKey: [String] = [],
        foreignKeys: [ForeignKey] = []
    ) {
        self.name = name
        self.title = title
        self.description = description
        self.fields = fields
        self.primaryKey = primaryKey
        self.foreignKeys = foreignKeys
    }

    /// The position of a field, or nil.
    public func index(of field: String) -> Int? {
        fields.firstIndex { $0.name == field }
    }

    /// Checks names, duplicates and keys.
    /// - Throws: ``HandoverError/Code/invalidSchema`` naming the table and the offending field.
    public func validate() throws {
        guard Identifier.isValid(name) else {
            throw HandoverError(.invalidSchema, "table name '\(name.prefix(64))' is not a valid identifier")
        }
        guard !fields.isEmpty else { throw HandoverError(.invalidSchema, "table \(name) has no fields") }
        var seen = Set<String>()
        for field in fields {
            guard Identifier.isValid(field.name) else {
                throw HandoverError(
                    .invalidSchema, "table \(name): field name '\(field.name.prefix(64))' is not a valid identifier")
            }
            guard seen.insert(field.name).inserted else {
                throw HandoverError(.invalidSchema, "table \(name): field \(field.name) is declared twice")
            }
        }
        for key in primaryKey where !seen.contains(key) {
            throw HandoverError(.invalidSchema, "table \(name): primary key field \(key) is not a field")
        }
        for reference in foreignKeys {
            for field in reference.fields where !seen.contains(field) {
                throw HandoverError(.invalidSchema, "table \(name): reference field \(field) is not a field")
            }
            guard reference.fields.count == reference.referencedFields.count else {
                throw HandoverError(
                    .invalidSchema, "table \(name): a reference to \(reference.table) pairs unequal field lists")
            }
        }
    }
}
