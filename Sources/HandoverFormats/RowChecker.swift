public import HandoverCore

/// Checks rows against everything their table declares: value count, types, required fields and
/// constraints (enum, pattern, bounds, lengths).
///
/// Patterns are compiled once, for Handover's linear-time engine (``LinearPattern``), and must match the whole value.
/// A failure names the table, the row's key and the field, never the value.
public struct RowChecker {
    /// Everything the checks need, in one object: a checker is copied for each row where it is kept (a table's
    /// state in the bundle builder), which costs one reference count.
    private let checks: RowChecks

    /// Prepares the checks of `schema`.
    /// - Throws: ``HandoverError/Code/invalidSchema`` when a pattern does not compile or uses what the linear-time
    ///   engine cannot run (back-references, lookaround, a program too large).
    public init(schema: TableSchema) throws {
        checks = try RowChecks(schema: schema)
    }

    /// Checks one row.
    /// - Throws: ``HandoverError/Code/invalidData`` naming the table, the row's key and the field.
    public func check(_ row: Row) throws {
        try checks.check(row)
    }

    /// The first constraint `row` breaks, as the field's name and a description without the value; nil when none.
    ///
    /// The row must already have one value of the right type per field.
    public func violation(in row: Row) -> (field: String, message: String)? {
        checks.violation(in: row)
    }
}

/// The checks of a ``RowChecker``.
final class RowChecks {
    private let schema: TableSchema
    private let shape: RowShape
    private let enumerations: [Set<String>?]
    private let patterns: [LinearPattern?]
    private let constrained: [Int]
    /// Each field's constraints, taken out of the schema once.
    private let constraints: [Constraints]

    init(schema: TableSchema) throws {
        self.schema = schema
        self.shape = RowShape(schema)
        self.constraints = schema.fields.map(\.constraints)
        enumerations = schema.fields.map { $0.constraints.enumeration.map(Set.init) }
        patterns = try schema.fields.map { field in
            guard let pattern = field.constraints.pattern else { return nil }
            do throws(PatternError) {
                return try LinearPattern(pattern)
            } catch {
                throw HandoverError(
                    .invalidSchema,
                    "table \(schema.name), field \(field.name): the pattern cannot be used: \(error.message)")
            }
        }
        constrained = schema.fields.indices.filter { !schema.fields[$0].constraints.isEmpty }
    }

    func check(_ row: Row) throws {
        try shape.check(row)
        if constrained.isEmpty { return }
        if let violation = violation(in: row) {
            throw HandoverError(
                .invalidData,
                "table \(schema.name), row \(row.keyDescription(in: schema)), field \(violation.field): \(violation.message)"
            )
        }
    }

    func violation(in row: Row) -> (field: String, message: String)? {
        for index in constrained {
            let c = constraints[index]
            switch row.values[index] {
            case .string(let text):
                if let allowed = enumerations[index], !allowed.contains(text) {
                    return (schema.fields[index].name, "not one of the allowed values")
                }
                if c.minLength != nil || c.maxLength != nil {
                    // A text has no more characters than bytes: one short enough in bytes needs no counting.
                    let bytes = text.utf8.count
                    if c.minLength != nil || bytes > c.maxLength! {
                        let length = text.unicodeScalars.count
                        if let min = c.minLength, length < min {
                            return (schema.fields[index].name, "shorter than \(min) characters")
                        }
                        if let max = c.maxLength, length > max {
                            return (schema.fields[index].name, "longer than \(max) characters")
                        }
                    }
                }
                if let pattern = patterns[index], !pattern.matchesWhole(text) {
                    return (schema.fields[index].name, "does not match the pattern")
                }
            case .integer(let value):
                if let message = boundsViolation(Double(value), c) { return (schema.fields[index].name, message) }
            case .number(let value):
                if let message = boundsViolation(value, c) { return (schema.fields[index].name, message) }
            case .decimal(let text):
                // The bounds are doubles; the nearest double of the decimal is compared (as a validator would).
                if let value = Double(text), let message = boundsViolation(value, c) {
                    return (schema.fields[index].name, message)
                }
            default:
                continue
            }
        }
        return nil
    }

    private func boundsViolation(_ value: Double, _ constraints: Constraints) -> String? {
        if let min = constraints.minimum, value < min { return "less than the minimum" }
        if let max = constraints.maximum, value > max { return "more than the maximum" }
        return nil
    }
}
