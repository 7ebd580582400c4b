public import HandoverCore

/// The checks of one field of a CSV file, compiled to work on a cell's bytes: the same verdicts as
/// ``CSVTableValidator/cast(_:to:)`` followed by ``RowChecker/violation(in:)``, without building a `String`, a
/// ``Value`` or a ``Row`` for a cell that has no constraint to check.
///
/// The hot part is a plain value (no references), so that walking the fields of a row retains nothing.
struct CSVCellCheck {
    /// The field's type.
    let type: FieldType
    /// Whether the field is required (a null is an error).
    let required: Bool
    /// The position of the field's constraints in ``CSVCellChecks/constraints``, or -1 when it has none that
    /// applies to its type.
    let constraint: Int
}

/// The constraints of one field, as ``RowChecker`` checks them.
final class CSVCellConstraint {
    let enumeration: Set<String>?
    let pattern: LinearPattern?
    let minimum: Double?
    let maximum: Double?
    let minLength: Int?
    let maxLength: Int?

    init(_ constraints: Constraints, pattern: LinearPattern?) {
        enumeration = constraints.enumeration.map(Set.init)
        self.pattern = pattern
        minimum = constraints.minimum
        maximum = constraints.maximum
        minLength = constraints.minLength
        maxLength = constraints.maxLength
    }
}

/// Every field's checks.
struct CSVCellChecks {
    let cells: [CSVCellCheck]
    let constraints: [CSVCellConstraint]

    /// - Throws: ``HandoverError/Code/invalidSchema`` when a pattern does not compile (as ``RowChecker`` does).
    init(schema: TableSchema) throws {
        var cells: [CSVCellCheck] = []
        var constraints: [CSVCellConstraint] = []
        for field in schema.fields {
            let c = field.constraints
            var pattern: LinearPattern?
            if let source = c.pattern {
                do throws(PatternError) {
                    pattern = try LinearPattern(source)
                } catch {
                    throw HandoverError(
                        .invalidSchema,
                        "table \(schema.name), field \(field.name): the pattern cannot be used: \(error.message)")
                }
            }
            // RowChecker looks at strings (enum, lengths, pattern) and at integers and numbers (bounds) only.
            let applies: Bool
            switch field.type {
            case .string: applies = c.enumeration != nil || c.pattern != nil || c.minLength != nil || c.maxLength != nil
            case .integer, .number: applies = c.minimum != nil || c.maximum != nil
            default: applies = false
            }
            var index = -1
            if applies {
                index = constraints.count
                constraints.append(CSVCellConstraint(c, pattern: pattern))
            }
            cells.append(CSVCellCheck(type: field.type, required: field.required, constraint: index))
        }
        self.cells = cells
        self.constraints = constraints
    }
}

/// Byte-level versions of the casts of ``CSVTableValidator/cast(_:to:)``; each agrees with the cast on every input
/// (the tests compare them).
enum CSVCell {
    /// Whether a non-null cell casts to `type` (`quoted`: whether it was quoted). `scratch` is reused for the date
    /// parsers, which take arrays.
    @inline(__always)
    static func casts(
        _ cell: UnsafeBufferPointer<UInt8>, quoted: Bool, to type: FieldType, _ scratch: inout [UInt8]
    ) -> Bool {
        switch type {
        case .string: return true
        case .integer: return !quoted && integer(cell) != nil
        case .number: return !quoted && isFiniteNumber(cell)
        case .boolean: return isBoolean(cell)
        case .date:
            guard cell.count == 10 else { return false }
            scratch.removeAll(keepingCapacity: true)
            scratch.append(contentsOf: cell)
            return ISO8601Parser.date(scratch) != nil
        case .datetime:
            guard cell.count >= 20, cell[cell.count - 1] == UInt8(ascii: "Z") else { return false }
            scratch.removeAll(keepingCapacity: true)
            scratch.append(contentsOf: cell)
            return ISO8601Parser.dateTime(scratch) != nil
        case .binary: return isBase64(cell)
        }
    }

    /// `Int64(String(decoding: cell, as: UTF8.self))`: an optional sign, then one or more ASCII digits, in range
    /// (the table reader's parser, one for both).
    @inline(__always)
    static func integer(_ cell: UnsafeBufferPointer<UInt8>) -> Int64? {
        CellText.integer(cell)
    }

    /// Whether the cell is `true` or `false`.
    @inline(__always)
    static func isBoolean(_ cell: UnsafeBufferPointer<UInt8>) -> Bool {
        switch cell.count {
        case 4:
            return cell[0] == UInt8(ascii: "t") && cell[1] == UInt8(ascii: "r") && cell[2] == UInt8(ascii: "u")
                && cell[3] == UInt8(ascii: "e")
        case 5:
            return cell[0] == UInt8(ascii: "f") && cell[1] == UInt8(ascii: "a") && cell[2] == UInt8(ascii: "l")
                && cell[3] == UInt8(ascii: "s") && cell[4] == UInt8(ascii: "e")
        default:
            return false
        }
    }

    /// Whether the cell is a decimal number (``CSVTableValidator/isDecimal(_:)``) whose double is finite.
    @inline(__always)
    static func isFiniteNumber(_ cell: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let shape = decimal(cell) else { return false }
        // Without an exponent, fewer than 309 integer digits make a number below 1e308: always finite.
        if !shape.exponent && shape.integerDigits <= 308 { return true }
        guard let value = Double(String(decoding: cell, as: UTF8.self)) else { return false }
        return value.isFinite
    }

    /// The number's double, as the cast computes it.
    static func number(_ cell: UnsafeBufferPointer<UInt8>) -> Double? {
        Double(String(decoding: cell, as: UTF8.self))
    }

    /// When the bytes are a decimal number as JSON writes one (optional minus, digits, fraction, exponent): how many
    /// integer digits it has and whether it has an exponent; nil otherwise.
    @inline(__always)
    static func decimal(_ bytes: UnsafeBufferPointer<UInt8>) -> (integerDigits: Int, exponent: Bool)? {
        var index = 0
        let count = bytes.count
        if index < count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        var start = index
        while index < count, bytes[index] &- UInt8(ascii: "0") < 10 { index += 1 }
        let integerDigits = index - start
        guard integerDigits > 0 else { return nil }
        if index < count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            start = index
            while index < count, bytes[index] &- UInt8(ascii: "0") < 10 { index += 1 }
            guard index > start else { return nil }
        }
        var exponent = false
        if index < count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            exponent = true
            index += 1
            if index < count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            start = index
            while index < count, bytes[index] &- UInt8(ascii: "0") < 10 { index += 1 }
            guard index > start else { return nil }
        }
        return index == count ? (integerDigits, exponent) : nil
    }

    /// The base64 alphabet's values, -1 elsewhere.
    private static let base64Values: [Int8] = {
        var lookup = [Int8](repeating: -1, count: 256)
        for (index, byte) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
            lookup[Int(byte)] = Int8(index)
        }
        return lookup
    }()

    /// Whether `Base64.decode` accepts the cell: standard base64, padded, `=` only in the last two places.
    static func isBase64(_ cell: UnsafeBufferPointer<UInt8>) -> Bool {
        let count = cell.count
        guard count % 4 == 0 else { return false }
        return base64Values.withUnsafeBufferPointer { lookup in
            var index = 0
            while index < count {
                var padding = 0
                for k in 0..<4 {
                    let byte = cell[index + k]
                    if byte == UInt8(ascii: "="), index + 4 == count, k >= 2 {
                        padding += 1
                        continue
                    }
                    guard padding == 0, lookup[Int(byte)] >= 0 else { return false }
                }
                index += 4
            }
            return true
        }
    }

    /// The number of Unicode scalars of `String(decoding: cell, as: UTF8.self)`.
    @inline(__always)
    static func scalarCount(_ cell: UnsafeBufferPointer<UInt8>) -> Int {
        var combined: UInt8 = 0
        for byte in cell { combined |= byte }
        if combined < 0x80 { return cell.count }
        return String(decoding: cell, as: UTF8.self).unicodeScalars.count
    }

    /// The constraint `cell` (a non-null value of a field of `type`) breaks, described as ``RowChecker`` does;
    /// nil when none.
    static func violation(_ cell: UnsafeBufferPointer<UInt8>, _ type: FieldType, _ c: CSVCellConstraint) -> String? {
        switch type {
        case .string:
            if let allowed = c.enumeration, !allowed.contains(String(decoding: cell, as: UTF8.self)) {
                return "not one of the allowed values"
            }
            if c.minLength != nil || c.maxLength != nil {
                let length = scalarCount(cell)
                if let min = c.minLength, length < min { return "shorter than \(min) characters" }
                if let max = c.maxLength, length > max { return "longer than \(max) characters" }
            }
            if let pattern = c.pattern, !pattern.matchesWhole(String(decoding: cell, as: UTF8.self)) {
                return "does not match the pattern"
            }
            return nil
        case .integer:
            guard let value = integer(cell) else { return nil }
            return bounds(Double(value), c)
        case .number:
            guard let value = number(cell) else { return nil }
            return bounds(value, c)
        default:
            return nil
        }
    }

    private static func bounds(_ value: Double, _ c: CSVCellConstraint) -> String? {
        if let min = c.minimum, value < min { return "less than the minimum" }
        if let max = c.maximum, value > max { return "more than the maximum" }
        return nil
    }

    /// The value of a cell for a field of `type`, as ``CSVTableValidator/cast(_:to:)`` makes it; without building
    /// an array for the common cases (null, integer).
    static func value(_ cell: UnsafeBufferPointer<UInt8>, quoted: Bool, to type: FieldType) -> Value? {
        if cell.isEmpty && !quoted { return .null }
        if type == .integer {
            guard !quoted, let value = integer(cell) else { return nil }
            return .integer(value)
        }
        return CSVTableValidator.cast(CSVField(bytes: Array(cell), quoted: quoted), to: type)
    }
}
