/// One value of one field.
///
/// Dates and date-times are carried in their canonical ISO 8601 text, checked when they are made.
public enum Value: Sendable, Hashable {
    /// No value.
    case null
    /// Text.
    case string(String)
    /// A 64-bit integer.
    case integer(Int64)
    /// A finite number.
    case number(Double)
    /// A boolean.
    case boolean(Bool)
    /// A calendar date as `YYYY-MM-DD`.
    case date(String)
    /// An instant.
    case datetime(Timestamp)
    /// Bytes.
    case binary([UInt8])

    /// Whether this is ``null``.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// Whether the value may stand in a field of `type` (null fits every type).
    public func fits(_ type: FieldType) -> Bool {
        switch (self, type) {
        case (.null, _), (.string, .string), (.integer, .integer), (.number, .number), (.boolean, .boolean),
            (.date, .date), (.datetime, .datetime), (.binary, .binary):
            true
        default: false
        }
    }
}

/// One row: a value per field, in the order of the table's fields.
public struct Row: Sendable, Hashable {
    /// The values, one per field.
    public var values: [Value]

    /// Creates a row.
    public init(_ values: [Value]) {
        self.values = values
    }

    /// The primary key of this row as `field=value` pairs, for error messages about the row.
    ///
    /// Only integer keys are shown in clear; any other key may itself be personal data (an email
    /// as primary key), so it is shown by its type alone.
    public func keyDescription(in schema: TableSchema) -> String {
        guard !schema.primaryKey.isEmpty else { return "(no primary key)" }
        return schema.primaryKey.map { name -> String in
            guard let index = schema.index(of: name), index < values.count else { return "\(name)=?" }
            switch values[index] {
            case .integer(let v): return "\(name)=\(v)"
            case .null: return "\(name)=null"
            default: return "\(name)=<\(schema.fields[index].type.rawValue)>"
            }
        }.joined(separator: ",")
    }
}
