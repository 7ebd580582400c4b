/// BLAKE2b (RFC 7693), unkeyed, for minisign's prehashed signatures and key checksums (swift-crypto has none).
///
/// Whole 128-byte blocks are compressed straight from the caller's bytes, with the working vector in local
/// memory: a prehashed signature of a bundle of gigabytes reads every byte of it.
struct BLAKE2b {
    private static let iv: [UInt64] = [
        0x6a09_e667_f3bc_c908, 0xbb67_ae85_84ca_a73b, 0x3c6e_f372_fe94_f82b, 0xa54f_f53a_5f1d_36f1,
        0x510e_527f_ade6_82d1, 0x9b05_688c_2b3e_6c1f, 0x1f83_d9ab_fb41_bd6b, 0x5be0_cd19_137e_2179,
    ]
    /// The message schedule, ten rounds of sixteen indices (rounds 10 and 11 repeat 0 and 1).
    private static let sigma: [Int] = [
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
        14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3,
        11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4,
        7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8,
        9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13,
        2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9,
        12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11,
        13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10,
        6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5,
        10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0,
    ]

    private var state: [UInt64]
    private var counter: (low: UInt64, high: UInt64) = (0, 0)
    /// Bytes not yet compressed: at most one block, kept until more come (the last block is compressed apart).
    private var buffer: [UInt8] = []
    private let outputLength: Int

    /// A hash of `outputLength` bytes (1 to 64).
    init(outputLength: Int = 64) {
        self.outputLength = outputLength
        state = Self.iv
        state[0] ^= 0x0101_0000 ^ UInt64(outputLength)
        buffer.reserveCapacity(128)
    }

    /// Hashes more bytes. The last block is kept until ``finalize()``, which compresses it as the last.
    mutating func update(_ bytes: some Collection<UInt8>) {
        if let done = bytes.withContiguousStorageIfAvailable({ update(UnsafeRawBufferPointer($0)) }) {
            return done
        }
        Array(bytes).withUnsafeBytes { update($0) }
    }

    /// Hashes more bytes, read in place.
    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var rest = bytes[...]
        guard !rest.isEmpty else { return }
        // Complete the held block; compress it only once a byte beyond it has come.
        if !buffer.isEmpty || rest.count <= 128 {
            let take = min(128 - buffer.count, rest.count)
            buffer.append(contentsOf: rest.prefix(take))
            rest = rest.dropFirst(take)
            guard !rest.isEmpty else { return }
            add(128)
            buffer.withUnsafeBytes { compress($0.baseAddress!, last: false) }
            buffer.removeAll(keepingCapacity: true)
        }
        // Whole blocks straight from the input, all but the last.
        while rest.count > 128 {
            add(128)
            compress(bytes.baseAddress! + rest.startIndex, last: false)
            rest = rest.dropFirst(128)
        }
        buffer.append(contentsOf: rest)
    }

    /// The digest.
    mutating func finalize() -> [UInt8] {
        add(UInt64(buffer.count))
        buffer += [UInt8](repeating: 0, count: 128 - buffer.count)
        buffer.withUnsafeBytes { compress($0.baseAddress!, last: true) }
        var out: [UInt8] = []
        for word in state {
            for index in 0..<8 { out.append(UInt8(truncatingIfNeeded: word >> (8 * UInt64(index)))) }
        }
        return Array(out.prefix(outputLength))
    }

    /// The BLAKE2b-512 of `bytes`.
    static func hash(_ bytes: some Collection<UInt8>, outputLength: Int = 64) -> [UInt8] {
        var hasher = BLAKE2b(outputLength: outputLength)
        hasher.update(bytes)
        return hasher.finalize()
    }

    private mutating func add(_ count: UInt64) {
        let (low, overflow) = counter.low.addingReportingOverflow(count)
        counter = (low, counter.high &+ (overflow ? 1 : 0))
    }

    /// Compresses the 128-byte block at `block` into the state.
    private mutating func compress(_ block: UnsafeRawPointer, last: Bool) {
        let counter = self.counter
        state.withUnsafeMutableBufferPointer { state in
            Self.iv.withUnsafeBufferPointer { iv in
                Self.sigma.withUnsafeBufferPointer { sigma in
                    withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 32) { memory in
                        let m = memory.baseAddress!
                        let v = m + 16
                        for index in 0..<16 {
                            m[index] = UInt64(
                                littleEndian: block.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self))
                        }
                        for index in 0..<8 {
                            v[index] = state[index]
                            v[index + 8] = iv[index]
                        }
                        v[12] ^= counter.low
                        v[13] ^= counter.high
                        if last { v[14] = ~v[14] }
                        @inline(__always) func mix(_ a: Int, _ b: Int, _ c: Int, _ d: Int, _ x: UInt64, _ y: UInt64) {
                            v[a] = v[a] &+ v[b] &+ x
                            v[d] = (v[d] ^ v[a]).rotatedRight(32)
                            v[c] = v[c] &+ v[d]
                            v[b] = (v[b] ^ v[c]).rotatedRight(24)
                            v[a] = v[a] &+ v[b] &+ y
                            v[d] = (v[d] ^ v[a]).rotatedRight(16)
                            v[c] = v[c] &+ v[d]
                            v[b] = (v[b] ^ v[c]).rotatedRight(63)
                        }
                        for round in 0..<12 {
                            let s = sigma.baseAddress! + (round % 10) * 16
                            mix(0, 4, 8, 12, m[s[0]], m[s[1]])
                            mix(1, 5, 9, 13, m[s[2]], m[s[3]])
                            mix(2, 6, 10, 14, m[s[4]], m[s[5]])
                            mix(3, 7, 11, 15, m[s[6]], m[s[7]])
                            mix(0, 5, 10, 15, m[s[8]], m[s[9]])
                            mix(1, 6, 11, 12, m[s[10]], m[s[11]])
                            mix(2, 7, 8, 13, m[s[12]], m[s[13]])
                            mix(3, 4, 9, 14, m[s[14]], m[s[15]])
                        }
                        for index in 0..<8 { state[index] ^= v[index] ^ v[index + 8] }
                    }
                }
            }
        }
    }
}

extension UInt64 {
    /// The bits rotated right by `count` (1 to 63).
    @inline(__always) fileprivate func rotatedRight(_ count: UInt64) -> UInt64 { self >> count | self << (64 - count) }
}
