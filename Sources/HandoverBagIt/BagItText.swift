/// A path inside a bag, compared byte for byte.
///
/// Swift compares strings by canonical equivalence, so `"é"` precomposed and decomposed are equal
/// strings; file systems other than Apple's tell them apart, and so must the checker.
struct BagPath: Hashable, Comparable, Sendable {
    /// The path as text.
    let string: String
    /// The path's UTF-8 bytes, which identify it.
    let bytes: [UInt8]

    init(_ string: String) {
        self.string = string
        bytes = Array(string.utf8)
    }

    /// Whether the path lies under `data/`.
    var isPayload: Bool { bytes.starts(with: Self.payloadPrefix) }

    private static let payloadPrefix = Array("data/".utf8)

    static func == (lhs: BagPath, rhs: BagPath) -> Bool { lhs.bytes == rhs.bytes }

    func hash(into hasher: inout Hasher) { hasher.combine(bytes) }

    static func < (lhs: BagPath, rhs: BagPath) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }
}

/// A character encoding a bag declares for its tag files.
enum TagFileEncoding: Sendable, Equatable {
    case utf8, ascii, latin1, utf16, utf16BE, utf16LE, utf32, utf32BE, utf32LE

    /// The encoding an IANA charset name (or a common alias) stands for; `nil` when unsupported.
    init?(name: String) {
        let key = name.lowercased().replacingUnderscores()
        switch key {
        case "utf-8", "utf8": self = .utf8
        case "us-ascii", "ascii", "iso646-us", "ansi-x3.4-1968", "us": self = .ascii
        case "iso-8859-1", "iso8859-1", "iso-8859-1:1987", "latin1", "latin-1", "l1", "iso-ir-100", "cp819",
            "ibm819":
            self = .latin1
        case "utf-16", "utf16": self = .utf16
        case "utf-16be": self = .utf16BE
        case "utf-16le": self = .utf16LE
        case "utf-32", "utf32": self = .utf32
        case "utf-32be": self = .utf32BE
        case "utf-32le": self = .utf32LE
        default: return nil
        }
    }

    /// The text of `bytes`, without a leading byte-order mark; `nil` if the bytes are not in this encoding.
    func decode(_ bytes: [UInt8]) -> String? {
        switch self {
        case .utf8:
            let body = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(bytes.dropFirst(3)) : bytes
            return String(validating: body, as: UTF8.self)
        case .ascii:
            guard bytes.allSatisfy({ $0 < 0x80 }) else { return nil }
            return String(decoding: bytes, as: UTF8.self)
        case .latin1:
            var text = ""
            text.unicodeScalars.append(contentsOf: bytes.lazy.map { Unicode.Scalar($0) })
            return text
        case .utf16, .utf16BE, .utf16LE:
            guard bytes.count % 2 == 0 else { return nil }
            var bigEndian = self != .utf16LE
            var start = 0
            if bytes.count >= 2 {
                if bytes[0] == 0xFE && bytes[1] == 0xFF {
                    if self == .utf16LE { return nil }
                    start = 2
                } else if bytes[0] == 0xFF && bytes[1] == 0xFE {
                    if self == .utf16BE { return nil }
                    bigEndian = false
                    start = 2
                }
            }
            var units: [UInt16] = []
            units.reserveCapacity((bytes.count - start) / 2)
            for index in stride(from: start, to: bytes.count, by: 2) {
                let (high, low) = bigEndian ? (bytes[index], bytes[index + 1]) : (bytes[index + 1], bytes[index])
                units.append(UInt16(high) << 8 | UInt16(low))
            }
            return String(validating: units, as: UTF16.self)
        case .utf32, .utf32BE, .utf32LE:
            guard bytes.count % 4 == 0 else { return nil }
            var bigEndian = self != .utf32LE
            var start = 0
            if bytes.count >= 4 {
                if bytes[0..<4].elementsEqual([0, 0, 0xFE, 0xFF]) {
                    if self == .utf32LE { return nil }
                    start = 4
                } else if bytes[0..<4].elementsEqual([0xFF, 0xFE, 0, 0]) {
                    if self == .utf32BE { return nil }
                    bigEndian = false
                    start = 4
                }
            }
            var units: [UInt32] = []
            for index in stride(from: start, to: bytes.count, by: 4) {
                let word = bytes[index..<(index + 4)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
                units.append(bigEndian ? word : word.byteSwapped)
            }
            return String(validating: units, as: UTF32.self)
        }
    }
}

extension String {
    fileprivate func replacingUnderscores() -> String {
        String(map { $0 == "_" ? "-" : $0 })
    }
}

/// Line and path rules shared by the tag files.
enum BagItText {
    /// The lines of `text`, split at LF, CR or CRLF; a final line break does not start an empty line.
    static func lines(_ text: String) -> [String] {
        var lines: [String] = []
        var current = String.UnicodeScalarView()
        var afterCR = false
        for scalar in text.unicodeScalars {
            if afterCR {
                afterCR = false
                if scalar == "\n" { continue }
            }
            if scalar == "\n" || scalar == "\r" {
                lines.append(String(current))
                current = String.UnicodeScalarView()
                afterCR = scalar == "\r"
            } else {
                current.append(scalar)
            }
        }
        if !current.isEmpty { lines.append(String(current)) }
        return lines
    }

    /// Whether `scalar` is linear whitespace (a space or a tab).
    static func isBlank(_ scalar: Unicode.Scalar) -> Bool { scalar == " " || scalar == "\t" }

    /// `text` without linear whitespace at either end.
    static func trimmed(_ text: some StringProtocol) -> String {
        let scalars = Array(text.unicodeScalars)
        guard let first = scalars.firstIndex(where: { !isBlank($0) }) else { return "" }
        let last = scalars.lastIndex(where: { !isBlank($0) })!
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars[first...last])
        return String(out)
    }

    /// Splits off the first field: the text before the first run of linear whitespace, and the text after it.
    static func splitField(_ text: String) -> (field: String, rest: String)? {
        let scalars = Array(text.unicodeScalars)
        guard let gap = scalars.firstIndex(where: isBlank), gap > 0 else { return nil }
        guard let restStart = scalars[gap...].firstIndex(where: { !isBlank($0) }) else { return nil }
        var field = String.UnicodeScalarView()
        field.append(contentsOf: scalars[..<gap])
        var rest = String.UnicodeScalarView()
        rest.append(contentsOf: scalars[restStart...])
        return (String(field), String(rest))
    }

    /// Decodes the three escapes RFC 8493 §2.1.3 defines (`%0A`, `%0D`, `%25`); any other `%` stays as it is.
    static func percentDecoded(_ text: String) -> String {
        guard text.unicodeScalars.contains("%") else { return text }
        let scalars = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var index = 0
        while index < scalars.count {
            if scalars[index] == "%" && index + 2 < scalars.count {
                let code = String(String.UnicodeScalarView(scalars[(index + 1)...(index + 2)])).uppercased()
                let decoded: Unicode.Scalar? =
                    switch code {
                    case "0A": "\n"
                    case "0D": "\r"
                    case "25": "%"
                    default: nil
                    }
                if let decoded {
                    out.append(decoded)
                    index += 3
                    continue
                }
            }
            out.append(scalars[index])
            index += 1
        }
        return String(out)
    }

    /// Why a relative path is unsafe or irregular, if it is.
    ///
    /// A path must be relative (no leading `/`, no leading `~`), must not climb with `..`, and must
    /// have no empty or `.` component (so no doubled or trailing slash) and no NUL.
    static func unsafety(of path: String) -> String? {
        if path.isEmpty { return "the path is empty" }
        if path.hasPrefix("/") { return "the path is absolute" }
        if path.hasPrefix("~") { return "the path starts with '~' (a home folder)" }
        if path.unicodeScalars.contains("\0") { return "the path contains a NUL character" }
        for component in path.split(separator: "/", omittingEmptySubsequences: false) {
            if component == ".." { return "the path climbs out with '..'" }
            if component.isEmpty || component == "." { return "the path is not a plain relative path" }
        }
        return nil
    }

    /// `path` without any leading `./`, and whether there was one.
    static func droppingDotSlash(_ path: String) -> (path: String, dropped: Bool) {
        var path = Substring(path)
        var dropped = false
        while path.hasPrefix("./") {
            path = path.dropFirst(2)
            dropped = true
        }
        return (String(path), dropped)
    }

    /// Whether the last component of `path` names a file operating systems create on their own.
    static func isSystemFile(_ path: String) -> Bool {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        let lower = name.lowercased()
        return [".ds_store", "thumbs.db", "ehthumbs.db", "desktop.ini", ".directory"].contains(lower)
            || name.hasPrefix("._")
    }

    /// Whether `text` is a non-empty run of ASCII digits.
    static func isDigits(_ text: some StringProtocol) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    /// Whether `text` is made of hexadecimal digits only.
    static func isHex(_ text: String) -> Bool {
        text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x66) }
    }
}
