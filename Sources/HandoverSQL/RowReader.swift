package import HandoverCore
internal import HandoverSQLite

/// What every source does to a value on its way into a row: pseudonyms for references to other people, and
/// errors that name the table, row and field but never the value.
package struct RowConversion: Sendable {
    /// The table's plan.
    package let plan: TablePlan
    /// The subject's key as text, for keeping the subject's own references in clear.
    package let subjectKey: String?
    /// Makes pseudonyms.
    package let pseudonymizer: any Pseudonymizer
    /// Whether references to other people become pseudonyms (subject exports only).
    package let pseudonymize: Bool

    /// The value of field `index`, a reference whose text is `text`: a pseudonym in subject exports, unless it
    /// points at the subject.
    package func reference(_ text: String, at index: Int, domain: String) -> Value {
        if !pseudonymize || (plan.referencesSubject[index] && text == subjectKey) { return .string(text) }
        return .string(pseudonymizer.pseudonym(for: text, domain: domain))
    }

    /// The error for a value of field `index` that is not what its type needs.
    /// - Parameters:
    ///   - rowKey: The row's key for the message (see ``Row/keyDescription(in:)``).
    ///   - problem: What is wrong, without the value.
    package func invalid(_ index: Int, rowKey: String, _ problem: String) -> HandoverError {
        HandoverError(
            .invalidData,
            "table \(plan.schema.name), row \(rowKey), field \(plan.schema.fields[index].name): \(problem)")
    }
}

/// Turns the rows of one SQLite query into ``Row`` values, checking each against its field.
struct RowReader {
    let plan: TablePlan
    let statement: SQLiteStatement
    let conversion: RowConversion
    let types: [FieldType]
    var values: [Value]

    init(statement: SQLiteStatement, conversion: RowConversion) {
        self.plan = conversion.plan
        self.statement = statement
        self.conversion = conversion
        self.types = plan.schema.fields.map(\.type)
        self.values = []
        self.values.reserveCapacity(plan.schema.fields.count)
    }

    /// The next row, or nil at the end.
    mutating func next() throws -> Row? {
        guard try statement.step() else { return nil }
        values.removeAll(keepingCapacity: true)
        for index in 0..<types.count {
            values.append(try value(at: index))
        }
        return Row(values)
    }

    private func value(at index: Int) throws -> Value {
        let column = Int32(index)
        let storage = statement.type(at: column)
        if storage == .null { return .null }
        if let domain = plan.pseudonymDomains[index] {
            let text: String
            switch storage {
            case .integer: text = String(statement.int64(at: column))
            case .text: text = try self.text(at: index)
            case .float: text = String(statement.double(at: column))
            default: throw mismatch(index, expected: "a reference", found: storage)
            }
            return conversion.reference(text, at: index, domain: domain)
        }
        switch types[index] {
        case .string:
            switch storage {
            case .text: return .string(try text(at: index))
            case .integer: return .string(String(statement.int64(at: column)))
            case .float: return .string(String(statement.double(at: column)))
            default: throw mismatch(index, expected: "text", found: storage)
            }
        case .integer:
            if storage == .integer { return .integer(statement.int64(at: column)) }
            if storage == .float {
                let number = statement.double(at: column)
                if number.rounded() == number, let exact = Int64(exactly: number) { return .integer(exact) }
            }
            throw mismatch(index, expected: "an integer", found: storage)
        case .number:
            if storage == .float || storage == .integer {
                let number = statement.double(at: column)
                guard number.isFinite else { throw mismatch(index, expected: "a finite number", found: storage) }
                return .number(number)
            }
            // An exact decimal kept as text (a number too precise for a double).
            if storage == .text, let decimal = Value.decimal(exactly: try text(at: index)) { return decimal }
            throw mismatch(index, expected: "a number", found: storage)
        case .boolean:
            if storage == .integer {
                switch statement.int64(at: column) {
                case 0: return .boolean(false)
                case 1: return .boolean(true)
                default: break
                }
            } else if storage == .text {
                switch try text(at: index) {
                case "true", "TRUE", "1": return .boolean(true)
                case "false", "FALSE", "0": return .boolean(false)
                default: break
                }
            }
            throw mismatch(index, expected: "a boolean (0 or 1)", found: storage)
        case .date:
            if storage == .text {
                let text = try text(at: index)
                if let (year, month, day) = ISO8601Parser.date(Array(text.utf8)) {
                    return .date(CivilDate.format(year: year, month: month, day: day))
                }
            }
            throw mismatch(index, expected: "a date (YYYY-MM-DD)", found: storage)
        case .datetime:
            switch storage {
            case .text:
                if let time = Timestamp(iso8601: try text(at: index)) { return .datetime(time) }
            case .integer:
                return .datetime(Timestamp(secondsSince1970: statement.int64(at: column)))
            case .float:
                let seconds = statement.double(at: column)
                if seconds.isFinite, abs(seconds) < 1e14 {
                    return .datetime(Timestamp(millisecondsSince1970: Int64((seconds * 1000).rounded())))
                }
            default: break
            }
            throw mismatch(index, expected: "a date-time (ISO 8601 or Unix seconds)", found: storage)
        case .binary:
            switch storage {
            case .blob: return .binary(statement.blob(at: column))
            case .text: return .binary(statement.blob(at: column))
            default: throw mismatch(index, expected: "bytes", found: storage)
            }
        }
    }

    private func text(at index: Int) throws -> String {
        guard let text = statement.text(at: Int32(index)) else {
            throw conversion.invalid(index, rowKey: rowKey(), "text is not valid UTF-8")
        }
        return text
    }

    private func mismatch(_ index: Int, expected: String, found storage: SQLiteStorage) -> HandoverError {
        let found =
            switch storage {
            case .integer: "an integer"
            case .float: "a real number"
            case .text: "text"
            case .blob: "a blob"
            default: "null"
            }
        return conversion.invalid(index, rowKey: rowKey(), "expected \(expected), found \(found)")
    }

    /// The current row's primary key for an error message: integer keys in clear, anything else by type only.
    private func rowKey() -> String {
        let parts = plan.schema.primaryKey.compactMap { name -> String? in
            guard let index = plan.schema.index(of: name) else { return nil }
            let column = Int32(index)
            switch statement.type(at: column) {
            case .integer: return "\(name)=\(statement.int64(at: column))"
            case .null: return "\(name)=null"
            default: return "\(name)=<\(plan.schema.fields[index].type.rawValue)>"
            }
        }
        return parts.isEmpty ? "(no primary key)" : parts.joined(separator: ",")
    }
}
