import HandoverCore
import Testing

/// Escaping for XML and HTML: the fast check for text with nothing to escape gives what escaping every scalar
/// gives, for text made of the characters that matter and their neighbours.
@Suite struct MarkupTextTests {
    /// Escaping as it was written first, scalar by scalar: the reference.
    static func reference(_ text: String, replacingControlCharacters: Bool) -> String {
        var out = ""
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

    /// Scalars at the edges of what is escaped: the five, C0 and C1 controls and their neighbours, and multi-byte
    /// characters whose UTF-8 starts with 0xC2 or holds bytes 0x80 to 0x9F.
    static let alphabet: [Unicode.Scalar] = [
        "a", "Z", " ", "&", "<", ">", "\"", "'", ";", "\t", "\n", "\r", "\u{0}", "\u{1}", "\u{1F}", "\u{7E}", "\u{7F}",
        "\u{80}", "\u{85}", "\u{9F}", "\u{A0}", "\u{C2}", "é", "\u{100}", "\u{2028}", "\u{FFFD}", "😀", "\u{10FFFF}",
    ]

    @Test func everyTextEscapesAsScalarByScalar() {
        var state: UInt64 = 0x1234_5678
        for length in 0..<12 {
            for _ in 0..<2_000 {
                var text = ""
                for _ in 0..<length {
                    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                    text.unicodeScalars.append(Self.alphabet[Int(state >> 33) % Self.alphabet.count])
                }
                for replacing in [false, true] {
                    #expect(
                        MarkupText.escape(text, replacingControlCharacters: replacing)
                            == Self.reference(text, replacingControlCharacters: replacing))
                }
            }
        }
    }

    @Test func textWithNothingToEscapeComesBackUnchanged() {
        for text in ["", "plain", "Zoë Ünal", "tab\there", "line\r\nbreak", "\u{A0}\u{100}😀"] {
            #expect(MarkupText.escape(text, replacingControlCharacters: true) == text)
        }
        #expect(MarkupText.escape("a\u{85}b", replacingControlCharacters: true) == "a\u{FFFD}b")
        #expect(MarkupText.escape("a\u{85}b") == "a\u{85}b")
        #expect(MarkupText.escape("<a href='x'>&</a>") == "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;")
    }
}
