internal import Crypto

/// age's payload: STREAM over ChaCha20-Poly1305 in 64 KiB chunks, keyed with HKDF(file key, salt nonce,
/// info "payload"); the chunk nonce is an 11-byte big-endian counter and a last-chunk flag.
enum AgeStream {
    static let chunkSize = 64 * 1024
    static let tagSize = 16

    static func payloadKey(fileKey: [UInt8], nonce: [UInt8]) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: fileKey), salt: nonce, info: Array("payload".utf8),
            outputByteCount: 32)
    }

    static func nonce(_ counter: UInt64, last: Bool) -> ChaChaPoly.Nonce {
        var bytes = [UInt8](repeating: 0, count: 12)
        for index in 0..<8 { bytes[10 - index] = UInt8(truncatingIfNeeded: counter >> (8 * UInt64(index))) }
        bytes[11] = last ? 1 : 0
        // Twelve bytes are always a valid nonce.
        return try! ChaChaPoly.Nonce(data: bytes)
    }
}

/// Encrypts to age recipients, streaming: ``header`` first, then what each ``write(_:)`` returns, then what
/// ``finish()`` returns. Memory holds at most one chunk of plaintext.
public struct AgeEncryptor: Sendable {
    /// The header and the payload nonce: the first bytes of the file.
    public let header: [UInt8]
    private let key: SymmetricKey
    private var pending: [UInt8] = []
    private var counter: UInt64 = 0

    /// An encryptor to `recipients`, with a new random file key.
    /// - Throws: ``AgeError/Kind/key`` for no recipient, or a passphrase beside other recipients (age allows a
    ///   passphrase only alone).
    public init(recipients: [AgeRecipient]) throws(AgeError) {
        guard !recipients.isEmpty else { throw AgeError(.key, "no recipient to encrypt to") }
        if recipients.contains(where: { if case .scrypt = $0 { true } else { false } }) && recipients.count > 1 {
            throw AgeError(.key, "a passphrase must be the only recipient")
        }
        var generator = SystemRandomNumberGenerator()
        let fileKey = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        var stanzas: [AgeStanza] = []
        for recipient in recipients { stanzas.append(try recipient.wrap(fileKey)) }
        let authenticated = AgeHeader.encode(stanzas)
        let mac = AgeHeader.mac(fileKey: fileKey, authenticated: authenticated)
        let nonce = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        header = authenticated + Array((" " + AgeBase64.encode(mac) + "\n").utf8) + nonce
        key = AgeStream.payloadKey(fileKey: fileKey, nonce: nonce)
    }

    /// Encrypts `bytes`; returns the ciphertext of the chunks completed (a full chunk is kept back until more
    /// follows, since the last chunk is sealed differently).
    public mutating func write(_ bytes: some Collection<UInt8>) -> [UInt8] {
        pending += bytes
        var out: [UInt8] = []
        while pending.count > AgeStream.chunkSize {
            out += seal(pending[..<AgeStream.chunkSize], last: false)
            pending.removeFirst(AgeStream.chunkSize)
        }
        return out
    }

    /// The last chunk's ciphertext.
    public mutating func finish() -> [UInt8] {
        seal(pending[...], last: true)
    }

    private mutating func seal(_ chunk: ArraySlice<UInt8>, last: Bool) -> [UInt8] {
        // A valid key and nonce: sealing cannot fail.
        let box = try! ChaChaPoly.seal(chunk, using: key, nonce: AgeStream.nonce(counter, last: last))
        counter += 1
        return Array(box.ciphertext) + Array(box.tag)
    }
}

/// Decrypts an age file, streaming: ``init(identities:input:)`` reads and checks the header, then each
/// ``next()`` returns the next chunk of plaintext, authenticated, until nil at the end. A payload that is
/// changed, truncated or followed by anything fails with ``AgeError/Kind/payload`` at the chunk where it does.
public struct AgeDecryptor {
    private var input: AgeInput
    private let key: SymmetricKey
    private var counter: UInt64 = 0
    private var lookahead: [UInt8]
    private var finished = false
    private var trailing: [UInt8] = []

    /// Reads the header from `source` (which returns up to the number of bytes asked for, none at the end),
    /// opens it with one of `identities`, and checks its MAC.
    public init(identities: [AgeIdentity], source: @escaping (Int) throws(AgeError) -> [UInt8]) throws(AgeError) {
        try self.init(identities: identities, input: AgeInput(source))
    }

    /// Decrypts `bytes` held in memory (or an ASCII-armored file: see ``AgeArmor``).
    public init(identities: [AgeIdentity], bytes: [UInt8]) throws(AgeError) {
        try self.init(identities: identities, input: AgeInput(bytes: bytes))
    }

    init(identities: [AgeIdentity], input: AgeInput) throws(AgeError) {
        var input = input
        let header = try AgeHeader.read(from: &input)
        if header.stanzas.contains(where: { $0.type == "scrypt" }) && header.stanzas.count > 1 {
            throw AgeError(.header, "an scrypt stanza must be the only one in the header")
        }
        var fileKey: [UInt8]?
        search: for stanza in header.stanzas {
            for identity in identities {
                if let key = try identity.unwrap(stanza) {
                    fileKey = key
                    break search
                }
            }
        }
        guard let fileKey else { throw AgeError(.noMatch, "no identity given opens this file") }
        guard AgeHeader.mac(fileKey: fileKey, authenticated: header.authenticated) == header.mac else {
            throw AgeError(.headerMAC, "the header's MAC does not match: the header was changed")
        }
        let nonce = try input.read(16)
        guard nonce.count == 16 else { throw AgeError(.header, "the file ends before the payload nonce") }
        key = AgeStream.payloadKey(fileKey: fileKey, nonce: nonce)
        lookahead = try input.read(AgeStream.chunkSize + AgeStream.tagSize)
        self.input = input
    }

    /// The next chunk of plaintext, or nil after the last one.
    ///
    /// Each chunk is authenticated before it is returned. As age's own reader does, a full chunk is opened as a
    /// middle chunk first, and as the last one only if that fails; bytes after the last chunk, or a file that
    /// ends without one, fail at the next call, after the chunks before have been returned.
    /// - Throws: ``AgeError/Kind/payload`` when a chunk does not authenticate, the file ends without a last
    ///   chunk, a last chunk is empty (unless the payload is), or bytes follow the last chunk.
    public mutating func next() throws(AgeError) -> [UInt8]? {
        if finished {
            guard trailing.isEmpty else { throw AgeError(.payload, "bytes follow the payload's last chunk") }
            return nil
        }
        let chunk = lookahead
        guard chunk.count >= AgeStream.tagSize else {
            throw AgeError(
                .payload, counter == 0 ? "the payload is missing" : "the payload ends without its last chunk")
        }
        let full = chunk.count == AgeStream.chunkSize + AgeStream.tagSize
        var last = !full
        var plain = full ? open(chunk, last: false) : nil
        if plain == nil {
            plain = open(chunk, last: true)
            last = true
        }
        guard let plain else {
            throw AgeError(.payload, "chunk \(counter) does not authenticate: the payload was changed or cut")
        }
        if last {
            guard !plain.isEmpty || counter == 0 else {
                throw AgeError(.payload, "the last chunk is empty, which only an empty payload may be")
            }
            finished = true
            trailing = full ? try input.read(1) : []
        } else {
            lookahead = try input.read(AgeStream.chunkSize + AgeStream.tagSize)
        }
        counter += 1
        return plain
    }

    private func open(_ chunk: [UInt8], last: Bool) -> [UInt8]? {
        guard
            let box = try? ChaChaPoly.SealedBox(
                nonce: AgeStream.nonce(counter, last: last), ciphertext: chunk.dropLast(AgeStream.tagSize),
                tag: chunk.suffix(AgeStream.tagSize)),
            let plain = try? ChaChaPoly.open(box, using: key)
        else { return nil }
        return Array(plain)
    }
}
