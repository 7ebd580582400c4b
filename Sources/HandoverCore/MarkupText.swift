/// Escaping for text and attribute values in XML and HTML.
public enum MarkupText {
    /// Escapes `&`, `<`, `>`, `"` and `'`; with `replacingControlCharacters`, control characters other than
    /// tab, CR and LF (which neither XML nor HTML can show) become U+FFFD.
    public static func escape(_ text: String, replacingControlCharacters: Bool = false) -> String {
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
}
