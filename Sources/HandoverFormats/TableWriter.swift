public import HandoverCore

/// A streaming writer of one table's rows into one file format.
///
/// Rows go in one at a time with ``write(_:)``; ``finish()`` closes the document. Nothing is held
/// beyond a block of output, so a writer's memory does not grow with the table.
public protocol TableWriter<Sink> {
    /// Where the bytes go.
    associatedtype Sink: ByteSink

    /// Writes one row.
    /// - Throws: ``HandoverError/Code/invalidData`` when the row does not fit the schema, or what the sink throws.
    mutating func write(_ row: Row) throws

    /// Ends the document and flushes every byte to the sink.
    /// - Throws: What the sink throws.
    mutating func finish() throws

    /// The sink, for reading what was written after ``finish()``.
    var sink: Sink { get }
}

/// The file formats a table is written in.
public enum TableFormat: String, Sendable, Hashable, CaseIterable, Codable {
    /// An array of objects, one per row, in `.json`.
    case json
    /// RFC 4180 comma-separated values with a header row, in `.csv`.
    case csv
    /// An XML document with one element per row, in `.xml`.
    case xml

    /// The file name extension, without a dot.
    public var fileExtension: String { rawValue }

    /// The IANA media type.
    public var mediaType: String {
        switch self {
        case .json: "application/json"
        case .csv: "text/csv"
        case .xml: "application/xml"
        }
    }

    /// Parses a comma-separated list such as `json,csv`.
    /// - Throws: ``HandoverError/Code/invalidArgument`` naming an unknown format.
    public static func parseList(_ text: String) throws -> [TableFormat] {
        var formats: [TableFormat] = []
        for part in text.split(separator: ",") {
            let name = part.trimmingSpaces()
            guard let format = TableFormat(rawValue: name) else {
                throw HandoverError(.invalidArgument, "unknown format '\(name.prefix(20))': use json, csv or xml")
            }
            if !formats.contains(format) { formats.append(format) }
        }
        guard !formats.isEmpty else { throw HandoverError(.invalidArgument, "no format given: use json, csv or xml") }
        return formats
    }

    /// Makes a writer of this format for `schema` that writes into `sink`; `csvFormulaGuard` guards a CSV
    /// file's string cells (see ``CSVFormulaGuard``).
    /// - Throws: ``HandoverError/Code/formatFailed`` when the writer cannot start.
    public func makeWriter<S: ByteSink>(for schema: TableSchema, into sink: S, csvFormulaGuard: Bool = false) throws
        -> any TableWriter<S>
    {
        switch self {
        case .json: try JSONTableWriter(schema: schema, sink: sink)
        case .csv: try CSVTableWriter(schema: schema, sink: sink, formulaGuard: csvFormulaGuard)
        case .xml: try XMLTableWriter(schema: schema, sink: sink)
        }
    }
}

extension Substring {
    func trimmingSpaces() -> String {
        String(self.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}

/// Checks that a row has one value per field and that each value fits its field.
func checkRow(_ row: Row, _ schema: TableSchema) throws {
    try RowShape(schema).check(row)
}

/// What a row must look like to fit a table: a value per field, each of its field's type or null, nulls only in
/// fields that are not required. Taken out of the schema once, so that checking a row reads no field's
/// description, title or constraints; a class, so that the writers pass it around with one reference count.
final class RowShape: Sendable {
    let schema: TableSchema
    /// The fields' types, in order.
    let types: [FieldType]
    /// Whether each field is required.
    let required: [Bool]

    init(_ schema: TableSchema) {
        self.schema = schema
        self.types = schema.fields.map(\.type)
        self.required = schema.fields.map(\.required)
    }

    /// Checks one row.
    /// - Throws: ``HandoverError/Code/invalidData`` naming the table, the row's key and the first field that does not
    ///   fit, never the value.
    @inline(__always)
    func check(_ row: Row) throws {
        let fits = row.values.withUnsafeBufferPointer { values in
            guard values.count == types.count else { return false }
            return types.withUnsafeBufferPointer { types in
                required.withUnsafeBufferPointer { required in
                    for index in 0..<values.count {
                        let fits: Bool
                        switch values[index] {
                        case .null: fits = !required[index]
                        case .string: fits = types[index] == .string
                        case .integer: fits = types[index] == .integer
                        case .number, .decimal: fits = types[index] == .number
                        case .boolean: fits = types[index] == .boolean
                        case .date: fits = types[index] == .date
                        case .datetime: fits = types[index] == .datetime
                        case .binary: fits = types[index] == .binary
                        }
                        if !fits { return false }
                    }
                    return true
                }
            }
        }
        if !fits { throw failure(row) }
    }

    /// The error for a row that does not fit, as the first misfit tells it.
    private func failure(_ row: Row) -> HandoverError {
        guard row.values.count == schema.fields.count else {
            return HandoverError(
                .invalidData,
                "table \(schema.name): a row has \(row.values.count) values for \(schema.fields.count) fields")
        }
        for (index, field) in schema.fields.enumerated() {
            let value = row.values[index]
            if value.isNull {
                if field.required {
                    return HandoverError(
                        .invalidData,
                        "table \(schema.name), row \(row.keyDescription(in: schema)), field \(field.name): required but null"
                    )
                }
            } else if !value.fits(field.type) {
                return HandoverError(
                    .invalidData,
                    "table \(schema.name), row \(row.keyDescription(in: schema)), field \(field.name): not of type \(field.type.rawValue)"
                )
            }
        }
        return HandoverError(.internalError, "table \(schema.name): a row did not fit, but no field says why")
    }

    /// The error for a number that is not finite in field `index`.
    func notFinite(_ row: Row, field index: Int) -> HandoverError {
        HandoverError(
            .invalidData,
            "table \(schema.name), row \(row.keyDescription(in: schema)), field \(schema.fields[index].name): not a finite number"
        )
    }
}

/// The shortest decimal text that reads back as the same double; nil for infinities and NaN.
func numberText(_ value: Double) -> String? {
    guard value.isFinite else { return nil }
    return value.description
}
