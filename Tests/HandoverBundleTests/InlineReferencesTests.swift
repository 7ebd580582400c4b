import Foundation
import HandoverCore
import TestSupport
import Testing

@testable import HandoverBundle

/// The foreign keys checked with the columns read in the first pass against the separate passes, the reference.
@Suite struct InlineReferencesTests {
    /// Changes the lines (header first, CRLF-separated) of the CSV file whose name ends with `suffix`.
    static func lines(
        _ entries: inout [(name: String, bytes: [UInt8])], _ suffix: String, _ change: (inout [String]) -> Void
    ) throws {
        try replaceKeepingManifest(&entries, suffix) { text in
            var lines = text.components(separatedBy: "\r\n")
            change(&lines)
            return lines.joined(separator: "\r\n")
        }
    }

    static func field(_ line: inout String, _ index: Int, _ value: String) {
        var fields = line.components(separatedBy: ",")
        if index < fields.count { fields[index] = value }
        line = fields.joined(separator: ",")
    }

    static let damages = [
        "none", "broken owner", "key not an integer", "short record", "user removed", "key column renamed",
        "target not well-formed", "referencing not well-formed", "empty key", "damaged target",
        "datapackage.json last", "data before datapackage.json", "owner far away", "owners at the ends",
    ]

    static func damage(_ name: String, _ entries: inout [(name: String, bytes: [UInt8])]) throws {
        let contacts = "/data/sales/contacts.csv"
        let users = "/data/sales/users.csv"
        switch name {
        case "broken owner":
            try lines(&entries, contacts) {
                field(&$0[1], 2, "999999")
                field(&$0[2], 2, "999998")
            }
        case "owner far away": try lines(&entries, contacts) { field(&$0[1], 2, "4000000000") }
        case "owners at the ends":
            try lines(&entries, contacts) {
                field(&$0[1], 2, "9223372036854775807")
                field(&$0[2], 2, "-9223372036854775808")
            }
        case "key not an integer": try lines(&entries, contacts) { field(&$0[1], 2, "x") }
        case "short record": try lines(&entries, contacts) { $0[1] = "1,2" }
        case "user removed": try lines(&entries, users) { $0.remove(at: 1) }
        case "key column renamed":
            try lines(&entries, users) { $0[0] = $0[0].replacingOccurrences(of: "id", with: "key") }
        case "target not well-formed": try lines(&entries, users) { $0[2] = "\"unclosed," + $0[2] }
        case "referencing not well-formed": try lines(&entries, contacts) { $0[1] += "\"" }
        case "empty key": try lines(&entries, contacts) { field(&$0[1], 2, "\"\"") }
        case "damaged target": replace(&entries, users) { $0[$0.count / 2] ^= 1 }
        case "datapackage.json last":
            let index = entries.firstIndex { $0.name.hasSuffix("/datapackage.json") }!
            entries.append(entries.remove(at: index))
        case "data before datapackage.json":
            let index = entries.firstIndex { $0.name.hasSuffix(users) }!
            entries.insert(entries.remove(at: index), at: 0)
        default: break
        }
    }

    @Test(arguments: damages)
    func agreesWithTheSeparatePasses(damage: String) async throws {
        try await withTemporaryDirectory { folder in
            let path = try await damagedBundle(in: folder) { try Self.damage(damage, &$0) }
            let inline = BundleVerifier.verify(parts: [path], keys: VerificationKeys(), referencesInline: true)
            let separate = BundleVerifier.verify(parts: [path], keys: VerificationKeys(), referencesInline: false)
            #expect(inline.problems == separate.problems, "\(damage)")
            // Every data file read ahead on a thread: the same report.
            let prefetched = BundleVerifier.verify(
                parts: [path], keys: VerificationKeys(), referencesInline: true, prefetchFrom: 0)
            #expect(prefetched.problems == inline.problems, "\(damage)")
            #expect(prefetched.records == inline.records, "\(damage)")
            if damage == "broken owner" { #expect(inline.problems.contains { $0.kind == .reference }) }
        }
    }
}
