public import HandoverCore
internal import HandoverSQLite
internal import Synchronization

/// A value a reader could not take as its field's type, or text that is not valid UTF-8.
package struct Unfit: Error {
    /// What is wrong with it.
    package var kind: RepairKind
    /// What was expected and found, without the value.
    package var problem: String

    /// A problem of `kind`.
    package init(_ kind: RepairKind, _ problem: String) {
        self.kind = kind
        self.problem = problem
    }
}

/// What every source does to a value on its way into a row: pseudonyms for references to other people, the
/// map's `on-invalid` for values that do not fit, and errors that name the table, row and field but never the
/// value.
package struct RowConversion: Sendable {
    /// The table's plan.
    package let plan: TablePlan
    /// The subject's key as text, for keeping the subject's own references in clear.
    package let subjectKey: String?
    /// Makes pseudonyms.
    package let pseudonymizer: any Pseudonymizer
    /// Whether references to other people become pseudonyms (subject exports only).
    package let pseudonymize: Bool
    /// Where repairs are counted.
    package let repairs: RepairLog
    /// When scanning (`map check --scan`): where every unfit value is listed instead of failing or repairing.
    package let scan: ScanLog?

    /// A conversion for `plan`.
    package init(
        plan: TablePlan, subjectKey: String?, pseudonymizer: any Pseudonymizer, pseudonymize: Bool,
        repairs: RepairLog, scan: ScanLog? = nil
    ) {
        self.plan = plan
        self.subjectKey = subjectKey
        self.pseudonymizer = pseudonymizer
        self.pseudonymize = pseudonymize
        self.repairs = repairs
        self.scan = scan
    }

    /// The value of field `index`, a reference whose text is `text`: a pseudonym in subject exports, unless it
    /// points at the subject.
    package func reference(_ text: String, at index: Int, domain: String) -> Value {
        if !pseudonymize || (plan.referencesSubject[index] && text == subjectKey) { return .string(text) }
        return .string(pseudonymizer.pseudonym(for: text, domain: domain))
    }

    /// The value of a `number` field held as text, as every source reads it: an exact decimal (`1.50`, written
    /// digit for digit), else a double in the one form Handover's writers print it (`1e+20`, `-1e-07`, `3.0`: the
    /// text is `Double.description` of its value); nil for any other text (`1E5`, ` 1`, `inf`, `nan`).
    /// - Parameter text: The stored text.
    /// - Returns: A ``Value/decimal(_:)`` or a finite ``Value/number(_:)``, or nil.
    package static func number(text: String) -> Value? {
        if let decimal = Value.decimal(exactly: text) { return decimal }
        guard let number = Double(text), number.isFinite, number.description == text else { return nil }
        return .number(number)
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

    /// The value field `index` gets when reading it failed with `unfit`: under `on-invalid: fail`, the error that
    /// names table, row and field; under `replace` (or when scanning), the repaired value, counted: the text with
    /// U+FFFD for a string field, or null with the text in the companion field (set in `companions`).
    /// - Parameters:
    ///   - rowKey: The row's key for messages, computed only when needed.
    ///   - text: The value's text, invalid UTF-8 replaced by U+FFFD, computed only when needed.
    ///   - companions: The companion fields' values of this row, by position after the read fields.
    package func repair(
        _ index: Int, _ unfit: Unfit, rowKey: () -> String, text: () -> String, companions: inout [Value]
    ) throws -> Value {
        let field = plan.schema.fields[index]
        if let scan {
            scan.record(
                ScanFinding(
                    table: plan.schema.name, field: field.name, row: rowKey(), kind: unfit.kind,
                    problem: unfit.problem, policy: plan.policies[index]))
        } else {
            guard plan.policies[index] == .replace else { throw invalid(index, rowKey: rowKey(), unfit.problem) }
        }
        if field.type == .string {
            if scan == nil { repairs.record(table: plan.schema.name, field: field.name, kind: unfit.kind) }
            if let domain = plan.pseudonymDomains[index] { return reference(text(), at: index, domain: domain) }
            return .string(text())
        }
        guard let companion = plan.companions[index] else {
            // A field with no companion (a key, or scanning a map that fails): nothing to put it in.
            if scan != nil { return .null }
            throw invalid(index, rowKey: rowKey(), unfit.problem)
        }
        if scan == nil {
            repairs.record(
                table: plan.schema.name, field: field.name, kind: .unfitValue,
                textField: plan.schema.fields[companion].name)
        }
        companions[companion - plan.sourceCount] = .string(text())
        return .null
    }
}

/// A value `map check --scan` found that would fail an export (or be repaired), by table, field and row key;
/// never the value.
public struct ScanFinding: Sendable, Hashable, Codable {
    /// The table's exported name.
    public var table: String
    /// The field's name.
    public var field: String
    /// The row's key (integer keys in clear, any other key by its type only: it may be personal data).
    public var row: String
    /// What is wrong.
    public var kind: RepairKind
    /// What was expected and found, without the value.
    public var problem: String
    /// What an export does with it: fails, or repairs it.
    public var policy: DatasetMap.InvalidValuePolicy
}

/// The findings of a scan, kept up to a number per field and counted beyond it; safe from any thread.
package final class ScanLog: Sendable {
    private struct State {
        var findings: [ScanFinding] = []
        var fields: [DataScan.FieldCount] = []
        /// The position in ``fields`` of each table's fields.
        var positions: [String: [String: Int]] = [:]
    }
    private let state = Mutex(State())
    /// How many findings are kept per table and field.
    package let limit: Int

    /// A log keeping at most `limit` findings per table and field.
    package init(limit: Int) { self.limit = limit }

    /// Adds a finding.
    package func record(_ finding: ScanFinding) {
        state.withLock { state in
            let position =
                state.positions[finding.table]?[finding.field]
                ?? {
                    state.fields.append(
                        DataScan.FieldCount(
                            table: finding.table, field: finding.field, values: 0, policy: finding.policy))
                    state.positions[finding.table, default: [:]][finding.field] = state.fields.count - 1
                    return state.fields.count - 1
                }()
            state.fields[position].values += 1
            if state.fields[position].values <= limit { state.findings.append(finding) }
        }
    }

    /// The findings kept, in the order found.
    package var findings: [ScanFinding] { state.withLock { $0.findings } }
    /// Every field with findings, how many and what an export does with them, by table and field.
    package var fields: [DataScan.FieldCount] {
        state.withLock { $0.fields }.sorted { ($0.table, $0.field) < ($1.table, $1.field) }
    }
}

/// Rows of one SQLite query as SQLite gave them: each cell's storage class and its integer, real or bytes, copied out
/// of the statement. The reading thread fills a batch of them (stepping SQLite and copying, nothing more), and the
/// thread that writes the rows turns them into ``Row`` values (``RowDecoder``): the work of a table's rows is shared
/// between two cores. A batch is emptied and filled again, keeping its memory.
struct RawRows {
    /// Cells per row.
    let columns: Int
    /// Rows held.
    private(set) var count = 0
    /// The bytes of text and blobs held.
    var byteCount: Int { bytes.count }
    /// Each cell's storage class, row after row.
    private(set) var kinds: [SQLiteStorage] = []
    /// Each cell's integer, or a real's bits (0 for other cells).
    private(set) var numbers: [Int64] = []
    /// Where each cell's bytes end in ``bytes`` (text and blobs; a cell without bytes ends where the one before it does).
    private(set) var ends: [Int] = []
    /// The text and blob bytes of every cell, one after the other.
    private(set) var bytes: [UInt8] = []

    init(columns: Int, capacity: Int) {
        self.columns = columns
        kinds.reserveCapacity(columns * capacity)
        numbers.reserveCapacity(columns * capacity)
        ends.reserveCapacity(columns * capacity)
    }

    /// Empties the batch, keeping its memory.
    mutating func removeAll() {
        count = 0
        kinds.removeAll(keepingCapacity: true)
        numbers.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
        bytes.removeAll(keepingCapacity: true)
    }

    /// Copies the statement's current row.
    mutating func append(_ statement: SQLiteStatement) {
        for column in 0..<columns {
            let cell = statement.cell(at: Int32(column))
            let kind = cell.type
            kinds.append(kind)
            switch kind {
            case .integer: numbers.append(cell.int64)
            case .float: numbers.append(Int64(bitPattern: cell.double.bitPattern))
            case .text:
                numbers.append(0)
                bytes.append(contentsOf: cell.utf8)
            case .blob:
                numbers.append(0)
                bytes.append(contentsOf: cell.blobBytes)
            case .null: numbers.append(0)
            }
            ends.append(bytes.count)
        }
        count += 1
    }

    /// Calls `body` with the cells of row `row`, read through `cells`.
    func withRow<T>(_ row: Int, _ body: (RawCells) throws -> T) rethrows -> T {
        try bytes.withUnsafeBufferPointer { bytes in
            try kinds.withUnsafeBufferPointer { kinds in
                try numbers.withUnsafeBufferPointer { numbers in
                    try ends.withUnsafeBufferPointer { ends in
                        try body(
                            RawCells(first: row * columns, kinds: kinds, numbers: numbers, ends: ends, bytes: bytes))
                    }
                }
            }
        }
    }
}

/// The cells of one row of ``RawRows``.
struct RawCells {
    let first: Int
    let kinds: UnsafeBufferPointer<SQLiteStorage>
    let numbers: UnsafeBufferPointer<Int64>
    let ends: UnsafeBufferPointer<Int>
    let bytes: UnsafeBufferPointer<UInt8>

    /// Cell `column`'s storage class.
    @inline(__always)
    func type(_ column: Int) -> SQLiteStorage { kinds[first &+ column] }

    /// Cell `column`'s integer.
    @inline(__always)
    func int64(_ column: Int) -> Int64 { numbers[first &+ column] }

    /// Cell `column`'s real number (an integer cell's, converted, as SQLite converts it).
    @inline(__always)
    func double(_ column: Int) -> Double {
        let index = first &+ column
        if case .integer = kinds[index] { return Double(numbers[index]) }
        return Double(bitPattern: UInt64(bitPattern: numbers[index]))
    }

    /// Cell `column`'s bytes (text or blob), as SQLite held them.
    @inline(__always)
    func utf8(_ column: Int) -> UnsafeBufferPointer<UInt8> {
        let index = first &+ column
        let start = index == 0 ? 0 : ends[index &- 1]
        return UnsafeBufferPointer(rebasing: bytes[start..<ends[index]])
    }

    /// Cell `column`'s text, or nil when it is not valid UTF-8.
    @inline(__always)
    func text(_ column: Int) -> String? { UTF8Text.string(utf8(column)) }

    /// Cell `column`'s bytes, as an array.
    func blob(_ column: Int) -> [UInt8] { Array(utf8(column)) }
}

/// Steps one SQLite query and copies its rows into batches of ``RawRows``, on the reading thread.
///
/// A batch stops at `limit` rows, or sooner once it holds `byteLimit` bytes of text and blobs: a table of large
/// values (documents, images kept as blobs) is read a few rows at a time, so that the batches waiting and being
/// refilled (each keeps its memory) hold a few MiB, not `limit` large values.
struct RawRowReader: BatchProducing {
    let statement: SQLiteStatement
    let columns: Int
    let byteLimit: Int

    init(statement: SQLiteStatement, columns: Int, byteLimit: Int = 4 << 20) {
        self.statement = statement
        self.columns = columns
        self.byteLimit = byteLimit
    }

    func makeBatch(capacity: Int) -> RawRows { RawRows(columns: columns, capacity: capacity) }

    static func count(of batch: RawRows) -> Int { batch.count }

    static func empty(_ batch: inout RawRows) { batch.removeAll() }

    mutating func read(into batch: inout RawRows, limit: Int) throws -> Bool {
        while batch.count < limit && batch.byteCount < byteLimit {
            guard try statement.step() else { return true }
            batch.append(statement)
        }
        return false
    }
}

/// Turns rows of ``RawRows`` into ``Row`` values, checking each against its field, on the thread that writes them.
struct RowDecoder {
    let plan: TablePlan
    let conversion: RowConversion
    let types: [FieldType]
    /// Whether each read field is a reference that may become a pseudonym (it has a pseudonym domain).
    let references: [Bool]
    var values: [Value]
    /// The companion fields' nulls, copied for each row.
    let companions: [Value]

    init(conversion: RowConversion) {
        self.plan = conversion.plan
        self.conversion = conversion
        self.types = plan.schema.fields.prefix(plan.sourceCount).map(\.type)
        let domains = conversion.plan.pseudonymDomains
        self.references = (0..<conversion.plan.sourceCount).map { domains[$0] != nil }
        self.values = []
        self.values.reserveCapacity(plan.schema.fields.count)
        self.companions = Array(repeating: .null, count: plan.schema.fields.count - plan.sourceCount)
    }

    /// Appends the rows of `batch` to `rows`, in order.
    /// - Throws: A value's error, having appended the rows before its row.
    mutating func decode(_ batch: RawRows, into rows: inout [Row]) throws {
        for index in 0..<batch.count {
            rows.append(try batch.withRow(index) { try row($0) })
        }
    }

    /// The row of `cells`.
    mutating func row(_ cells: RawCells) throws -> Row {
        values.removeAll(keepingCapacity: true)
        if companions.isEmpty {
            for index in 0..<types.count {
                do {
                    values.append(try value(at: index, cells))
                } catch let unfit as Unfit {
                    var none: [Value] = []
                    values.append(
                        try conversion.repair(
                            index, unfit, rowKey: { rowKey(cells) }, text: { rawText(at: index, cells) },
                            companions: &none))
                }
            }
            return Row(values)
        }
        var companions = self.companions
        for index in 0..<types.count {
            do {
                values.append(try value(at: index, cells))
            } catch let unfit as Unfit {
                values.append(
                    try conversion.repair(
                        index, unfit, rowKey: { rowKey(cells) }, text: { rawText(at: index, cells) },
                        companions: &companions))
            }
        }
        values += companions
        return Row(values)
    }

    /// The value's text for a repair: text and bytes of a string field with invalid UTF-8 as U+FFFD, other bytes in
    /// base64, numbers as SQLite writes them.
    private func rawText(at index: Int, _ cells: RawCells) -> String {
        switch cells.type(index) {
        case .integer: return String(cells.int64(index))
        case .float: return String(cells.double(index))
        case .blob where types[index] != .string: return Base64.encode(cells.blob(index))
        case .null: return ""
        default: return String(decoding: cells.utf8(index), as: UTF8.self)
        }
    }

    private func value(at index: Int, _ cells: RawCells) throws -> Value {
        let storage = cells.type(index)
        if case .null = storage { return .null }
        if references[index], let domain = plan.pseudonymDomains[index] {
            let reference: String
            switch storage {
            case .integer: reference = String(cells.int64(index))
            case .text: reference = try text(at: index, cells)
            case .float: reference = String(cells.double(index))
            default: throw mismatch(index, expected: "a reference", found: storage)
            }
            return conversion.reference(reference, at: index, domain: domain)
        }
        switch types[index] {
        case .string:
            switch storage {
            case .text: return .string(try text(at: index, cells))
            case .integer: return .string(String(cells.int64(index)))
            case .float: return .string(String(cells.double(index)))
            default: throw mismatch(index, expected: "text", found: storage)
            }
        case .integer:
            switch storage {
            case .integer: return .integer(cells.int64(index))
            case .float:
                let number = cells.double(index)
                if number.rounded() == number, let exact = Int64(exactly: number) { return .integer(exact) }
            default: break
            }
            throw mismatch(index, expected: "an integer", found: storage)
        case .number:
            switch storage {
            case .float, .integer:
                let number = cells.double(index)
                guard number.isFinite else { throw mismatch(index, expected: "a finite number", found: storage) }
                return .number(number)
            case .text:
                // An exact decimal kept as text (a number too precise for a double), or a double's text.
                if let number = RowConversion.number(text: try text(at: index, cells)) { return number }
            default: break
            }
            throw mismatch(index, expected: "a number", found: storage)
        case .boolean:
            switch storage {
            case .integer:
                switch cells.int64(index) {
                case 0: return .boolean(false)
                case 1: return .boolean(true)
                default: break
                }
            case .text:
                switch try text(at: index, cells) {
                case "true", "TRUE", "1": return .boolean(true)
                case "false", "FALSE", "0": return .boolean(false)
                default: break
                }
            default: break
            }
            throw mismatch(index, expected: "a boolean (0 or 1)", found: storage)
        case .date:
            if case .text = storage {
                // `YYYY-MM-DD` read from the bytes is already in canonical form (and ASCII, so valid UTF-8).
                let bytes = cells.utf8(index)
                if ISO8601Parser.date(utf8: bytes) != nil { return .date(String(decoding: bytes, as: UTF8.self)) }
                _ = try text(at: index, cells)  // text that is not UTF-8 is reported as such
            }
            throw mismatch(index, expected: "a date (YYYY-MM-DD)", found: storage)
        case .datetime:
            switch storage {
            case .text:
                // A date-time parses from ASCII only: from the bytes, without making a string.
                if let time = ISO8601Parser.dateTime(utf8: cells.utf8(index)) { return .datetime(time) }
                _ = try text(at: index, cells)  // text that is not UTF-8 is reported as such
            case .integer:
                return .datetime(Timestamp(secondsSince1970: cells.int64(index)))
            case .float:
                let seconds = cells.double(index)
                if seconds.isFinite, abs(seconds) < 1e14 {
                    return .datetime(Timestamp(millisecondsSince1970: Int64((seconds * 1000).rounded())))
                }
            default: break
            }
            throw mismatch(index, expected: "a date-time (ISO 8601 or Unix seconds)", found: storage)
        case .binary:
            switch storage {
            case .blob, .text: return .binary(cells.blob(index))
            default: throw mismatch(index, expected: "bytes", found: storage)
            }
        }
    }

    private func text(at index: Int, _ cells: RawCells) throws -> String {
        guard let text = cells.text(index) else { throw Unfit(.invalidText, "text is not valid UTF-8") }
        return text
    }

    private func mismatch(_ index: Int, expected: String, found storage: SQLiteStorage) -> Unfit {
        let found =
            switch storage {
            case .integer: "an integer"
            case .float: "a real number"
            case .text: "text"
            case .blob: "a blob"
            default: "null"
            }
        return Unfit(.unfitValue, "expected \(expected), found \(found)")
    }

    /// The row's primary key for an error message: integer keys in clear, anything else by type only.
    private func rowKey(_ cells: RawCells) -> String {
        Row.keyDescription(in: plan.schema) { index in
            switch cells.type(index) {
            case .integer: .integer(cells.int64(index))
            case .null: .null
            default: .hidden
            }
        }
    }
}
