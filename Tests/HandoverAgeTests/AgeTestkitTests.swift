import Crypto
import Foundation
import HandoverAge
import TestSupport
import Testing

/// C2SP's age test vectors, next to the repository: `<package root>/../shared/testsuites/age-testkit/testdata`.
let ageTestkit = packageRoot + "/../shared/testsuites/age-testkit/testdata"

/// Splits each vector into its header (JSON) and its age file (zlib-decompressed when the vector says so),
/// with Python's zlib, into `folder`; returns the vectors' names.
private let unpackScript = """
    import json, os, sys, zlib
    source, target = sys.argv[1], sys.argv[2]
    for name in sorted(os.listdir(source)):
        data = open(os.path.join(source, name), "rb").read()
        head, _, body = data.partition(b"\\n\\n")
        fields = {}
        for line in head.decode().split("\\n"):
            key, _, value = line.partition(": ")
            fields.setdefault(key, []).append(value)
        if fields.get("compressed") == ["zlib"]:
            body = zlib.decompress(body)
        json.dump(fields, open(os.path.join(target, name + ".json"), "w"))
        open(os.path.join(target, name + ".age"), "wb").write(body)
        print(name)
    """

@Suite struct AgeTestkitTests {
    /// Every vector decrypts (or fails) exactly as it says, and whatever plaintext was released before a failure
    /// hashes to the vector's payload. Vectors for the post-quantum hybrid recipient, which Handover does not
    /// implement, are listed and skipped by name.
    @Test func everyVectorHasItsExpectedOutcome() throws {
        try withTemporaryDirectorySync { folder in
            let unpacked = try run("/usr/bin/env", ["python3", "-c", unpackScript, ageTestkit, folder])
            try #require(unpacked.status == 0, "\(unpacked.stderr)")
            let names = unpacked.stdout.split(separator: "\n").map(String.init)
            #expect(names.count == 143, "the testkit holds 143 vectors")
            var passed = 0
            var skipped: [String] = []
            var failed: [String] = []
            for name in names {
                let data = try Data(contentsOf: URL(fileURLWithPath: folder + "/" + name + ".json"))
                let fields = try #require(try JSONSerialization.jsonObject(with: data) as? [String: [String]])
                let identities = fields["identity"] ?? []
                if name.hasPrefix("hybrid") || identities.contains(where: { $0.hasPrefix("AGE-SECRET-KEY-PQ-") }) {
                    skipped.append(name)
                    continue
                }
                let file = Array(try Data(contentsOf: URL(fileURLWithPath: folder + "/" + name + ".age")))
                let (outcome, released) = decrypt(
                    file, armored: fields["armored"] == ["yes"], identities: identities,
                    passphrases: fields["passphrase"] ?? [])
                let expected = fields["expect"]?.first ?? "?"
                let digest = SHA256.hash(data: released).map { String(format: "%02x", $0) }.joined()
                if outcome == expected && (fields["payload"].map { $0 == [digest] } ?? true) {
                    passed += 1
                } else {
                    failed.append("\(name): expected \(expected), got \(outcome)")
                }
            }
            print(
                "age testkit: \(passed) passed, \(failed.count) failed, \(skipped.count) skipped "
                    + "(mlkem768x25519 not implemented: \(skipped.joined(separator: ", ")))")
            #expect(failed.isEmpty, "\(failed.joined(separator: "\n"))")
            #expect(passed + skipped.count == 143 && skipped.count == 19)
        }
    }
}

/// The testkit's outcome names for what decrypting `file` does, and the plaintext released before it ended.
func decrypt(_ file: [UInt8], armored: Bool, identities: [String], passphrases: [String]) -> (String, [UInt8]) {
    var released: [UInt8] = []
    do {
        let binary = armored ? try AgeArmor.decode(file) : file
        var keys: [AgeIdentity] = []
        for identity in identities { keys.append(try AgeIdentity(parsing: identity)) }
        for passphrase in passphrases { keys.append(.scrypt(passphrase: Array(passphrase.utf8), maxWorkFactor: 22)) }
        var decryptor = try AgeDecryptor(identities: keys, bytes: binary)
        while let chunk = try decryptor.next() { released += chunk }
        return ("success", released)
    } catch {
        let outcome: String =
            switch error.kind {
            case .armor: "armor failure"
            case .header: "header failure"
            case .noMatch: "no match"
            case .headerMAC: "HMAC failure"
            case .payload: "payload failure"
            case .key: "key failure"
            case .io: "io failure"
            }
        return (outcome, released)
    }
}
