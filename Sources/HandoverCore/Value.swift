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
    /// An exact decimal number, as its text: `-?[0-9]+(\.[0-9]+)?` (a SQL `numeric`), written digit for digit.
    /// Make one with ``decimal(exactly:)``, which checks the text.
    case decimal(String)
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
        case (.null, _), (.string, .string), (.integer, .integer), (.number, .number), (.decimal, .number),
            (.boolean, .boolean),
            (.date, .date), (.datetime, .datetime), (.binary, .binary):
            true
        default: false
        }
    }
}

extension Value {
    /// A ``decimal(_:)`` value of `text` when it is a plain decimal, `-?(0|[1-9][0-9]*)(\.[0-9]+)?` (no exponent,
    /// no `+`, no leading `.`, no leading zero before other digits: JSON's number grammar), of at most 1000
    /// characters; nil otherwise.
    public static func decimal(exactly text: some StringProtocol) -> Value? {
        let bytes = text.utf8
        guard !bytes.isEmpty, bytes.count <= 1000 else { return nil }
        var index = bytes.startIndex
        if bytes[index] == UInt8(ascii: "-") { index = bytes.index(after: index) }
        var integerDigits = 0
        var fractionDigits = 0
        var seenPoint = false
        while index != bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: ".") {
                guard !seenPoint, integerDigits > 0 else { return nil }
                seenPoint = true
            } else if (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
                if seenPoint { fractionDigits += 1 } else { integerDigits += 1 }
            } else {
                return nil
            }
            index = bytes.index(after: index)
        }
        guard integerDigits > 0, !seenPoint || fractionDigits > 0 else { return nil }
        // `007.5` is no JSON number.
        let digits = bytes.first == UInt8(ascii: "-") ? bytes.dropFirst() : bytes[...]
        if integerDigits > 1, digits.first == UInt8(ascii: "0") { return nil }
        return .decimal(String(text))
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
        Row.keyDescription(in: schema) { index in
            guard index < values.count else { return nil }
            switch values[index] {
            case .integer(let v): return .integer(v)
            case .null: return .null
            default: return .hidden
            }
        }
    }

    /// What a key description shows of one key field's value.
    public enum KeyPart: Sendable {
        /// Null.
        case null
        /// An integer, shown in clear.
        case integer(Int64)
        /// Any other value, shown by its field's type alone.
        case hidden
    }

    /// The primary key of a row not yet made (a source's current row, read cell by cell), in the form of
    /// ``keyDescription(in:)``; `part` gives field number `index`'s value, nil when it cannot tell (`name=?`).
    public static func keyDescription(in schema: TableSchema, _ part: (_ index: Int) -> KeyPart?) -> String {
        guard !schema.primaryKey.isEmpty else { return "(no primary key)" }
        return schema.primaryKey.map { name -> String in
            guard let index = schema.index(of: name), let value = part(index) else { return "\(name)=?" }
            switch value {
            case .integer(let v): return "\(name)=\(v)"
            case .null: return "\(name)=null"
            case .hidden: return "\(name)=<\(schema.fields[index].type.rawValue)>"
            }
        }.joined(separator: ",")
    }
}
