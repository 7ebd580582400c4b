import Foundation
import HandoverCore
import TestSupport
import Testing

@testable import HandoverArchive

/// Chunks deflated apart by libdeflate and joined into one stream, judged by Python's zlib: every way a stream can
/// end (0 to 7 spare bits, a stored final block, a one-block and a many-block stream) continues correctly.
@Suite struct DeflatePiecesTests {
    /// Bytes of one of three kinds, the same for the same seed: text-like, random (libdeflate stores them), or one
    /// byte repeated (a single short block).
    static func bytes(_ count: Int, kind: Int, seed: Int) -> [UInt8] {
        var state = UInt64(truncatingIfNeeded: seed) &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0..<count).map { index in
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            switch kind {
            case 0: return UInt8(97 + (index * 7 + Int(state % 3)) % 26)
            case 1: return UInt8(truncatingIfNeeded: state)
            default: return 0x41
            }
        }
    }

    @Test func piecesOfEveryShapeJoinIntoOneStreamThatZlibInflates() async throws {
        try await withTemporaryDirectory { folder in
            let codec = ChunkCodec(kind: .deflate, level: nil)
            var spareBits: Set<Int> = []
            var cases: [(pieces: [[UInt8]], joined: [UInt8])] = []
            for seed in 0..<120 {
                // Two to four pieces; sizes from empty to past libdeflate's block size, of mixed kinds.
                let pieces = (0..<(2 + seed % 3)).map { index -> [UInt8] in
                    let size = [0, 1, 2, 3, 5, 17, 100, 999, 40_000, 300_000][(seed * 7 + index * 3) % 10]
                    return Self.bytes(size, kind: (seed + index) % 3, seed: seed * 10 + index)
                }
                var joined: [UInt8] = []
                for (index, piece) in pieces.enumerated() {
                    let last = index == pieces.count - 1
                    if !last {
                        var whole = try codec.deflatePiece(piece, last: true)
                        spareBits.insert(try ChunkCodec.finalBlock(of: whole).unusedBits)
                        try ChunkCodec.continueStream(&whole)
                        #expect(whole == (try codec.deflatePiece(piece, last: false)))
                    }
                    joined += try codec.deflatePiece(piece, last: last)
                }
                cases.append((pieces, joined))
            }
            #expect(spareBits == Set(0..<8), "every number of spare bits at a stream's end was met")
            for (index, item) in cases.enumerated() {
                try Data(item.joined).write(to: URL(fileURLWithPath: folder + "/\(index).deflate"))
                try Data(item.pieces.joined()).write(to: URL(fileURLWithPath: folder + "/\(index).raw"))
            }
            let script = """
                import sys, zlib
                for i in range(int(sys.argv[2])):
                    data = open(f"{sys.argv[1]}/{i}.deflate", "rb").read()
                    inflater = zlib.decompressobj(-15)
                    out = inflater.decompress(data)
                    ok = inflater.eof and not inflater.unused_data and out == open(f"{sys.argv[1]}/{i}.raw", "rb").read()
                    print(i, "ok" if ok else "BAD")
                """
            let python = try run("/usr/bin/env", ["python3", "-c", script, folder, String(cases.count)])
            #expect(python.status == 0, "\(python.stderr)")
            let lines = python.stdout.split(separator: "\n")
            #expect(lines.count == cases.count)
            #expect(lines.allSatisfy { $0.hasSuffix(" ok") }, "\(lines.filter { !$0.hasSuffix(" ok") })")
        }
    }

    @Test func bytesThatAreNotOneCompleteStreamAreRefused() throws {
        let codec = ChunkCodec(kind: .deflate, level: nil)
        let whole = try codec.deflatePiece(Self.bytes(5000, kind: 0, seed: 1), last: true)
        for damaged in [[], Array(whole.dropLast()), whole + [0], try codec.deflatePiece([1, 2, 3], last: false)] {
            var stream = damaged
            #expect(throws: HandoverError.self) { try ChunkCodec.continueStream(&stream) }
        }
    }
}
