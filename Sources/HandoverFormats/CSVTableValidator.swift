public import HandoverCore

/// A problem found in a CSV file: where, and what, without the file's values.
public struct CSVValidationError: Sendable, Hashable, CustomStringConvertible {
    /// The record's number, from 1 for the header; 0 for the file as a whole.
    public var record: Int
    /// The field concerned, when known.
    public var field: String?
    /// What is wrong.
    public var message: String

    /// `record 12, field age: not an integer`.
    public var description: String {
        (record > 0 ? "record \(record)" : "file") + (field.map { ", field \($0)" } ?? "") + ": " + message
    }
}

/// What a CSV validation found.
public struct CSVValidationResult: Sendable {
    /// The number of data records (the header not counted).
    public var rows: Int
    /// The problems, at most the number asked for.
    public var errors: [CSVValidationError]
}

/// Validates a CSV file against a table's schema, as its Frictionless Table Schema states it.
///
/// The header must name the fields in order; each value must cast to its field's type; required
/// fields must have values; constraints must hold. An empty unquoted field is null, a quoted empty
/// field (`""`) an empty string. The file is read as a stream from a ``ByteSource``.
public struct CSVTableValidator {
    private let schema: TableSchema
    private let checker: RowChecker
    private let cells: CSVCellChecks

    /// Prepares the checks of `schema`.
    /// - Throws: ``HandoverError/Code/invalidSchema`` when a pattern does not compile.
    public init(schema: TableSchema) throws {
        self.schema = schema
        self.checker = try RowChecker(schema: schema)
        self.cells = try CSVCellChecks(schema: schema)
    }

    /// Validates one file read from `source`.
    /// - Throws: What `source` throws.
    public func validate<Source: ByteSource>(from source: inout Source, maxErrors: Int = 100) throws
        -> CSVValidationResult
    {
        // The reader pulls through a concrete box, so that its per-byte path is not generic code.
        let input = PulledSource(source)
        defer { if let typed = input.source as? Source { source = typed } }
        return try validateCells(input, maxErrors: maxErrors, tap: nil).result
    }

    /// Validates one file read from `source` as ``validate(from:maxErrors:)`` does and, in the same pass, reads the
    /// columns named `columns` (of types `types`) of every data record as ``CSVColumnReader/read(from:columns:types:_:)``
    /// does, calling `body` with their values; the file is read to its end even when validation stops early.
    /// - Returns: The validation's result; what ``CSVColumnReader/read(from:columns:types:_:)`` returns (the number
    ///   of data records, or nil); and how many records `body` was not called for, having too few fields.
    /// - Throws: What `source` or `body` throws.
    public func validate<Source: ByteSource>(
        from source: inout Source, maxErrors: Int = 100, columns: [String], types: [FieldType],
        _ body: ([Value]) throws -> Void
    ) throws -> (result: CSVValidationResult, columnRecords: Int?, shortRecords: Int) {
        let input = PulledSource(source)
        defer { if let typed = input.source as? Source { source = typed } }
        return try withoutActuallyEscaping(body) { body in
            try validateCells(input, maxErrors: maxErrors, tap: ColumnTap(columns: columns, types: types, body: body))
        }
    }

    /// The columns read out of the records while they are validated.
    private struct ColumnTap {
        var columns: [String]
        var types: [FieldType]
        var body: ([Value]) throws -> Void
    }

    /// Validates one file as ``validate(from:maxErrors:)`` does, by casting every cell to a ``Value`` and checking
    /// the ``Row`` with ``RowChecker``: the reference that the byte-level checks are tested against.
    func validateByValues<Source: ByteSource>(from source: inout Source, maxErrors: Int = 100) throws
        -> CSVValidationResult
    {
        let input = PulledSource(source)
        defer { if let typed = input.source as? Source { source = typed } }
        return try validate(input, maxErrors: maxErrors)
    }

    /// Checks each record's cells on their bytes, in the buffer the reader fills: the same problems, in the same
    /// order, as ``validateByValues(from:maxErrors:)``.
    private func validateCells(_ source: PulledSource, maxErrors: Int, tap: ColumnTap?) throws -> (
        result: CSVValidationResult, columnRecords: Int?, shortRecords: Int
    ) {
        var reader = CSVRecordReader()
        var record = CSVRecord()
        var errors: [CSVValidationError] = []
        var recordNumber = 0
        var rows = 0
        var scratch: [UInt8] = []
        let fieldCount = schema.fields.count
        var headerMismatch = false
        var validating = true
        // Set when validation stops before the end (its problem, if the reader then finds one, is not its own).
        var stoppedEarly = false
        var tapping = tap != nil
        var positions: [Int] = []
        var columnRecords = 0
        var shortRecords = 0
        var values: [Value] = []
        var columnsMissing = false
        func add(_ error: CSVValidationError) { if errors.count < maxErrors { errors.append(error) } }
        try cells.cells.withUnsafeBufferPointer { checks in
            while validating || tapping, try reader.next(from: source, into: &record) {
                recordNumber += 1
                if recordNumber == 1 {
                    let names = record.fields.map { String(decoding: $0.bytes, as: UTF8.self) }
                    if let tap {
                        for column in tap.columns {
                            guard let position = names.firstIndex(of: column) else {
                                columnsMissing = true
                                tapping = false
                                break
                            }
                            positions.append(position)
                        }
                    }
                    if names != schema.fields.map(\.name) {
                        add(
                            CSVValidationError(
                                record: 1, field: nil, message: "the header does not name the table's fields in order"
                            ))
                        headerMismatch = true
                        validating = false
                    }
                    continue
                }
                if tapping, let tap {
                    columnRecords += 1
                    if positions.allSatisfy({ $0 < record.count }) {
                        values.removeAll(keepingCapacity: true)
                        record.withCells { bytes, ends, quoted in
                            for (number, position) in positions.enumerated() {
                                let start = position == 0 ? 0 : ends[position - 1]
                                let cell = UnsafeBufferPointer(rebasing: bytes[start..<ends[position]])
                                values.append(
                                    CSVCell.value(cell, quoted: quoted[position], to: tap.types[number]) ?? .null)
                            }
                        }
                        try tap.body(values)
                    } else {
                        shortRecords += 1
                    }
                }
                guard validating else { continue }
                rows += 1
                guard record.count == fieldCount else {
                    add(
                        CSVValidationError(
                            record: recordNumber, field: nil,
                            message: "\(record.count) fields where the header has \(fieldCount)"))
                    continue
                }
                let row = recordNumber
                // As in the reference, a row with a value that does not cast goes on to the next without stopping.
                let castFailed = record.withCells { bytes, ends, quoted -> Bool in
                    var failed = false
                    var anyNull = false
                    var anyConstraint = false
                    var start = 0
                    for index in 0..<fieldCount {
                        let end = ends[index]
                        let check = checks[index]
                        if start == end && !quoted[index] {
                            anyNull = true
                        } else {
                            let cell = UnsafeBufferPointer(rebasing: bytes[start..<end])
                            if !CSVCell.casts(cell, quoted: quoted[index], to: check.type, &scratch) {
                                add(
                                    CSVValidationError(
                                        record: row, field: schema.fields[index].name,
                                        message: "not a valid \(check.type.rawValue)"))
                                failed = true
                            } else if check.constraint >= 0 {
                                anyConstraint = true
                            }
                        }
                        start = end
                    }
                    guard !failed else { return true }
                    if anyNull {
                        start = 0
                        for index in 0..<fieldCount {
                            let end = ends[index]
                            if checks[index].required && start == end && !quoted[index] {
                                add(
                                    CSVValidationError(
                                        record: row, field: schema.fields[index].name, message: "required but empty"))
                                failed = true
                            }
                            start = end
                        }
                    }
                    guard !failed, anyConstraint else { return false }
                    start = 0
                    for index in 0..<fieldCount {
                        let end = ends[index]
                        defer { start = end }
                        let check = checks[index]
                        guard check.constraint >= 0, start != end || quoted[index] else { continue }
                        let cell = UnsafeBufferPointer(rebasing: bytes[start..<end])
                        if let message = CSVCell.violation(cell, check.type, cells.constraints[check.constraint]) {
                            add(CSVValidationError(record: row, field: schema.fields[index].name, message: message))
                            return false
                        }
                    }
                    return false
                }
                if castFailed { continue }
                if errors.count >= maxErrors {
                    validating = false
                    stoppedEarly = true
                }
            }
        }
        let columnResult =
            tap == nil || columnsMissing || reader.problem != nil || recordNumber == 0 ? nil : columnRecords
        if headerMismatch { return (CSVValidationResult(rows: 0, errors: errors), columnResult, shortRecords) }
        if !stoppedEarly, let problem = reader.problem {
            add(CSVValidationError(record: recordNumber + 1, field: nil, message: problem))
        }
        if recordNumber == 0 { add(CSVValidationError(record: 0, field: nil, message: "the file has no header")) }
        return (CSVValidationResult(rows: rows, errors: errors), columnResult, shortRecords)
    }

    private func validate(_ source: PulledSource, maxErrors: Int) throws -> CSVValidationResult {
        var reader = CSVRecordReader()
        var errors: [CSVValidationError] = []
        var record = 0
        var rows = 0
        func add(_ error: CSVValidationError) { if errors.count < maxErrors { errors.append(error) } }
        while let fields = try reader.next(from: source) {
            record += 1
            if record == 1 {
                let names = fields.map { String(decoding: $0.bytes, as: UTF8.self) }
                if names != schema.fields.map(\.name) {
                    add(
                        CSVValidationError(
                            record: 1, field: nil, message: "the header does not name the table's fields in order"))
                    return CSVValidationResult(rows: 0, errors: errors)
                }
                continue
            }
            rows += 1
            guard fields.count == schema.fields.count else {
                add(
                    CSVValidationError(
                        record: record, field: nil,
                        message: "\(fields.count) fields where the header has \(schema.fields.count)"))
                continue
            }
            var values: [Value] = []
            values.reserveCapacity(fields.count)
            var failed = false
            for (index, field) in schema.fields.enumerated() {
                if let value = Self.cast(fields[index], to: field.type) {
                    values.append(value)
                } else {
                    add(
                        CSVValidationError(
                            record: record, field: field.name, message: "not a valid \(field.type.rawValue)"))
                    failed = true
                }
            }
            guard !failed else { continue }
            let row = Row(values)
            for (index, field) in schema.fields.enumerated() where field.required && row.values[index].isNull {
                add(CSVValidationError(record: record, field: field.name, message: "required but empty"))
                failed = true
            }
            if !failed, let violation = checker.violation(in: row) {
                add(CSVValidationError(record: record, field: violation.field, message: violation.message))
            }
            if errors.count >= maxErrors { break }
        }
        if let problem = reader.problem {
            add(CSVValidationError(record: record + 1, field: nil, message: problem))
        }
        if record == 0 { add(CSVValidationError(record: 0, field: nil, message: "the file has no header")) }
        return CSVValidationResult(rows: rows, errors: errors)
    }

    /// The value a CSV field holds for a field of `type`, or nil when it does not cast.
    static func cast(_ field: CSVField, to type: FieldType) -> Value? {
        if field.bytes.isEmpty && !field.quoted { return .null }
        let text = String(decoding: field.bytes, as: UTF8.self)
        switch type {
        case .string: return .string(text)
        case .integer:
            guard !field.quoted, let value = Int64(text) else { return nil }
            return .integer(value)
        case .number:
            guard !field.quoted, Self.isDecimal(field.bytes), let value = Double(text), value.isFinite else {
                return nil
            }
            return .number(value)
        case .boolean:
            switch text {
            case "true": return .boolean(true)
            case "false": return .boolean(false)
            default: return nil
            }
        case .date:
            guard let (year, month, day) = ISO8601Parser.date(field.bytes) else { return nil }
            return .date(CivilDate.format(year: year, month: month, day: day))
        case .datetime:
            guard field.bytes.count >= 20, field.bytes.last == UInt8(ascii: "Z"), let time = Timestamp(iso8601: text)
            else {
                return nil
            }
            return .datetime(time)
        case .binary:
            guard let bytes = Base64.decode(text) else { return nil }
            return .binary(bytes)
        }
    }

    /// Whether the bytes are a decimal number as JSON writes one (optional sign, digits, fraction, exponent).
    static func isDecimal(_ bytes: [UInt8]) -> Bool {
        var index = 0
        func digits() -> Int {
            let start = index
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 { index += 1 }
            return index - start
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard digits() > 0 else { return false }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { return false }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            guard digits() > 0 else { return false }
        }
        return index == bytes.count
    }
}

/// A byte source behind a class, read one block at a time.
final class PulledSource {
    var source: any ByteSource

    init(_ source: any ByteSource) {
        self.source = source
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try source.read(into: buffer)
    }
}

/// One field of a CSV record: its bytes and whether it was quoted.
struct CSVField {
    var bytes: [UInt8]
    var quoted: Bool
}

/// One CSV record's fields in one buffer that is reused from record to record: the bytes of every field (quotes
/// removed, doubled quotes undone) one after another, where each ends, and whether it was quoted.
struct CSVRecord {
    private(set) var bytes: [UInt8] = []
    private(set) var ends: [Int] = []
    private(set) var quoted: [Bool] = []

    /// The number of fields.
    var count: Int { ends.count }

    /// Where field `index`'s bytes are in ``bytes``.
    @inline(__always)
    func range(_ index: Int) -> Range<Int> {
        (index == 0 ? 0 : ends[index - 1])..<ends[index]
    }

    /// Calls `body` with the bytes of field `index`.
    func withField<Result>(_ index: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result {
        try bytes.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[range(index)])) }
    }

    /// The fields as separate values.
    var fields: [CSVField] {
        (0..<count).map { index in CSVField(bytes: withField(index) { Array($0) }, quoted: quoted[index]) }
    }

    /// Calls `body` with every field's bytes, where each field ends in them, and whether each was quoted.
    @inline(__always)
    func withCells<Result>(
        _ body: (UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<Int>, UnsafeBufferPointer<Bool>) throws -> Result
    ) rethrows -> Result {
        try bytes.withUnsafeBufferPointer { bytes in
            try ends.withUnsafeBufferPointer { ends in
                try quoted.withUnsafeBufferPointer { quoted in try body(bytes, ends, quoted) }
            }
        }
    }

    mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
        quoted.removeAll(keepingCapacity: true)
    }

    @inline(__always)
    mutating func append(_ run: UnsafeBufferPointer<UInt8>) {
        bytes.append(contentsOf: run)
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        bytes.append(byte)
    }

    @inline(__always)
    mutating func endField(quoted: Bool) {
        ends.append(bytes.count)
        self.quoted.append(quoted)
    }
}

/// Reads RFC 4180 records from a byte source: CRLF or LF line ends, `"` quoting with `""` escapes.
///
/// Runs of plain bytes are copied a block at a time, into a ``CSVRecord`` that is reused from record to record.
struct CSVRecordReader {
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    private var count = 0
    private var position = 0
    private var atEnd = false
    /// The record behind ``next(from:)``.
    private var record = CSVRecord()
    /// Set when the input is not well-formed CSV; reading stops.
    private(set) var problem: String?

    /// Whether a byte is at `position`, reading the next block when needed; false at the end of the stream.
    @inline(__always)
    private mutating func fill(from source: PulledSource) throws -> Bool {
        if position < count { return true }
        guard !atEnd else { return false }
        count = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
        position = 0
        if count == 0 { atEnd = true }
        return count > 0
    }

    /// The next record, or nil at the end (or after a problem).
    mutating func next(from source: PulledSource) throws -> [CSVField]? {
        var record = self.record
        self.record = CSVRecord()
        defer { self.record = record }
        guard try next(from: source, into: &record) else { return nil }
        return record.fields
    }

    /// Reads the next record into `record`: false at the end (or after a problem).
    mutating func next(from source: PulledSource, into record: inout CSVRecord) throws -> Bool {
        record.removeAll()
        guard problem == nil, try fill(from: source) else { return false }
        let quote = UInt8(ascii: "\"")
        let comma = UInt8(ascii: ",")
        fields: while true {
            guard try fill(from: source) else {
                record.endField(quoted: false)
                return true
            }
            if buffer[position] == quote {
                position += 1
                // A quoted field: runs up to the next quote, which closes the field unless another follows it.
                while true {
                    guard try fill(from: source) else {
                        problem = "a quoted field is not closed"
                        return false
                    }
                    let stop = buffer.withUnsafeBufferPointer { [position, count] buffer in
                        let stop = Self.quotedRunEnd(buffer, from: position, to: count)
                        record.append(UnsafeBufferPointer(rebasing: buffer[position..<stop]))
                        return stop
                    }
                    position = stop
                    guard position < count else { continue }
                    position += 1
                    guard try fill(from: source), buffer[position] == quote else { break }
                    record.append(quote)
                    position += 1
                }
                guard try fill(from: source) else {
                    record.endField(quoted: true)
                    return true
                }
                let after = buffer[position]
                position += 1
                switch after {
                case comma:
                    record.endField(quoted: true)
                    continue fields
                case 0x0A:
                    record.endField(quoted: true)
                    return true
                case 0x0D where try fill(from: source) && buffer[position] == 0x0A:
                    position += 1
                    record.endField(quoted: true)
                    return true
                default:
                    problem = "a quoted field is followed by something other than a comma or a line end"
                    return false
                }
            }
            // An unquoted field: runs up to a comma, a line end or a (misplaced) quote.
            while true {
                guard try fill(from: source) else {
                    record.endField(quoted: false)
                    return true
                }
                let stop = buffer.withUnsafeBufferPointer { [position, count] buffer in
                    let stop = Self.unquotedRunEnd(buffer, from: position, to: count)
                    record.append(UnsafeBufferPointer(rebasing: buffer[position..<stop]))
                    return stop
                }
                position = stop
                guard position < count else { continue }
                let byte = buffer[position]
                position += 1
                switch byte {
                case comma:
                    record.endField(quoted: false)
                    continue fields
                case quote:
                    problem = "a quote inside an unquoted field"
                    return false
                case 0x0A:
                    record.endField(quoted: false)
                    return true
                default:
                    guard try fill(from: source), buffer[position] == 0x0A else {
                        problem = "a carriage return not followed by a line feed"
                        return false
                    }
                    position += 1
                    record.endField(quoted: false)
                    return true
                }
            }
        }
    }

    /// The position of the first quote in `start..<end`, or `end`; eight bytes at a time.
    @inline(__always)
    static func quotedRunEnd(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> Int {
        var index = start
        #if _endian(little)
            if let base = bytes.baseAddress {
                let raw = UnsafeRawPointer(base)
                while index + 8 <= end {
                    let mask = matches(raw.loadUnaligned(fromByteOffset: index, as: UInt64.self), 0x22)
                    if mask != 0 { return index + mask.trailingZeroBitCount / 8 }
                    index += 8
                }
            }
        #endif
        while index < end, bytes[index] != 0x22 { index += 1 }
        return index
    }

    /// The position of the first comma, quote, line feed or carriage return in `start..<end`, or `end`; eight
    /// bytes at a time.
    @inline(__always)
    static func unquotedRunEnd(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> Int {
        var index = start
        #if _endian(little)
            if let base = bytes.baseAddress {
                let raw = UnsafeRawPointer(base)
                while index + 8 <= end {
                    let word = raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                    let mask = matches(word, 0x2C) | matches(word, 0x22) | matches(word, 0x0A) | matches(word, 0x0D)
                    if mask != 0 { return index + mask.trailingZeroBitCount / 8 }
                    index += 8
                }
            }
        #endif
        while index < end {
            let byte = bytes[index]
            if byte == 0x2C || byte == 0x22 || byte == 0x0A || byte == 0x0D { break }
            index += 1
        }
        return index
    }

    /// The high bit of each byte of `word` (loaded little-endian) that equals `byte`, and possibly of bytes after the
    /// first that does (a borrow runs upwards): the lowest bit set is always the first match.
    @inline(__always)
    private static func matches(_ word: UInt64, _ byte: UInt8) -> UInt64 {
        let spread = word ^ (0x0101_0101_0101_0101 &* UInt64(byte))
        return (spread &- 0x0101_0101_0101_0101) & ~spread & 0x8080_8080_8080_8080
    }
}
