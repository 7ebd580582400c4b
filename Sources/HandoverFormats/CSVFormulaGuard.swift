public import HandoverCore

/// The spreadsheet formula guard of CSV files (OWASP's CSV injection guidance).
///
/// A spreadsheet runs a cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return as a formula when a
/// person opens the file. A guarded string cell gets a leading `'`, which spreadsheets take as "text" and do not
/// show. To keep the guard reversible, a value made of apostrophes followed by such a character (`'=x`) is
/// guarded too: a cell is guarded exactly when it is one or more `'` followed by a trigger character, and
/// ``unguarded(_:)`` removes one `'` from exactly those. Only string values are guarded; numbers, dates,
/// booleans and binary (base64) never begin with a trigger in the form Handover writes them, except negative
/// numbers, which a spreadsheet reads as numbers, not formulas.
public enum CSVFormulaGuard {
    /// The prefix of a guarded cell.
    public static let prefix: UInt8 = UInt8(ascii: "'")
    /// The first characters that make a cell a formula.
    public static let triggers: [UInt8] = [
        UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "@"), 0x09, 0x0D,
    ]

    /// Whether a value of these UTF-8 bytes is guarded: apostrophes (none or more), then a trigger character.
    public static func needsGuard(_ utf8: some Collection<UInt8>) -> Bool {
        for byte in utf8 where byte != prefix { return triggers.contains(byte) }
        return false
    }

    /// ``needsGuard(_:)`` for bytes in memory, as the CSV writer asks it for every string cell.
    @inline(__always)
    static func needsGuard(utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        for byte in utf8 where byte != prefix {
            switch byte {
            case UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "@"), 0x09, 0x0D: return true
            default: return false
            }
        }
        return false
    }

    /// The cell written for `value`.
    public static func guarded(_ value: String) -> String {
        needsGuard(value.utf8) ? "'" + value : value
    }

    /// The value a guarded file's cell stands for: one `'` removed from a guarded cell, anything else as it is.
    public static func unguarded(_ cell: String) -> String {
        cell.utf8.first == prefix && needsGuard(cell.utf8.dropFirst()) ? String(cell.dropFirst()) : cell
    }

    /// `constraints` loosened so that a guarded cell of a valid value passes them: the pattern also allows a
    /// leading `'`, the enumeration also holds the guarded form of each value that needs it, the maximum length
    /// is one more.
    public static func loosened(_ constraints: Constraints) -> Constraints {
        var loose = constraints
        loose.pattern = constraints.pattern.map { "'?(" + $0 + ")" }
        loose.enumeration = constraints.enumeration.map { values in
            values + values.filter { needsGuard($0.utf8) }.map { "'" + $0 }
        }
        loose.maxLength = constraints.maxLength.map { $0 + 1 }
        return loose
    }
}

extension CSVFormulaGuard {
    /// The guard in words, for a CSV dialect's description.
    static let dialectNote =
        "Spreadsheet formula guard: a text cell that begins with =, +, -, @, a tab or a carriage return (after any "
        + "apostrophes) has one more apostrophe (') in front; remove one to get the value "
        + "(see x-handover-formulaGuard)."

    /// How a descriptor records the guard (a CSV dialect, a Table Schema).
    static var description: Tree {
        .object([
            ("prefix", .string("'")),
            ("triggers", .array(triggers.map { .string(String(decoding: [$0], as: UTF8.self)) })),
            (
                "note",
                .string(
                    "string cells that begin with one of the triggers (after any apostrophes) carry one more leading "
                        + "apostrophe, so that spreadsheets do not run them as formulas; remove one to get the value")
            ),
        ])
    }
}
