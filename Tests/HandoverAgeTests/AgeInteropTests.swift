import Foundation
import HandoverAge
import TestSupport
import Testing

/// Encrypts `plain` to `recipients` as a file's bytes.
func encrypt(_ plain: [UInt8], to recipients: [AgeRecipient], in pieces: Int = 7_000) throws -> [UInt8] {
    var encryptor = try AgeEncryptor(recipients: recipients)
    var out = encryptor.header
    var start = 0
    while start < plain.count {
        out += encryptor.write(plain[start..<min(plain.count, start + pieces)])
        start += pieces
    }
    return out + encryptor.finish()
}

func decryptAll(_ file: [UInt8], with identities: [AgeIdentity]) throws -> [UInt8] {
    var decryptor = try AgeDecryptor(identities: identities, bytes: file)
    var plain: [UInt8] = []
    while let chunk = try decryptor.next() { plain += chunk }
    return plain
}

private func randomBytes(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
}

/// Debian's `age` 1.1 against Handover's implementation, both ways.
@Suite struct AgeInteropTests {
    static let sizes = [0, 1, 65_535, 65_536, 65_537, 3 * 65_536, 200_001]

    @Test func filesHandoverEncryptsDecryptWithAge() throws {
        try withTemporaryDirectorySync { folder in
            let keygen = try run("/usr/bin/age-keygen", ["-o", folder + "/key.txt"])
            try #require(keygen.status == 0, "\(keygen.stderr)")
            let recipientLine = try #require(keygen.stderr.split(separator: " ").last).trimmingCharacters(
                in: .whitespacesAndNewlines)
            let recipient = try AgeRecipient(parsing: recipientLine)
            #expect(recipient.encoded == recipientLine)
            for size in Self.sizes {
                let plain = randomBytes(size)
                let file = folder + "/\(size).age"
                try Data(try encrypt(plain, to: [recipient, AgeIdentity.generate().recipient])).write(
                    to: URL(fileURLWithPath: file))
                let opened = try run("/usr/bin/age", ["-d", "-i", folder + "/key.txt", "-o", file + ".out", file])
                #expect(opened.status == 0, "\(size) bytes: \(opened.stderr)")
                // age creates its output at the first byte it writes: none for an empty payload.
                let output = (try? Data(contentsOf: URL(fileURLWithPath: file + ".out"))) ?? Data()
                #expect(Array(output) == plain, "\(size) bytes")
            }
        }
    }

    @Test func filesAgeEncryptsDecryptWithHandoverArmoredOrNot() throws {
        try withTemporaryDirectorySync { folder in
            let identity = AgeIdentity.generate()
            let identityText = try #require(identity.encoded)
            try "# created: by the test\n\(identityText)\n".write(
                toFile: folder + "/key.txt", atomically: true, encoding: .utf8)
            let derived = try run("/usr/bin/age-keygen", ["-y", folder + "/key.txt"])
            #expect(
                derived.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == identity.recipient.encoded,
                "age derives the same recipient from Handover's identity")
            let parsed = try AgeIdentity.parseFile(try String(contentsOfFile: folder + "/key.txt", encoding: .utf8))
            #expect(parsed.count == 1)
            // The same file with CRLF line ends (a CRLF is one Character in Swift) reads the same.
            let crlf = try AgeIdentity.parseFile("# created: by the test\r\n\(identityText)\r\n")
            #expect(crlf.count == 1 && crlf.first?.encoded == identityText)
            for size in Self.sizes {
                let plain = randomBytes(size)
                try Data(plain).write(to: URL(fileURLWithPath: folder + "/plain"))
                for armor in [false, true] {
                    let file = folder + "/\(size)\(armor ? ".asc" : "").age"
                    let sealed = try run(
                        "/usr/bin/age",
                        ["-r", try #require(identity.recipient.encoded), "-o", file] + (armor ? ["-a"] : [])
                            + [folder + "/plain"])
                    try #require(sealed.status == 0, "\(sealed.stderr)")
                    var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: file)))
                    #expect(AgeArmor.isArmored(bytes) == armor)
                    if armor { bytes = try AgeArmor.decode(bytes) }
                    #expect(try decryptAll(bytes, with: parsed) == plain, "\(size) bytes, armor \(armor)")
                }
            }
        }
    }

    @Test func aPassphraseRoundTripsAndAWrongKeyIsNoMatch() throws {
        let plain = randomBytes(100_000)
        let sealed = try encrypt(plain, to: [.scrypt(passphrase: Array("correct horse".utf8), workFactor: 10)])
        #expect(
            try decryptAll(sealed, with: [.scrypt(passphrase: Array("correct horse".utf8), maxWorkFactor: 22)])
                == plain)
        #expect(throws: AgeError(.noMatch, "no identity given opens this file")) {
            try decryptAll(sealed, with: [.scrypt(passphrase: Array("wrong".utf8), maxWorkFactor: 22)])
        }
        #expect(throws: AgeError.self) {
            try AgeEncryptor(recipients: [.scrypt(passphrase: [1], workFactor: 10), AgeIdentity.generate().recipient])
        }
        // A work factor above the reader's limit is refused before any work.
        let costly = try encrypt([1, 2, 3], to: [.scrypt(passphrase: [1], workFactor: 12)])
        #expect(throws: AgeError.self) { try decryptAll(costly, with: [.scrypt(passphrase: [1], maxWorkFactor: 11)]) }
    }

    @Test func everyByteOfAFileMattersAndTruncationIsCaught() throws {
        let identity = AgeIdentity.generate()
        let plain = randomBytes(70_000)
        let file = try encrypt(plain, to: [identity.recipient])
        // Cut anywhere: never the whole plaintext, always an error.
        for cut in stride(from: 0, to: file.count, by: 997) {
            #expect(throws: AgeError.self, "cut at \(cut)") { try decryptAll(Array(file[..<cut]), with: [identity]) }
        }
        // Flip a byte in the header, the nonce, each chunk, the last tag: refused.
        for index in [10, file.count - 70_000 - 40, file.count - 70_000, file.count - 5_000, file.count - 1] {
            var changed = file
            changed[index] ^= 0x20
            #expect(throws: AgeError.self, "byte \(index)") { try decryptAll(changed, with: [identity]) }
        }
        #expect(throws: AgeError.self) { try decryptAll(file + [0], with: [identity]) }
        #expect(try decryptAll(file, with: [identity]) == plain)
    }
}
