package import HandoverCore

extension JSONValue {
    /// Parses one JSON text (RFC 8259), strictly.
    ///
    /// - Whitespace may surround the value; anything else after it is an error. A leading UTF-8 byte order mark is
    ///   ignored, as RFC 8259 allows.
    /// - Strings must be valid UTF-8 and may not contain raw control characters.
    /// - A `\u` escape of a lone surrogate (one not part of a high-low pair) becomes U+FFFD, since a Swift string
    ///   cannot hold it.
    /// - A repeated member name keeps its first position and its last value ("last wins").
    /// - Numbers too large for a `Double` are rejected; nesting deeper than 512 levels is rejected.
    ///
    /// - Throws: ``HandoverError/Code/invalidData`` naming the byte offset of the problem (never the content).
    public static func parse(_ bytes: some Collection<UInt8>) throws -> JSONValue {
        let reader = JSONReader(bytes: Array(bytes))
        return try reader.parseDocument()
    }
}

/// A scalar member value of a flat object, as ``JSONReader/nextScalarMember(index:)`` reads it.
package enum JSONScalar {
    /// `null`.
    case null
    /// `true` or `false`.
    case boolean(Bool)
    /// A number, as its text in the document (checked against the JSON grammar, not converted).
    case number(String)
    /// A string, its escapes decoded.
    case string(String)
}

/// A source with nothing in it, for a reader whose bytes are all in memory already.
struct EmptyByteSource: ByteSource {
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int { 0 }
}

/// A pull parser over a ``ByteSource``, reading 64 KiB blocks; values are materialised one at a time.
///
/// The reader is not generic: the source is called once per block, so an existential costs nothing, while a
/// generic parser would run unspecialised (and slowly) when called through a generic public function.
///
/// HandoverFormats' table reader uses it too, through ``beginTopLevelObject(index:)`` and
/// ``nextScalarMember(index:)``, which read rows as flat objects and keep numbers' text digit for digit.
package final class JSONReader {
    /// Where the bytes come from; handed back to the caller when done (see ``source(as:)``).
    private var source: any ByteSource
    private var storage: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    /// The next byte to read.
    private var position = 0
    /// The end of the valid bytes in `storage`.
    private var end = 0
    /// The offset in the stream of `storage[0]`.
    private var base = 0
    private var exhausted = false
    /// Bytes of a string or number that spans blocks or holds escapes.
    private var scratch: [UInt8] = []

    static var maximumDepth: Int { 512 }

    /// Whether a `\u` escape of a lone surrogate is an error rather than U+FFFD.
    package var refusesLoneSurrogates = false

    /// Reads from `source` in blocks of `blockSize` bytes.
    package init(source: any ByteSource, blockSize: Int = 64 * 1024) {
        self.source = source
        self.capacity = max(blockSize, 16)
        self.storage = .allocate(capacity: capacity)
    }

    /// Reads `bytes` and nothing else.
    init(bytes: [UInt8]) {
        self.source = EmptyByteSource()
        self.capacity = max(bytes.count, 16)
        self.storage = .allocate(capacity: capacity)
        bytes.withUnsafeBufferPointer { buffer in
            if let address = buffer.baseAddress { storage.update(from: address, count: buffer.count) }
        }
        self.end = bytes.count
        self.exhausted = true
    }

    deinit { storage.deallocate() }

    /// The source, in the state reading left it, as the type it was given as.
    func source<Source: ByteSource>(as type: Source.Type) -> Source {
        // The reader only ever holds the source it was created with.
        source as! Source
    }

    /// The stream offset of the next byte.
    var offset: Int { base + position }

    // MARK: Bytes

    /// Reads the next block; false at the end of the stream.
    private func refill() throws -> Bool {
        if exhausted { return false }
        base += end
        position = 0
        end = 0
        let count = try source.read(into: UnsafeMutableRawBufferPointer(start: storage, count: capacity))
        if count <= 0 {
            exhausted = true
            return false
        }
        end = count
        return true
    }

    /// The next byte without consuming it; nil at the end.
    @inline(__always)
    private func peek() throws -> UInt8? {
        if position < end { return storage[position] }
        return try refill() ? storage[position] : nil
    }

    private func fail(_ what: String, at offset: Int? = nil) -> HandoverError {
        HandoverError(.invalidData, "invalid JSON at byte \(offset ?? self.offset): \(what)")
    }

    private func skipWhitespace() throws {
        while true {
            while position < end {
                switch storage[position] {
                case 0x20, 0x0A, 0x0D, 0x09: position += 1
                default: return
                }
            }
            if try !refill() { return }
        }
    }

    private func expect(_ byte: UInt8, _ what: String) throws {
        guard try peek() == byte else { throw fail("expected \(what)") }
        position += 1
    }

    // MARK: Documents

    /// One value surrounded by whitespace, then the end of the stream.
    func parseDocument() throws -> JSONValue {
        try skipByteOrderMark()
        try skipWhitespace()
        let value = try parseValue(depth: 0)
        try finish()
        return value
    }

    /// Skips whitespace and requires the end of the stream.
    package func finish() throws {
        try skipWhitespace()
        if try peek() != nil { throw fail("unexpected data after the JSON value") }
    }

    private func skipByteOrderMark() throws {
        guard try peek() == 0xEF else { return }
        // A BOM is three bytes that might straddle blocks: read them one by one.
        let start = offset
        for expected: UInt8 in [0xEF, 0xBB, 0xBF] {
            guard try peek() == expected else { throw fail("unexpected byte", at: start) }
            position += 1
        }
    }

    /// Starts a document that should be an array: true (having consumed `[`) when it is one, false (having consumed
    /// nothing but whitespace) when it is some other value.
    package func beginTopLevelArray() throws -> Bool {
        try skipByteOrderMark()
        try skipWhitespace()
        guard let byte = try peek() else { throw fail("expected a value") }
        if byte == UInt8(ascii: "[") {
            position += 1
            return true
        }
        return false
    }

    /// The rest of a document that ``beginTopLevelArray()`` found not to be an array.
    func parseRemainingDocument() throws -> JSONValue {
        let value = try parseValue(depth: 0)
        try finish()
        return value
    }

    /// The next element of the top-level array; nil after the closing `]`. `index` is how many came before.
    func nextTopLevelElement(index: Int) throws -> JSONValue? {
        guard try advanceInTopLevelArray(index: index) else { return nil }
        return try parseValue(depth: 1)
    }

    /// What ``nextTopLevelMembers(index:into:)`` found.
    enum TopLevelElement {
        /// The closing `]`: no more elements.
        case end
        /// An object, whose members are in the array given.
        case object
        /// Some other value.
        case other(JSONValue)
        /// An object that ``skimFlatRow(_:_:)`` read and found valid; `members` is left as it was.
        case validRow
    }

    /// The next element of the top-level array, read exactly as ``nextTopLevelElement(index:)`` reads it (the same
    /// bytes accepted, the same errors at the same offsets); an object's members are left in `members` in document
    /// order, a repeated name as often as it appears, rather than gathered into a ``JSONObject``. Setting them into an
    /// empty ``JSONObject`` in order gives the object ``nextTopLevelElement(index:)`` returns.
    /// Member names are matched against `plan`'s properties at their positions first, and an element that
    /// ``skimFlatRow(_:_:)`` finds valid (with `checker`) is read that way instead: `.validRow`.
    func nextTopLevelMembers(
        index: Int, into members: inout [(key: String, value: JSONValue)], plan: FlatRowPlan, checker: inout Evaluator
    ) throws -> TopLevelElement {
        guard try advanceInTopLevelArray(index: index) else { return .end }
        if skimFlatRow(plan, &checker) { return .validRow }
        let names = plan.expectedNames
        guard try peek() == UInt8(ascii: "{") else { return .other(try parseValue(depth: 1)) }
        // As parseObject(depth: 2).
        members.removeAll(keepingCapacity: true)
        position += 1
        try skipWhitespace()
        if try peek() == UInt8(ascii: "}") {
            position += 1
            return .object
        }
        while true {
            if !(position < end && storage[position] > 0x20) { try skipWhitespace() }
            guard try peek() == UInt8(ascii: "\"") else {
                throw fail(try peek() == nil ? "unexpected end of data in an object" : "expected a member name")
            }
            let key: String
            if members.count < names.count, let name = matchName(names[members.count]) {
                key = name
            } else {
                key = try parseString()
            }
            // Compact JSON (no white space around ':' and ','), as Handover writes it, takes the short way; the
            // long way accepts and refuses the same bytes.
            if position < end && storage[position] == UInt8(ascii: ":") {
                position += 1
            } else {
                try skipWhitespace()
                try expect(UInt8(ascii: ":"), "':'")
            }
            if !(position < end && storage[position] > 0x20) { try skipWhitespace() }
            members.append((key, try parseValue(depth: 2)))
            if !(position < end && storage[position] > 0x20) { try skipWhitespace() }
            switch try peek() {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "}"):
                position += 1
                return .object
            case nil: throw fail("unexpected end of data in an object")
            default: throw fail("expected ',' or '}'")
            }
        }
    }

    /// Moves past the separator before the next element of the top-level array (and the whitespace around it): true
    /// when an element follows, false after the closing `]`. `index` is how many elements came before.
    private func advanceInTopLevelArray(index: Int) throws -> Bool {
        try skipWhitespace()
        if index == 0 {
            if try peek() == UInt8(ascii: "]") {
                position += 1
                return false
            }
        } else {
            switch try peek() {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "]"):
                position += 1
                return false
            case nil: throw fail("unexpected end of data in an array")
            default: throw fail("expected ',' or ']'")
            }
            try skipWhitespace()
        }
        return true
    }

    // MARK: Flat objects

    /// Starts the next element of the top-level array, which must be an object: true having consumed its `{`, false
    /// after the closing `]`. `index` is how many elements came before. Read its members with
    /// ``nextScalarMember(index:)``.
    /// - Throws: ``HandoverError/Code/invalidData`` when the element is not an object, or the JSON is not valid.
    package func beginTopLevelObject(index: Int) throws -> Bool {
        guard try advanceInTopLevelArray(index: index) else { return false }
        switch try peek() {
        case UInt8(ascii: "{"):
            position += 1
            return true
        case nil: throw fail("unexpected end of data in an array")
        default: throw fail("expected an object")
        }
    }

    /// The next member of the object that ``beginTopLevelObject(index:)`` started, whose values must be scalars;
    /// nil after its closing `}`. `index` is how many members came before.
    ///
    /// Numbers keep their text, digit for digit, checked against the JSON grammar but not converted.
    /// - Throws: ``HandoverError/Code/invalidData`` when a value is an array or an object, or the JSON is not valid.
    package func nextScalarMember(index: Int) throws -> (name: String, value: JSONScalar)? {
        try skipWhitespace()
        if index > 0 {
            switch try peek() {
            case UInt8(ascii: ","):
                position += 1
                try skipWhitespace()
            case UInt8(ascii: "}"):
                position += 1
                return nil
            case nil: throw fail("unexpected end of data in an object")
            default: throw fail("expected ',' or '}'")
            }
        }
        switch try peek() {
        case UInt8(ascii: "\""): break
        case UInt8(ascii: "}") where index == 0:
            position += 1
            return nil
        case nil: throw fail("unexpected end of data in an object")
        default: throw fail("expected a member name")
        }
        let name = try parseString()
        try skipWhitespace()
        try expect(UInt8(ascii: ":"), "':'")
        try skipWhitespace()
        guard let byte = try peek() else { throw fail("unexpected end of data, expected a value") }
        switch byte {
        case UInt8(ascii: "\""): return (name, .string(try parseString()))
        case UInt8(ascii: "t"):
            try parseLiteral("true")
            return (name, .boolean(true))
        case UInt8(ascii: "f"):
            try parseLiteral("false")
            return (name, .boolean(false))
        case UInt8(ascii: "n"):
            try parseLiteral("null")
            return (name, .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            _ = try scanNumber()
            return (name, .number(String(decoding: scratch, as: UTF8.self)))
        case UInt8(ascii: "{"), UInt8(ascii: "["): throw fail("expected null, true, false, a number or a string")
        default: throw fail("expected a value")
        }
    }

    /// Reads the element at `position` when it is a row of `plan` that is valid, in the form Handover writes rows,
    /// all in the bytes at hand: an object whose members are the plan's properties, in its order, each once, with no
    /// white space, whose names are written as they are (no escapes), and whose values are strings without escapes,
    /// numbers (integers of at most 18 digits, or other numbers that a `Double` holds), `true`, `false` or `null`,
    /// each valid against its property's type and assertions (run by `checker`).
    ///
    /// True, having consumed the element, when it is such a row: the evaluator finds it valid, and
    /// ``nextTopLevelMembers(index:into:plan:checker:)`` would read it without error. False, having consumed
    /// nothing, otherwise (anything else, valid or not, or a row that goes on past the bytes at hand); then the
    /// element is read as before, and any error reported from there.
    ///
    /// It is the same check as ``FlatRowPlan/isValid(_:marks:mark:_:)`` on the members the reader would read,
    /// without making the values whose property only asks for a type.
    func skimFlatRow(_ plan: FlatRowPlan, _ checker: inout Evaluator) -> Bool {
        guard let slots = plan.skim else { return false }
        let storage = self.storage
        let end = self.end
        var at = position
        guard at < end, storage[at] == UInt8(ascii: "{") else { return false }
        at &+= 1
        for index in 0..<slots.count {
            if index > 0 {
                guard at < end, storage[at] == UInt8(ascii: ",") else { return false }
                at &+= 1
            }
            // The name, quoted, then ':'.
            let matched = plan.nameBytes[index].withUnsafeBufferPointer { name -> Bool in
                let count = name.count
                guard at &+ count &+ 3 <= end, storage[at] == UInt8(ascii: "\""),
                    storage[at &+ count &+ 1] == UInt8(ascii: "\""), storage[at &+ count &+ 2] == UInt8(ascii: ":")
                else { return false }
                for offset in 0..<count where storage[at &+ 1 &+ offset] != name[offset] { return false }
                at &+= count &+ 3
                return true
            }
            guard matched, at < end else { return false }
            // The value.
            // Whether a value is needed for assertions (their list is read only then: reading it costs a retain).
            let mask: TypeMask
            let checked: Bool
            switch slots[index] {
            case .type(let allowed):
                mask = allowed
                checked = false
            case .checked(let allowed, _):
                mask = allowed
                checked = true
            }
            let start = at
            let found: TypeMask
            var value: JSONValue?
            switch storage[at] {
            case UInt8(ascii: "\""):
                at &+= 1
                var combined: UInt8 = 0
                while true {
                    guard at < end else { return false }
                    let byte = storage[at]
                    if byte == UInt8(ascii: "\"") { break }
                    if byte == UInt8(ascii: "\\") {
                        // An escape is skipped when only the type matters, and stands for a character that is
                        // not a surrogate (U+D800 to U+DFFF; the long way pairs or replaces those).
                        guard !checked, Self.skipEscape(in: storage, at: &at, end: end) else { return false }
                        continue
                    }
                    if byte < 0x20 { return false }
                    combined |= byte
                    at &+= 1
                }
                // With escapes in them, the bytes are valid UTF-8 exactly when the string they stand for is: an escape
                // is ASCII, and the character it stands for is whole.
                let bytes = UnsafeBufferPointer(start: storage + start + 1, count: at &- start &- 1)
                guard combined < 0x80 || Self.isValidUTF8(bytes) else { return false }
                at &+= 1
                found = .string
                if checked { value = .string(String(decoding: bytes, as: UTF8.self)) }
            case UInt8(ascii: "n"):
                guard Self.literal("null", in: storage, at: &at, end: end) else { return false }
                found = .null
                if checked { value = .null }
            case UInt8(ascii: "t"):
                guard Self.literal("true", in: storage, at: &at, end: end) else { return false }
                found = .boolean
                if checked { value = .bool(true) }
            case UInt8(ascii: "f"):
                guard Self.literal("false", in: storage, at: &at, end: end) else { return false }
                found = .boolean
                if checked { value = .bool(false) }
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                while at < end, Self.isNumberByte(storage[at]) { at &+= 1 }
                // The number must end in the bytes at hand.
                guard at < end else { return false }
                let text = UnsafeBufferPointer(start: storage + start, count: at &- start)
                guard let isInteger = Self.numberGrammar(text) else { return false }
                if isInteger, text.count <= 18, let exact = Self.exactInteger(text) {
                    found = [.number, .integer]
                    if checked { value = .number(JSONNumber(exact)) }
                } else {
                    // As parseNumber reads it; an integer past `Int64` or a number out of range goes the long way.
                    guard !isInteger, let double = Double(String(decoding: text, as: UTF8.self)), double.isFinite
                    else { return false }
                    let number = JSONNumber(double)
                    found = number.isInteger ? [.number, .integer] : .number
                    if checked { value = .number(number) }
                }
            default:
                return false
            }
            guard !mask.isDisjoint(with: found) else { return false }
            if checked, let value {
                guard case .checked(_, let keywords) = slots[index] else { return false }
                for keyword in keywords where !checker.check(keyword, value) { return false }
            }
        }
        guard at < end, storage[at] == UInt8(ascii: "}") else { return false }
        position = at &+ 1
        return true
    }

    /// Whether the escape at `at` (its backslash) is whole before `end`, valid, and stands for a character that is
    /// not a surrogate; moves `at` past it when it is.
    @inline(__always)
    private static func skipEscape(in storage: UnsafeMutablePointer<UInt8>, at: inout Int, end: Int) -> Bool {
        guard at &+ 1 < end else { return false }
        switch storage[at &+ 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
            UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            at &+= 2
            return true
        case UInt8(ascii: "u"):
            guard at &+ 6 <= end else { return false }
            var value: UInt32 = 0
            for offset in 2..<6 {
                let byte = storage[at &+ offset]
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte &- UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte &- UInt8(ascii: "a") &+ 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte &- UInt8(ascii: "A") &+ 10
                default: return false
                }
                value = value << 4 | UInt32(digit)
            }
            guard !(0xD800...0xDFFF).contains(value) else { return false }
            at &+= 6
            return true
        default:
            return false
        }
    }

    /// Whether `literal` is at `at`, whole, before `end`; moves `at` past it when it is.
    @inline(__always)
    private static func literal(
        _ literal: StaticString, in storage: UnsafeMutablePointer<UInt8>, at: inout Int, end: Int
    ) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard at &+ count <= end else { return false }
        let bytes = literal.utf8Start
        for offset in 0..<count where storage[at &+ offset] != bytes[offset] { return false }
        at &+= count
        return true
    }

    /// A member name that ``nextTopLevelMembers(index:into:plan:checker:)`` expects at some position: when the bytes
    /// between the quotes are exactly `bytes`, the name is `name` (which ``parseString()`` would return for them).
    struct ExpectedName {
        let bytes: [UInt8]
        let name: String

        /// Nil for a name whose bytes could be read otherwise in a JSON string (a quote, a backslash, a control
        /// character).
        init?(_ name: String) {
            let bytes = Array(name.utf8)
            guard !bytes.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") })
            else { return nil }
            self.bytes = bytes
            self.name = name
        }
    }

    /// When the string at `position` (its opening quote) is `expected` whole, within the block: its name, having
    /// consumed it; nil, having consumed nothing, otherwise.
    @inline(__always)
    private func matchName(_ expected: ExpectedName?) -> String? {
        guard let expected else { return nil }
        let count = expected.bytes.count
        guard position + count + 2 <= end, storage[position + count + 1] == UInt8(ascii: "\"") else { return nil }
        let matched = expected.bytes.withUnsafeBufferPointer { bytes in
            for offset in 0..<count where storage[position + 1 + offset] != bytes[offset] { return false }
            return true
        }
        guard matched else { return nil }
        position += count + 2
        return expected.name
    }

    // MARK: Values

    private func parseValue(depth: Int) throws -> JSONValue {
        guard let byte = try peek() else { throw fail("unexpected end of data, expected a value") }
        switch byte {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"):
            try parseLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try parseLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try parseLiteral("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .number(try parseNumber())
        default:
            throw fail("expected a value")
        }
    }

    private func parseLiteral(_ literal: StaticString) throws {
        let start = offset
        let bytes = UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
        for expected in bytes {
            guard try peek() == expected else { throw fail("invalid literal", at: start) }
            position += 1
        }
    }

    private func parseArray(depth: Int) throws -> JSONValue {
        guard depth <= Self.maximumDepth else { throw fail("nesting deeper than \(Self.maximumDepth) levels") }
        position += 1
        var elements: [JSONValue] = []
        try skipWhitespace()
        if try peek() == UInt8(ascii: "]") {
            position += 1
            return .array(elements)
        }
        while true {
            try skipWhitespace()
            elements.append(try parseValue(depth: depth))
            try skipWhitespace()
            switch try peek() {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "]"):
                position += 1
                return .array(elements)
            case nil: throw fail("unexpected end of data in an array")
            default: throw fail("expected ',' or ']'")
            }
        }
    }

    private func parseObject(depth: Int) throws -> JSONValue {
        guard depth <= Self.maximumDepth else { throw fail("nesting deeper than \(Self.maximumDepth) levels") }
        position += 1
        var object = JSONObject()
        try skipWhitespace()
        if try peek() == UInt8(ascii: "}") {
            position += 1
            return .object(object)
        }
        while true {
            try skipWhitespace()
            guard try peek() == UInt8(ascii: "\"") else {
                throw fail(try peek() == nil ? "unexpected end of data in an object" : "expected a member name")
            }
            let key = try parseString()
            try skipWhitespace()
            try expect(UInt8(ascii: ":"), "':'")
            try skipWhitespace()
            object[key] = try parseValue(depth: depth)
            try skipWhitespace()
            switch try peek() {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "}"):
                position += 1
                return .object(object)
            case nil: throw fail("unexpected end of data in an object")
            default: throw fail("expected ',' or '}'")
            }
        }
    }

    // MARK: Strings

    /// A string; `position` is at its opening quote.
    private func parseString() throws -> String {
        let start = offset
        position += 1
        // Fast path: the whole string is in this block and has no escapes.
        var index = position
        var combined: UInt8 = 0
        while index < end {
            let byte = storage[index]
            if byte == UInt8(ascii: "\"") {
                let bytes = UnsafeBufferPointer(start: storage + position, count: index - position)
                guard combined < 0x80 || Self.isValidUTF8(bytes) else {
                    throw fail("invalid UTF-8 in a string", at: start)
                }
                position = index + 1
                return String(decoding: bytes, as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") || byte < 0x20 { break }
            combined |= byte
            index += 1
        }
        return try parseStringSlowly(start: start)
    }

    private func parseStringSlowly(start: Int) throws -> String {
        scratch.removeAll(keepingCapacity: true)
        var pendingHigh: UInt32? = nil
        while true {
            guard let byte = try peek() else { throw fail("unterminated string", at: start) }
            if byte == UInt8(ascii: "\\") {
                position += 1
                guard let escape = try peek() else { throw fail("unterminated string", at: start) }
                position += 1
                var scalar: UInt32
                switch escape {
                case UInt8(ascii: "\""): scalar = 0x22
                case UInt8(ascii: "\\"): scalar = 0x5C
                case UInt8(ascii: "/"): scalar = 0x2F
                case UInt8(ascii: "b"): scalar = 0x08
                case UInt8(ascii: "f"): scalar = 0x0C
                case UInt8(ascii: "n"): scalar = 0x0A
                case UInt8(ascii: "r"): scalar = 0x0D
                case UInt8(ascii: "t"): scalar = 0x09
                case UInt8(ascii: "u"): scalar = try parseHex4()
                default: throw fail("invalid escape sequence", at: offset - 2)
                }
                if let high = pendingHigh {
                    pendingHigh = nil
                    if (0xDC00...0xDFFF).contains(scalar) {
                        appendUTF8(0x10000 + ((high - 0xD800) << 10) + (scalar - 0xDC00))
                        continue
                    }
                    try appendLoneSurrogate()
                }
                if (0xD800...0xDBFF).contains(scalar) {
                    pendingHigh = scalar
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    try appendLoneSurrogate()
                } else {
                    appendUTF8(scalar)
                }
                continue
            }
            if pendingHigh != nil {
                pendingHigh = nil
                try appendLoneSurrogate()
            }
            if byte == UInt8(ascii: "\"") {
                position += 1
                return try scratch.withUnsafeBufferPointer { bytes in
                    guard Self.isValidUTF8(bytes) else { throw fail("invalid UTF-8 in a string", at: start) }
                    return String(decoding: bytes, as: UTF8.self)
                }
            }
            if byte < 0x20 { throw fail("control character in a string") }
            // Copy the run of plain bytes up to the next quote, backslash or control character.
            let runStart = position
            while position < end {
                let next = storage[position]
                if next == UInt8(ascii: "\"") || next == UInt8(ascii: "\\") || next < 0x20 { break }
                position += 1
            }
            scratch.append(contentsOf: UnsafeBufferPointer(start: storage + runStart, count: position - runStart))
        }
    }

    /// Whether `bytes` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
    package static func isValidUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var index = 0
        let count = bytes.count
        while index < count {
            let lead = bytes[index]
            if lead < 0x80 {
                index += 1
                continue
            }
            let length: Int
            var lower: UInt8 = 0x80
            var upper: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0:
                length = 3
                lower = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED:
                length = 3
                upper = 0x9F
            case 0xF0:
                length = 4
                lower = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4:
                length = 4
                upper = 0x8F
            default: return false
            }
            guard index + length <= count else { return false }
            let second = bytes[index + 1]
            guard second >= lower && second <= upper else { return false }
            for offset in 2..<length where bytes[index + offset] & 0xC0 != 0x80 { return false }
            index += length
        }
        return true
    }

    private func parseHex4() throws -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = try peek() else { throw fail("unterminated string") }
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw fail("invalid \\u escape")
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    /// U+FFFD for a lone surrogate, unless the reader refuses them.
    private func appendLoneSurrogate() throws {
        if refusesLoneSurrogates { throw fail("a \\u escape of a lone surrogate in a string") }
        appendUTF8(0xFFFD)
    }

    private func appendUTF8(_ scalar: UInt32) {
        switch scalar {
        case 0..<0x80:
            scratch.append(UInt8(scalar))
        case 0x80..<0x800:
            scratch.append(UInt8(0xC0 | scalar >> 6))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            scratch.append(UInt8(0xE0 | scalar >> 12))
            scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        default:
            scratch.append(UInt8(0xF0 | scalar >> 18))
            scratch.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        }
    }

    // MARK: Numbers

    /// A number; `position` is at its first byte.
    private func parseNumber() throws -> JSONNumber {
        let start = offset
        // Fast path, as scanNumber's: the number ends in this block and follows the grammar; read where it lies.
        var index = position
        while index < end, Self.isNumberByte(storage[index]) { index += 1 }
        let inBlock = UnsafeBufferPointer(start: storage + position, count: index - position)
        if index < end, let isInteger = Self.numberGrammar(inBlock) {
            position = index
            if isInteger, let exact = Self.exactInteger(inBlock) { return JSONNumber(exact) }
            guard let double = Double(String(decoding: inBlock, as: UTF8.self)), double.isFinite else {
                throw fail("number out of range", at: start)
            }
            return JSONNumber(double)
        }
        let isIntegerText = try scanNumber()
        if isIntegerText, let exact = Self.exactInteger(scratch) { return JSONNumber(exact) }
        let text = String(decoding: scratch, as: UTF8.self)
        guard let double = Double(text), double.isFinite else { throw fail("number out of range", at: start) }
        return JSONNumber(double)
    }

    /// Reads a number's text into `scratch`, checking it against the grammar
    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`; `position` is at its first byte.
    /// - Returns: Whether the text is an integer's (no fraction, no exponent).
    private func scanNumber() throws -> Bool {
        // Fast path: the number ends in this block and follows the grammar; it is copied at once.
        var index = position
        while index < end, Self.isNumberByte(storage[index]) { index += 1 }
        let text = UnsafeBufferPointer(start: storage + position, count: index - position)
        if index < end, let isInteger = Self.numberGrammar(text) {
            scratch.removeAll(keepingCapacity: true)
            scratch.append(contentsOf: text)
            position = index
            return isInteger
        }
        // Otherwise byte by byte, across blocks, failing where the grammar fails.
        let start = offset
        scratch.removeAll(keepingCapacity: true)
        var isIntegerText = true

        func take() { scratch.append(storage[position]); position += 1 }
        func digits() throws -> Int {
            var count = 0
            while let byte = try peek(), byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                take()
                count += 1
            }
            return count
        }

        if try peek() == UInt8(ascii: "-") { take() }
        guard let first = try peek(), first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9") else {
            throw fail("invalid number", at: start)
        }
        if first == UInt8(ascii: "0") {
            take()
            if let next = try peek(), next >= UInt8(ascii: "0"), next <= UInt8(ascii: "9") {
                throw fail("invalid number (leading zero)", at: start)
            }
        } else {
            _ = try digits()
        }
        if try peek() == UInt8(ascii: ".") {
            isIntegerText = false
            take()
            guard try digits() > 0 else { throw fail("invalid number", at: start) }
        }
        if let byte = try peek(), byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
            isIntegerText = false
            take()
            if let sign = try peek(), sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { take() }
            guard try digits() > 0 else { throw fail("invalid number", at: start) }
        }
        return isIntegerText
    }

    /// Whether a byte may be part of a number: a digit, a sign, a point or an exponent mark.
    @inline(__always)
    private static func isNumberByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."),
            UInt8(ascii: "e"), UInt8(ascii: "E"):
            true
        default: false
        }
    }

    /// Whether `bytes` are a whole number in the grammar of ``scanNumber()``, and an integer's: nil when they are not
    /// a number, else whether they are an integer's.
    private static func numberGrammar(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool? {
        var index = 0
        let count = bytes.count
        func digits() -> Int {
            let start = index
            while index < count, bytes[index] &- UInt8(ascii: "0") < 10 { index += 1 }
            return index - start
        }
        if index < count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        let integerStart = index
        let integerDigits = digits()
        guard integerDigits > 0, integerDigits == 1 || bytes[integerStart] != UInt8(ascii: "0") else { return nil }
        var isInteger = true
        if index < count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            isInteger = false
            guard digits() > 0 else { return nil }
        }
        if index < count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            isInteger = false
            if index < count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { return nil }
        }
        return index == count ? isInteger : nil
    }

    /// The value of an integer's digits (with an optional minus), or nil when it overflows `Int64`.
    private static func exactInteger(_ bytes: [UInt8]) -> Int64? {
        bytes.withUnsafeBufferPointer { exactInteger($0) }
    }

    /// The value of an integer's digits (with an optional minus), or nil when it overflows `Int64`.
    private static func exactInteger(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        var index = 0
        let negative = bytes.first == UInt8(ascii: "-")
        if negative { index = 1 }
        var value: Int64 = 0
        while index < bytes.count {
            let digit = Int64(bytes[index] - UInt8(ascii: "0"))
            let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) =
                negative ? times.subtractingReportingOverflow(digit) : times.addingReportingOverflow(digit)
            if overflow1 || overflow2 { return nil }
            value = next
            index += 1
        }
        return value
    }
}
