/// A set of 8-byte keys, for ``ReferenceTracker``: open addressing with linear probing in one array, the slot
/// chosen by a strong 64-bit mix of the key and a seed drawn once per process (as `Hasher`'s is), so that keys
/// chosen to collide cannot be found from the outside. Cheaper per row than `Set<Int64>`, whose SipHash runs for
/// every key written and looked up.
struct KeySet {
    /// The marker of an empty slot; the key with this value is kept in ``holdsMarker`` instead.
    private static let empty = Int64.min
    /// Mixed into every key's hash.
    private static let seed: UInt64 = {
        var hasher = Hasher()
        hasher.combine(0x5EED as UInt64)
        return UInt64(UInt(bitPattern: hasher.finalize()))
    }()

    private var slots: [Int64]
    private var mask: Int
    private var seed: UInt64
    private var holdsMarker = false
    /// How many keys the set holds.
    private(set) var count = 0

    /// An empty set.
    init() {
        slots = Array(repeating: Self.empty, count: 16)
        mask = 15
        seed = Self.seed
    }

    /// The first slot to try for `key`: the finaliser of MurmurHash3 over the key and the seed.
    @inline(__always)
    private func slot(_ key: Int64) -> Int {
        Self.slot(key, seed: seed, mask: mask)
    }

    @inline(__always)
    private static func slot(_ key: Int64, seed: UInt64, mask: Int) -> Int {
        var h = UInt64(bitPattern: key) ^ seed
        h = (h ^ (h >> 33)) &* 0xFF51_AFD7_ED55_8CCD
        h = (h ^ (h >> 33)) &* 0xC4CE_B9FE_1A85_EC53
        h ^= h >> 33
        return Int(truncatingIfNeeded: h) & mask
    }

    /// Whether `key` is in the set.
    func contains(_ key: Int64) -> Bool {
        if key == Self.empty { return holdsMarker }
        return slots.withUnsafeBufferPointer { slots in
            var index = slot(key)
            while true {
                let held = slots[index]
                if held == key { return true }
                if held == Self.empty { return false }
                index = (index &+ 1) & mask
            }
        }
    }

    /// Adds `key`.
    /// - Returns: Whether it was not in the set before.
    @discardableResult
    mutating func insert(_ key: Int64) -> (inserted: Bool, memberAfterInsert: Int64) {
        if key == Self.empty {
            defer { holdsMarker = true }
            if holdsMarker { return (false, key) }
            count += 1
            return (true, key)
        }
        if (count + 1) * 10 > (mask + 1) * 7 { grow() }
        let mask = self.mask
        let start = slot(key)
        let inserted = slots.withUnsafeMutableBufferPointer { slots in
            var index = start
            while true {
                let held = slots[index]
                if held == key { return false }
                if held == Self.empty {
                    slots[index] = key
                    return true
                }
                index = (index &+ 1) & mask
            }
        }
        if inserted { count += 1 }
        return (inserted, key)
    }

    /// The bytes the set's slots take.
    var bytes: Int { slots.count * 8 }

    /// Calls `body` with every key, in no particular order.
    func forEach(_ body: (Int64) throws -> Void) rethrows {
        if holdsMarker { try body(Self.empty) }
        for key in slots where key != Self.empty { try body(key) }
    }

    /// Whether every key satisfies `predicate`.
    func allSatisfy(_ predicate: (Int64) -> Bool) -> Bool {
        if holdsMarker, !predicate(Self.empty) { return false }
        for key in slots where key != Self.empty {
            if !predicate(key) { return false }
        }
        return true
    }

    private mutating func grow() {
        let old = slots
        slots = Array(repeating: Self.empty, count: old.count * 2)
        mask = old.count * 2 - 1
        let mask = self.mask
        let seed = self.seed
        slots.withUnsafeMutableBufferPointer { slots in
            for key in old where key != Self.empty {
                var index = Self.slot(key, seed: seed, mask: mask)
                while slots[index] != Self.empty { index = (index &+ 1) & mask }
                slots[index] = key
            }
        }
    }
}
