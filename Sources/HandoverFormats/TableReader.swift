public import HandoverCore
internal import HandoverJSONSchema

/// Reads the rows of one table file (JSON, CSV or XML as the table writers write them), typed by the table's
/// schema, one at a time, as a stream.
///
/// The reverse of ``TableWriter``: for every row a writer accepts, writing what the reader reads from the writer's
/// file gives the same bytes again. Only the row being read is held, so memory does not grow with the file.
///
/// - Nulls: JSON `null`; in CSV an unquoted empty cell (a quoted `""` is the empty string); in XML an element with
///   `xsi:nil="true"` (an empty element is the empty string).
/// - Numbers: a cell whose text is the shortest text of a double (`Double.description`, as the writers write
///   ``Value/number(_:)``) is read as ``Value/number(_:)``; any other plain decimal (`100`, `1.50`, 40 digits) as
///   ``Value/decimal(_:)``, digit for digit; any other finite number in JSON's grammar (`1E5`) as the nearest
///   double.
/// - Dates `YYYY-MM-DD`; date-times ISO 8601 in UTC (`Z`) with seconds, to the microsecond; binary base64.
/// - Text must be valid UTF-8; in JSON, a `\u` escape of a lone surrogate is an error. In CSV, integers and numbers
///   are unquoted, as the writer writes them (and as ``CSVTableValidator`` requires).
///
/// Errors name the table, the row (the data row's number, from 1) and the field, never a value. After an error,
/// every further call to ``next()`` throws it again. Constraints (enumerations, patterns, bounds) are not checked:
/// ``RowChecker`` does that.
///
/// Not thread-safe: use it on one thread at a time.
public final class TableReader {
    private let rows: any RowReading
    private var failure: (any Error)?
    private var ended = false

    /// Rows read so far.
    public private(set) var rowsRead = 0

    /// Starts reading a file of `format` holding rows of `schema`, and reads its beginning (the CSV header, the
    /// opening of the JSON array or of the XML root element).
    /// - Parameters:
    ///   - format: The file's format.
    ///   - schema: The table's schema, which the file must follow field for field.
    ///   - source: The file's bytes, pulled one block at a time.
    ///   - csvFormulaGuard: Whether the CSV file's string cells are guarded (see ``CSVFormulaGuard``): one `'` is
    ///     removed from each guarded cell.
    /// - Throws: ``HandoverError/Code/invalidSchema`` when the schema is not valid;
    ///   ``HandoverError/Code/invalidData`` when the file does not start as a file of this table does; what
    ///   `source` throws.
    public init(format: TableFormat, schema: TableSchema, source: some ByteSource, csvFormulaGuard: Bool = false)
        throws
    {
        try schema.validate()
        switch format {
        case .json: rows = try JSONRowReader(schema: schema, source: source)
        case .csv: rows = try CSVRowReader(schema: schema, source: source, formulaGuard: csvFormulaGuard)
        case .xml: rows = try XMLRowReader(schema: schema, source: source)
        }
    }

    /// The next row, its values in the order of the schema's fields; nil at the end of the file.
    /// - Throws: ``HandoverError/Code/invalidData`` naming the table, the row and the field when the file is not
    ///   well-formed, is truncated, or holds a value that does not fit its field; what the source throws.
    public func next() throws -> Row? {
        if let failure { throw failure }
        if ended { return nil }
        do {
            guard let row = try rows.next(number: rowsRead + 1) else {
                ended = true
                return nil
            }
            rowsRead += 1
            return row
        } catch {
            failure = error
            throw error
        }
    }
}

/// One format's reader behind ``TableReader``.
protocol RowReading: AnyObject {
    /// The next row, whose number (from 1) is `number`, or nil at the end of the file.
    func next(number: Int) throws -> Row?
}

/// The values of cells, from their text as the table writers write it.
///
/// Each returns nil when the text is not a value of its type; the caller says which field and what was expected.
enum CellText {
    /// What a field of `type` must hold, for error messages: `an integer in the 64-bit range`.
    static func expectation(_ type: FieldType) -> String {
        switch type {
        case .string: "valid UTF-8 text"
        case .integer: "an integer in the 64-bit range"
        case .number: "a finite number"
        case .boolean: "true or false"
        case .date: "a date (YYYY-MM-DD)"
        case .datetime: "a date-time in UTC (YYYY-MM-DDTHH:MM:SS[.ffffff]Z)"
        case .binary: "base64"
        }
    }

    /// The value of a field of `type` whose text is `text` (a string field's text must be valid UTF-8).
    static func value(_ text: UnsafeBufferPointer<UInt8>, _ type: FieldType) -> Value? {
        switch type {
        case .string: string(text).map(Value.string)
        case .integer: integer(text).map(Value.integer)
        case .number: number(String(decoding: text, as: UTF8.self))
        case .boolean: boolean(text).map(Value.boolean)
        case .date: date(text)
        case .datetime: datetime(text)
        case .binary: binary(String(decoding: text, as: UTF8.self))
        }
    }

    /// Text that is valid UTF-8.
    static func string(_ text: UnsafeBufferPointer<UInt8>) -> String? {
        JSONReader.isValidUTF8(text) ? String(decoding: text, as: UTF8.self) : nil
    }

    /// An integer: an optional sign and digits, in the 64-bit range.
    @inline(__always)
    static func integer(_ text: UnsafeBufferPointer<UInt8>) -> Int64? {
        var index = 0
        let negative = text.first == UInt8(ascii: "-")
        if negative || text.first == UInt8(ascii: "+") { index = 1 }
        guard index < text.count else { return nil }
        var value: Int64 = 0
        // Up to 18 digits cannot overflow: no check per digit.
        if text.count - index <= 18 {
            while index < text.count {
                let digit = text[index] &- UInt8(ascii: "0")
                guard digit < 10 else { return nil }
                value = value &* 10 &+ Int64(digit)
                index += 1
            }
            return negative ? -value : value
        }
        while index < text.count {
            let digit = text[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) =
                negative
                ? times.subtractingReportingOverflow(Int64(digit)) : times.addingReportingOverflow(Int64(digit))
            if overflow1 || overflow2 { return nil }
            value = next
            index += 1
        }
        return value
    }

    /// A number field's value: a double when `text` is the double's own shortest text (as the writers write
    /// ``Value/number(_:)``), else a decimal when it is a plain decimal, else the nearest double of a finite number
    /// in JSON's grammar (`1E5`).
    static func number(_ text: String) -> Value? {
        // A double's description always has a point or an exponent (`100.0`, `1e+20`): text without either can
        // only be a decimal.
        var text = text
        let pointOrExponent = text.withUTF8 { $0.contains { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") } }
        if pointOrExponent, let double = Double(text), double.isFinite, double.description == text {
            return .number(double)
        }
        if let decimal = Value.decimal(exactly: text) { return decimal }
        guard CSVTableValidator.isDecimal(Array(text.utf8)), let double = Double(text), double.isFinite else {
            return nil
        }
        return .number(double)
    }

    /// `true` or `false`.
    static func boolean(_ text: UnsafeBufferPointer<UInt8>) -> Bool? {
        switch text.count {
        case 4
        where text[0] == UInt8(ascii: "t") && text[1] == UInt8(ascii: "r") && text[2] == UInt8(ascii: "u")
            && text[3] == UInt8(ascii: "e"):
            true
        case 5
        where text[0] == UInt8(ascii: "f") && text[1] == UInt8(ascii: "a") && text[2] == UInt8(ascii: "l")
            && text[3] == UInt8(ascii: "s") && text[4] == UInt8(ascii: "e"):
            false
        default: nil
        }
    }

    /// A date, `YYYY-MM-DD`, that exists.
    static func date(_ text: UnsafeBufferPointer<UInt8>) -> Value? {
        // The parser takes exactly four, two and two digits, so a date it accepts is already in canonical form.
        guard text.count == 10, ISO8601Parser.date(Array(text)) != nil else { return nil }
        return .date(String(decoding: text, as: UTF8.self))
    }

    /// A date-time with seconds, in UTC (`Z`), as the CSV validator accepts them.
    static func datetime(_ text: UnsafeBufferPointer<UInt8>) -> Value? {
        guard text.count >= 20, text.last == UInt8(ascii: "Z"), let time = ISO8601Parser.dateTime(Array(text)) else {
            return nil
        }
        return .datetime(time)
    }

    /// Bytes from standard base64 with padding (the empty text is no bytes).
    static func binary(_ text: String) -> Value? {
        Base64.decode(text).map(Value.binary)
    }
}

extension TableSchema {
    /// `table users, row 12, field email: ` and what follows, as an error.
    func readError(row: Int, field: Int? = nil, _ message: String) -> HandoverError {
        HandoverError(
            .invalidData,
            "table \(name), row \(row)" + (field.map { ", field \(fields[$0].name)" } ?? "") + ": " + message)
    }

    /// The error for a field whose cell does not hold a value of its type.
    func notAValue(row: Int, field: Int) -> HandoverError {
        readError(row: row, field: field, "expected \(CellText.expectation(fields[field].type))")
    }
}
