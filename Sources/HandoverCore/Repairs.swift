internal import Synchronization

/// A kind of value an exporter repaired instead of failing (a dataset map's `on-invalid: replace`).
public enum RepairKind: String, Sendable, Codable, Hashable, CaseIterable {
    /// Text that was not valid UTF-8: each invalid sequence became U+FFFD.
    case invalidText = "invalid-text"
    /// A value that did not fit its field's type: the field holds null, and the value's text is in the field's
    /// companion string field.
    case unfitValue = "unfit-value"
}

/// How many values of one field an exporter repaired, of one kind.
public struct Repair: Sendable, Codable, Hashable {
    /// The table's name.
    public var table: String
    /// The field's name.
    public var field: String
    /// What was repaired.
    public var kind: RepairKind
    /// How many values.
    public var count: Int
    /// For ``RepairKind/unfitValue``: the string field that holds the values' text.
    public var textField: String?

    /// Creates a record.
    public init(table: String, field: String, kind: RepairKind, count: Int, textField: String? = nil) {
        self.table = table
        self.field = field
        self.kind = kind
        self.count = count
        self.textField = textField
    }
}

/// Counts the repairs an exporter makes during one export; safe to use from any thread.
public final class RepairLog: Sendable {
    private let counts = Mutex<[RepairKey: Int]>([:])

    private struct RepairKey: Hashable {
        var table: String
        var field: String
        var kind: RepairKind
        var textField: String?
    }

    /// An empty log.
    public init() {}

    /// Counts one repair of `kind` in `table`.`field`.
    public func record(table: String, field: String, kind: RepairKind, textField: String? = nil) {
        counts.withLock { $0[RepairKey(table: table, field: field, kind: kind, textField: textField), default: 0] += 1 }
    }

    /// Every repair so far, by table, field and kind.
    public var repairs: [Repair] {
        counts.withLock { counts in
            counts.map {
                Repair(
                    table: $0.key.table, field: $0.key.field, kind: $0.key.kind, count: $0.value,
                    textField: $0.key.textField)
            }
        }.sorted { ($0.table, $0.field, $0.kind.rawValue) < ($1.table, $1.field, $1.kind.rawValue) }
    }
}
