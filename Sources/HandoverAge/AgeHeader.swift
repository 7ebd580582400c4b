internal import Crypto

/// One recipient stanza of an age header: a type, its arguments, and a body.
public struct AgeStanza: Sendable, Hashable {
    /// The stanza's type (`X25519`, `scrypt`, or one this implementation does not know).
    public var type: String
    /// Its arguments after the type.
    public var arguments: [String]
    /// Its body.
    public var body: [UInt8]

    /// A stanza.
    public init(type: String, arguments: [String], body: [UInt8]) {
        self.type = type
        self.arguments = arguments
        self.body = body
    }
}

/// The header of an age v1 file: its stanzas and MAC, and the bytes the MAC covers.
struct AgeHeader {
    static let version = Array("age-encryption.org/v1\n".utf8)
    /// A header larger than this is refused (a real one is a few hundred bytes per recipient).
    static let maximumSize = 1 << 20

    var stanzas: [AgeStanza]
    var mac: [UInt8]
    /// The header up to and including `---`: what the MAC covers.
    var authenticated: [UInt8]

    /// The header's encoding up to and including `---`.
    static func encode(_ stanzas: [AgeStanza]) -> [UInt8] {
        var out = version
        for stanza in stanzas {
            out += Array(("-> " + ([stanza.type] + stanza.arguments).joined(separator: " ") + "\n").utf8)
            let encoded = Array(AgeBase64.encode(stanza.body).utf8)
            var start = 0
            // Full lines of 64 columns, then a short (possibly empty) final line.
            while encoded.count - start >= 64 {
                out += encoded[start..<start + 64] + [10]
                start += 64
            }
            out += encoded[start...] + [10]
        }
        return out + Array("---".utf8)
    }

    /// The MAC of a header: HMAC-SHA-256 of `authenticated`, keyed with HKDF(file key, info "header").
    static func mac(fileKey: [UInt8], authenticated: [UInt8]) -> [UInt8] {
        let key = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: fileKey), info: Array("header".utf8), outputByteCount: 32)
        return Array(HMAC<SHA256>.authenticationCode(for: authenticated, using: key))
    }

    /// Reads a header from `input`, which is left at the first byte after it.
    /// - Throws: ``AgeError/Kind/header`` naming the first rule broken.
    static func read(from input: inout AgeInput) throws(AgeError) -> AgeHeader {
        func fail(_ message: String) -> AgeError { AgeError(.header, message) }
        var consumed: [UInt8] = []
        func line() throws(AgeError) -> [UInt8] {
            guard let line = try input.line(limit: maximumSize - consumed.count) else {
                throw fail("the header ends before its MAC line")
            }
            consumed += line
            return line
        }
        guard try line() == version else { throw fail("the first line is not 'age-encryption.org/v1'") }
        var stanzas: [AgeStanza] = []
        while true {
            let current = try line()
            guard current.last == 10 else { throw fail("a header line does not end with a line feed") }
            let text = current.dropLast()
            if text.starts(with: Array("---".utf8)) {
                // `--- <MAC>`: exactly one space, canonical base64 of 32 bytes, nothing else.
                let fields = text.split(separator: 32, omittingEmptySubsequences: false)
                guard fields.count == 2, fields[0].elementsEqual("---".utf8), fields[1].count == 43,
                    let mac = AgeBase64.decode(fields[1]), mac.count == 32
                else { throw fail("the MAC line is malformed") }
                return AgeHeader(stanzas: stanzas, mac: mac, authenticated: Array(consumed.dropLast(text.count - 2)))
            }
            guard text.starts(with: Array("-> ".utf8)) else { throw fail("a stanza does not begin with '-> '") }
            let arguments = text.dropFirst(3).split(separator: 32, omittingEmptySubsequences: false)
            guard !arguments.isEmpty,
                arguments.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0 >= 33 && $0 <= 126 } })
            else { throw fail("a stanza has an empty argument or a character outside printable ASCII") }
            var body: [UInt8] = []
            while true {
                let bodyLine = try line()
                guard bodyLine.last == 10 else { throw fail("a stanza body line does not end with a line feed") }
                let encoded = bodyLine.dropLast()
                guard encoded.count <= 64 else { throw fail("a stanza body line is longer than 64 columns") }
                guard let decoded = AgeBase64.decode(encoded) else {
                    throw fail("a stanza body is not canonical unpadded base64")
                }
                body += decoded
                if encoded.count < 64 { break }
            }
            let strings = arguments.map { String(decoding: $0, as: UTF8.self) }
            stanzas.append(AgeStanza(type: strings[0], arguments: Array(strings.dropFirst()), body: body))
        }
    }
}

/// Bytes read from a file or a buffer, with the line reading the header needs.
struct AgeInput {
    private let source: (Int) throws(AgeError) -> [UInt8]
    private var buffer: [UInt8] = []
    private var start = 0
    private var ended = false
    /// The bytes taken from the source so far.
    private var taken = 0

    /// The bytes handed out so far: where the next byte stands in the file.
    var consumed: Int { taken - (buffer.count - start) }

    /// Input from `source`, which returns up to the number of bytes asked for, and none at the end.
    init(_ source: @escaping (Int) throws(AgeError) -> [UInt8]) { self.source = source }

    /// Input from bytes in memory.
    init(bytes: [UInt8]) {
        var given: [UInt8]? = bytes
        self.init { _ throws(AgeError) in
            defer { given = nil }
            return given ?? []
        }
    }

    private mutating func fill() throws(AgeError) -> Bool {
        if ended { return false }
        let more = try source(64 * 1024)
        if more.isEmpty {
            ended = true
            return false
        }
        taken += more.count
        if start > 0 {
            buffer.removeFirst(start)
            start = 0
        }
        buffer += more
        return true
    }

    /// The next line with its line feed (or what is left at the end, without one); nil at the end.
    mutating func line(limit: Int) throws(AgeError) -> [UInt8]? {
        var scanned = start
        while true {
            if let newline = buffer[scanned...].firstIndex(of: 10) {
                guard newline - start < limit else { throw AgeError(.header, "the header is too large") }
                defer { start = newline + 1 }
                return Array(buffer[start...newline])
            }
            guard buffer.count - start < limit else { throw AgeError(.header, "the header is too large") }
            scanned = buffer.count
            let before = start
            if try !fill() {
                guard buffer.count > start else { return nil }
                defer { start = buffer.count }
                return Array(buffer[start...])
            }
            scanned -= before - start
        }
    }

    /// Exactly `count` bytes, or fewer at the end.
    mutating func read(_ count: Int) throws(AgeError) -> [UInt8] {
        while buffer.count - start < count {
            if try !fill() { break }
        }
        let end = min(buffer.count, start + count)
        defer { start = end }
        return Array(buffer[start..<end])
    }
}
