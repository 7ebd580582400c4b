import Testing

@testable import HandoverBundle

@Suite struct KeySetTests {
    @Test func holdsWhatASetHolds() {
        var keys = KeySet()
        var reference = Set<Int64>()
        var state: UInt64 = 1
        for round in 0..<50_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let key: Int64 =
                switch round % 5 {
                case 0: Int64(bitPattern: state)
                case 1: Int64(round % 1000)
                case 2: [Int64.min, Int64.max, 0, -1].randomElement()!
                case 3: Int64(bitPattern: state) << 32
                default: -Int64(round)
                }
            #expect(keys.insert(key).inserted == reference.insert(key).inserted)
            if round % 7 == 0 {
                let probe = Int64(bitPattern: state >> 3)
                #expect(keys.contains(probe) == reference.contains(probe))
            }
        }
        #expect(keys.count == reference.count)
        #expect(reference.allSatisfy { keys.contains($0) })
        #expect(keys.allSatisfy { reference.contains($0) })
        #expect(!keys.allSatisfy { $0 != Int64.min })
        #expect(KeySet().allSatisfy { _ in false })
    }
}
