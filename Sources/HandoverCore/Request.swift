/// Why a bundle is made: the legal ground the request rests on.
public enum Purpose: String, Sendable, Codable, CaseIterable {
    /// A data subject's right of access (GDPR Art. 15).
    case access
    /// A data subject's right to data portability (GDPR Art. 20).
    case portability
    /// A controller taking all of its data back from its processor (GDPR Art. 28(3)(g)).
    case controllerTransfer = "controller-transfer"
}

/// Picks one data subject: a column of the subject table and the value it must hold.
///
/// The value is personal data: it is never printed, logged or written to a manifest in clear.
public struct SubjectSelector: Sendable, Hashable {
    /// The column of the subject table to match, such as `email`.
    public var column: String
    /// The value that column must hold.
    public var value: String

    /// Creates a selector.
    public init(column: String, value: String) {
        self.column = column
        self.value = value
    }

    /// Parses `COLUMN=VALUE`.
    /// - Throws: ``HandoverError/Code/invalidArgument`` when there is no `=` or the column is not an identifier.
    public init(parsing text: String) throws {
        guard let equals = text.firstIndex(of: "=") else {
            throw HandoverError(.invalidArgument, "a subject is given as COLUMN=VALUE, such as email=ana@example.com")
        }
        let column = String(text[..<equals])
        guard Identifier.isValid(column) else {
            throw HandoverError(.invalidArgument, "the subject column is not a valid identifier")
        }
        self.init(column: column, value: String(text[text.index(after: equals)...]))
        try checkNotBlank()
    }

    /// Whether the value is empty or holds only white space or invisible characters: such a value names no one.
    public var isBlank: Bool { Self.isBlank(value) }

    /// Throws when the value is blank.
    /// - Throws: ``HandoverError/Code/invalidArgument`` naming the column, never the value.
    public func checkNotBlank() throws {
        guard !isBlank else {
            throw HandoverError(
                .invalidArgument,
                "the subject's \(column) is empty or only white space, which selects no one; give the value that identifies them"
            )
        }
    }

    /// Whether `text` is empty or holds only white space (Unicode's White_Space) and invisible format characters
    /// (zero-width spaces and joiners, word joiner, byte order mark).
    ///
    /// Such values are never compared with anything: a subject whose email is `''` must not receive every
    /// stranger's row whose email is `''` too.
    public static func isBlank(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { blankScalars.contains($0.value) }
    }

    /// The scalars a blank value may hold: Unicode's White_Space, and the invisible format characters
    /// U+180E, U+200B–U+200D, U+2060 and U+FEFF. One list, so that every test of blankness (here, and in SQL
    /// where `map check` counts blank rows) agrees.
    package static let blankScalars: Set<UInt32> = [
        0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005,
        0x2006, 0x2007, 0x2008, 0x2009, 0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000,
        0x180E, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF,
    ]
}

extension SubjectSelector: CustomStringConvertible {
    /// The column only; the value is personal data and is left out.
    public var description: String { "SubjectSelector(column: \(column), value: <redacted>)" }
}

/// What an export covers: one data subject within a tenant, or a whole tenant.
public enum ExportScope: Sendable, Hashable {
    /// One data subject, optionally restricted to one tenant.
    case subject(SubjectSelector, tenant: String?)
    /// Every row that belongs to one tenant.
    case tenant(String)

    /// Whether the scope is one data subject.
    public var isSubject: Bool {
        if case .subject = self { return true }
        return false
    }

    /// The tenant the scope is restricted to, if any.
    public var tenant: String? {
        switch self {
        case .subject(_, let tenant): tenant
        case .tenant(let tenant): tenant
        }
    }
}

/// A request for a bundle.
public struct ExportRequest: Sendable, Hashable {
    /// The request's identifier; also names the bundle and its archive.
    public var id: RequestID
    /// The legal ground.
    public var purpose: Purpose
    /// Whose data.
    public var scope: ExportScope
    /// When the request was received (deadlines run from here).
    public var receivedAt: Timestamp

    /// Creates a request.
    public init(id: RequestID, purpose: Purpose, scope: ExportScope, receivedAt: Timestamp) {
        self.id = id
        self.purpose = purpose
        self.scope = scope
        self.receivedAt = receivedAt
    }
}

/// A request identifier: safe to use as a file name on any system.
///
/// One to 100 characters of ASCII letters, digits, `.`, `_` and `-`, starting with a letter or digit.
public struct RequestID: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The identifier's text.
    public let rawValue: String

    /// Validates and wraps an identifier.
    /// - Throws: ``HandoverError/Code/invalidArgument`` when the text is not a safe identifier.
    public init(_ text: String) throws {
        let bytes = Array(text.utf8)
        let allowed = { (b: UInt8) in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2E
                || b == 0x5F || b == 0x2D
        }
        guard (1...100).contains(bytes.count), bytes.allSatisfy(allowed), bytes[0] != 0x2E, bytes[0] != 0x2D,
            bytes[0] != 0x5F
        else {
            throw HandoverError(
                .invalidArgument,
                "a request id is 1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit")
        }
        self.rawValue = text
    }

    /// A fresh identifier: `req-` followed by 24 random hexadecimal digits.
    public static func random() -> RequestID {
        var generator = SystemRandomNumberGenerator()
        var text = "req-"
        for _ in 0..<3 {
            let word = generator.next() as UInt64
            let hex = String(word, radix: 16)
            text += String(repeating: "0", count: 16 - hex.count) + hex
        }
        return try! RequestID(String(text.prefix(28)))
    }

    /// The identifier's text.
    public var description: String { rawValue }

    /// Decodes and validates an identifier.
    public init(from decoder: any Decoder) throws {
        try self.init(try decoder.singleValueContainer().decode(String.self))
    }

    /// Encodes the identifier's text.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// The identifier rules shared by exporters, tables and fields.
public enum Identifier {
    /// Whether `text` is a letter or `_` followed by up to 63 letters, digits or `_` (ASCII).
    ///
    /// Such names are safe as file names, SQL identifiers, CSV headers and XML element names.
    public static func isValid(_ text: some StringProtocol) -> Bool {
        let bytes = Array(text.utf8)
        guard (1...64).contains(bytes.count) else { return false }
        for (index, b) in bytes.enumerated() {
            let letter = (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F
            let digit = b >= 0x30 && b <= 0x39
            if !(letter || (digit && index > 0)) { return false }
        }
        // "xml" in any case is reserved as an XML name prefix.
        return !text.lowercased().hasPrefix("xml")
    }

    /// Whether `text` is a valid exporter id: lowercase letters, digits, `_` and `-`, starting with a letter.
    public static func isValidExporterID(_ text: some StringProtocol) -> Bool {
        let bytes = Array(text.utf8)
        guard (1...64).contains(bytes.count), bytes[0] >= 0x61, bytes[0] <= 0x7A else { return false }
        return bytes.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F || $0 == 0x2D }
    }
}
