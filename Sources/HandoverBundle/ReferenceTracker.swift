internal import HandoverCore

/// What became of one reference of a table in a bundle: declared as a foreign key, or why not.
enum ReferenceOutcome: String, Sendable, Hashable {
    /// Every row's value names a row of the referenced table that the bundle holds: declared.
    case held
    /// The referencing values are pseudonyms in subject exports.
    case pseudonymized
    /// The referenced table is not part of this bundle.
    case notInBundle
    /// The referencing and referenced fields have different types.
    case typesDiffer
    /// Some rows name rows that the bundle leaves out (the scope does not reach them, or the data is dirty).
    case incomplete
    /// More keys than the export keeps in memory to check references.
    case unchecked

    /// Why the reference is not declared, for readers of `datapackage.json`; nil when it is.
    var note: String? {
        switch self {
        case .held: nil
        case .pseudonymized:
            "not declared as a foreign key: the values are pseudonyms in subject exports, typed as text"
        case .notInBundle: "not declared as a foreign key: the referenced table is not in this bundle"
        case .typesDiffer: "not declared as a foreign key: the fields' types differ from the referenced fields'"
        case .incomplete:
            "not declared as a foreign key: some rows refer to rows that this bundle's scope leaves out"
        case .unchecked:
            "not declared as a foreign key: too many keys to check while exporting"
        }
    }
}

/// Checks, while one exporter's rows are written, which references of its tables hold within the bundle.
///
/// For every referenced table (and field list) that some candidate reference needs, it keeps the set of key
/// values written, as 8-byte keys: the integer itself for one integer field, otherwise a 64-bit hash of the
/// values (seeded per process). Each referencing value is looked up as its row is written; one not found yet
/// (its row may come later) is kept in the reference's pending set and looked up again at the end. A reference
/// that fails stops being tracked, and a key set nobody needs any more is dropped. All sets together hold at
/// most ``keyLimit`` keys; a reference whose sets would pass it is left undeclared (``ReferenceOutcome/unchecked``),
/// so memory stays bounded however large the export.
struct ReferenceTracker {
    /// The most keys held at once, over all sets: at most about 96 MiB (``DenseKeySet``s, a bit each for runs of ids,
    /// any other key 11 to 23 bytes in a ``KeySet``, 8-byte slots 35 to 70 % full).
    static let keyLimit = 4 << 20

    struct Target {
        var table: Int
        var fields: [Int]
        /// `fields[0]`, read without the array for the rows of a one-integer key.
        var first: Int
        var keys = DenseKeySet()
        var users = 0
        var integer: Bool
    }

    struct Candidate {
        var table: Int
        var key: Int
        var fields: [Int]
        /// `fields[0]`, read without the array for the rows of a one-integer key.
        var first: Int
        var target: Int
        var pending = DenseKeySet()
        var failed: ReferenceOutcome?
    }

    /// Per table, per reference (in `foreignKeys` order), the outcome decided before any row.
    private(set) var outcomes: [[ReferenceOutcome]]
    private var targets: [Target?] = []
    /// For each target, nil once it is dropped, else whether its key is one integer field: read on every row without
    /// copying the target (a `Target?` read out of ``targets`` copies its key set's storage references).
    private var targetIsInteger: [Bool?] = []
    /// For each target, `fields[0]`.
    private var targetFirst: [Int] = []
    private var candidates: [Candidate] = []
    private var targetsOf: [[Int]]
    private var candidatesOf: [[Int]]
    private var held = 0
    private let limit: Int

    /// Prepares the checks of `tables`; `included[i]` tells whether table `i` is part of the bundle.
    init(tables: [TableSchema], included: [Bool], limit: Int = ReferenceTracker.keyLimit) {
        self.limit = limit
        outcomes = tables.map { Array(repeating: .held, count: $0.foreignKeys.count) }
        targetsOf = Array(repeating: [], count: tables.count)
        candidatesOf = Array(repeating: [], count: tables.count)
        for (index, table) in tables.enumerated() where included[index] {
            for (number, key) in table.foreignKeys.enumerated() {
                if key.pseudonymized {
                    outcomes[index][number] = .pseudonymized
                    continue
                }
                guard let referenced = tables.firstIndex(where: { $0.name == key.table }), included[referenced] else {
                    outcomes[index][number] = .notInBundle
                    continue
                }
                let target = tables[referenced]
                let fields = key.fields.compactMap { table.index(of: $0) }
                let keyFields = key.referencedFields.compactMap { target.index(of: $0) }
                guard fields.count == key.fields.count, keyFields.count == key.referencedFields.count,
                    fields.count == keyFields.count, !fields.isEmpty,
                    zip(fields, keyFields).allSatisfy({ table.fields[$0].type == target.fields[$1].type })
                else {
                    outcomes[index][number] = .typesDiffer
                    continue
                }
                var slot = targets.firstIndex { $0?.table == referenced && $0?.fields == keyFields }
                if slot == nil {
                    let integer = keyFields.count == 1 && target.fields[keyFields[0]].type == .integer
                    targets.append(Target(table: referenced, fields: keyFields, first: keyFields[0], integer: integer))
                    targetIsInteger.append(integer)
                    targetFirst.append(keyFields[0])
                    slot = targets.count - 1
                    targetsOf[referenced].append(slot!)
                }
                targets[slot!]!.users += 1
                candidates.append(Candidate(table: index, key: number, fields: fields, first: fields[0], target: slot!))
                candidatesOf[index].append(candidates.count - 1)
            }
        }
    }

    /// The key of `fields` of `row` (see ``key(of:integer:emptyIsUnsure:)``).
    private static func key(_ row: Row, _ fields: [Int], integer: Bool) -> Int64?? {
        if integer, case .integer(let value) = row.values[fields[0]] { return .some(value) }
        return key(of: fields.map { row.values[$0] }, integer: integer, emptyIsUnsure: true)
    }

    /// The 8-byte key of some values: the integer itself for one integer (when `integer`), else a 64-bit hash
    /// (seeded per process). Nil when all are null; `.some(nil)` when some but not all are null, or (with
    /// `emptyIsUnsure`) one is an empty text, which a Frictionless reader may take for null.
    static func key(of values: [Value], integer: Bool, emptyIsUnsure: Bool) -> Int64?? {
        if integer, values.count == 1, case .integer(let value) = values[0] { return .some(value) }
        var hasher = Hasher()
        var nulls = 0
        for value in values {
            if value.isNull {
                nulls += 1
            } else if emptyIsUnsure, case .string(let text) = value, text.isEmpty {
                return .some(nil)
            }
            hasher.combine(value)
        }
        if nulls == values.count { return nil }
        if nulls > 0 { return .some(nil) }
        return .some(Int64(hasher.finalize()))
    }

    /// Takes note of a row written to table `table`.
    mutating func note(_ row: Row, table: Int) {
        // Every set is changed in place (through `targets[slot]!`, `candidates[number]`), never copied.
        for slot in targetsOf[table] {
            guard let integer = targetIsInteger[slot] else { continue }
            let key: Int64??
            if integer, case .integer(let value) = row.values[targetFirst[slot]] {
                key = .some(value)
            } else {
                key = Self.key(row, targets[slot]!.fields, integer: integer)
            }
            guard case .some(.some(let key)) = key, targets[slot]!.keys.insert(key).inserted else { continue }
            held += 1
            if held > limit {
                held -= targets[slot]!.keys.count
                drop(target: slot, as: .unchecked)
            }
        }
        for number in candidatesOf[table] where candidates[number].failed == nil {
            let slot = candidates[number].target
            guard let integer = targetIsInteger[slot] else { continue }
            let key: Int64??
            if integer, case .integer(let value) = row.values[candidates[number].first] {
                key = .some(value)
            } else {
                key = Self.key(row, candidates[number].fields, integer: integer)
            }
            switch key {
            case .none: continue
            case .some(.none): fail(number, .incomplete)
            case .some(.some(let key)):
                if targets[slot]!.keys.contains(key) { continue }
                if candidates[number].pending.insert(key).inserted {
                    held += 1
                    if held > limit { fail(number, .unchecked) }
                }
            }
        }
    }

    private mutating func fail(_ number: Int, _ outcome: ReferenceOutcome) {
        held -= candidates[number].pending.count
        candidates[number].pending = DenseKeySet()
        candidates[number].failed = outcome
        let slot = candidates[number].target
        targets[slot]?.users -= 1
        if let target = targets[slot], target.users == 0 {
            held -= target.keys.count
            targets[slot] = nil
            targetIsInteger[slot] = nil
        }
    }

    private mutating func drop(target slot: Int, as outcome: ReferenceOutcome) {
        targets[slot] = nil
        targetIsInteger[slot] = nil
        for number in candidates.indices where candidates[number].target == slot && candidates[number].failed == nil {
            held -= candidates[number].pending.count
            candidates[number].pending = DenseKeySet()
            candidates[number].failed = outcome
        }
    }

    /// Ends the checks: every reference's outcome, per table, in `foreignKeys` order.
    mutating func finish() -> [[ReferenceOutcome]] {
        for number in candidates.indices {
            let candidate = candidates[number]
            if let failed = candidate.failed {
                outcomes[candidate.table][candidate.key] = failed
                continue
            }
            guard let target = targets[candidate.target] else {
                outcomes[candidate.table][candidate.key] = .unchecked
                continue
            }
            outcomes[candidate.table][candidate.key] =
                candidate.pending.allSatisfy { target.keys.contains($0) } ? .held : .incomplete
        }
        targets = []
        targetIsInteger = []
        targetFirst = []
        candidates = []
        held = 0
        return outcomes
    }

    /// The most keys held at any one time is bounded by ``keyLimit``; this is the number held now.
    var keysHeld: Int { held }
}
