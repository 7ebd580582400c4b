/// Text from bytes that must be UTF-8, as the data sources read it: one decoding pass, without the generic
/// validation path (which instantiates type metadata on each call when the bytes come from another module's
/// collection).
package enum UTF8Text {
    /// The bytes as a string, or nil when they are not valid UTF-8.
    ///
    /// Decoding repairs, in one pass, what is not UTF-8; text that was valid comes out as the same bytes, which is
    /// checked where a repair could have kept the length (anything but ASCII) with one comparison.
    @inline(__always)
    package static func string(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        guard !bytes.isEmpty else { return "" }
        let text = String(decoding: bytes, as: UTF8.self)
        if text.utf8.count != bytes.count { return nil }
        if isASCII(bytes) { return text }
        let same =
            text.utf8.withContiguousStorageIfAvailable { $0.elementsEqual(bytes) } ?? text.utf8.elementsEqual(bytes)
        return same ? text : nil
    }

    /// Whether every byte is below 0x80, eight at a time.
    package static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let raw = UnsafeRawPointer(base)
        var index = 0
        var high: UInt64 = 0
        while index &+ 8 <= bytes.count {
            high |= raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            index &+= 8
        }
        while index < bytes.count {
            high |= UInt64(base[index])
            index &+= 1
        }
        return high & 0x8080_8080_8080_8080 == 0
    }
}
