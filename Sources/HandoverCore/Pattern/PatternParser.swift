/// Why a pattern cannot be used: a construct the linear engine does not run (back-references, lookaround), a
/// syntax error, or a program too large. The message names the construct, never a value matched against it.
package struct PatternError: Error, Sendable, CustomStringConvertible {
    /// What is wrong, in words (`back-references are not supported`).
    package let message: String
    /// Whether the pattern was refused for its size rather than for its syntax.
    package let isTooComplex: Bool

    init(_ message: String, tooComplex: Bool = false) {
        self.message = message
        self.isTooComplex = tooComplex
    }

    /// The message.
    package var description: String { message }
}

/// A zero-width assertion.
enum PatternAssertion: Int32 {
    case start, end, wordBoundary, notWordBoundary
}

/// A parsed pattern.
indirect enum PatternNode {
    case empty
    case scalar(UInt32)
    case set(ScalarSet)
    case sequence([PatternNode])
    case alternation([PatternNode])
    case repetition(PatternNode, min: Int, max: Int?)
    case assertion(PatternAssertion)
}

/// A Unicode property a class can name with `\p{…}`.
enum ScalarProperty: Sendable {
    case categories([Unicode.GeneralCategory])
    case alphabetic, whiteSpace, uppercase, lowercase, any, ascii, assigned
    /// A nested set (`\D` or `\p{L}` inside a class).
    case set(ScalarSet)

    func contains(_ scalar: Unicode.Scalar) -> Bool {
        switch self {
        case .categories(let categories): categories.contains(scalar.properties.generalCategory)
        case .alphabetic: scalar.properties.isAlphabetic
        case .whiteSpace: scalar.properties.isWhitespace
        case .uppercase: scalar.properties.isUppercase
        case .lowercase: scalar.properties.isLowercase
        case .any: true
        case .ascii: scalar.value < 128
        case .assigned: scalar.properties.generalCategory != .unassigned
        case .set(let set): set.contains(scalar.value)
        }
    }

    /// The property an ECMAScript `\p{…}` name stands for: a general category (`L`, `Letter`, `Nd`,
    /// `gc=Lu`, `General_Category=Lu`) or one of a few binary properties; nil when unknown (scripts among them).
    static func named(_ text: String) -> ScalarProperty? {
        var name = text
        for prefix in ["General_Category=", "gc="] where name.hasPrefix(prefix) {
            name = String(name.dropFirst(prefix.count))
        }
        let key = name.lowercased().filter { $0 != "_" && $0 != "-" && $0 != " " }
        typealias C = Unicode.GeneralCategory
        let letters: [C] = [.uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter]
        let marks: [C] = [.nonspacingMark, .spacingMark, .enclosingMark]
        let numbers: [C] = [.decimalNumber, .letterNumber, .otherNumber]
        let punctuation: [C] = [
            .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
            .finalPunctuation, .otherPunctuation,
        ]
        let symbols: [C] = [.mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol]
        let separators: [C] = [.spaceSeparator, .lineSeparator, .paragraphSeparator]
        let others: [C] = [.control, .format, .surrogate, .privateUse, .unassigned]
        let table: [String: [C]] = [
            "l": letters, "letter": letters, "lc": [.uppercaseLetter, .lowercaseLetter, .titlecaseLetter],
            "casedletter": [.uppercaseLetter, .lowercaseLetter, .titlecaseLetter],
            "lu": [.uppercaseLetter], "uppercaseletter": [.uppercaseLetter],
            "ll": [.lowercaseLetter], "lowercaseletter": [.lowercaseLetter],
            "lt": [.titlecaseLetter], "titlecaseletter": [.titlecaseLetter],
            "lm": [.modifierLetter], "modifierletter": [.modifierLetter],
            "lo": [.otherLetter], "otherletter": [.otherLetter],
            "m": marks, "mark": marks, "combiningmark": marks,
            "mn": [.nonspacingMark], "nonspacingmark": [.nonspacingMark],
            "mc": [.spacingMark], "spacingmark": [.spacingMark],
            "me": [.enclosingMark], "enclosingmark": [.enclosingMark],
            "n": numbers, "number": numbers,
            "nd": [.decimalNumber], "decimalnumber": [.decimalNumber], "digit": [.decimalNumber],
            "nl": [.letterNumber], "letternumber": [.letterNumber],
            "no": [.otherNumber], "othernumber": [.otherNumber],
            "p": punctuation, "punctuation": punctuation, "punct": punctuation,
            "pc": [.connectorPunctuation], "connectorpunctuation": [.connectorPunctuation],
            "pd": [.dashPunctuation], "dashpunctuation": [.dashPunctuation],
            "ps": [.openPunctuation], "openpunctuation": [.openPunctuation],
            "pe": [.closePunctuation], "closepunctuation": [.closePunctuation],
            "pi": [.initialPunctuation], "initialpunctuation": [.initialPunctuation],
            "pf": [.finalPunctuation], "finalpunctuation": [.finalPunctuation],
            "po": [.otherPunctuation], "otherpunctuation": [.otherPunctuation],
            "s": symbols, "symbol": symbols,
            "sm": [.mathSymbol], "mathsymbol": [.mathSymbol],
            "sc": [.currencySymbol], "currencysymbol": [.currencySymbol],
            "sk": [.modifierSymbol], "modifiersymbol": [.modifierSymbol],
            "so": [.otherSymbol], "othersymbol": [.otherSymbol],
            "z": separators, "separator": separators,
            "zs": [.spaceSeparator], "spaceseparator": [.spaceSeparator],
            "zl": [.lineSeparator], "lineseparator": [.lineSeparator],
            "zp": [.paragraphSeparator], "paragraphseparator": [.paragraphSeparator],
            "c": others, "other": others,
            "cc": [.control], "control": [.control], "cntrl": [.control],
            "cf": [.format], "format": [.format],
            "cs": [.surrogate], "surrogate": [.surrogate],
            "co": [.privateUse], "privateuse": [.privateUse],
            "cn": [.unassigned], "unassigned": [.unassigned],
        ]
        if let categories = table[key] { return .categories(categories) }
        switch key {
        case "alpha", "alphabetic": return .alphabetic
        case "whitespace", "space", "wspace": return .whiteSpace
        case "upper", "uppercase": return .uppercase
        case "lower", "lowercase": return .lowercase
        case "any": return .any
        case "ascii": return .ascii
        case "assigned": return .assigned
        default: return nil
        }
    }
}

/// A set of scalars: ranges and properties, possibly negated, with a bitmap for ASCII.
struct ScalarSet: Sendable {
    var ranges: [ClosedRange<UInt32>] = []
    var properties: [(property: ScalarProperty, negated: Bool)] = []
    var negated = false
    private var asciiLow: UInt64 = 0
    private var asciiHigh: UInt64 = 0

    /// Fills the ASCII bitmap; call once the set is complete.
    mutating func seal() {
        asciiLow = 0
        asciiHigh = 0
        for value in UInt32(0)..<128 where slowContains(value) {
            if value < 64 { asciiLow |= 1 << UInt64(value) } else { asciiHigh |= 1 << UInt64(value - 64) }
        }
    }

    private func slowContains(_ value: UInt32) -> Bool {
        var hit = ranges.contains { $0.contains(value) }
        if !hit, !properties.isEmpty, let scalar = Unicode.Scalar(value) {
            hit = properties.contains { $0.property.contains(scalar) != $0.negated }
        }
        return hit != negated
    }

    @inline(__always)
    func contains(_ value: UInt32) -> Bool {
        if value < 64 { return asciiLow & (1 << UInt64(value)) != 0 }
        if value < 128 { return asciiHigh & (1 << UInt64(value - 64)) != 0 }
        return slowContains(value)
    }

    static let digits = ScalarSet(ranges: [48...57])
    static let word = ScalarSet(ranges: [48...57, 65...90, 95...95, 97...122])
    /// ECMA-262 WhiteSpace and LineTerminator.
    static let space = ScalarSet(ranges: [
        9...13, 32...32, 0xA0...0xA0, 0x1680...0x1680, 0x2000...0x200A, 0x2028...0x2029, 0x202F...0x202F,
        0x205F...0x205F, 0x3000...0x3000, 0xFEFF...0xFEFF,
    ])
    /// What `.` matches: everything but line terminators.
    static let dot = ScalarSet(ranges: [10...10, 13...13, 0x2028...0x2029], negated: true)

    init(ranges: [ClosedRange<UInt32>] = [], negated: Bool = false) {
        self.ranges = ranges
        self.negated = negated
        seal()
    }

    /// This set, complemented.
    var inverted: ScalarSet {
        var copy = self
        copy.negated.toggle()
        copy.seal()
        return copy
    }
}

/// Reads the ECMAScript (ECMA-262) regular expression syntax that JSON Schema and Table Schema patterns use, with
/// Unicode semantics, and refuses what a linear-time engine cannot run: back-references and lookaround.
struct PatternParser {
    private let scalars: [Unicode.Scalar]
    private var index = 0
    private var depth = 0
    /// Parentheses nested deeper than this are refused as too complex.
    static let maxDepth = 100

    init(_ source: String) {
        scalars = Array(source.unicodeScalars)
    }

    static func parse(_ source: String) throws(PatternError) -> PatternNode {
        var parser = PatternParser(source)
        let node = try parser.disjunction()
        if parser.index < parser.scalars.count {
            // Only a ')' stops a top-level disjunction early.
            throw PatternError("unbalanced parenthesis")
        }
        return node
    }

    private var atEnd: Bool { index >= scalars.count }
    private var peek: Unicode.Scalar? { index < scalars.count ? scalars[index] : nil }

    private func peek(_ offset: Int) -> Unicode.Scalar? {
        index + offset < scalars.count ? scalars[index + offset] : nil
    }

    private mutating func disjunction() throws(PatternError) -> PatternNode {
        var branches = [try alternative()]
        while peek == "|" {
            index += 1
            branches.append(try alternative())
        }
        return branches.count == 1 ? branches[0] : .alternation(branches)
    }

    private mutating func alternative() throws(PatternError) -> PatternNode {
        var terms: [PatternNode] = []
        while let character = peek, character != "|", character != ")" {
            terms.append(try term())
        }
        switch terms.count {
        case 0: return .empty
        case 1: return terms[0]
        default: return .sequence(terms)
        }
    }

    private mutating func term() throws(PatternError) -> PatternNode {
        let character = scalars[index]
        var atom: PatternNode
        var quantifiable = true
        switch character {
        case "^":
            index += 1
            atom = .assertion(.start)
            quantifiable = false
        case "$":
            index += 1
            atom = .assertion(.end)
            quantifiable = false
        case "(":
            atom = try group()
        case "[":
            atom = .set(try characterClass())
        case ".":
            index += 1
            atom = .set(.dot)
        case "*", "+", "?":
            throw PatternError("a quantifier has nothing to repeat")
        case "{":
            if let _ = quantifierBounds(at: index) { throw PatternError("a quantifier has nothing to repeat") }
            index += 1
            atom = .scalar(character.value)
        case "\\":
            index += 1
            if peek == "b" || peek == "B" {
                atom = .assertion(peek == "b" ? .wordBoundary : .notWordBoundary)
                index += 1
                quantifiable = false
            } else {
                atom = try atomEscape()
            }
        default:
            index += 1
            atom = .scalar(character.value)
        }
        guard let (min, max) = try quantifier() else { return atom }
        guard quantifiable else { throw PatternError("an assertion cannot be repeated") }
        return .repetition(atom, min: min, max: max)
    }

    /// A quantifier after an atom, as bounds; its lazy `?` is read and ignored (a yes/no match does not depend on it).
    private mutating func quantifier() throws(PatternError) -> (Int, Int?)? {
        guard let character = peek else { return nil }
        var bounds: (Int, Int?)
        switch character {
        case "*": bounds = (0, nil); index += 1
        case "+": bounds = (1, nil); index += 1
        case "?": bounds = (0, 1); index += 1
        case "{":
            guard let (min, max, end) = quantifierBounds(at: index) else { return nil }
            if let max, max < min { throw PatternError("numbers out of order in a {} quantifier") }
            bounds = (min, max)
            index = end
        default: return nil
        }
        if peek == "?" { index += 1 }
        if let next = peek,
            next == "*" || next == "+" || next == "?" || (next == "{" && quantifierBounds(at: index) != nil)
        {
            throw PatternError("a quantifier has nothing to repeat")
        }
        return bounds
    }

    /// `{n}`, `{n,}` or `{n,m}` at `start`: the bounds (saturated at Int32.max) and the index after it; nil when
    /// the brace does not start a quantifier (it is then a literal brace, as in ECMA-262 Annex B).
    private func quantifierBounds(at start: Int) -> (Int, Int?, Int)? {
        var position = start + 1
        func number() -> Int? {
            var value: Int?
            while position < scalars.count, ("0"..."9").contains(scalars[position]) {
                value = Swift.min((value ?? 0) * 10 + Int(scalars[position].value - 48), Int(Int32.max))
                position += 1
            }
            return value
        }
        guard let min = number() else { return nil }
        var max: Int? = min
        if position < scalars.count, scalars[position] == "," {
            position += 1
            max = number()
        }
        guard position < scalars.count, scalars[position] == "}" else { return nil }
        return (min, max, position + 1)
    }

    private mutating func group() throws(PatternError) -> PatternNode {
        index += 1
        if peek == "?" {
            switch peek(1) {
            case ":": index += 2
            case "=", "!": throw PatternError("lookahead is not supported")
            case "<":
                if peek(2) == "=" || peek(2) == "!" { throw PatternError("lookbehind is not supported") }
                // A named group: the name is skipped.
                index += 2
                while let character = peek, character != ">" { index += 1 }
                guard peek == ">" else { throw PatternError("a group name is not closed") }
                index += 1
            default: throw PatternError("inline flags and other (? groups are not supported")
            }
        }
        depth += 1
        guard depth <= Self.maxDepth else {
            throw PatternError("groups nested more than \(Self.maxDepth) deep", tooComplex: true)
        }
        let inner = try disjunction()
        depth -= 1
        guard peek == ")" else { throw PatternError("unbalanced parenthesis") }
        index += 1
        return inner
    }

    private mutating func atomEscape() throws(PatternError) -> PatternNode {
        guard let character = peek else { throw PatternError("the pattern ends with a backslash") }
        switch character {
        case "1"..."9": throw PatternError("back-references are not supported")
        case "k": throw PatternError("back-references are not supported")
        default: break
        }
        switch try classEscape(inClass: false) {
        case .scalar(let value): return .scalar(value)
        case .set(let set): return .set(set)
        }
    }

    private enum Escaped {
        case scalar(UInt32)
        case set(ScalarSet)
    }

    /// An escape after its backslash, in or out of a class.
    private mutating func classEscape(inClass: Bool) throws(PatternError) -> Escaped {
        guard let character = peek else { throw PatternError("the pattern ends with a backslash") }
        index += 1
        switch character {
        case "d": return .set(.digits)
        case "D": return .set(ScalarSet.digits.inverted)
        case "w": return .set(.word)
        case "W": return .set(ScalarSet.word.inverted)
        case "s": return .set(.space)
        case "S": return .set(ScalarSet.space.inverted)
        case "p", "P":
            guard peek == "{" else { throw PatternError("\\p and \\P need a property name in braces") }
            index += 1
            var name = ""
            while let next = peek, next != "}" {
                name.unicodeScalars.append(next)
                index += 1
            }
            guard peek == "}" else { throw PatternError("a \\p{…} property name is not closed") }
            index += 1
            guard let property = ScalarProperty.named(name) else {
                throw PatternError("the Unicode property \\p{\(name)} is not supported")
            }
            var set = ScalarSet()
            set.properties = [(property, character == "P")]
            set.seal()
            return .set(set)
        case "t": return .scalar(9)
        case "n": return .scalar(10)
        case "v": return .scalar(11)
        case "f": return .scalar(12)
        case "r": return .scalar(13)
        case "b" where inClass: return .scalar(8)
        case "-" where inClass: return .scalar(45)
        case "0":
            if let next = peek, ("0"..."9").contains(next) {
                throw PatternError("octal escapes are not supported")
            }
            return .scalar(0)
        case "1"..."9":
            throw PatternError(inClass ? "octal escapes are not supported" : "back-references are not supported")
        case "c":
            guard let letter = peek, ("a"..."z").contains(letter) || ("A"..."Z").contains(letter) else {
                throw PatternError("\\c needs a letter")
            }
            index += 1
            return .scalar(letter.value & 31)
        case "x":
            guard let value = hexDigits(count: 2) else { throw PatternError("\\x needs two hexadecimal digits") }
            return .scalar(value)
        case "u":
            return .scalar(try unicodeEscape())
        default:
            if character.properties.isAlphabetic || ("0"..."9").contains(character) {
                throw PatternError("the escape \\\(character) is not supported")
            }
            return .scalar(character.value)
        }
    }

    private mutating func hexDigits(count: Int) -> UInt32? {
        guard index + count <= scalars.count else { return nil }
        var value: UInt32 = 0
        for offset in 0..<count {
            guard let digit = Self.hexValue(scalars[index + offset]) else { return nil }
            value = value * 16 + digit
        }
        index += count
        return value
    }

    private static func hexValue(_ scalar: Unicode.Scalar) -> UInt32? {
        switch scalar {
        case "0"..."9": scalar.value - 48
        case "a"..."f": scalar.value - 87
        case "A"..."F": scalar.value - 55
        default: nil
        }
    }

    /// `\uHHHH` (a surrogate pair of two such escapes makes one scalar) or `\u{H…}`, after the `u`.
    private mutating func unicodeEscape() throws(PatternError) -> UInt32 {
        if peek == "{" {
            index += 1
            var value: UInt32 = 0
            var digits = 0
            while let next = peek, let digit = Self.hexValue(next) {
                value = value &* 16 &+ digit
                digits += 1
                index += 1
                guard value <= 0x10FFFF else { throw PatternError("\\u{…} is beyond U+10FFFF") }
            }
            guard digits > 0, peek == "}" else { throw PatternError("\\u{…} needs hexadecimal digits in braces") }
            index += 1
            return value
        }
        guard let high = hexDigits(count: 4) else { throw PatternError("\\u needs four hexadecimal digits") }
        if (0xD800...0xDBFF).contains(high), peek == "\\", peek(1) == "u" {
            let saved = index
            index += 2
            if let low = hexDigits(count: 4), (0xDC00...0xDFFF).contains(low) {
                return 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
            }
            index = saved
        }
        return high
    }

    private mutating func characterClass() throws(PatternError) -> ScalarSet {
        index += 1
        var set = ScalarSet()
        if peek == "^" {
            set.negated = true
            index += 1
        }
        var parts = ScalarSet()
        while true {
            guard let character = peek else { throw PatternError("a character class is not closed") }
            if character == "]" {
                index += 1
                break
            }
            let first = try classAtom()
            if peek == "-", let after = peek(1), after != "]" {
                index += 1
                let second = try classAtom()
                guard case .scalar(let low) = first, case .scalar(let high) = second else {
                    // \d-x and the like: the hyphen is literal (ECMA-262 Annex B).
                    for part in [first, .scalar(45), second] { add(part, to: &parts) }
                    continue
                }
                guard low <= high else { throw PatternError("a range in a character class is out of order") }
                parts.ranges.append(low...high)
            } else {
                add(first, to: &parts)
            }
        }
        set.ranges = parts.ranges
        // Class escapes that are sets (\d, \W, \p{…}): plain ranges join the class, others are tested whole.
        for member in classSets {
            if member.negated || !member.properties.isEmpty {
                set.properties.append((.set(member), false))
            } else {
                set.ranges.append(contentsOf: member.ranges)
            }
        }
        classSets = []
        set.seal()
        return set
    }

    /// Sets met in the class being read.
    private var classSets: [ScalarSet] = []

    private mutating func add(_ part: Escaped, to parts: inout ScalarSet) {
        switch part {
        case .scalar(let value): parts.ranges.append(value...value)
        case .set(let set): classSets.append(set)
        }
    }

    private mutating func classAtom() throws(PatternError) -> Escaped {
        let character = scalars[index]
        if character == "\\" {
            index += 1
            return try classEscape(inClass: true)
        }
        index += 1
        return .scalar(character.value)
    }
}
