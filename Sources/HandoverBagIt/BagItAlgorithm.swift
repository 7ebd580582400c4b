internal import Crypto
internal import HandoverCore

/// A digest algorithm BagIt manifests use.
///
/// The raw value is the name BagIt gives the algorithm in `manifest-<name>.txt`. RFC 8493 asks for
/// `sha256` and `sha512` and keeps `md5` and `sha1` for older bags; `sha224` and `sha384` are the
/// other SHA-2 names that bag-making tools write.
public enum BagItAlgorithm: String, Sendable, Hashable, CaseIterable {
    /// MD5, for older bags only.
    case md5
    /// SHA-1, for older bags only.
    case sha1
    /// SHA-224.
    case sha224
    /// SHA-256.
    case sha256
    /// SHA-384.
    case sha384
    /// SHA-512.
    case sha512

    /// The number of hexadecimal digits of a digest.
    var hexLength: Int {
        switch self {
        case .md5: 32
        case .sha1: 40
        case .sha224: 56
        case .sha256: 64
        case .sha384: 96
        case .sha512: 128
        }
    }
}

/// Multi-digest hasher: feed bytes once, get the hex digest of every algorithm asked for.
public struct BagItHasher: Sendable {
    private var md5: Insecure.MD5?
    private var sha1: Insecure.SHA1?
    private var sha224: SHA224?
    private var sha256: SHA256?
    private var sha384: SHA384?
    private var sha512: SHA512?

    /// Creates a hasher computing the digests of `algorithms`.
    public init(_ algorithms: Set<BagItAlgorithm>) {
        if algorithms.contains(.md5) { md5 = Insecure.MD5() }
        if algorithms.contains(.sha1) { sha1 = Insecure.SHA1() }
        if algorithms.contains(.sha224) { sha224 = SHA224() }
        if algorithms.contains(.sha256) { sha256 = SHA256() }
        if algorithms.contains(.sha384) { sha384 = SHA384() }
        if algorithms.contains(.sha512) { sha512 = SHA512() }
    }

    /// Feeds the next bytes to every algorithm.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        md5?.update(bufferPointer: bytes)
        sha1?.update(bufferPointer: bytes)
        sha224?.update(bytes)
        sha256?.update(bufferPointer: bytes)
        sha384?.update(bufferPointer: bytes)
        sha512?.update(bufferPointer: bytes)
    }

    /// The lowercase hexadecimal digest of everything fed, for every algorithm asked for.
    public func finalize() -> [BagItAlgorithm: String] {
        var digests: [BagItAlgorithm: String] = [:]
        if let md5 { digests[.md5] = md5.finalize().hexString }
        if let sha1 { digests[.sha1] = sha1.finalize().hexString }
        if let sha224 { digests[.sha224] = sha224.finalize().hexString }
        if let sha256 { digests[.sha256] = sha256.finalize().hexString }
        if let sha384 { digests[.sha384] = sha384.finalize().hexString }
        if let sha512 { digests[.sha512] = sha512.finalize().hexString }
        return digests
    }

    /// The digests of `bytes`, whole.
    static func digests(of bytes: [UInt8], _ algorithms: Set<BagItAlgorithm>) -> [BagItAlgorithm: String] {
        var hasher = BagItHasher(algorithms)
        bytes.withUnsafeBytes { hasher.update($0) }
        return hasher.finalize()
    }
}

/// SHA-224 (FIPS 180-4), which swift-crypto does not offer: SHA-256 with other initial values, cut to 28 bytes.
struct SHA224: Sendable {
    private var state: [UInt32] = [
        0xc105_9ed8, 0x367c_d507, 0x3070_dd17, 0xf70e_5939, 0xffc0_0b31, 0x6858_1511, 0x64f9_8fa7, 0xbefa_4fa4,
    ]
    private var pending: [UInt8] = []
    private var length: UInt64 = 0

    private static let roundConstants: [UInt32] = [
        0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5,
        0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174,
        0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da,
        0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7, 0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967,
        0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85,
        0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070,
        0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
        0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2,
    ]

    /// Feeds the next bytes.
    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        length &+= UInt64(bytes.count)
        var offset = 0
        if !pending.isEmpty {
            let take = min(64 - pending.count, bytes.count)
            pending.append(contentsOf: bytes[0..<take])
            offset = take
            guard pending.count == 64 else { return }
            let block = pending
            pending.removeAll(keepingCapacity: true)
            block.withUnsafeBytes { compress(blocks: $0) }
        }
        let whole = (bytes.count - offset) / 64 * 64
        if whole > 0 { compress(blocks: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + whole)])) }
        pending.append(contentsOf: bytes[(offset + whole)...])
    }

    /// The 28-byte digest of everything fed.
    func finalize() -> [UInt8] {
        var copy = self
        var tail = copy.pending
        let bitLength = length &* 8
        tail.append(0x80)
        while tail.count % 64 != 56 { tail.append(0) }
        for shift in stride(from: 56, through: 0, by: -8) { tail.append(UInt8(truncatingIfNeeded: bitLength >> shift)) }
        tail.withUnsafeBytes { copy.compress(blocks: $0) }
        var digest: [UInt8] = []
        for word in copy.state.prefix(7) {
            for shift in stride(from: 24, through: 0, by: -8) {
                digest.append(UInt8(truncatingIfNeeded: word >> shift))
            }
        }
        return digest
    }

    /// Runs the SHA-256 compression function over whole 64-byte blocks.
    private mutating func compress(blocks: UnsafeRawBufferPointer) {
        Self.roundConstants.withUnsafeBufferPointer { k in
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
                var h0 = state[0], h1 = state[1], h2 = state[2], h3 = state[3]
                var h4 = state[4], h5 = state[5], h6 = state[6], h7 = state[7]
                var base = 0
                while base + 64 <= blocks.count {
                    for i in 0..<16 {
                        let p = base + i * 4
                        w[i] =
                            UInt32(blocks[p]) << 24 | UInt32(blocks[p + 1]) << 16
                            | UInt32(blocks[p + 2]) << 8 | UInt32(blocks[p + 3])
                    }
                    for i in 16..<64 {
                        let s0 = rotate(w[i - 15], 7) ^ rotate(w[i - 15], 18) ^ (w[i - 15] >> 3)
                        let s1 = rotate(w[i - 2], 17) ^ rotate(w[i - 2], 19) ^ (w[i - 2] >> 10)
                        w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
                    }
                    var a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7
                    for i in 0..<64 {
                        let s1 = rotate(e, 6) ^ rotate(e, 11) ^ rotate(e, 25)
                        let choice = (e & f) ^ (~e & g)
                        let t1 = h &+ s1 &+ choice &+ k[i] &+ w[i]
                        let s0 = rotate(a, 2) ^ rotate(a, 13) ^ rotate(a, 22)
                        let majority = (a & b) ^ (a & c) ^ (b & c)
                        let t2 = s0 &+ majority
                        h = g
                        g = f
                        f = e
                        e = d &+ t1
                        d = c
                        c = b
                        b = a
                        a = t1 &+ t2
                    }
                    h0 &+= a
                    h1 &+= b
                    h2 &+= c
                    h3 &+= d
                    h4 &+= e
                    h5 &+= f
                    h6 &+= g
                    h7 &+= h
                    base += 64
                }
                state = [h0, h1, h2, h3, h4, h5, h6, h7]
            }
        }
    }
}

@inline(__always)
private func rotate(_ value: UInt32, _ count: UInt32) -> UInt32 {
    (value >> count) | (value << (32 - count))
}

extension Digest {
    /// Lowercase hexadecimal.
    package var hexString: String { Array(self).hexString }
}
