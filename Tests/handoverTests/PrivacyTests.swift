import Foundation
import HandoverArchive
import HandoverDemo
import TestSupport
import Testing

/// The mode bits of a file or folder.
func mode(_ path: String) throws -> Int {
    try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
}

/// Files of personal data are private to their owner, whatever the umask of the process that writes them.
@Suite struct PrivateFileTests {
    /// Runs `handover` under umask 000, the loosest there is.
    func handoverUnderOpenUmask(_ arguments: [String]) throws -> ProcessResult {
        try run("/bin/sh", ["-c", "umask 000; exec \"$0\" \"$@\"", handoverBinary] + arguments)
    }

    @Test func archivesPartsAndTheirFoldersArePrivateWhateverTheUmask() async throws {
        try await withTemporaryDirectory { folder in
            let (db, map) = try makeDemo(in: folder)
            let common = ["export", "--db", db, "--map", map, "--subject", "email=\(SalesDemo.demoSubject.value)"]
            let one = try handoverUnderOpenUmask(
                common + ["--out", folder + "/new/out", "--request-id", "r1", "--json"])
            #expect(one.status == 0, "\(one.stderr)")
            #expect(try mode(folder + "/new") == 0o700)
            #expect(try mode(folder + "/new/out") == 0o700)
            #expect(try mode(folder + "/new/out/handover-r1.zip") == 0o600)

            let split = try handoverUnderOpenUmask(
                common + ["--out", folder + "/split", "--request-id", "r2", "--split-size", "200K", "--json"])
            #expect(split.status == 0, "\(split.stderr)")
            let parts = folder + "/split/handover-r2.parts"
            #expect(try mode(parts) == 0o700)
            let names = listFolder(parts)
            #expect(names.count > 1)
            for name in names { #expect(try mode(parts + "/" + name) == 0o600, "\(name)") }
        }
    }

    @Test func aFolderThatAlreadyExistsKeepsItsMode() async throws {
        try await withTemporaryDirectory { folder in
            let (db, map) = try makeDemo(in: folder)
            let out = folder + "/shared"
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: false)
            try FileManager.default.setAttributes([.posixPermissions: 0o750], ofItemAtPath: out)
            let result = try handoverUnderOpenUmask([
                "export", "--db", db, "--map", map, "--subject", "email=\(SalesDemo.demoSubject.value)", "--out", out,
                "--request-id", "r3", "--json",
            ])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(try mode(out) == 0o750)
            #expect(try mode(out + "/handover-r3.zip") == 0o600)
        }
    }

    @Test func entriesInsideTheArchiveArePrivateWhenUnpacked() async throws {
        try await withTemporaryDirectory { folder in
            let (db, map) = try makeDemo(in: folder)
            let result = try handover(
                "export", "--db", db, "--map", map, "--subject", "email=\(SalesDemo.demoSubject.value)", "--out",
                folder + "/out", "--request-id", "r4", "--archive", "tgz", "--json")
            #expect(result.status == 0, "\(result.stderr)")
            let listing = try run(
                "/usr/bin/python3",
                [
                    "-c",
                    "import sys, tarfile; print(sorted({oct(m.mode) for m in tarfile.open(sys.argv[1]) if m.isfile()}))",
                    folder + "/out/handover-r4.tar.gz",
                ])
            #expect(listing.status == 0, "\(listing.stderr)")
            #expect(listing.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "['0o600']")
        }
    }
}

/// What `map check` and `export` say about blank subjects, shared match values and secret-looking columns.
@Suite struct MapHazardCommandTests {
    @Test func mapCheckListsImplicitColumnsWithheldSecretsAndSharedMatchValues() async throws {
        try await withTemporaryDirectory { folder in
            let (db, map) = try makeDemo(in: folder)
            let changed = try run(
                "/usr/bin/sqlite3",
                [
                    db,
                    """
                    ALTER TABLE users ADD COLUMN totp_secret TEXT;
                    INSERT INTO contact_form_submissions (id, email, message, submitted_at)
                      SELECT 5000 + value, '', 'hello', '2024-01-01T00:00:00Z' FROM generate_series(1, 5);
                    """,
                ])
            if changed.status != 0 {
                // sqlite3 without generate_series: insert the five rows one by one.
                let fallback = try run(
                    "/usr/bin/sqlite3",
                    [
                        db,
                        "ALTER TABLE users ADD COLUMN totp_secret TEXT;"
                            + (1...5).map {
                                "INSERT INTO contact_form_submissions (id, email, message, submitted_at) VALUES (\(5000 + $0), '', 'hello', '2024-01-01T00:00:00Z');"
                            }.joined(),
                    ])
                #expect(fallback.status == 0, "\(fallback.stderr)")
            }
            let check = try handover("map", "check", "--db", db, "--map", map)
            #expect(check.status == 0, "\(check.stderr)")
            #expect(check.stdout.contains("secret-looking columns withheld: users: totp_secret"), "\(check.stdout)")
            #expect(check.stdout.contains("exported without being named: users: id, tenant_id, name, email"))
            #expect(check.stdout.contains("5 rows of contact_form_submissions.email are blank and match no one"))

            let json = try jsonObject(try handover("map", "check", "--db", db, "--map", map, "--json").stdout)
            let columns = try #require(json["columns"] as? [[String: Any]])
            let users = try #require(columns.first { $0["table"] as? String == "users" })
            #expect(users["withheldSecrets"] as? [String] == ["totp_secret"])
            #expect((json["sharedMatchValues"] as? [Any])?.count == 1)
        }
    }

    @Test func hostileColumnNamesReachTheTerminalEscaped() async throws {
        try await withTemporaryDirectory { folder in
            let (db, map) = try makeDemo(in: folder)
            let secret = try run(
                "/usr/bin/python3",
                [
                    "-c",
                    "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('ALTER TABLE users ADD COLUMN \"' + sys.argv[2] + '\" TEXT'); c.commit()",
                    db, "token\u{1B}[2J\nvalid: forged",
                ])
            #expect(secret.status == 0, "\(secret.stderr)")
            let check = try handover("map", "check", "--db", db, "--map", map)
            #expect(check.status == 0, "\(check.stderr)")
            #expect(check.stdout.contains("withheld: users: token\\u{1B}[2J\\u{A}valid: forged"), "\(check.stdout)")
            #expect(!check.stdout.contains("\u{1B}"))

            let plain = try run(
                "/usr/bin/python3",
                [
                    "-c",
                    "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('ALTER TABLE contacts ADD COLUMN \"' + sys.argv[2] + '\" TEXT'); c.commit()",
                    db, "note\u{202E}txt",
                ])
            #expect(plain.status == 0, "\(plain.stderr)")
            let refused = try handover("map", "check", "--db", db, "--map", map)
            #expect(refused.status == 65)
            #expect(refused.stderr.contains("note\\u{202E}txt"), "\(refused.stderr)")
            #expect(!refused.stderr.unicodeScalars.contains { $0.value == 0x202E })
        }
    }

    @Test func anExportOrRequestForABlankSubjectIsRefused() async throws {
        try await withTemporaryDirectory { folder in
            let (db, map) = try makeDemo(in: folder)
            for value in ["", "  ", "\u{00A0}"] {
                let export = try handover(
                    "export", "--db", db, "--map", map, "--subject", "email=" + value, "--out", folder + "/out")
                #expect(export.status == 64, "\(export.stderr)")
                #expect(export.stderr.contains("email is empty or only white space"), "\(export.stderr)")
            }
            #expect(listFolder(folder + "/out").isEmpty)
        }
    }
}
