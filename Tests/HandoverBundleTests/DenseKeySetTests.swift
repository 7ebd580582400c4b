import Testing

@testable import HandoverBundle

/// The bitmap-backed key set against `Set<Int64>`, on runs of ids, keys far apart, and keys around the ends of
/// `Int64`'s range (where the bitmap wraps).
@Suite struct DenseKeySetTests {
    /// Inserts `keys` into both sets, comparing every answer, then every membership both ways.
    static func compare(_ keys: [Int64], probes: [Int64] = []) {
        var dense = DenseKeySet()
        var reference = Set<Int64>()
        for key in keys {
            #expect(dense.insert(key).inserted == reference.insert(key).inserted)
        }
        #expect(dense.count == reference.count)
        for probe in probes + keys.map({ $0 &+ 1 }) + keys.map({ $0 &- 1 }) {
            #expect(dense.contains(probe) == reference.contains(probe))
        }
        #expect(reference.allSatisfy { dense.contains($0) })
        #expect(dense.allSatisfy { reference.contains($0) })
        var seen = Set<Int64>()
        #expect(dense.allSatisfy { seen.insert($0).inserted })
        #expect(seen == reference)
    }

    @Test func holdsARunOfIds() {
        Self.compare(Array(1...200_000), probes: [0, -1, 200_001, 1 << 40, .min, .max])
    }

    @Test func holdsIdsOutOfOrder() {
        var generator = SystemRandomNumberGenerator()
        var keys = Array(Int64(-50_000)...50_000).shuffled(using: &generator)
        keys += keys.prefix(1000)
        Self.compare(keys)
    }

    @Test func holdsKeysFarApart() {
        var state: UInt64 = 7
        var keys: [Int64] = []
        for round in 0..<60_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            switch round % 6 {
            case 0: keys.append(Int64(bitPattern: state))
            case 1: keys.append(Int64(round))
            case 2: keys.append([Int64.min, .max, 0, -1, .min + 1, .max - 1].randomElement()!)
            case 3: keys.append(Int64(bitPattern: state) << 32)
            case 4: keys.append(-Int64(round) * 97)
            default: keys.append(Int64(round % 1000) + 1_000_000_000)
            }
        }
        Self.compare(keys, probes: keys.map { $0 ^ 1 })
    }

    /// Keys that first land in the hash set and are then covered by the bitmap as it grows towards them, upwards
    /// and downwards, across `Int64.max` and `Int64.min`.
    @Test func movesKeysIntoTheGrowingBitmap() {
        for start: Int64 in [0, Int64.max - 100_000, Int64.min + 100_000, -1] {
            var keys: [Int64] = [start &+ 150_000, start &- 150_000, start &+ 70_000]
            keys += (Int64(0)..<100_000).map { start &+ $0 }
            keys += (Int64(0)..<100_000).map { start &- $0 }
            keys += [start &+ 150_000, start &- 150_000, start &+ 70_000]
            Self.compare(keys, probes: [start &+ 150_001, start &- 150_001, .min, .max])
        }
    }

    /// Keys spread so that no bitmap may cover them: the memory stays that of the hash set.
    @Test func keepsSpreadKeysInTheHashSet() {
        var dense = DenseKeySet()
        for index in 0..<10_000 { dense.insert(Int64(index) << 20) }
        #expect(dense.count == 10_000)
        #expect(dense.bytes <= 512 * 8 + 16_384 * 8)
        var run = DenseKeySet()
        for index in 0..<1_000_000 { run.insert(Int64(index)) }
        #expect(run.bytes <= 1_000_000 / 8 * 2)
    }
}
