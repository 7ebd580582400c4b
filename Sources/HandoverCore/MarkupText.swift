/// Escaping for text and attribute values in XML and HTML.
public enum MarkupText {
    /// Escapes `&`, `<`, `>`, `"` and `'`; with `replacingControlCharacters`, control characters other than
    /// tab, CR and LF (which neither XML nor HTML can show) become U+FFFD.
    public static func escape(_ text: String, replacingControlCharacters: Bool = false) -> String {
        // Most text has nothing to escape: one pass over its bytes, and the same string back.
        guard needsEscaping(text, replacingControlCharacters: replacingControlCharacters) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default:
                if replacingControlCharacters && (scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)) {
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    /// Whether ``escape(_:replacingControlCharacters:)`` changes `text`: it holds one of the five characters, or
    /// (when replacing them) a C0 control other than tab, LF and CR, DEL, or a C1 control (U+0080 to U+009F, in
    /// UTF-8 0xC2 then 0x80 to 0x9F).
    static func needsEscaping(_ text: String, replacingControlCharacters: Bool) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            for index in bytes.indices {
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "&"), UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "\""), UInt8(ascii: "'"):
                    return true
                case 0x09, 0x0A, 0x0D:
                    continue
                case ..<0x20, 0x7F:
                    if replacingControlCharacters { return true }
                case 0xC2:
                    if replacingControlCharacters, index + 1 < bytes.count, (0x80...0x9F).contains(bytes[index + 1]) {
                        return true
                    }
                default:
                    continue
                }
            }
            return false
        }
    }
}
