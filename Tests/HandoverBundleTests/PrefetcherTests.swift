import HandoverCore
import Testing

@testable import HandoverBundle

/// The source read ahead on a thread against the source read directly: the same bytes, the same error at the same
/// place, and the source handed back read through.
@Suite struct PrefetcherTests {
    /// A source of `bytes` in blocks of `blockSize` that throws after `failAfter` bytes, if given.
    struct Source: ByteSource {
        struct Broken: Error, Equatable {}
        var bytes: [UInt8]
        var blockSize: Int
        var failAfter: Int?
        var offset = 0

        mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            if let failAfter, offset >= failAfter { throw Broken() }
            let limit = failAfter.map { min(bytes.count, $0) } ?? bytes.count
            let count = min(buffer.count, blockSize, limit - offset)
            guard count > 0 else { return 0 }
            for index in 0..<count { buffer[index] = bytes[offset + index] }
            offset += count
            return count
        }
    }

    /// Everything read from `source` in blocks of `readSize`, and the error that ended it, if any.
    static func readAll(_ source: inout some ByteSource, readSize: Int) -> (bytes: [UInt8], failed: Bool) {
        var result: [UInt8] = []
        var block = [UInt8](repeating: 0, count: readSize)
        while true {
            do {
                let count = try block.withUnsafeMutableBytes { try source.read(into: $0) }
                if count == 0 { return (result, false) }
                result += block[0..<count]
            } catch {
                return (result, true)
            }
        }
    }

    @Test(arguments: [0, 1, 1000, 256 * 1024, 256 * 1024 + 1, 3_000_000])
    func yieldsWhatTheSourceYields(size: Int) throws {
        var random = SystemRandomNumberGenerator()
        let bytes = (0..<size).map { _ in UInt8.random(in: 0...255, using: &random) }
        for (blockSize, readSize) in [(1 << 20, 64 * 1024), (7, 13), (300_000, 1)] where readSize > 1 || size <= 1000 {
            for failAfter in [nil, size / 2, size] as [Int?] {
                var direct = Source(bytes: bytes, blockSize: blockSize, failAfter: failAfter)
                let expected = Self.readAll(&direct, readSize: readSize)
                var source = Source(bytes: bytes, blockSize: blockSize, failAfter: failAfter)
                var found: (bytes: [UInt8], failed: Bool)?
                do {
                    try Prefetcher.run(&source) { found = Self.readAll(&$0, readSize: readSize) }
                    // Read through, with nothing failed.
                    #expect(!expected.failed)
                    #expect(source.offset == size)
                } catch {
                    // The source's error, thrown again where the rest is drained.
                    #expect(error is Source.Broken)
                    #expect(expected.failed)
                }
                #expect(found?.bytes == expected.bytes)
                #expect(found?.failed == expected.failed)
            }
        }
    }

    @Test func drainsWhatTheBodyLeftAndStopsWhenItThrows() throws {
        let bytes = [UInt8](repeating: 7, count: 2_000_000)
        var source = Source(bytes: bytes, blockSize: 100_000, failAfter: nil)
        let first = try Prefetcher.run(&source) { reader -> Int in
            var one = [UInt8](repeating: 0, count: 10)
            return try one.withUnsafeMutableBytes { try reader.read(into: $0) }
        }
        #expect(first == 10)
        #expect(source.offset == bytes.count)
        struct Stop: Error {}
        var stopped = Source(bytes: bytes, blockSize: 100_000, failAfter: nil)
        #expect(throws: Stop.self) { try Prefetcher.run(&stopped) { _ in throw Stop() } }
        #expect(stopped.offset <= 4 * 256 * 1024 + 100_000)
        var failing = Source(bytes: bytes, blockSize: 100_000, failAfter: 500_000)
        #expect(throws: Source.Broken.self) { try Prefetcher.run(&failing) { _ in 0 } }
    }
}
