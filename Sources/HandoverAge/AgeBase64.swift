/// Base64 as age writes it: the standard alphabet without padding in the header, with padding in the armor. Only
/// canonical encodings are accepted (the bits after the last whole byte must be zero), as the spec requires.
enum AgeBase64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let values: [Int8] = {
        var table = [Int8](repeating: -1, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = Int8(index) }
        return table
    }()

    /// `bytes` in base64, padded with `=` when `padded`.
    static func encode(_ bytes: some Collection<UInt8>, padded: Bool = false) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var iterator = bytes.makeIterator()
        while let first = iterator.next() {
            let second = iterator.next()
            let third = second == nil ? nil : iterator.next()
            let group = UInt32(first) << 16 | UInt32(second ?? 0) << 8 | UInt32(third ?? 0)
            out.append(alphabet[Int(group >> 18 & 63)])
            out.append(alphabet[Int(group >> 12 & 63)])
            if second != nil { out.append(alphabet[Int(group >> 6 & 63)]) } else if padded { out.append(61) }
            if third != nil { out.append(alphabet[Int(group & 63)]) } else if padded { out.append(61) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes of unpadded, canonical base64, or nil.
    static func decode(_ text: some Collection<UInt8>) -> [UInt8]? {
        let count = text.count
        guard count % 4 != 1 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for byte in text {
            let value = values[Int(byte)]
            guard value >= 0 else { return nil }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(accumulator >> UInt32(bits) & 0xff))
            }
        }
        // Canonical: the leftover bits (2 or 4) are zero.
        guard accumulator & ((1 << UInt32(bits)) - 1) == 0 else { return nil }
        return out
    }

    /// The bytes of padded, canonical base64 (a multiple of 4 characters, `=` only at the end), or nil.
    static func decodePadded(_ text: [UInt8]) -> [UInt8]? {
        guard text.count % 4 == 0 else { return nil }
        var body = text[...]
        var padding = 0
        while body.last == 61 && padding < 2 {
            body = body.dropLast()
            padding += 1
        }
        guard !body.contains(61), (padding == 0 || body.count % 4 == 4 - padding) else { return nil }
        return decode(body)
    }
}
