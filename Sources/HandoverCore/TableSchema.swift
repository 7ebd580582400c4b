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

/// Rules a field's values must follow beyond their type; carried into all three schemas.
public struct Constraints: Sendable, Hashable {
    /// The only values allowed (for string fields).
    public var enumeration: [String]?
    /// A regular expression the whole value must match (for string fields), in the common subset of
    /// XML Schema and ECMAScript syntax: no anchors, no lookaround, no back-references.
    public var pattern: String?
    /// The smallest value allowed (for integer and number fields).
    public var minimum: Double?
    /// The largest value allowed (for integer and number fields).
    public var maximum: Double?
    /// The fewest characters (Unicode scalars) allowed (for string fields).
    public var minLength: Int?
    /// The most characters (Unicode scalars) allowed (for string fields).
    public var maxLength: Int?

    /// Creates constraints; nil means no rule.
    public init(
        enumeration: [String]? = nil, pattern: String? = nil, minimum: Double? = nil, maximum: Double? = nil,
        minLength: Int? = nil, maxLength: Int? = nil
    ) {
        self.enumeration = enumeration
        self.pattern = pattern
        self.minimum = minimum
        self.maximum = maximum
        self.minLength = minLength
        self.maxLength = maxLength
    }

    /// Whether no rule is set.
    public var isEmpty: Bool {
        enumeration == nil && pattern == nil && minimum == nil && maximum == nil && minLength == nil && maxLength == nil
    }
}

extension Constraints {
    /// Why Handover's linear-time pattern engine cannot run `pattern` (a syntax error, a construct it refuses, a
    /// program too large); nil when it can.
    package static func patternProblem(_ pattern: String) -> String? {
        do throws(PatternError) {
            _ = try LinearPattern(pattern)
            return nil
        } catch {
            return error.message
        }
    }

    /// Whether a pattern keeps to what XML Schema, ECMAScript and Table Schema read alike.
    public static func isPortablePattern(_ pattern: String) -> Bool {
        guard !pattern.isEmpty else { return false }
        var escaped = false
        var inClass = false
        var previous: Character = " "
        for character in pattern {
            if escaped {
                // \b, \B, back-references, \k<…> and the like mean different things or nothing in XSD.
                if character == "b" || character == "B" || character == "k" || character.isNumber { return false }
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "[" {
                inClass = true
            } else if character == "]" {
                inClass = false
            } else if !inClass && (character == "^" || character == "$") {
                return false
            } else if previous == "(" && character == "?" {
                return false
            }
            previous = character
        }
        return !escaped
    }
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
    /// Rules beyond the type.
    public var constraints: Constraints

    /// Creates a field.
    public init(
        _ name: String, _ type: FieldType, required: Bool = false, title: String? = nil, description: String? = nil,
        constraints: Constraints = Constraints()
    ) {
        self.name = name
        self.type = type
        self.required = required
        self.title = title
        self.description = description
        self.constraints = constraints
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
    /// Whether the referencing values are pseudonyms in subject exports (and so typed as strings): such a
    /// reference is described to readers but never declared as a Table Schema foreign key.
    public var pseudonymized: Bool

    /// Creates a reference.
    public init(fields: [String], table: String, referencedFields: [String], pseudonymized: Bool = false) {
        self.fields = fields
        self.table = table
        self.referencedFields = referencedFields
        self.pseudonymized = pseudonymized
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
        for field in fields where !field.constraints.isEmpty {
            let c = field.constraints
            let textual = c.enumeration != nil || c.pattern != nil || c.minLength != nil || c.maxLength != nil
            let numeric = c.minimum != nil || c.maximum != nil
            if textual && field.type != .string {
                throw HandoverError(
                    .invalidSchema,
                    "table \(name), field \(field.name): enum, pattern and lengths apply to strings only")
            }
            if numeric && field.type != .integer && field.type != .number {
                throw HandoverError(
                    .invalidSchema, "table \(name), field \(field.name): minimum and maximum apply to numbers only")
            }
            if let pattern = c.pattern, !Constraints.isPortablePattern(pattern) {
                throw HandoverError(
                    .invalidSchema,
                    "table \(name), field \(field.name): a pattern may not use anchors, lookaround, back-references or flags"
                )
            }
            if let pattern = c.pattern, let problem = Constraints.patternProblem(pattern) {
                throw HandoverError(
                    .invalidSchema, "table \(name), field \(field.name): the pattern cannot be used: \(problem)")
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
