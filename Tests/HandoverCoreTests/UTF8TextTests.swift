import Testing

@testable import HandoverCore

/// `UTF8Text.string` against the standard library's validating initializer, on random bytes biased to the edges of
/// UTF-8 (lead bytes, continuation bytes, surrogates, overlong forms, the end of the range).
@Suite struct UTF8TextTests {
    @Test func agreesWithTheStandardLibrarysValidation() {
        let pieces: [[UInt8]] = [
            [0x41], [0x00], [0x7F], [0xC2, 0x80], [0xC0, 0xAF], [0xC1, 0xBF], [0xE0, 0x80, 0x80], [0xE0, 0xA0, 0x80],
            [0xED, 0xA0, 0x80], [0xED, 0x9F, 0xBF], [0xEF, 0xBF, 0xBD], [0xF0, 0x90, 0x80, 0x80],
            [0xF4, 0x8F, 0xBF, 0xBF],
            [0xF4, 0x90, 0x80, 0x80], [0xF5], [0xFF], [0x80], [0xBF], [0xC3], [0xE2, 0x82], "é".utf8.map { $0 },
            "𝄞".utf8.map { $0 }, "plain text ".utf8.map { $0 },
        ]
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        func next() -> Int {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Int(state % 1_000_000)
        }
        var valid = 0
        for _ in 0..<20_000 {
            var bytes: [UInt8] = []
            for _ in 0..<(next() % 6) { bytes += pieces[next() % pieces.count] }
            let expected = String(validating: bytes, as: UTF8.self)
            let found = bytes.withUnsafeBufferPointer { UTF8Text.string($0) }
            #expect(found == expected, "\(bytes)")
            if expected != nil { valid += 1 }
        }
        #expect(valid > 1000)
        #expect(valid < 19_000)
    }
}
