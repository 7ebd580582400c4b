internal import HandoverCore

/// Entry names that are safe to treat as relative paths.
package enum SafePath {
    /// The name without a trailing slash, or nil when it is absolute, climbs with `..`, or holds
    /// backslashes, empty segments, control characters or bidirectional formatting characters.
    package static func normalise(_ name: String) -> String? {
        var name = name
        if name.hasSuffix("/") { name.removeLast() }
        guard !name.isEmpty, !name.hasPrefix("/"), !name.contains("\\") else { return nil }
        // C0 and C1 controls, DEL, and bidirectional embeddings, overrides and isolates (which would show a name
        // reversed on a terminal or in a file manager): Handover writes none of them.
        guard
            !name.unicodeScalars.contains(where: {
                switch $0.value {
                case 0x00...0x1F, 0x7F...0x9F, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: true
                default: false
                }
            })
        else { return nil }
        for segment in name.split(separator: "/", omittingEmptySubsequences: false) {
            if segment.isEmpty || segment == "." || segment == ".." { return nil }
        }
        return name
    }
}
