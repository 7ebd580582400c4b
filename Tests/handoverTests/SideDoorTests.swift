import Foundation
import TestSupport
import Testing

/// No personal data leaves by a side door: `--verbose` logs and every error message, over a database whose
/// subject holds hostile values, name no value of the subject; keys, secrets and encrypted archives are private.
@Suite struct SideDoorTests {
    static let subject = 2

    /// What each table holds for the subject (the ids), by hand against the demo schema.
    static let owned: [String: String] = [
        "users": "SELECT id FROM users WHERE id = {S}",
        "contacts": "SELECT id FROM contacts WHERE owner_id = {S}",
        "content_items": "SELECT id FROM content_items WHERE owner_id = {S}",
        "comments": "SELECT id FROM comments WHERE author_id = {S}",
        "coaching_feedback": "SELECT id FROM coaching_feedback WHERE coach_id = {S}",
        "activity_events": "SELECT id FROM activity_events WHERE user_id = {S}",
    ]
    /// Text columns left as they are: values the dataset map constrains (an enumeration).
    /// Columns that keep their values: enumerations, and the paths of files the bundle carries (a path that names
    /// no file fails the export: FilesCommandTests checks that such failures name no path).
    static let kept: Set<String> = ["content_items.kind", "activity_events.kind", "content_items.file_ref"]

    /// A value no log line could hold by chance: a marker naming the table, column and row, then what attacks
    /// a terminal, a shell, SQL and a spreadsheet.
    static func hostile(_ table: String, _ column: String) -> String {
        "'HV" + table + "." + column + ".' || id || char(8238, 8207) || '''; DROP TABLE users;--'"
            + " || char(10, 13, 27) || '[31m=cmd|../../etc/passwd ' || char(0x1F600)"
    }

    /// The demo database with every text value of the subject's rows replaced by a hostile one, the e-mail
    /// address (the selector) too; returns the subject's e-mail.
    func makeHostile(_ db: String) throws -> String {
        var sql = ""
        for (table, query) in Self.owned {
            let columns = try run(
                "/usr/bin/sqlite3", [db, "SELECT name FROM pragma_table_info('\(table)') WHERE type = 'TEXT'"]
            )
            .stdout.split(separator: "\n").map(String.init)
            for column in columns where !Self.kept.contains(table + "." + column) {
                sql +=
                    "UPDATE \(table) SET \(column) = \(Self.hostile(table, column)) WHERE id IN ("
                    + query.replacingOccurrences(of: "{S}", with: String(Self.subject)) + ");\n"
            }
        }
        // The forms the subject sent, found by e-mail, follow the new address.
        sql =
            "UPDATE contact_form_submissions SET message = 'HVform.message.' || id || char(8238) WHERE email = "
            + "(SELECT email FROM users WHERE id = \(Self.subject));\n"
            + "UPDATE contact_form_submissions SET email = 'HVform.email@hostile.example' WHERE email = "
            + "(SELECT email FROM users WHERE id = \(Self.subject));\n" + sql
            + "UPDATE users SET email = 'HVform.email@hostile.example' WHERE id = \(Self.subject);\n"
        let changed = try run("/usr/bin/sqlite3", [db, sql])
        #expect(changed.status == 0, "\(changed.stderr)")
        return "HVform.email@hostile.example"
    }

    /// Every marker of the subject's values in `text`: none may be there.
    func leaks(_ text: String) -> [String] {
        var found: [String] = []
        var rest = Substring(text)
        while let range = rest.range(of: "HV") {
            found.append(String(rest[range.lowerBound...].prefix(40)))
            rest = rest[range.upperBound...]
        }
        return found
    }

    @Test func verboseLogsAndErrorsHoldNoValueOfTheSubject() async throws {
        try await withTemporaryDirectory { folder in
            _ = try demoArchive(in: folder)
            let db = folder + "/demo.sqlite"
            let email = try makeHostile(db)
            let values = try run(
                "/usr/bin/sqlite3", [db, "SELECT count(*) FROM users WHERE email LIKE 'HV%' AND name LIKE 'HV%'"])
            #expect(values.stdout.hasPrefix("1"), "the subject's values were replaced")
            let map = folder + "/demo-map.yaml"
            let key = folder + "/pseudonym.key"
            try Data("a test key of thirty-two bytes!!".utf8).write(to: URL(fileURLWithPath: key))
            var outputs: [(String, ProcessResult)] = []
            func handoverRun(_ what: String, _ arguments: [String]) throws -> ProcessResult {
                let result = try run(handoverBinary, arguments)
                outputs.append((what, result))
                return result
            }
            let export = ["export", "--db", db, "--map", map, "--pseudonym-key-file", key, "--verbose"]

            // Exports that succeed: by e-mail, by id, the tenant, split, encrypted and signed.
            let byEmail = try handoverRun(
                "export by e-mail", export + ["--subject", "email=" + email, "--out", folder + "/a", "--json"])
            #expect(byEmail.status == 0, "\(byEmail.stderr)")
            let archive = try #require(try jsonObject(byEmail.stdout)["archive"] as? String)
            let records = try #require(try jsonObject(byEmail.stdout)["records"] as? Int)
            #expect(records > 10, "the subject's rows were exported")
            let exportedUsers =
                try readArchive(archive).first { $0.key.hasSuffix("/data/sales/users.json") }?.value ?? []
            #expect(
                leaks(String(decoding: exportedUsers, as: UTF8.self)).contains { $0.hasPrefix("HVusers.name.") },
                "the markers are what the bundle holds, so the search below would find them")
            #expect(
                try handoverRun("export by id", export + ["--subject", "id=\(Self.subject)", "--out", folder + "/b"])
                    .status == 0)
            #expect(
                try handoverRun(
                    "tenant export", export + ["--tenant", "1", "--out", folder + "/c", "--split-size", "200K"]
                ).status == 0)
            #expect(
                try handoverRun("unknown subject", export + ["--subject", "email=HVnobody@x", "--out", folder + "/d"])
                    .status == 0)
            _ = try handoverRun("key pair", ["keys", "generate", "--out", folder + "/keys", "--verbose"])
            _ = try handoverRun("age identity", ["keys", "age-generate", "--out", folder + "/id.txt", "--verbose"])
            let recipient = try run(handoverBinary, ["keys", "age-recipient", folder + "/id.txt"]).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let sealed = try handoverRun(
                "sealed export",
                export + [
                    "--subject", "email=" + email, "--out", folder + "/e", "--recipient", recipient, "--sign-key",
                    folder + "/keys/minisign.key", "--json",
                ])
            #expect(sealed.status == 0, "\(sealed.stderr)")
            let sealedArchive = try #require(try jsonObject(sealed.stdout)["archive"] as? String)

            // Exports that fail: the same request id again, an ambiguous subject, a value the map refuses, a
            // value too long for its column.
            _ = try handoverRun(
                "existing output",
                export + ["--subject", "id=\(Self.subject)", "--out", folder + "/b", "--request-id", "req-again"])
            let existing = try handoverRun(
                "existing output, again",
                export + ["--subject", "id=\(Self.subject)", "--out", folder + "/b", "--request-id", "req-again"])
            #expect(existing.status != 0)
            #expect(
                try run(
                    "/usr/bin/sqlite3",
                    [
                        db,
                        "UPDATE users SET name = (SELECT name FROM users WHERE id = \(Self.subject)) WHERE id = \(Self.subject + 1)",
                    ]
                ).status == 0)
            let name = try run("/usr/bin/sqlite3", [db, "SELECT name FROM users WHERE id = \(Self.subject)"]).stdout
                .dropLast()
            let ambiguous = try handoverRun(
                "ambiguous subject", export + ["--subject", "name=" + name, "--out", folder + "/f"])
            #expect(ambiguous.status != 0 && ambiguous.stderr.contains("error"), "\(ambiguous.stderr)")
            let broken = folder + "/broken.sqlite"
            try FileManager.default.copyItem(atPath: db, toPath: broken)
            #expect(
                try run(
                    "/usr/bin/sqlite3",
                    [
                        broken,
                        "UPDATE content_items SET kind = 'HVkind.' || id || char(8238) WHERE owner_id = \(Self.subject)",
                    ]
                ).status == 0)
            let refused = try handoverRun(
                "enumeration broken",
                [
                    "export", "--db", broken, "--map", map, "--pseudonym-key-file", key, "--verbose", "--subject",
                    "email=" + email, "--out", folder + "/g",
                ])
            #expect(refused.status == 65 && refused.stderr.contains("content_items"), "\(refused.stderr)")
            #expect(
                try run(
                    "/usr/bin/sqlite3",
                    [
                        broken,
                        "UPDATE content_items SET kind = 'recording', title = 'HVtitle' || printf('%.300c', 'x') WHERE owner_id = \(Self.subject)",
                    ]
                ).status == 0)
            let long = try handoverRun(
                "too long",
                [
                    "export", "--db", broken, "--map", map, "--pseudonym-key-file", key, "--verbose", "--subject",
                    "email=" + email, "--out", folder + "/h",
                ])
            #expect(long.status == 65 && long.stderr.contains("title"), "\(long.stderr)")

            // verify, of an intact bundle, a damaged one and an encrypted one without and with its identity.
            _ = try handoverRun("verify", ["verify", archive, "--verbose"])
            var bytes = try Data(contentsOf: URL(fileURLWithPath: archive))
            bytes[bytes.count / 2] ^= 0xFF
            try bytes.write(to: URL(fileURLWithPath: folder + "/damaged.zip"))
            #expect(try handoverRun("verify damaged", ["verify", folder + "/damaged.zip", "--verbose"]).status == 1)
            _ = try handoverRun("verify encrypted", ["verify", sealedArchive, "--verbose"])
            #expect(
                try handoverRun(
                    "verify decrypted",
                    [
                        "verify", sealedArchive, "--identity", folder + "/id.txt", "--pubkey",
                        folder + "/keys/minisign.pub", "--verbose",
                    ]
                ).status == 0)

            // The request store and a worker: submit by e-mail, verify, export, with every event logged.
            let store = ["--store", "sqlite:" + folder + "/store.sqlite", "--pseudonym-key-file", key]
            #expect(
                try handoverRun(
                    "submit",
                    ["requests", "submit", "--subject", "email=" + email, "--request-id", "req-side", "--verbose"]
                        + store
                ).status == 0)
            #expect(
                try handoverRun(
                    "verify request", ["requests", "verify", "req-side", "--by", "desk", "--verbose"] + store
                ).status == 0)
            let worked = try handoverRun(
                "worker",
                ["worker", "--until-idle", "--verbose", "--db", db, "--map", map, "--out", folder + "/w"] + store)
            #expect(worked.status == 0, "\(worked.stderr)")
            #expect(listFolder(folder + "/w") == ["handover-req-side.zip"])
            _ = try handoverRun("show", ["requests", "show", "req-side", "--verbose"] + store)

            for (what, result) in outputs {
                #expect(leaks(result.stderr) == [], "\(what): standard error holds a value of the subject")
            }
            // What errors print on standard output (verify's problems) holds none either.
            for (what, result) in outputs where what.hasPrefix("verify") || what == "show" {
                #expect(leaks(result.stdout) == [], "\(what): standard output holds a value of the subject")
            }
            let verbose = outputs.map(\.1.stderr).joined()
            #expect(verbose.contains("debug") || verbose.count > 500, "the verbose logs said something")

            // Keys, secrets and every archive made here are private.
            for path in [
                folder + "/keys/minisign.key", folder + "/keys/minisign.pub", folder + "/id.txt", sealedArchive,
                sealedArchive + ".minisig", archive,
            ] {
                #expect(try fileMode(path) == 0o600, "\(path)")
            }
        }
    }
}
