internal import CDeflate
internal import CZlib
internal import HandoverCore

/// One deflate stream made of chunks deflated apart, on any thread: how a zip entry is deflated on two cores.
///
/// libdeflate deflates each chunk whole (about three times faster than zlib at the same level, and a few percent
/// smaller), but always as a complete stream, its last block marked final. Every chunk but a file's last is then
/// made to continue the stream, as zlib's `gzjoin` joins streams:
/// 1. zlib inflates the chunk's stream block by block (`Z_BLOCK`) to find where its last block starts;
/// 2. that block's final bit (BFINAL, its header's first bit) is cleared;
/// 3. an empty stored block follows the last block's end, which brings the stream to a byte boundary, as a sync
///    flush does: `000` (not final, stored), padding to the byte, then `00 00 FF FF`.
///
/// Each piece starts on a byte with no reference to the bytes before it, so concatenated the pieces are one valid
/// deflate stream that any inflater reads.
extension ChunkCodec {
    /// Deflates `chunk` as one piece of a stream: ending the stream when `last`, continuing it otherwise.
    /// - Throws: ``HandoverError/Code/archiveFailed`` when libdeflate or zlib fails, or the stream is not as
    ///   libdeflate writes it.
    func deflatePiece(_ chunk: [UInt8], last: Bool) throws -> [UInt8] {
        // Room for the empty stored block beyond the bound.
        var output = try libdeflate(
            chunk, room: 8, bound: libdeflate_deflate_compress_bound, compress: libdeflate_deflate_compress)
        if !last { try Self.continueStream(&output) }
        return output
    }

    /// Compresses `chunk` into one whole gzip member: no file name, no time (the same bytes give the same member).
    /// - Throws: ``HandoverError/Code/archiveFailed`` when libdeflate fails.
    func gzipMember(_ chunk: [UInt8]) throws -> [UInt8] {
        try libdeflate(chunk, room: 0, bound: libdeflate_gzip_compress_bound, compress: libdeflate_gzip_compress)
    }

    /// Compresses `chunk` whole with a libdeflate compressor of this codec's level, into a buffer of `bound` bytes
    /// and `room` more.
    private func libdeflate(
        _ chunk: [UInt8], room: Int, bound: (OpaquePointer?, Int) -> Int,
        compress: (OpaquePointer?, UnsafeRawPointer?, Int, UnsafeMutableRawPointer?, Int) -> Int
    ) throws -> [UInt8] {
        let level = Int32(level ?? Self.defaultDeflateLevel)
        guard let compressor = libdeflate_alloc_compressor(level) else {
            throw HandoverError(.archiveFailed, "libdeflate could not allocate a compressor at level \(level)")
        }
        defer { libdeflate_free_compressor(compressor) }
        return try Self.libdeflate(compressor, chunk, room: room, bound: bound, compress: compress)
    }

    /// Compresses `chunk` whole with `compressor`, into a buffer of `bound` bytes and `room` more.
    static func libdeflate(
        _ compressor: OpaquePointer, _ chunk: [UInt8], room: Int, bound: (OpaquePointer?, Int) -> Int,
        compress: (OpaquePointer?, UnsafeRawPointer?, Int, UnsafeMutableRawPointer?, Int) -> Int
    ) throws -> [UInt8] {
        var output = [UInt8](repeating: 0, count: bound(compressor, chunk.count) + room)
        let count = chunk.withUnsafeBytes { input in
            output.withUnsafeMutableBytes { out in
                compress(compressor, input.baseAddress, input.count, out.baseAddress, out.count)
            }
        }
        guard count > 0 else { throw HandoverError(.archiveFailed, "libdeflate could not compress a chunk") }
        output.removeLast(output.count - count)
        return output
    }

    /// The CRC-32 (as zip and gzip use it) of `bytes` continued from `crc`.
    static func crc32(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return crc }
        return libdeflate_crc32(crc, base, bytes.count)
    }

    /// The CRC-32 of two runs of bytes one after the other, from the CRC-32 of each and the second's length.
    static func crc32(combining first: UInt32, _ second: UInt32, secondCount: Int) -> UInt32 {
        UInt32(handover_crc32_combine(UInt(first), UInt(second), Int64(secondCount)))
    }

    /// Turns a complete raw deflate stream into one that continues: its last block no longer final, then an empty
    /// stored block that ends on a byte.
    /// - Throws: ``HandoverError/Code/archiveFailed`` when the bytes are not one complete deflate stream.
    static func continueStream(_ stream: inout [UInt8]) throws {
        let end = try finalBlock(of: stream)
        stream[end.headerByte] &= ~end.headerMask
        // The stream ends `unusedBits` short of a byte: the stored block's 3 header bits go there (zero, as the
        // padding is), or spill into one more byte; then LEN 0 and NLEN 0xFFFF, on a byte boundary.
        stream[stream.count - 1] &= UInt8(truncatingIfNeeded: (0x100 >> end.unusedBits) - 1)
        if end.unusedBits < 3 { stream.append(0) }
        stream += [0x00, 0x00, 0xFF, 0xFF]
    }

    /// Where a complete raw deflate stream's final block starts (the byte and bit of its BFINAL) and how many bits of
    /// its last byte follow its end.
    static func finalBlock(of bytes: [UInt8]) throws -> (headerByte: Int, headerMask: UInt8, unusedBits: Int) {
        func malformed() -> HandoverError {
            HandoverError(.archiveFailed, "a deflated chunk is not one complete deflate stream")
        }
        guard !bytes.isEmpty else { throw malformed() }
        var stream = z_stream()
        guard handover_inflate_init_raw(&stream) == Z_OK else {
            throw HandoverError(.archiveFailed, "zlib could not start inflating")
        }
        defer { inflateEnd(&stream) }
        var junk = [UInt8](repeating: 0, count: 64 << 10)
        // The first block's header is the stream's first bit.
        var header = (byte: 0, mask: UInt8(1))
        return try bytes.withUnsafeBufferPointer { input in
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
            stream.avail_in = uInt(input.count)
            while true {
                let status = junk.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress
                    stream.avail_out = uInt(out.count)
                    return inflate(&stream, Z_BLOCK)
                }
                let consumed = input.count - Int(stream.avail_in)
                let unused = Int(stream.data_type & 63)
                // At a block's end (bit 7), fewer than 8 bits of the last byte taken are left. After the final block
                // (bit 6 too) the stream ends there: all of it one stream, the recorded header final.
                let atBlockEnd = stream.data_type & 128 != 0
                if status == Z_STREAM_END || (atBlockEnd && stream.data_type & 64 != 0) {
                    guard status == Z_OK || status == Z_STREAM_END, consumed == input.count, unused < 8,
                        input[header.byte] & header.mask != 0
                    else { throw malformed() }
                    return (header.byte, header.mask, unused)
                }
                guard status == Z_OK, consumed < input.count || stream.avail_out == 0 else { throw malformed() }
                // The next block's header starts `unused` bits before the end of the last byte taken, or at the next
                // byte.
                if atBlockEnd {
                    guard unused < 8 else { throw malformed() }
                    header = unused == 0 ? (consumed, 1) : (consumed - 1, UInt8(truncatingIfNeeded: 0x100 >> unused))
                    guard header.byte < input.count else { throw malformed() }
                }
            }
        }
    }
}

/// A libdeflate compressor kept for many inputs, each deflated whole into one complete raw deflate stream (what
/// ``ZipWriter`` does with a small entry): made once, as its tables take a few hundred KiB.
final class WholeDeflater {
    private let compressor: OpaquePointer

    /// A compressor at `level` (1 to 12, as libdeflate counts).
    /// - Throws: ``HandoverError/Code/archiveFailed`` when libdeflate cannot allocate one.
    init(level: Int32) throws {
        guard let compressor = libdeflate_alloc_compressor(level) else {
            throw HandoverError(.archiveFailed, "libdeflate could not allocate a compressor at level \(level)")
        }
        self.compressor = compressor
    }

    deinit { libdeflate_free_compressor(compressor) }

    /// `bytes` deflated, as one stream whose last block is final.
    /// - Throws: ``HandoverError/Code/archiveFailed`` when libdeflate fails.
    func deflate(_ bytes: [UInt8]) throws -> [UInt8] {
        try ChunkCodec.libdeflate(
            compressor, bytes, room: 0, bound: libdeflate_deflate_compress_bound, compress: libdeflate_deflate_compress)
    }
}
