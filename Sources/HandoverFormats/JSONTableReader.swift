internal import HandoverCore
internal import HandoverJSONSchema

/// Reads a table's JSON file, as ``JSONTableWriter`` writes it: an array of flat objects, one per row.
///
/// An object's members may come in any order; each field must appear once, and nothing else. Values are `null`,
/// `true`, `false`, numbers (read from their text, digit for digit) and strings.
final class JSONRowReader: RowReading {
    private let schema: TableSchema
    private let reader: JSONReader
    private let names: [String]
    private let positions: [String: Int]
    /// Which fields the row being read has had, by position.
    private var seen: [Bool]

    init(schema: TableSchema, source: some ByteSource) throws {
        self.schema = schema
        reader = JSONReader(source: source)
        reader.refusesLoneSurrogates = true
        names = schema.fields.map(\.name)
        positions = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
        seen = Array(repeating: false, count: names.count)
        let isArray: Bool
        do {
            isArray = try reader.beginTopLevelArray()
        } catch {
            throw Self.located(error, "table \(schema.name): ")
        }
        guard isArray else { throw HandoverError(.invalidData, "table \(schema.name): the document is not an array") }
    }

    func next(number: Int) throws -> Row? {
        do {
            guard try reader.beginTopLevelObject(index: number - 1) else {
                try reader.finish()
                return nil
            }
        } catch {
            throw Self.located(error, "table \(schema.name), row \(number): ")
        }
        // Kept out of the object while the row is read, so that each mark is not an exclusive access to it.
        var seen = self.seen
        self.seen = []
        defer { self.seen = seen }
        for index in seen.indices { seen[index] = false }
        var values = [Value](repeating: .null, count: names.count)
        var count = 0
        while true {
            let member: (name: String, value: JSONScalar)?
            do {
                member = try reader.nextScalarMember(index: count)
            } catch {
                throw Self.located(error, "table \(schema.name), row \(number): ")
            }
            guard let member else { break }
            let field: Int
            if count < names.count && names[count] == member.name {
                field = count
            } else if let position = positions[member.name] {
                field = position
            } else {
                throw schema.readError(row: number, "a member that is not a field of the table")
            }
            guard !seen[field] else { throw schema.readError(row: number, field: field, "the member appears twice") }
            seen[field] = true
            let type = schema.fields[field].type
            guard let typed = Self.value(member.value, type) else {
                if case .string = member.value, type != .string {
                    throw schema.notAValue(row: number, field: field)
                }
                throw schema.readError(row: number, field: field, "expected \(Self.expectation(type))")
            }
            values[field] = typed
            count += 1
        }
        if count < names.count, let missing = seen.firstIndex(of: false) {
            throw schema.readError(row: number, field: missing, "the member is missing")
        }
        for (index, field) in schema.fields.enumerated() where field.required && values[index].isNull {
            throw schema.readError(row: number, field: index, "required but null")
        }
        return Row(values)
    }

    /// The value of a field of `type` that holds `scalar`, or nil when it does not fit.
    private static func value(_ scalar: JSONScalar, _ type: FieldType) -> Value? {
        switch (scalar, type) {
        case (.null, _): return .null
        case (.boolean(let value), .boolean): return .boolean(value)
        case (.number(var text), .integer): return text.withUTF8 { CellText.integer($0) }.map(Value.integer)
        case (.number(let text), .number): return CellText.number(text)
        case (.string(let text), .string): return .string(text)
        case (.string(var text), .date): return text.withUTF8 { CellText.date($0) }
        case (.string(var text), .datetime): return text.withUTF8 { CellText.datetime($0) }
        case (.string(let text), .binary): return CellText.binary(text)
        default: return nil
        }
    }

    /// What a field of `type` holds in JSON.
    private static func expectation(_ type: FieldType) -> String {
        switch type {
        case .string: "a string"
        case .integer: "an integer in the 64-bit range"
        case .number: "a finite number"
        case .boolean: "true or false"
        case .date, .datetime, .binary: "a string holding \(CellText.expectation(type))"
        }
    }

    /// The tokenizer's error (which names a byte offset) with where it happened in the table in front.
    private static func located(_ error: any Error, _ prefix: String) -> any Error {
        guard let error = error as? HandoverError, error.code == .invalidData else { return error }
        return HandoverError(.invalidData, prefix + error.message, underlying: error.underlying, cause: error.cause)
    }
}
