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
@inline(__always)
func checkRow(_ row: Row, _ schema: TableSchema) throws {
    guard row.values.count == schema.fields.count else {
        throw HandoverError(
            .invalidData,
            "table \(schema.name): a row has \(row.values.count) values for \(schema.fields.count) fields")
    }
    for (index, field) in schema.fields.enumerated() {
        let value = row.values[index]
        if value.isNull {
            if field.required {
                throw HandoverError(
                    .invalidData,
                    "table \(schema.name), row \(row.keyDescription(in: schema)), field \(field.name): required but null"
                )
            }
        } else if !value.fits(field.type) {
            throw HandoverError(
                .invalidData,
                "table \(schema.name), row \(row.keyDescription(in: schema)), field \(field.name): not of type \(field.type.rawValue)"
            )
        }
    }
}

/// The shortest decimal text that reads back as the same double; nil for infinities and NaN.
func numberText(_ value: Double) -> String? {
    guard value.isFinite else { return nil }
    return value.description
}
