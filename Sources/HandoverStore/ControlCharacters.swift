internal import HandoverCore

/// Control and bidirectional-override characters: refused in what the store records, escaped in what is
/// printed.
///
/// A line break in an actor's name would forge lines of a printed audit log, and a right-to-left override
/// would show a reason reversed; the store refuses both at input, and the command line escapes anything of the
/// kind that reaches a terminal from stored data (rows written by hand or by an older version).
package enum ControlCharacters {
    /// Whether `scalar` is a C0 or C1 control character, DEL, or a bidirectional embedding, override or
    /// isolate (U+202A–U+202E, U+2066–U+2069).
    package static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }

    /// Whether `text` holds none of them.
    package static func isSafe(_ text: String) -> Bool {
        !text.unicodeScalars.contains(where: isUnsafe)
    }

    /// `text` with each of them written as `\u{…}` (hexadecimal), so that it prints on one line as stored.
    package static func escaped(_ text: String) -> String {
        escaped(text) { "\\u{" + String($0.value, radix: 16, uppercase: true) + "}" }
    }

    /// `text` with each of them replaced by what `escape` makes of it.
    package static func escaped(_ text: String, _ escape: (Unicode.Scalar) -> String) -> String {
        guard !isSafe(text) else { return text }
        var result = ""
        for scalar in text.unicodeScalars {
            if isUnsafe(scalar) {
                result += escape(scalar)
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// Throws when `text` holds one of them.
    /// - Throws: ``HandoverError/Code/invalidArgument`` naming `what`, never the text.
    package static func require(_ text: String?, _ what: String) throws {
        guard let text, !isSafe(text) else { return }
        throw HandoverError(
            .invalidArgument, "the \(what) holds a control or bidirectional-override character, which is refused")
    }
}
