public import Crypto
internal import CryptoExtras
internal import Foundation

/// Why a minisign key or signature was refused; the message names the problem, never a key's secret part.
public struct MinisignError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong.
    public var message: String

    /// An error.
    public init(_ message: String) { self.message = message }

    /// `minisign: <message>`.
    public var description: String { "minisign: " + message }
}

/// A minisign public key: its 8-byte key id and an Ed25519 public key.
public struct MinisignPublicKey: Sendable, Hashable {
    /// The key id, as minisign stores it (8 bytes, little-endian).
    public var keyID: [UInt8]
    /// The Ed25519 public key (32 bytes).
    public var key: [UInt8]

    /// The key id as minisign prints it (16 uppercase hexadecimal digits).
    public var keyIDText: String { Minisign.keyIDText(keyID) }

    /// Reads a public key: the base64 line alone (`--pubkey-string`), or a `.pub` file with its comment line.
    public init(parsing text: String) throws(MinisignError) {
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("untrusted comment:") }
        guard lines.count == 1, let data = Data(base64Encoded: lines[0]), data.count == 42,
            data.prefix(2) == Data("Ed".utf8)
        else { throw MinisignError("not a minisign public key") }
        keyID = Array(data[2..<10])
        key = Array(data[10..<42])
    }

    init(keyID: [UInt8], key: [UInt8]) {
        self.keyID = keyID
        self.key = key
    }

    /// The `.pub` file's text, as `minisign -G` writes it.
    public var fileText: String {
        "untrusted comment: minisign public key \(keyIDText)\n" + base64Line + "\n"
    }

    /// The base64 line alone.
    public var base64Line: String { Data(Array("Ed".utf8) + keyID + key).base64EncodedString() }

    /// Checks `signature` over `content` (the whole file): for a prehashed (`ED`, minisign's default) signature
    /// over its BLAKE2b-512, for a legacy (`Ed`) one over the file itself; then the global signature over the
    /// signature and the trusted comment.
    /// - Throws: when the key ids differ or either signature does not verify.
    public func verify(_ signature: MinisignSignature, content: some Collection<UInt8>) throws(MinisignError) {
        try verify(signature, message: signature.isPrehashed ? Minisign.prehash(content) : Array(content))
    }

    /// Checks a prehashed signature against a file's BLAKE2b-512 computed as it streamed (``Minisign/Prehasher``).
    /// - Throws: for a legacy signature (it needs the whole file), or as ``verify(_:content:)``.
    public func verify(_ signature: MinisignSignature, prehash digest: [UInt8]) throws(MinisignError) {
        guard signature.isPrehashed else {
            throw MinisignError("a legacy (non-prehashed) signature is checked over the whole file")
        }
        try verify(signature, message: digest)
    }

    private func verify(_ signature: MinisignSignature, message: [UInt8]) throws(MinisignError) {
        guard signature.keyID == keyID else {
            throw MinisignError(
                "the signature was made with key \(Minisign.keyIDText(signature.keyID)), not \(keyIDText)")
        }
        guard let publicKey = try? Curve25519.Signing.PublicKey(rawRepresentation: key) else {
            throw MinisignError("the public key is not a usable Ed25519 key")
        }
        guard publicKey.isValidSignature(signature.signature, for: message) else {
            throw MinisignError("the signature does not match the file")
        }
        guard
            publicKey.isValidSignature(
                signature.globalSignature, for: signature.signature + Array(signature.trustedComment.utf8))
        else { throw MinisignError("the trusted comment's signature does not match: the comment was changed") }
    }
}

/// A minisign signature file (`.minisig`).
public struct MinisignSignature: Sendable, Hashable {
    /// The first line's comment (not signed).
    public var untrustedComment: String
    /// Whether the signature is over BLAKE2b-512 of the file (`ED`, minisign's default) rather than the file.
    public var isPrehashed: Bool
    /// The signing key's id.
    public var keyID: [UInt8]
    /// The Ed25519 signature (64 bytes).
    public var signature: [UInt8]
    /// The trusted comment (signed).
    public var trustedComment: String
    /// The Ed25519 signature of the signature and the trusted comment.
    public var globalSignature: [UInt8]

    /// Reads a `.minisig` file.
    public init(parsing text: String) throws(MinisignError) {
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map {
            $0.hasSuffix("\r") ? String($0.dropLast()) : String($0)
        }
        guard lines.count >= 4, lines[0].hasPrefix("untrusted comment: "),
            lines[2].hasPrefix("trusted comment: "), lines.dropFirst(4).allSatisfy(\.isEmpty),
            let data = Data(base64Encoded: lines[1]), data.count == 74,
            let global = Data(base64Encoded: lines[3]), global.count == 64
        else { throw MinisignError("not a minisign signature file") }
        let algorithm = String(decoding: data.prefix(2), as: UTF8.self)
        guard algorithm == "ED" || algorithm == "Ed" else {
            throw MinisignError("an unknown signature algorithm")
        }
        untrustedComment = String(lines[0].dropFirst("untrusted comment: ".count))
        isPrehashed = algorithm == "ED"
        keyID = Array(data[2..<10])
        signature = Array(data[10..<74])
        trustedComment = String(lines[2].dropFirst("trusted comment: ".count))
        globalSignature = Array(global)
    }

    init(
        untrustedComment: String, isPrehashed: Bool, keyID: [UInt8], signature: [UInt8], trustedComment: String,
        globalSignature: [UInt8]
    ) {
        self.untrustedComment = untrustedComment
        self.isPrehashed = isPrehashed
        self.keyID = keyID
        self.signature = signature
        self.trustedComment = trustedComment
        self.globalSignature = globalSignature
    }

    /// The `.minisig` file's text, as minisign writes it.
    public var fileText: String {
        "untrusted comment: \(untrustedComment)\n"
            + Data(Array((isPrehashed ? "ED" : "Ed").utf8) + keyID + signature).base64EncodedString() + "\n"
            + "trusted comment: \(trustedComment)\n" + Data(globalSignature).base64EncodedString() + "\n"
    }
}

/// A minisign secret key (unencrypted: minisign's `-W`; encrypted keys are refused with a clear message).
public struct MinisignSecretKey: Sendable {
    /// The key id.
    public let keyID: [UInt8]
    private let key: Curve25519.Signing.PrivateKey

    /// A new key with a random id.
    public static func generate() -> MinisignSecretKey {
        var generator = SystemRandomNumberGenerator()
        return MinisignSecretKey(
            keyID: (0..<8).map { _ in UInt8.random(in: 0...255, using: &generator) },
            key: Curve25519.Signing.PrivateKey())
    }

    private init(keyID: [UInt8], key: Curve25519.Signing.PrivateKey) {
        self.keyID = keyID
        self.key = key
    }

    /// Reads an unencrypted secret key file, as `minisign -G -W` writes it.
    /// - Throws: for a malformed file, a checksum that does not match, or a passphrase-protected key.
    public init(parsing text: String) throws(MinisignError) {
        try self.init(parsing: text, passphrase: nil)
    }

    /// Reads a secret key file as `minisign -G` writes it: protected by `passphrase` (scrypt, with the work
    /// limits the file records), or unencrypted (`-W`) when `passphrase` is nil.
    /// - Throws: for a malformed file, a protected key without a passphrase, a wrong passphrase (the checksum
    ///   does not match), or work limits beyond minisign's most sensitive setting.
    public init(parsing text: String, passphrase: [UInt8]?) throws(MinisignError) {
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("untrusted comment:") }
        guard lines.count == 1, var data = Data(base64Encoded: lines[0]).map(Array.init), data.count == 158,
            data[0..<2] == [0x45, 0x64], data[4..<6] == [0x42, 0x32]
        else { throw MinisignError("not a minisign secret key") }
        let encrypted = data[2..<4] == [0x53, 0x63]
        guard encrypted || data[2..<4] == [0, 0] else {
            throw MinisignError("the secret key is protected by an unknown key derivation")
        }
        if encrypted {
            guard let passphrase else {
                throw MinisignError("the secret key is protected by a passphrase, and none was given")
            }
            let stream = try Self.keyStream(
                passphrase, salt: Array(data[6..<38]), opsLimit: Self.littleEndian(data[38..<46]),
                memLimit: Self.littleEndian(data[46..<54]))
            for index in 0..<104 { data[54 + index] ^= stream[index] }
        }
        let keyID = Array(data[54..<62])
        let secret = Array(data[62..<126])
        let checksum = Array(data[126..<158])
        // `minisign -G -W` leaves the checksum of an unencrypted key all zero; any other is checked.
        guard
            (!encrypted && checksum.allSatisfy({ $0 == 0 }))
                || BLAKE2b.hash(Array("Ed".utf8) + keyID + secret, outputLength: 32) == checksum
        else {
            throw MinisignError(
                encrypted
                    ? "the passphrase does not open the secret key (or the file is damaged)"
                    : "the secret key's checksum does not match: the file is damaged")
        }
        guard let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: secret.prefix(32)),
            Array(key.publicKey.rawRepresentation) == Array(secret.suffix(32))
        else { throw MinisignError("the secret key is not a usable Ed25519 key") }
        self.keyID = keyID
        self.key = key
    }

    /// minisign's default work limits (libsodium's "sensitive" scrypt limits): 1 GiB of memory.
    public static let defaultOpsLimit: UInt64 = 33_554_432
    /// See ``defaultOpsLimit``.
    public static let defaultMemLimit: UInt64 = 1_073_741_824

    /// The secret key file's text, protected by `passphrase` as `minisign -G` protects it: the key id, the
    /// secret key and its checksum XORed with scrypt's output, the salt and the work limits in the file.
    /// - Throws: when scrypt fails (limits too large for this machine's memory).
    public func fileText(passphrase: [UInt8], opsLimit: UInt64 = defaultOpsLimit, memLimit: UInt64 = defaultMemLimit)
        throws(MinisignError) -> String
    {
        var generator = SystemRandomNumberGenerator()
        let salt = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let secret = Array(key.rawRepresentation) + Array(key.publicKey.rawRepresentation)
        let checksum = BLAKE2b.hash(Array("Ed".utf8) + keyID + secret, outputLength: 32)
        var protected = keyID + secret + checksum
        let stream = try Self.keyStream(passphrase, salt: salt, opsLimit: opsLimit, memLimit: memLimit)
        for index in 0..<104 { protected[index] ^= stream[index] }
        let bytes =
            Array("Ed".utf8) + Array("Sc".utf8) + Array("B2".utf8) + salt + Self.littleEndianBytes(opsLimit)
            + Self.littleEndianBytes(memLimit) + protected
        return "untrusted comment: minisign encrypted secret key\n" + Data(bytes).base64EncodedString() + "\n"
    }

    /// The 104 bytes that protect a secret key: libsodium's `crypto_pwhash_scryptsalsa208sha256` with its way of
    /// turning work limits into scrypt's N, r and p.
    static func keyStream(_ passphrase: [UInt8], salt: [UInt8], opsLimit: UInt64, memLimit: UInt64)
        throws(MinisignError) -> [UInt8]
    {
        // libsodium's pickparams.
        let ops = max(opsLimit, 32768)
        let r: UInt64 = 8
        var logN: UInt64 = 1
        var p: UInt64 = 1
        if ops < memLimit / 32 {
            let maxN = ops / (r * 4)
            while logN < 63 && (UInt64(1) << logN) <= maxN / 2 { logN += 1 }
        } else {
            let maxN = memLimit / (r * 128)
            while logN < 63 && (UInt64(1) << logN) <= maxN / 2 { logN += 1 }
            let maxRP = min((ops / 4) / (UInt64(1) << logN), 0x3fff_ffff)
            p = max(1, maxRP / r)
        }
        // minisign's most sensitive setting asks for 1 GiB; more is refused rather than tried.
        guard logN <= 20, p <= 16 else {
            throw MinisignError("the secret key's work limits are larger than minisign's (refused)")
        }
        let rounds = Int(1) << Int(logN)
        do {
            let key = try KDF.Scrypt.deriveKey(
                from: passphrase, salt: salt, outputByteCount: 104, rounds: rounds, blockSize: Int(r),
                parallelism: Int(p), maxMemory: 128 * Int(r) * rounds * Int(p) + (1 << 20))
            return key.withUnsafeBytes { Array($0) }
        } catch {
            throw MinisignError("scrypt failed for the secret key's work limits")
        }
    }

    static func littleEndian(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        bytes.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    static func littleEndianBytes(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }

    /// The public key.
    public var publicKey: MinisignPublicKey {
        MinisignPublicKey(keyID: keyID, key: Array(key.publicKey.rawRepresentation))
    }

    /// The secret key file's text, unencrypted, as `minisign -G -W` writes it.
    public var fileText: String {
        let secret = Array(key.rawRepresentation) + Array(key.publicKey.rawRepresentation)
        let checksum = BLAKE2b.hash(Array("Ed".utf8) + keyID + secret, outputLength: 32)
        let bytes =
            Array("Ed".utf8) + [0, 0] + Array("B2".utf8) + [UInt8](repeating: 0, count: 48) + keyID + secret
            + checksum
        return "untrusted comment: minisign secret key\n" + Data(bytes).base64EncodedString() + "\n"
    }

    /// Signs `content` (the whole file) as minisign does by default: Ed25519 over its BLAKE2b-512, and the
    /// signature and `trustedComment` signed again.
    /// - Throws: for a trusted comment holding a line break.
    public func sign(_ content: some Collection<UInt8>, trustedComment: String, untrustedComment: String)
        throws(MinisignError) -> MinisignSignature
    {
        try sign(prehash: Minisign.prehash(content), trustedComment: trustedComment, untrustedComment: untrustedComment)
    }

    /// Signs a file whose BLAKE2b-512 was computed by streaming (``Minisign/Prehasher``).
    public func sign(prehash digest: [UInt8], trustedComment: String, untrustedComment: String)
        throws(MinisignError) -> MinisignSignature
    {
        guard !(trustedComment + untrustedComment).contains(where: \.isNewline) else {
            throw MinisignError("a comment may not hold a line break")
        }
        guard let signature = try? key.signature(for: digest),
            let global = try? key.signature(for: Array(signature) + Array(trustedComment.utf8))
        else { throw MinisignError("Ed25519 signing failed") }
        return MinisignSignature(
            untrustedComment: untrustedComment, isPrehashed: true, keyID: keyID, signature: Array(signature),
            trustedComment: trustedComment, globalSignature: Array(global))
    }
}

/// Helpers shared by keys and signatures.
public enum Minisign {
    /// The BLAKE2b-512 of `content`, what a prehashed (`ED`) signature signs.
    public static func prehash(_ content: some Collection<UInt8>) -> [UInt8] { BLAKE2b.hash(content) }

    /// BLAKE2b-512 computed as a file streams by.
    public struct Prehasher: Sendable {
        private var hasher = BLAKE2b()
        /// A new hash.
        public init() {}
        /// Hashes more of the file.
        public mutating func update(_ bytes: some Collection<UInt8>) { hasher.update(bytes) }
        /// The digest.
        public mutating func finalize() -> [UInt8] { hasher.finalize() }
    }

    /// A key id as minisign prints it (`%" PRIX64`): the eight bytes as one little-endian integer in uppercase
    /// hexadecimal, without leading zeros, so 15 digits or fewer for one key in sixteen.
    public static func keyIDText(_ id: [UInt8]) -> String {
        String(id.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }, radix: 16, uppercase: true)
    }
}
