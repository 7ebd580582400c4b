/// A fast check of the elements of a top-level array against an `items` schema that describes flat rows: an object
/// schema with only `type`, `properties` (no `patternProperties`; `additionalProperties` absent, `true` or `false`)
/// and `required`, whose property schemas hold assertions only (no applicator, no reference), as Handover's JSON
/// Schemas for tables are.
///
/// The check says whether an element is valid without building a ``JSONObject`` or walking the evaluator: each
/// member is matched to its property (by its position first, since rows list their fields in order) and checked with
/// the evaluator's own assertions. It answers "valid" only when the evaluator would; when it cannot tell (a failed
/// assertion, a repeated, unknown or missing member), ``JSONSchema/validateArray(from:maxErrors:)`` evaluates the
/// element with the evaluator, which reports the errors. The tests compare both on the JSON-Schema-Test-Suite and on
/// generated rows.
struct FlatRowPlan {
    /// A property's schema, reduced to what its evaluation does.
    enum Slot {
        case accept
        case reject
        /// `type` (all types when absent), then the other assertions.
        case assertions(TypeMask, [Keyword])
    }

    /// The properties, in the order the schema lists them.
    let names: [String]
    /// Their UTF-8 bytes.
    let nameBytes: [[UInt8]]
    /// The names the reader can match without decoding them.
    let expectedNames: [JSONReader.ExpectedName?]
    let slots: [Slot]
    /// The positions in ``names`` of the properties of a name (names Swift deems equal share an entry).
    let positions: [String: [Int]]
    /// The property of each required name; -1 for a name that is not a property (never present in a fast row).
    let required: [Int]
    /// Whether a member that is not a property is valid (`additionalProperties` absent or `true`).
    let additionalAccepted: Bool
    /// Whether `type`, if present, allows objects.
    let objectAllowed: Bool

    /// A property as ``JSONReader/skimFlatRow(_:_:)`` checks it.
    enum SkimSlot {
        /// Only the type matters (the other assertions are none).
        case type(TypeMask)
        /// The type, then the other assertions, on the value read.
        case checked(TypeMask, [Keyword])
    }

    /// The properties for the skim of a row, in order: nil when rows cannot be skimmed (a property the evaluator
    /// rejects outright, a required name that is not a property, two names Swift deems equal, a name that JSON
    /// could spell otherwise, no property at all, or `type` without objects).
    let skim: [SkimSlot]?

    /// The plan for `items`, or nil when it is not a flat row schema.
    init?(_ items: Child) {
        let node = items.node
        guard node.kind == .keywords, !node.tracksUnevaluated else { return nil }
        var group: PropertyApplicators?
        var requiredNames: [String] = []
        var objectAllowed = true
        for keyword in node.keywords {
            switch keyword {
            case .type(let mask): objectAllowed = objectAllowed && mask.contains(.object)
            case .required(let names): requiredNames += names
            case .properties(let found):
                guard group == nil else { return nil }
                group = found
            default: return nil
            }
        }
        guard let group, group.patterns.isEmpty else { return nil }
        switch group.additional?.node.kind {
        case nil, .accept?: additionalAccepted = true
        case .reject?: additionalAccepted = false
        case .keywords?: return nil
        }
        var names: [String] = []
        var slots: [Slot] = []
        var positions: [String: [Int]] = [:]
        for (name, child) in group.ordered {
            let slot: Slot
            switch child.node.kind {
            case .accept: slot = .accept
            case .reject: slot = .reject
            case .keywords:
                guard !child.node.tracksUnevaluated, child.node.keywords.allSatisfy(Self.isAssertion) else {
                    return nil
                }
                // The first `type` apart (the order of the assertions does not change whether all hold).
                var mask: TypeMask?
                var others: [Keyword] = []
                for keyword in child.node.keywords {
                    if case .type(let allowed) = keyword, mask == nil { mask = allowed } else { others.append(keyword) }
                }
                slot = .assertions(mask ?? TypeMask(rawValue: 0x7F), others)
            }
            positions[name, default: []].append(names.count)
            names.append(name)
            slots.append(slot)
        }
        self.names = names
        self.nameBytes = names.map { Array($0.utf8) }
        self.expectedNames = names.map { JSONReader.ExpectedName($0) }
        self.slots = slots
        self.positions = positions
        self.required = requiredNames.map { name in
            positions[name]?.first { names[$0].isIdentical(to: name) } ?? -1
        }
        self.objectAllowed = objectAllowed
        self.skim = Self.skimSlots(
            slots: slots, expectedNames: expectedNames, positions: positions, required: required,
            objectAllowed: objectAllowed)
    }

    /// The slots of ``skim`` (see there).
    private static func skimSlots(
        slots: [Slot], expectedNames: [JSONReader.ExpectedName?], positions: [String: [Int]], required: [Int],
        objectAllowed: Bool
    ) -> [SkimSlot]? {
        guard objectAllowed, !slots.isEmpty, expectedNames.allSatisfy({ $0 != nil }),
            positions.values.allSatisfy({ $0.count == 1 }), required.allSatisfy({ $0 >= 0 })
        else { return nil }
        var skim: [SkimSlot] = []
        for slot in slots {
            switch slot {
            case .accept: skim.append(.type(TypeMask(rawValue: 0x7F)))
            case .reject: return nil
            case .assertions(let mask, let keywords):
                skim.append(keywords.isEmpty ? .type(mask) : .checked(mask, keywords))
            }
        }
        return skim
    }

    /// Whether the evaluator checks `keyword` with its assertions alone (no subschema, no reference).
    static func isAssertion(_ keyword: Keyword) -> Bool {
        switch keyword {
        case .type, .enumeration, .constant, .multipleOf, .maximum, .exclusiveMaximum, .minimum, .exclusiveMinimum,
            .maxLength, .minLength, .pattern, .format, .maxItems, .minItems, .uniqueItems, .maxProperties,
            .minProperties, .required, .dependentRequired:
            true
        default:
            false
        }
    }

    /// The property of the member named `key` at `index` in its object; nil when it is not a property.
    @inline(__always)
    func slot(of key: String, at index: Int) -> Int? {
        if index < names.count, Self.sameBytes(nameBytes[index], key) { return index }
        guard let candidates = positions[key] else { return nil }
        for candidate in candidates where names[candidate].isIdentical(to: key) { return candidate }
        return nil
    }

    /// Whether `key` has exactly the code points (the UTF-8 bytes) `bytes`.
    @inline(__always)
    static func sameBytes(_ bytes: [UInt8], _ key: String) -> Bool {
        let utf8 = key.utf8
        guard utf8.count == bytes.count else { return false }
        return utf8.withContiguousStorageIfAvailable { keyBytes in
            bytes.withUnsafeBufferPointer { nameBytes in
                for index in 0..<keyBytes.count where keyBytes[index] != nameBytes[index] { return false }
                return true
            }
        } ?? utf8.elementsEqual(bytes)
    }

    /// Whether the object of `members` (in document order, repeated names included) is valid: true only when the
    /// evaluator would find it valid; false when it is not or may not be. `marks` (one entry per property) and
    /// `mark` (a value not yet in `marks`) record which properties were seen; `checker` runs the assertions.
    func isValid(
        _ members: [(key: String, value: JSONValue)], marks: inout [Int], mark: Int, _ checker: inout Evaluator
    ) -> Bool {
        guard objectAllowed else { return false }
        for index in members.indices {
            guard let slot = slot(of: members[index].key, at: index) else {
                if additionalAccepted { continue }
                return false
            }
            // A repeated name: the object keeps the last value at the first position; the evaluator decides.
            guard marks[slot] != mark else { return false }
            marks[slot] = mark
            switch slots[slot] {
            case .accept: continue
            case .reject: return false
            case .assertions(let mask, let keywords):
                let value = members[index].value
                guard !mask.isDisjoint(with: TypeMask.of(value)) else { return false }
                for keyword in keywords where !checker.check(keyword, value) { return false }
            }
        }
        for slot in required where slot < 0 || marks[slot] != mark { return false }
        return true
    }
}
