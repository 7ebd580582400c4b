public import Crypto
internal import CryptoExtras
internal import Foundation

/// Someone a file is encrypted to: an X25519 public key (`age1…`) or a passphrase (scrypt).
public enum AgeRecipient: Sendable {
    /// An X25519 recipient.
    case x25519(Curve25519.KeyAgreement.PublicKey)
    /// A passphrase; `workFactor` is log2 of scrypt's N (age's default is 18).
    case scrypt(passphrase: [UInt8], workFactor: Int)

    /// Parses `age1…` (as `age-keygen -y` prints it).
    /// - Throws: ``AgeError/Kind/key`` (without the text) when it is not an X25519 recipient.
    public init(parsing text: String) throws(AgeError) {
        guard let (hrp, data) = Bech32.decode(text), hrp == "age", text == text.lowercased(), data.count == 32,
            let key = try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: data)
        else { throw AgeError(.key, "a recipient is not an age X25519 public key (age1…)") }
        self = .x25519(key)
    }

    /// The recipients of a recipients file as age reads one: one a line, `#` comments and blank lines ignored.
    /// - Throws: ``AgeError/Kind/key`` naming the line of the first recipient that cannot be read.
    public static func parseFile(_ text: String) throws(AgeError) -> [AgeRecipient] {
        try keyFileLines(text, what: "recipients file", kind: "age X25519 recipient") { line throws(AgeError) in
            try AgeRecipient(parsing: line)
        }
    }

    /// The recipient's `age1…` text (nil for a passphrase).
    public var encoded: String? {
        guard case .x25519(let key) = self else { return nil }
        return Bech32.encode(hrp: "age", data: Array(key.rawRepresentation))
    }

    /// Wraps `fileKey` in a stanza for this recipient.
    func wrap(_ fileKey: [UInt8]) throws(AgeError) -> AgeStanza {
        switch self {
        case .x25519(let recipient):
            let ephemeral = Curve25519.KeyAgreement.PrivateKey()
            let share = Array(ephemeral.publicKey.rawRepresentation)
            guard let secret = try? ephemeral.sharedSecretFromKeyAgreement(with: recipient) else {
                throw AgeError(.key, "the recipient's public key is not usable")
            }
            let key = AgeX25519.wrapKey(secret, share: share, recipient: Array(recipient.rawRepresentation))
            return AgeStanza(type: "X25519", arguments: [AgeBase64.encode(share)], body: seal(fileKey, key))
        case .scrypt(let passphrase, let workFactor):
            var generator = SystemRandomNumberGenerator()
            let salt = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let key = try AgeScrypt.key(passphrase, salt: salt, workFactor: workFactor)
            return AgeStanza(
                type: "scrypt", arguments: [AgeBase64.encode(salt), String(workFactor)], body: seal(fileKey, key))
        }
    }
}

/// What opens a file: an X25519 secret key (`AGE-SECRET-KEY-1…`) or a passphrase.
public enum AgeIdentity: Sendable {
    /// An X25519 identity.
    case x25519(Curve25519.KeyAgreement.PrivateKey)
    /// A passphrase; files whose work factor is above `maxWorkFactor` are refused (age's own limit is 22).
    case scrypt(passphrase: [UInt8], maxWorkFactor: Int)

    /// A new random X25519 identity.
    public static func generate() -> AgeIdentity { .x25519(Curve25519.KeyAgreement.PrivateKey()) }

    /// Parses `AGE-SECRET-KEY-1…`.
    /// - Throws: ``AgeError/Kind/key`` (without the text) when it is not an X25519 identity.
    public init(parsing text: String) throws(AgeError) {
        guard let (hrp, data) = Bech32.decode(text), hrp == "age-secret-key-", text == text.uppercased(),
            data.count == 32, let key = try? Curve25519.KeyAgreement.PrivateKey(rawRepresentation: data)
        else { throw AgeError(.key, "an identity is not an age X25519 secret key (AGE-SECRET-KEY-1…)") }
        self = .x25519(key)
    }

    /// The identities of an identity file as age reads one: one a line, `#` comments and blank lines ignored.
    /// - Throws: ``AgeError/Kind/key`` naming the line of the first one that cannot be read (never its text).
    public static func parseFile(_ text: String) throws(AgeError) -> [AgeIdentity] {
        try keyFileLines(text, what: "identity file", kind: "age X25519 identity") { line throws(AgeError) in
            try AgeIdentity(parsing: line)
        }
    }

    /// The `AGE-SECRET-KEY-1…` text (nil for a passphrase).
    public var encoded: String? {
        guard case .x25519(let key) = self else { return nil }
        return Bech32.encode(hrp: "age-secret-key-", data: Array(key.rawRepresentation)).uppercased()
    }

    /// The recipient that encrypts to this identity.
    public var recipient: AgeRecipient {
        switch self {
        case .x25519(let key): .x25519(key.publicKey)
        case .scrypt(let passphrase, _): .scrypt(passphrase: passphrase, workFactor: 18)
        }
    }

    /// The file key in `stanza`, nil when the stanza is not for this identity.
    /// - Throws: ``AgeError/Kind/header`` when a stanza of this identity's type is malformed.
    func unwrap(_ stanza: AgeStanza) throws(AgeError) -> [UInt8]? {
        switch self {
        case .x25519(let identity):
            guard stanza.type == "X25519" else { return nil }
            guard stanza.arguments.count == 1, let share = AgeBase64.decode(Array(stanza.arguments[0].utf8)),
                share.count == 32
            else { throw AgeError(.header, "an X25519 stanza has a malformed share") }
            guard stanza.body.count == 32 else { throw AgeError(.header, "an X25519 stanza's body is not 32 bytes") }
            guard let peer = try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: share),
                let secret = try? identity.sharedSecretFromKeyAgreement(with: peer)
            else { throw AgeError(.header, "an X25519 stanza's share is not a usable point") }
            let raw = secret.withUnsafeBytes { Array($0) }
            guard raw.contains(where: { $0 != 0 }) else {
                throw AgeError(.header, "an X25519 stanza's share is a low-order point")
            }
            let key = AgeX25519.wrapKey(
                secret, share: share, recipient: Array(identity.publicKey.rawRepresentation))
            return open(stanza.body, key)
        case .scrypt(let passphrase, let maxWorkFactor):
            guard stanza.type == "scrypt" else { return nil }
            guard stanza.arguments.count == 2, let salt = AgeBase64.decode(Array(stanza.arguments[0].utf8)),
                salt.count == 16
            else { throw AgeError(.header, "an scrypt stanza has a malformed salt") }
            let factor = stanza.arguments[1]
            guard let first = factor.utf8.first, first >= UInt8(ascii: "1"), first <= UInt8(ascii: "9"),
                factor.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }), factor.utf8.count <= 2,
                let workFactor = Int(factor), workFactor > 0
            else { throw AgeError(.header, "an scrypt stanza's work factor is not a decimal number") }
            guard workFactor <= maxWorkFactor else {
                throw AgeError(
                    .header, "an scrypt stanza's work factor \(workFactor) is above the limit \(maxWorkFactor)")
            }
            guard stanza.body.count == 32 else { throw AgeError(.header, "an scrypt stanza's body is not 32 bytes") }
            return open(stanza.body, try AgeScrypt.key(passphrase, salt: salt, workFactor: workFactor))
        }
    }
}

/// The keys of a file as age reads one: one a line, `#` comments and blank lines ignored; an error names the line
/// of the first key that cannot be read, never its text.
private func keyFileLines<Key>(
    _ text: String, what: String, kind: String, _ parse: (String) throws(AgeError) -> Key
) throws(AgeError) -> [Key] {
    var keys: [Key] = []
    for (number, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        .enumerated()
    {
        let line = raw.trimmingCharacters(in: .whitespaces.union(CharacterSet(charactersIn: "\r")))
        if line.isEmpty || line.hasPrefix("#") { continue }
        do {
            keys.append(try parse(line))
        } catch {
            throw AgeError(.key, "line \(number + 1) of the \(what) is not an \(kind)")
        }
    }
    guard !keys.isEmpty else { throw AgeError(.key, "the \(what) holds no key") }
    return keys
}

/// ChaCha20-Poly1305 with a zero nonce: a stanza's body (the file key, 16 bytes, and its tag).
private func seal(_ fileKey: [UInt8], _ key: SymmetricKey) -> [UInt8] {
    // A 12-byte zero nonce is always valid, and sealing cannot fail with a 32-byte key.
    let box = try! ChaChaPoly.seal(
        fileKey, using: key, nonce: try! ChaChaPoly.Nonce(data: [UInt8](repeating: 0, count: 12)))
    return Array(box.ciphertext) + Array(box.tag)
}

private func open(_ body: [UInt8], _ key: SymmetricKey) -> [UInt8]? {
    guard body.count == 32,
        let box = try? ChaChaPoly.SealedBox(
            nonce: try ChaChaPoly.Nonce(data: [UInt8](repeating: 0, count: 12)), ciphertext: body.prefix(16),
            tag: body.suffix(16)),
        let key = try? ChaChaPoly.open(box, using: key)
    else { return nil }
    return Array(key)
}

enum AgeX25519 {
    static func wrapKey(_ secret: SharedSecret, share: [UInt8], recipient: [UInt8]) -> SymmetricKey {
        secret.hkdfDerivedSymmetricKey(
            using: SHA256.self, salt: share + recipient, sharedInfo: Array("age-encryption.org/v1/X25519".utf8),
            outputByteCount: 32)
    }
}

enum AgeScrypt {
    static func key(_ passphrase: [UInt8], salt: [UInt8], workFactor: Int) throws(AgeError) -> SymmetricKey {
        let rounds = 1 << workFactor
        do {
            return try KDF.Scrypt.deriveKey(
                from: passphrase, salt: Array("age-encryption.org/v1/scrypt".utf8) + salt, outputByteCount: 32,
                rounds: rounds, blockSize: 8, parallelism: 1, maxMemory: 128 * 8 * rounds + 1 << 20)
        } catch {
            throw AgeError(.key, "scrypt failed for work factor \(workFactor)")
        }
    }
}
