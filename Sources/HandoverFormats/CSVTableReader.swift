internal import HandoverCore

/// Reads a table's CSV file, as ``CSVTableWriter`` writes it: a header naming the fields in order, then one record
/// per row.
///
/// An unquoted empty cell is null, a quoted empty cell (`""`) the empty string (or, in a binary field, no bytes).
/// Integers and numbers are never quoted. With the formula guard, one `'` is removed from each guarded string cell
/// (see ``CSVFormulaGuard/unguarded(_:)``).
final class CSVRowReader: RowReading {
    private let schema: TableSchema
    private let types: [FieldType]
    private let required: [Bool]
    private let formulaGuard: Bool
    private let source: PulledSource
    private var reader = CSVRecordReader()
    private var record = CSVRecord()

    init(schema: TableSchema, source: some ByteSource, formulaGuard: Bool) throws {
        self.schema = schema
        self.types = schema.fields.map(\.type)
        self.required = schema.fields.map(\.required)
        self.formulaGuard = formulaGuard
        self.source = PulledSource(source)
        guard try reader.next(from: self.source, into: &record) else {
            throw HandoverError(
                .invalidData,
                "table \(schema.name): "
                    + (reader.problem.map { "the header is not well-formed CSV: \($0)" } ?? "the file has no header"))
        }
        for (index, field) in schema.fields.enumerated() {
            guard index < record.count else {
                throw HandoverError(
                    .invalidData,
                    "table \(schema.name): the header has \(record.count) columns; column \(index + 1) should be "
                        + "field \(field.name)")
            }
            guard record.withField(index, { $0.elementsEqual(field.name.utf8) }) else {
                throw HandoverError(
                    .invalidData,
                    "table \(schema.name): column \(index + 1) of the header should be field \(field.name)")
            }
        }
        guard record.count == schema.fields.count else {
            throw HandoverError(
                .invalidData,
                "table \(schema.name): the header has \(record.count) columns for \(schema.fields.count) fields")
        }
    }

    func next(number: Int) throws -> Row? {
        guard try reader.next(from: source, into: &record) else {
            if let problem = reader.problem {
                throw schema.readError(row: number, "not well-formed CSV: \(problem)")
            }
            return nil
        }
        guard record.count == types.count else {
            throw schema.readError(row: number, "\(record.count) cells for \(types.count) fields")
        }
        var values: [Value] = []
        values.reserveCapacity(types.count)
        let record = self.record
        try record.bytes.withUnsafeBufferPointer { bytes in
            for index in 0..<types.count {
                let text = UnsafeBufferPointer(rebasing: bytes[record.range(index)])
                let value: Value?
                if text.isEmpty && !record.quoted[index] {
                    guard !required[index] else {
                        throw schema.readError(row: number, field: index, "required but null")
                    }
                    value = .null
                } else {
                    switch types[index] {
                    case .string:
                        value = CellText.string(text).map { .string(formulaGuard ? CSVFormulaGuard.unguarded($0) : $0) }
                    case .integer, .number: value = record.quoted[index] ? nil : CellText.value(text, types[index])
                    default: value = CellText.value(text, types[index])
                    }
                }
                guard let value else { throw schema.notAValue(row: number, field: index) }
                values.append(value)
            }
        }
        return Row(values)
    }
}
