/// age's ASCII armor: `-----BEGIN AGE ENCRYPTED FILE-----`, padded base64 in lines of 64 columns (the last one
/// shorter), `-----END AGE ENCRYPTED FILE-----`; LF or CRLF; white space allowed only before and after.
public enum AgeArmor {
    static let begin = Array("-----BEGIN AGE ENCRYPTED FILE-----".utf8)
    static let end = Array("-----END AGE ENCRYPTED FILE-----".utf8)

    /// Whether `bytes` (the start of a file is enough) look armored: the BEGIN line after optional white space.
    public static func isArmored(_ bytes: some Collection<UInt8>) -> Bool {
        bytes.drop(while: isWhiteSpace).starts(with: begin)
    }

    /// The armored bytes of `binary`, with LF line ends.
    public static func encode(_ binary: [UInt8]) -> String {
        let text = Array(AgeBase64.encode(binary, padded: true).utf8)
        var lines: [String] = [String(decoding: begin, as: UTF8.self)]
        var start = 0
        while start < text.count {
            lines.append(String(decoding: text[start..<min(text.count, start + 64)], as: UTF8.self))
            start += 64
        }
        lines.append(String(decoding: end, as: UTF8.self))
        return lines.joined(separator: "\n") + "\n"
    }

    /// The binary file inside an armored one.
    /// - Throws: ``AgeError/Kind/armor`` naming the first rule broken.
    public static func decode(_ armored: [UInt8]) throws(AgeError) -> [UInt8] {
        func fail(_ message: String) -> AgeError { AgeError(.armor, message) }
        var text = armored[...].drop(while: isWhiteSpace)
        while let last = text.last, isWhiteSpace(last) { text = text.dropLast() }
        guard text.starts(with: begin) else { throw fail("the armor does not begin with its BEGIN line") }
        text = text.dropFirst(begin.count)
        if text.first == 13 { text = text.dropFirst() }
        guard text.first == 10 else { throw fail("the BEGIN line is not alone on its line") }
        text = text.dropFirst()
        guard text.count >= end.count, text.suffix(end.count).elementsEqual(end) else {
            throw fail("the armor does not end with its END line")
        }
        var body = text.dropLast(end.count)
        if !body.isEmpty {
            guard body.last == 10 else { throw fail("the END line is not alone on its line") }
            body = body.dropLast()
        }
        var lines =
            body.isEmpty
            ? []
            : body.split(separator: 10, omittingEmptySubsequences: false).map { line in
                line.last == 13 ? line.dropLast() : line
            }
        if lines.count == 1 && lines[0].isEmpty { lines = [] }
        var encoded: [UInt8] = []
        for (index, line) in lines.enumerated() {
            let isLast = index == lines.count - 1
            guard !line.isEmpty else { throw fail("the armor has an empty line") }
            guard isLast ? line.count <= 64 : line.count == 64 else {
                throw fail("armor line \(index + 2) is not 64 columns long")
            }
            guard !line.dropLast(isLast ? 2 : 0).contains(61) else { throw fail("padding inside the armor") }
            encoded += line
        }
        guard let binary = AgeBase64.decodePadded(encoded) else {
            throw fail("the armor is not canonical padded base64")
        }
        return binary
    }

    private static func isWhiteSpace(_ byte: UInt8) -> Bool { byte == 32 || byte == 9 || byte == 10 || byte == 13 }
}
