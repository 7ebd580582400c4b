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

    /// Reads the header and the payload nonce from `input`, opens the header with one of `identities`, checks
    /// its MAC, and returns the payload key.
    static func openHeader(identities: [AgeIdentity], input: inout AgeInput) throws(AgeError) -> SymmetricKey {
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
        return payloadKey(fileKey: fileKey, nonce: nonce)
    }

    /// Opens one sealed chunk (ciphertext and tag); nil when it does not authenticate.
    static func open(_ chunk: [UInt8], counter: UInt64, last: Bool, key: SymmetricKey) -> [UInt8]? {
        guard chunk.count >= tagSize,
            let box = try? ChaChaPoly.SealedBox(
                nonce: nonce(counter, last: last), ciphertext: chunk.prefix(chunk.count - tagSize),
                tag: chunk.suffix(tagSize)),
            let plain = try? ChaChaPoly.open(box, using: key)
        else { return nil }
        return Array(plain)
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
        var out: [UInt8] = []
        out.reserveCapacity(
            (pending.count + bytes.count) / AgeStream.chunkSize * (AgeStream.chunkSize + AgeStream.tagSize))
        var rest = bytes[...]
        while !rest.isEmpty {
            // A chunk is sealed only once a byte beyond it has come: the last chunk is sealed differently.
            if pending.count == AgeStream.chunkSize {
                seal(pending[...], last: false, into: &out)
                pending.removeAll(keepingCapacity: true)
            }
            let take = rest.prefix(AgeStream.chunkSize - pending.count)
            pending.append(contentsOf: take)
            rest = rest[take.endIndex...]
        }
        return out
    }

    /// The last chunk's ciphertext.
    public mutating func finish() -> [UInt8] {
        seal(pending[...], last: true)
    }

    private mutating func seal(_ chunk: ArraySlice<UInt8>, last: Bool) -> [UInt8] {
        var out: [UInt8] = []
        seal(chunk, last: last, into: &out)
        return out
    }

    private mutating func seal(_ chunk: ArraySlice<UInt8>, last: Bool, into out: inout [UInt8]) {
        // A valid key and nonce: sealing cannot fail.
        let box = try! ChaChaPoly.seal(chunk, using: key, nonce: AgeStream.nonce(counter, last: last))
        counter += 1
        out.append(contentsOf: box.ciphertext)
        out.append(contentsOf: box.tag)
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
        key = try AgeStream.openHeader(identities: identities, input: &input)
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
        AgeStream.open(chunk, counter: counter, last: last, key: key)
    }
}

/// Decrypts any range of an age file whose bytes can be read at any position, one 64 KiB chunk at a time: what
/// a zip inside an age file needs to be read through its central directory without its plaintext being
/// written anywhere.
///
/// Each chunk is authenticated before any of its bytes is returned; the chunk counter and the last-chunk flag
/// follow from the chunk's position and the file's size, so a chunk moved, dropped or cut fails to
/// authenticate. ``authenticateRemaining()`` checks the chunks no read touched.
public struct AgeRandomAccessDecryptor {
    /// The size of the plaintext.
    public let plaintextSize: UInt64
    private let read: (UInt64, Int) throws(AgeError) -> [UInt8]
    private let key: SymmetricKey
    private let payloadStart: UInt64
    private let chunkCount: UInt64
    private let ciphertextSize: UInt64
    private var cachedIndex: UInt64?
    private var cached: [UInt8] = []
    private var authenticated: [UInt64]

    private static let sealedChunk = UInt64(AgeStream.chunkSize + AgeStream.tagSize)

    /// Reads and opens the header of the age file of `size` bytes that `read(offset, count)` reads from (exactly
    /// `count` bytes, fewer only at the end), with one of `identities`.
    /// - Throws: ``AgeError`` with the header's kinds (``AgeError/Kind/header``, ``AgeError/Kind/noMatch``,
    ///   ``AgeError/Kind/headerMAC``), or ``AgeError/Kind/payload`` when the payload's size cannot be that of an
    ///   age payload (truncated inside a chunk's tag, or an empty last chunk after others).
    public init(
        identities: [AgeIdentity], size: UInt64, read: @escaping (UInt64, Int) throws(AgeError) -> [UInt8]
    ) throws(AgeError) {
        var position: UInt64 = 0
        var input = AgeInput { (count: Int) throws(AgeError) -> [UInt8] in
            let bytes = try read(position, count)
            position += UInt64(bytes.count)
            return bytes
        }
        key = try AgeStream.openHeader(identities: identities, input: &input)
        payloadStart = UInt64(input.consumed)
        self.read = read
        guard size > payloadStart else { throw AgeError(.payload, "the payload is missing") }
        let payload = size - payloadStart
        let chunks = (payload + Self.sealedChunk - 1) / Self.sealedChunk
        let last = payload - (chunks - 1) * Self.sealedChunk
        guard last >= UInt64(AgeStream.tagSize) else {
            throw AgeError(.payload, "the payload ends inside a chunk's tag: it was cut")
        }
        guard last > UInt64(AgeStream.tagSize) || chunks == 1 else {
            throw AgeError(.payload, "the last chunk is empty, which only an empty payload may be")
        }
        chunkCount = chunks
        ciphertextSize = size
        plaintextSize = payload - chunks * UInt64(AgeStream.tagSize)
        authenticated = [UInt64](repeating: 0, count: Int((chunks + 63) / 64))
    }

    /// Reads up to `buffer.count` bytes of plaintext at `offset` into `buffer`; returns how many (0 at the end).
    /// - Throws: ``AgeError/Kind/payload`` when the chunk holding them does not authenticate, or what `read` throws.
    public mutating func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(AgeError) -> Int {
        var done = 0
        var offset = offset
        while done < buffer.count, offset < plaintextSize {
            let index = offset / UInt64(AgeStream.chunkSize)
            try load(index)
            let within = Int(offset % UInt64(AgeStream.chunkSize))
            let count = min(cached.count - within, buffer.count - done)
            guard count > 0 else { break }
            cached.withUnsafeBytes { chunk in
                buffer.baseAddress!.advanced(by: done).copyMemory(
                    from: chunk.baseAddress!.advanced(by: within), byteCount: count)
            }
            done += count
            offset += UInt64(count)
        }
        return done
    }

    /// Authenticates every chunk no read has yet, so that the whole file is known to be intact.
    /// - Throws: ``AgeError/Kind/payload`` at the first chunk that does not authenticate.
    public mutating func authenticateRemaining() throws(AgeError) {
        for index in 0..<chunkCount where authenticated[Int(index / 64)] & (1 << (index % 64)) == 0 {
            try load(index)
        }
    }

    private mutating func load(_ index: UInt64) throws(AgeError) {
        if cachedIndex == index { return }
        let start = payloadStart + index * Self.sealedChunk
        let count = Int(min(Self.sealedChunk, ciphertextSize - start))
        let sealed = try read(start, count)
        guard sealed.count == count else { throw AgeError(.payload, "the file ends before chunk \(index)") }
        let last = index == chunkCount - 1
        guard let plain = AgeStream.open(sealed, counter: index, last: last, key: key) else {
            throw AgeError(.payload, "chunk \(index) does not authenticate: the payload was changed or cut")
        }
        cached = plain
        cachedIndex = index
        authenticated[Int(index / 64)] |= 1 << (index % 64)
    }
}
