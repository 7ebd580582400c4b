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
        var spans = CSVSpans()
        return try cells.cells.withUnsafeBufferPointer { checks in
            var state = CellValidation(
                checks: checks, schema: schema, constraints: cells.constraints, maxErrors: maxErrors, tap: tap)
            while state.validating || state.tapping, try reader.next(from: source, into: &record, spans: &spans, &state)
            {
            }
            return state.finish(problem: reader.problem)
        }
    }

    /// The running state of ``validateCells(_:maxErrors:tap:)``, which takes the records one by one (a value passed
    /// along, rather than variables captured by a closure, so that its accesses need no run-time exclusivity checks).
    private struct CellValidation: CSVCellsConsumer {
        let checks: UnsafeBufferPointer<CSVCellCheck>
        let schema: TableSchema
        let constraints: [CSVCellConstraint]
        let maxErrors: Int
        let tap: ColumnTap?
        let fieldCount: Int
        var errors: [CSVValidationError] = []
        var recordNumber = 0
        var rows = 0
        var scratch: [UInt8] = []
        var headerMismatch = false
        var validating = true
        /// Set when validation stops before the end (its problem, if the reader then finds one, is not its own).
        var stoppedEarly = false
        var tapping: Bool
        var positions: [Int] = []
        /// The largest of ``positions``: a record with no more fields is short.
        var lastPosition = -1
        /// The tap's types, apart from it, so that a record does not copy the tap.
        let tapTypes: [FieldType]
        var columnRecords = 0
        var shortRecords = 0
        var values: [Value] = []
        var columnsMissing = false

        init(
            checks: UnsafeBufferPointer<CSVCellCheck>, schema: TableSchema, constraints: [CSVCellConstraint],
            maxErrors: Int, tap: ColumnTap?
        ) {
            self.checks = checks
            self.schema = schema
            self.constraints = constraints
            self.maxErrors = maxErrors
            self.tap = tap
            self.fieldCount = schema.fields.count
            self.tapping = tap != nil
            self.tapTypes = tap?.types ?? []
        }

        mutating func add(_ error: CSVValidationError) { if errors.count < maxErrors { errors.append(error) } }

        /// Checks one data record (numbered `row`) whose field count is right: whether a value did not cast.
        mutating func check(_ cells: CSVCells, row: Int) -> Bool {
            var failed = false
            var anyNull = false
            var anyConstraint = false
            for index in 0..<fieldCount {
                let check = checks[index]
                if cells.isNull(index) {
                    anyNull = true
                } else if !CSVCell.casts(cells[index], quoted: cells.quoted[index], to: check.type, &scratch) {
                    add(
                        CSVValidationError(
                            record: row, field: schema.fields[index].name,
                            message: "not a valid \(check.type.rawValue)"))
                    failed = true
                } else if check.constraint >= 0 {
                    anyConstraint = true
                }
            }
            guard !failed else { return true }
            if anyNull {
                for index in 0..<fieldCount where checks[index].required && cells.isNull(index) {
                    add(
                        CSVValidationError(record: row, field: schema.fields[index].name, message: "required but empty")
                    )
                    failed = true
                }
            }
            guard !failed, anyConstraint else { return false }
            for index in 0..<fieldCount {
                let check = checks[index]
                guard check.constraint >= 0, !cells.isNull(index) else { continue }
                if let message = CSVCell.violation(cells[index], check.type, constraints[check.constraint]) {
                    add(CSVValidationError(record: row, field: schema.fields[index].name, message: message))
                    return false
                }
            }
            return false
        }

        mutating func take(_ cells: CSVCells) throws {
            recordNumber += 1
            if recordNumber == 1 {
                let names = cells.strings
                if let tap {
                    for column in tap.columns {
                        guard let position = names.firstIndex(of: column) else {
                            columnsMissing = true
                            tapping = false
                            break
                        }
                        positions.append(position)
                    }
                    lastPosition = positions.max() ?? -1
                }
                if names != schema.fields.map(\.name) {
                    add(
                        CSVValidationError(
                            record: 1, field: nil, message: "the header does not name the table's fields in order"))
                    headerMismatch = true
                    validating = false
                }
                return
            }
            if tapping {
                columnRecords += 1
                if lastPosition < cells.count {
                    values.removeAll(keepingCapacity: true)
                    for number in 0..<positions.count {
                        let position = positions[number]
                        values.append(
                            CSVCell.value(cells[position], quoted: cells.quoted[position], to: tapTypes[number])
                                ?? .null)
                    }
                    try tap?.body(values)
                } else {
                    shortRecords += 1
                }
            }
            guard validating else { return }
            rows += 1
            guard cells.count == fieldCount else {
                add(
                    CSVValidationError(
                        record: recordNumber, field: nil,
                        message: "\(cells.count) fields where the header has \(fieldCount)"))
                return
            }
            // As in the reference, a row with a value that does not cast goes on to the next without stopping.
            if check(cells, row: recordNumber) { return }
            if errors.count >= maxErrors {
                validating = false
                stoppedEarly = true
            }
        }

        /// The result, once the reader stopped (with `problem`, if it found one).
        mutating func finish(problem: String?) -> (
            result: CSVValidationResult, columnRecords: Int?, shortRecords: Int
        ) {
            let columnResult =
                tap == nil || columnsMissing || problem != nil || recordNumber == 0 ? nil : columnRecords
            if headerMismatch { return (CSVValidationResult(rows: 0, errors: errors), columnResult, shortRecords) }
            if !stoppedEarly, let problem {
                add(CSVValidationError(record: recordNumber + 1, field: nil, message: problem))
            }
            if recordNumber == 0 { add(CSVValidationError(record: 0, field: nil, message: "the file has no header")) }
            return (CSVValidationResult(rows: rows, errors: errors), columnResult, shortRecords)
        }
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

/// Where each field of a record starts and ends in some bytes, and whether it was quoted: reused from record to
/// record.
struct CSVSpans {
    private var starts = [Int](repeating: 0, count: 16)
    private var ends = [Int](repeating: 0, count: 16)
    private var quoted = [Bool](repeating: false, count: 16)
    /// The number of fields.
    var count = 0

    /// The most fields held without growing.
    var capacity: Int { starts.count }

    /// Doubles ``capacity``.
    mutating func grow() {
        let more = starts.count
        starts += repeatElement(0, count: more)
        ends += repeatElement(0, count: more)
        quoted += repeatElement(false, count: more)
    }

    /// Calls `body` with the storage of the starts, ends and quoted flags (``capacity`` of each).
    @inline(__always)
    mutating func withStorage<Result>(
        _ body: (UnsafeMutableBufferPointer<Int>, UnsafeMutableBufferPointer<Int>, UnsafeMutableBufferPointer<Bool>)
            -> Result
    ) -> Result {
        starts.withUnsafeMutableBufferPointer { starts in
            ends.withUnsafeMutableBufferPointer { ends in
                quoted.withUnsafeMutableBufferPointer { quoted in body(starts, ends, quoted) }
            }
        }
    }

    /// Takes the fields of `record` (spans of its bytes).
    mutating func load(_ record: CSVRecord) {
        while capacity < record.count { grow() }
        count = record.count
        record.withCells { _, recordEnds, recordQuoted in
            withStorage { starts, ends, quoted in
                var start = 0
                for index in 0..<recordEnds.count {
                    starts[index] = start
                    ends[index] = recordEnds[index]
                    quoted[index] = recordQuoted[index]
                    start = recordEnds[index]
                }
            }
        }
    }

    /// Calls `body` with the cells, in `bytes`.
    @inline(__always)
    func withCells<Result>(in bytes: UnsafeBufferPointer<UInt8>, _ body: (CSVCells) throws -> Result) rethrows
        -> Result
    {
        try starts.withUnsafeBufferPointer { starts in
            try ends.withUnsafeBufferPointer { ends in
                try quoted.withUnsafeBufferPointer { quoted in
                    try body(CSVCells(bytes: bytes, starts: starts, ends: ends, quoted: quoted, count: count))
                }
            }
        }
    }
}

/// What takes the records ``CSVRecordReader/next(from:into:spans:_:)`` reads.
protocol CSVCellsConsumer {
    /// Takes one record's cells, valid only during the call.
    mutating func take(_ cells: CSVCells) throws
}

/// The cells of one record, valid only within the call they are handed to: each cell's bytes (quotes removed,
/// doubled quotes undone) and whether it was quoted.
struct CSVCells {
    let bytes: UnsafeBufferPointer<UInt8>
    let starts: UnsafeBufferPointer<Int>
    let ends: UnsafeBufferPointer<Int>
    let quoted: UnsafeBufferPointer<Bool>
    /// The number of cells.
    let count: Int

    /// The bytes of cell `index`.
    @inline(__always)
    subscript(index: Int) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(rebasing: bytes[starts[index]..<ends[index]])
    }

    /// Whether cell `index` is null: empty and not quoted.
    @inline(__always)
    func isNull(_ index: Int) -> Bool {
        starts[index] == ends[index] && !quoted[index]
    }

    /// The cells as strings.
    var strings: [String] {
        (0..<count).map { String(decoding: self[$0], as: UTF8.self) }
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

    /// Reads the next record and hands its cells to `consumer`: false at the end (or after a problem), as
    /// ``next(from:into:)``, whose cells these are.
    ///
    /// A record that lies whole in the block read, with no doubled quote in it, is not copied: its cells are spans
    /// of the block. Any other goes through ``next(from:into:)`` (into `record`).
    @inline(__always)
    mutating func next(
        from source: PulledSource, into record: inout CSVRecord, spans: inout CSVSpans,
        _ consumer: inout some CSVCellsConsumer
    ) throws -> Bool {
        if problem == nil, position < count, scanInPlace(&spans) {
            try buffer.withUnsafeBufferPointer { buffer in
                try spans.withCells(in: buffer) { try consumer.take($0) }
            }
            return true
        }
        guard try next(from: source, into: &record) else { return false }
        spans.load(record)
        try record.withCells { bytes, _, _ in try spans.withCells(in: bytes) { try consumer.take($0) } }
        return true
    }

    /// Reads the record at ``position`` into `spans` as spans of the block when it ends in the block and needs
    /// nothing undone (no doubled quote), moving past it; false, having moved nothing, otherwise (or when it has
    /// more fields than `spans` holds, which it then grows to hold), and for anything that is not well-formed, which
    /// ``next(from:into:)`` reports.
    @inline(__always)
    private mutating func scanInPlace(_ spans: inout CSVSpans) -> Bool {
        let end = count
        var index = position
        var fields = 0
        let capacity = spans.capacity
        let quote = UInt8(ascii: "\"")
        let comma = UInt8(ascii: ",")
        let done = buffer.withUnsafeBufferPointer { buffer -> Bool in
            spans.withStorage { starts, ends, quoted -> Bool in
                while true {
                    guard index < end else { return false }
                    guard fields < capacity else { return false }
                    let after: UInt8
                    if buffer[index] == quote {
                        let close = Self.quotedRunEnd(buffer, from: index + 1, to: end)
                        guard close + 1 < end else { return false }
                        starts[fields] = index + 1
                        ends[fields] = close
                        quoted[fields] = true
                        after = buffer[close + 1]
                        index = close + 2
                        guard after != quote else { return false }
                    } else {
                        let stop = Self.unquotedRunEnd(buffer, from: index, to: end)
                        guard stop < end else { return false }
                        starts[fields] = index
                        ends[fields] = stop
                        quoted[fields] = false
                        after = buffer[stop]
                        index = stop + 1
                    }
                    fields += 1
                    switch after {
                    case comma: continue
                    case 0x0A: return true
                    case 0x0D:
                        guard index < end, buffer[index] == 0x0A else { return false }
                        index += 1
                        return true
                    default: return false
                    }
                }
            }
        }
        guard done else {
            if fields >= capacity { spans.grow() }
            return false
        }
        position = index
        spans.count = fields
        return true
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
