import Foundation
import TestSupport
import Testing

/// `handover keys`: identity files that age reads, and age's that Handover reads.
@Suite struct KeysCommandTests {
    @Test func anIdentityHandoverWritesIsOneAgeUsesAndTheOtherWayRound() throws {
        try withTemporaryDirectorySync { folder in
            let key = folder + "/key.txt"
            let made = try run(
                "/usr/bin/env",
                ["sh", "-c", "umask 000; exec \"$0\" keys age-generate --out \"$1\" --json", handoverBinary, key])
            #expect(made.status == 0, "\(made.stderr)")
            let publicKey = try #require(
                (try JSONSerialization.jsonObject(with: Data(made.stdout.utf8)) as? [String: String])?["publicKey"])
            #expect(publicKey.hasPrefix("age1"))
            let mode = try FileManager.default.attributesOfItem(atPath: key)[.posixPermissions] as? Int
            #expect(mode == 0o600, "a secret key is private whatever the umask")
            #expect(!made.stdout.contains("AGE-SECRET-KEY"), "the secret goes only to the file")

            // age reads it: the same public key, and it opens what is encrypted to that key.
            let derived = try run("/usr/bin/age-keygen", ["-y", key])
            #expect(derived.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == publicKey)
            try Data("a secret message".utf8).write(to: URL(fileURLWithPath: folder + "/plain"))
            #expect(try run("/usr/bin/age", ["-r", publicKey, "-o", folder + "/m.age", folder + "/plain"]).status == 0)
            let opened = try run("/usr/bin/age", ["-d", "-i", key, folder + "/m.age"])
            #expect(opened.status == 0 && opened.stdout == "a secret message", "\(opened.stderr)")

            // Without --out the identity goes to standard output, which --json would mix with its report.
            #expect(try run(handoverBinary, ["keys", "age-generate", "--json"]).status == 64)
            let printed = try run(handoverBinary, ["keys", "age-generate", "--quiet"])
            #expect(printed.status == 0 && printed.stdout.contains("\nAGE-SECRET-KEY-1"))

            // Never over an existing file.
            let again = try run(handoverBinary, ["keys", "age-generate", "--out", key])
            #expect(again.status == 73 && again.stderr.contains("already exists"))

            // Handover reads age-keygen's files.
            #expect(try run("/usr/bin/age-keygen", ["-o", folder + "/theirs.txt"]).status == 0)
            let theirs = try run(handoverBinary, ["keys", "age-recipient", folder + "/theirs.txt"])
            let expected = try run("/usr/bin/age-keygen", ["-y", folder + "/theirs.txt"])
            #expect(theirs.status == 0 && theirs.stdout == expected.stdout)

            // A broken identity file is named by line, its content never shown.
            try "# comment\nAGE-SECRET-KEY-1NOTAKEY\n".write(
                toFile: folder + "/bad.txt", atomically: true, encoding: .utf8)
            let bad = try run(handoverBinary, ["keys", "age-recipient", folder + "/bad.txt"])
            #expect(
                bad.status != 0 && bad.stderr.contains("line 2") && !bad.stderr.contains("NOTAKEY"), "\(bad.stderr)")
        }
    }
}
