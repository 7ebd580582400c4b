/// A JSON document or a part of one: what ``JSONValue/parse(_:)`` returns and what ``JSONSchema`` validates.
///
/// Equality is JSON Schema equality: numbers compare by value (`1 == 1.0`), objects compare without regard to the
/// order of their members, arrays compare element by element. Hashing agrees with that equality.
public enum JSONValue: Sendable, Hashable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number.
    case number(JSONNumber)
    /// A string.
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object, its members in document order.
    case object(JSONObject)

    /// The member named `key` when this is an object; nil otherwise.
    public subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    /// Equal as JSON Schema defines it: strings by code points (not by Unicode canonical equivalence, as Swift
    /// compares strings), numbers by value, objects regardless of member order.
    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let left), .bool(let right)): left == right
        case (.number(let left), .number(let right)): left == right
        case (.string(let left), .string(let right)): left.isIdentical(to: right)
        case (.array(let left), .array(let right)): left == right
        case (.object(let left), .object(let right)): left == right
        default: false
        }
    }

    /// Hashes consistently with ``==(_:_:)``.
    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .bool(let value):
            hasher.combine(1)
            hasher.combine(value)
        case .number(let value):
            hasher.combine(2)
            hasher.combine(value)
        case .string(let value):
            hasher.combine(3)
            hasher.combine(value)
        case .array(let value):
            hasher.combine(4)
            hasher.combine(value)
        case .object(let value):
            hasher.combine(5)
            hasher.combine(value)
        }
    }

    /// The name of this value's JSON type: null, boolean, number, string, array or object.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    /// `null`.
    public init(nilLiteral: ()) { self = .null }
    /// A boolean.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// An integer.
    public init(integerLiteral value: Int64) { self = .number(JSONNumber(value)) }
    /// A number with a fraction or an exponent.
    public init(floatLiteral value: Double) { self = .number(JSONNumber(value)) }
    /// A string.
    public init(stringLiteral value: String) { self = .string(value) }
    /// An array.
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    /// An object, members in the order written.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        var object = JSONObject()
        for (key, value) in elements { object[key] = value }
        self = .object(object)
    }
}

/// A JSON number: a `Double`, and the exact `Int64` when the number is integral and fits one.
///
/// Integers written in a document (`12`, `-3`, `1.0`, `1e2`) keep their exact value up to the range of `Int64`;
/// larger or fractional numbers are kept as the nearest `Double`. Two numbers are equal when their exact integers
/// are equal or, failing that, when their doubles are equal.
public struct JSONNumber: Sendable, Hashable, Comparable, CustomStringConvertible, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral
{
    /// The value as a double (rounded when the integer is beyond 2^53).
    public let double: Double
    /// The exact value when it is an integer in the range of `Int64`.
    public let int: Int64?

    /// An integer.
    public init(_ value: Int64) {
        self.int = value
        self.double = Double(value)
    }

    /// An integer.
    public init(_ value: Int) { self.init(Int64(value)) }

    /// A double; its exact integer is kept when it is integral and in range. Must be finite.
    public init(_ value: Double) {
        self.double = value
        self.int = Int64(exactly: value)
    }

    /// An integer literal.
    public init(integerLiteral value: Int64) { self.init(value) }

    /// A floating-point literal.
    public init(floatLiteral value: Double) { self.init(value) }

    /// Whether the number has no fractional part (`1.0` is an integer).
    public var isInteger: Bool {
        int != nil || (double.isFinite && double.rounded(.towardZero) == double)
    }

    /// Equal by value.
    public static func == (lhs: JSONNumber, rhs: JSONNumber) -> Bool {
        if let left = lhs.int, let right = rhs.int { return left == right }
        return lhs.double == rhs.double
    }

    /// Ordered by value.
    public static func < (lhs: JSONNumber, rhs: JSONNumber) -> Bool {
        if let left = lhs.int, let right = rhs.int { return left < right }
        return lhs.double < rhs.double
    }

    /// Hashes the value (as a double, so that equal numbers hash alike).
    public func hash(into hasher: inout Hasher) {
        hasher.combine(double)
    }

    /// The number as JSON text.
    public var description: String {
        if let int { return String(int) }
        return String(double)
    }
}

/// A JSON object: members in document order, looked up by name.
///
/// Names are unique: setting a name that is already present replaces its value in place. Equality and hashing
/// ignore the order of the members.
public struct JSONObject: Sendable, Hashable, RandomAccessCollection, ExpressibleByDictionaryLiteral {
    /// One member: its name and its value.
    public typealias Element = (key: String, value: JSONValue)

    /// The members in order.
    public private(set) var members: [Element] = []
    /// Position of each name, kept only for larger objects (a short linear scan is faster).
    private var positions: [String: Int]? = nil

    private static var indexThreshold: Int { 12 }

    /// An empty object.
    public init() {}

    /// An object with these members in this order; a repeated name keeps its first position and its last value.
    public init(_ members: some Sequence<Element>) {
        for member in members { self[member.key] = member.value }
    }

    /// An object literal.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        for (key, value) in elements { self[key] = value }
    }

    /// The position of the first member.
    public var startIndex: Int { 0 }
    /// The position after the last member.
    public var endIndex: Int { members.count }
    /// The member at `position`.
    public subscript(position: Int) -> Element { members[position] }

    /// The member names in order.
    public var keys: [String] { members.map(\.key) }

    /// The position of the member named `key` (names compare by code points).
    public func index(forKey key: String) -> Int? {
        if let positions, let index = positions[key], members[index].key.isIdentical(to: key) { return index }
        for index in members.indices where members[index].key.isIdentical(to: key) { return index }
        return nil
    }

    /// The value of the member named `key`; setting nil removes the member.
    public subscript(key: String) -> JSONValue? {
        get {
            guard let index = index(forKey: key) else { return nil }
            return members[index].value
        }
        set {
            if let index = index(forKey: key) {
                if let newValue {
                    members[index].value = newValue
                } else {
                    members.remove(at: index)
                    rebuildPositions()
                }
            } else if let newValue {
                members.append((key, newValue))
                if positions != nil {
                    positions![key] = members.count - 1
                } else if members.count > Self.indexThreshold {
                    rebuildPositions()
                }
            }
        }
    }

    private mutating func rebuildPositions() {
        guard members.count > Self.indexThreshold else {
            positions = nil
            return
        }
        var map: [String: Int] = [:]
        map.reserveCapacity(members.count)
        for (index, member) in members.enumerated() { map[member.key] = index }
        positions = map
    }

    /// Equal when both have the same names with equal values, in any order.
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.members.count == rhs.members.count else { return false }
        for member in lhs.members {
            guard let other = rhs[member.key], other == member.value else { return false }
        }
        return true
    }

    /// Hashes the members without regard to their order.
    public func hash(into hasher: inout Hasher) {
        var combined = 0
        for member in members {
            var memberHasher = Hasher()
            memberHasher.combine(member.key)
            memberHasher.combine(member.value)
            combined ^= memberHasher.finalize()
        }
        hasher.combine(members.count)
        hasher.combine(combined)
    }
}

extension String {
    /// Whether both strings have the same code points (Swift's `==` also equates canonically equivalent strings).
    func isIdentical(to other: String) -> Bool {
        let mine = utf8
        let theirs = other.utf8
        guard mine.count == theirs.count else { return false }
        let fast = mine.withContiguousStorageIfAvailable { left in
            theirs.withContiguousStorageIfAvailable { right in left.elementsEqual(right) }
        }
        if let fast, let result = fast { return result }
        return mine.elementsEqual(theirs)
    }
}
