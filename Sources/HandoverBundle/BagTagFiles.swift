internal import HandoverCore

/// The BagIt (RFC 8493) tag files of a bundle or of one of its parts.
enum BagTagFiles {
    /// `bagit.txt`.
    static let declaration = Array("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n".utf8)

    /// `bag-info.txt`.
    static func info(
        date: Timestamp, payloadBytes: Int64, payloadFiles: Int, organization: String, identifier: String,
        part: (number: Int, of: Int)?
    ) -> [UInt8] {
        var lines = [
            "Bagging-Date: " + String(date.iso8601.prefix(10)),
            "Payload-Oxum: \(payloadBytes).\(payloadFiles)",
            "Source-Organization: " + oneLine(organization),
            "External-Identifier: " + identifier,
        ]
        if let part { lines.append("Bag-Count: \(part.number) of \(part.of)") }
        lines.append("Bag-Software-Agent: handover " + HandoverVersion.current)
        return Array((lines.joined(separator: "\n") + "\n").utf8)
    }

    /// A `manifest-sha256.txt` or `tagmanifest-sha256.txt`: `<digest>  <path>` lines sorted by path.
    static func manifest(_ entries: [(path: String, sha256: String)]) -> [UInt8] {
        let lines = entries.sorted { $0.path < $1.path }.map { $0.sha256 + "  " + encode($0.path) + "\n" }
        return Array(lines.joined().utf8)
    }

    /// Percent-encodes CR, LF and `%` in a path, as RFC 8493 §2.1.3 asks.
    static func encode(_ path: String) -> String {
        var out = ""
        for character in path {
            switch character {
            case "%": out += "%25"
            case "\n": out += "%0A"
            case "\r": out += "%0D"
            default: out.append(character)
            }
        }
        return out
    }

    /// A bag-info value on one line.
    static func oneLine(_ text: String) -> String {
        String(text.map { $0.isNewline ? " " : $0 })
    }
}
