/// A set of 8-byte keys for the foreign-key checks of verify and of an export (``ReferenceTracker``) that holds runs
/// of nearby integers (a table's ids) as a bitmap, one bit a key, and any other key in a ``KeySet``.
///
/// The bitmap covers the keys from `base` (wrapping around: a key's bit is `key &- base`, modulo 2⁶⁴, so every key
/// has one place and the bitmap may cross `Int64.max`). It grows only by doubling and only while it holds at most
/// 64 bits (8 bytes) per key held, so it never takes more memory than the keys would in the ``KeySet``: keys chosen
/// far apart all go to the ``KeySet``, whose hash is seeded per process. A key is never in both: when the bitmap
/// grows over keys held in the ``KeySet``, they move into it.
struct DenseKeySet {
    /// The smallest bitmap, in 64-bit words (4 KiB), and so the most it may hold with few keys.
    private static let minimumWords = 512

    private var words: [UInt64] = []
    /// The key of bit 0 of `words[0]`.
    private var base: Int64 = 0
    private var sparse = KeySet()
    /// How many keys the set holds.
    private(set) var count = 0

    /// An empty set.
    init() {}

    /// The bytes the set's storage takes.
    var bytes: Int { words.count * 8 + sparse.bytes }

    /// Where `key` is in the bitmap, or nil when the bitmap does not cover it.
    @inline(__always)
    private func offset(_ key: Int64) -> Int? {
        let offset = UInt64(bitPattern: key &- base)
        return offset < UInt64(words.count) &<< 6 ? Int(truncatingIfNeeded: offset) : nil
    }

    /// Whether `key` is in the set.
    @inline(__always)
    func contains(_ key: Int64) -> Bool {
        if let offset = offset(key) {
            return words.withUnsafeBufferPointer { $0[offset &>> 6] & (1 &<< UInt64(offset & 63)) != 0 }
        }
        return sparse.count > 0 && sparse.contains(key)
    }

    /// Adds `key`.
    /// - Returns: Whether it was not in the set before.
    @discardableResult
    mutating func insert(_ key: Int64) -> (inserted: Bool, memberAfterInsert: Int64) {
        if let offset = offset(key) ?? cover(key) {
            let bit: UInt64 = 1 &<< UInt64(offset & 63)
            let inserted = words.withUnsafeMutableBufferPointer { words in
                let word = words[offset &>> 6]
                words[offset &>> 6] = word | bit
                return word & bit == 0
            }
            if inserted { count += 1 }
            return (inserted, key)
        }
        let inserted = sparse.insert(key).inserted
        if inserted { count += 1 }
        return (inserted, key)
    }

    /// Grows the bitmap to cover `key` when that at least doubles it and keeps it within 64 bits a key held
    /// (counting `key`), moving the keys of the ``KeySet`` it now covers into it; `key`'s offset then, else nil.
    private mutating func cover(_ key: Int64) -> Int? {
        let limit = max(Self.minimumWords, count + 1)
        if words.isEmpty {
            base = key & ~63
            words = Array(repeating: 0, count: Self.minimumWords)
            return offset(key)
        }
        let covered = UInt64(words.count) &<< 6
        // Bits beyond the end, or before the start, that the bitmap would need to cover `key`.
        let above = UInt64(bitPattern: key &- base) &- covered &+ 1
        let below = UInt64(bitPattern: base &- key)
        let needed = min(above, below)
        // More than any bitmap allowed here: the key goes to the KeySet.
        guard needed <= UInt64(limit) &<< 6 else { return nil }
        let grown = max(words.count * 2, words.count + Int((needed + 63) >> 6))
        guard grown <= limit else { return nil }
        let added = grown - words.count
        if above <= below {
            words.append(contentsOf: repeatElement(0, count: added))
        } else {
            words.insert(contentsOf: repeatElement(0, count: added), at: 0)
            base = base &- Int64(added) &* 64
        }
        if sparse.count > 0 {
            let old = sparse
            sparse = KeySet()
            old.forEach { moved in
                if let offset = offset(moved) {
                    words[offset >> 6] |= 1 &<< UInt64(offset & 63)
                } else {
                    sparse.insert(moved)
                }
            }
        }
        return offset(key)
    }

    /// Whether every key satisfies `predicate`.
    func allSatisfy(_ predicate: (Int64) -> Bool) -> Bool {
        for (index, word) in words.enumerated() where word != 0 {
            var rest = word
            while rest != 0 {
                let bit = rest.trailingZeroBitCount
                if !predicate(base &+ Int64(index &* 64 &+ bit)) { return false }
                rest &= rest &- 1
            }
        }
        return sparse.allSatisfy(predicate)
    }
}
