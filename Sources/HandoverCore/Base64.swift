/// Standard base64 (RFC 4648 §4) with padding.
public enum Base64 {
    package static let alphabet: [UInt8] = Array(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Encodes `data`, passing each output byte to `emit`.
    package static func encode(_ data: [UInt8], _ emit: (UInt8) -> Void) {
        var index = 0
        while index + 3 <= data.count {
            let chunk = UInt32(data[index]) << 16 | UInt32(data[index + 1]) << 8 | UInt32(data[index + 2])
            emit(alphabet[Int(chunk >> 18 & 63)])
            emit(alphabet[Int(chunk >> 12 & 63)])
            emit(alphabet[Int(chunk >> 6 & 63)])
            emit(alphabet[Int(chunk & 63)])
            index += 3
        }
        let rest = data.count - index
        if rest > 0 {
            let chunk = UInt32(data[index]) << 16 | (rest == 2 ? UInt32(data[index + 1]) << 8 : 0)
            emit(alphabet[Int(chunk >> 18 & 63)])
            emit(alphabet[Int(chunk >> 12 & 63)])
            emit(rest == 2 ? alphabet[Int(chunk >> 6 & 63)] : UInt8(ascii: "="))
            emit(UInt8(ascii: "="))
        }
    }

    /// Encodes `data` into `out`, which has room for `(data.count + 2) / 3 * 4` bytes.
    /// - Returns: How many bytes were written.
    package static func encode(_ data: UnsafeBufferPointer<UInt8>, into out: UnsafeMutablePointer<UInt8>) -> Int {
        alphabet.withUnsafeBufferPointer { alphabet in
            var index = 0
            var position = 0
            while index + 3 <= data.count {
                let chunk = UInt32(data[index]) << 16 | UInt32(data[index + 1]) << 8 | UInt32(data[index + 2])
                out[position] = alphabet[Int(chunk >> 18 & 63)]
                out[position + 1] = alphabet[Int(chunk >> 12 & 63)]
                out[position + 2] = alphabet[Int(chunk >> 6 & 63)]
                out[position + 3] = alphabet[Int(chunk & 63)]
                index += 3
                position += 4
            }
            let rest = data.count - index
            if rest > 0 {
                let chunk = UInt32(data[index]) << 16 | (rest == 2 ? UInt32(data[index + 1]) << 8 : 0)
                out[position] = alphabet[Int(chunk >> 18 & 63)]
                out[position + 1] = alphabet[Int(chunk >> 12 & 63)]
                out[position + 2] = rest == 2 ? alphabet[Int(chunk >> 6 & 63)] : UInt8(ascii: "=")
                out[position + 3] = UInt8(ascii: "=")
                position += 4
            }
            return position
        }
    }

    /// Encodes `data` as a string.
    public static func encode(_ data: [UInt8]) -> String {
        let length = (data.count + 2) / 3 * 4
        guard length > 0 else { return "" }
        return String(unsafeUninitializedCapacity: length) { buffer in
            data.withUnsafeBufferPointer { encode($0, into: buffer.baseAddress!) }
        }
    }

    /// Decodes standard base64 with padding, or returns nil when the text is not such base64.
    public static func decode(_ text: String) -> [UInt8]? {
        var lookup = [Int8](repeating: -1, count: 256)
        for (index, byte) in alphabet.enumerated() { lookup[Int(byte)] = Int8(index) }
        let input = Array(text.utf8)
        guard input.count % 4 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(input.count / 4 * 3)
        var index = 0
        while index < input.count {
            var chunk: UInt32 = 0
            var padding = 0
            for k in 0..<4 {
                let byte = input[index + k]
                if byte == UInt8(ascii: "="), index + 4 == input.count, k >= 2 {
                    padding += 1
                    chunk <<= 6
                    continue
                }
                guard padding == 0, lookup[Int(byte)] >= 0 else { return nil }
                chunk = chunk << 6 | UInt32(lookup[Int(byte)])
            }
            out.append(UInt8(chunk >> 16 & 0xFF))
            if padding < 2 { out.append(UInt8(chunk >> 8 & 0xFF)) }
            if padding < 1 { out.append(UInt8(chunk & 0xFF)) }
            index += 4
        }
        return out
    }
}
