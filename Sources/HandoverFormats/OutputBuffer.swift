internal import HandoverCore

/// Collects small writes and hands them to a sink in blocks of about 64 KiB.
///
/// Not generic on purpose: the writers' hot paths append bytes here many times per row, and a buffer
/// generic over a sink type from another module would run unspecialised, looking up generic metadata
/// at run time on every append. The sink is called once per block, through an existential.
///
/// The bytes live in memory of its own, written through a pointer: an append is a bounds check and a store, not an
/// array's uniqueness check and growth path. The buffer keeps value semantics all the same: a writer calls
/// ``beginWrite()`` before each row, which gives a copy of the buffer memory of its own.
struct OutputBuffer {
    static var blockSize: Int { 64 * 1024 }

    /// Owns the memory; shared only between copies of one buffer, until ``beginWrite()`` separates them.
    final class Storage {
        let base: UnsafeMutablePointer<UInt8>
        let capacity: Int

        init(capacity: Int) {
            self.capacity = capacity
            self.base = .allocate(capacity: capacity)
        }

        deinit { base.deallocate() }
    }

    var sink: any ByteSink
    private var storage: Storage
    /// Where the next byte goes.
    private(set) var base: UnsafeMutablePointer<UInt8>
    /// How many bytes are collected.
    private(set) var count: Int
    private var capacity: Int

    init(sink: any ByteSink) {
        self.sink = sink
        self.storage = Storage(capacity: Self.blockSize + 4096)
        self.base = storage.base
        self.capacity = storage.capacity
        self.count = 0
    }

    /// The bytes collected and not yet handed to the sink, as an array: a copy, for small documents and tests (a
    /// change through it copies the collected bytes twice; the writers append instead).
    var bytes: [UInt8] {
        get { Array(UnsafeBufferPointer(start: base, count: count)) }
        _modify {
            var array = self.bytes
            count = 0
            defer { append(array) }
            yield &array
        }
    }

    /// Makes the memory this buffer's own (a copied writer gets memory of its own): call before the appends of a row.
    @inline(__always)
    mutating func beginWrite() {
        if !isKnownUniquelyReferenced(&storage) { move(capacity: capacity) }
    }

    /// Makes room for `extra` more bytes, to be written with ``put(_:)``.
    @inline(__always)
    mutating func reserve(_ extra: Int) {
        if extra > capacity &- count { move(capacity: Swift.max(capacity * 2, count + extra + 4096)) }
    }

    private mutating func move(capacity: Int) {
        let larger = Storage(capacity: capacity)
        larger.base.update(from: base, count: count)
        storage = larger
        base = larger.base
        self.capacity = capacity
    }

    /// Writes a byte into room made by ``reserve(_:)``.
    @inline(__always)
    mutating func put(_ byte: UInt8) {
        base[count] = byte
        count &+= 1
    }

    /// Writes bytes into room made by ``reserve(_:)``.
    @inline(__always)
    mutating func put(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress else { return }
        (base + count).update(from: source, count: bytes.count)
        count &+= bytes.count
    }

    /// Writes the bytes `body` writes, at most `limit` of them, at the end; `body` returns how many it wrote.
    @inline(__always)
    mutating func write(atMost limit: Int, _ body: (UnsafeMutablePointer<UInt8>) -> Int) {
        reserve(limit)
        count &+= body(base + count)
    }

    /// Drops the bytes after the first `count`, taking back what a row or field started.
    @inline(__always)
    mutating func truncate(to count: Int) {
        self.count = count
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        reserve(1)
        put(byte)
    }

    @inline(__always)
    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        reserve(bytes.count)
        put(bytes)
    }

    @inline(__always)
    mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { append($0) }
    }

    @inline(__always)
    mutating func append(_ text: StaticString) {
        text.withUTF8Buffer { append($0) }
    }

    @inline(__always)
    mutating func append(utf8 text: String) {
        if let done: Void = text.utf8.withContiguousStorageIfAvailable({ append($0) }) { return done }
        var text = text
        text.withUTF8 { append($0) }
    }

    /// Writes the decimal digits of `value`, with a `-` when negative.
    mutating func append(integer value: Int64) {
        if value >= 0 && value < 10 {
            append(0x30 + UInt8(value))
            return
        }
        write(atMost: 20) { out in
            var magnitude = value.magnitude
            let sign = value < 0 ? 1 : 0
            if sign == 1 { out[0] = UInt8(ascii: "-") }
            let count = sign &+ Self.decimalDigits(magnitude)
            // Two digits at a time, from the last, out of a table of the hundred pairs.
            let pairs = Self.digitPairs.utf8Start
            var position = count
            while magnitude >= 100 {
                let pair = Int(truncatingIfNeeded: magnitude % 100) &* 2
                magnitude /= 100
                position &-= 2
                out[position] = pairs[pair]
                out[position &+ 1] = pairs[pair &+ 1]
            }
            if magnitude >= 10 {
                let pair = Int(truncatingIfNeeded: magnitude) &* 2
                out[position &- 2] = pairs[pair]
                out[position &- 1] = pairs[pair &+ 1]
            } else {
                out[position &- 1] = 0x30 &+ UInt8(truncatingIfNeeded: magnitude)
            }
            return count
        }
    }

    /// `00`, `01`, … `99`, one after the other.
    private static let digitPairs: StaticString = """
        0001020304050607080910111213141516171819202122232425262728293031323334353637383940414243444546474849\
        5051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899
        """

    /// How many decimal digits `value` has (none for 0, which ``append(integer:)`` writes apart).
    @inline(__always)
    static func decimalDigits(_ value: UInt64) -> Int {
        // About log10 from the highest bit set, then one comparison with the power of ten at that count.
        let bits = 64 &- value.leadingZeroBitCount
        let guess = (bits &* 1233) >> 12
        return guess &+ (value >= powersOfTen[guess] ? 1 : 0)
    }

    /// 10⁰ to 10¹⁹.
    private static let powersOfTen: [UInt64] = (0..<20).map { exponent in
        (0..<exponent).reduce(UInt64(1)) { power, _ in power &* 10 }
    }

    /// Writes the bytes as standard base64 with padding.
    mutating func append(base64 data: [UInt8]) {
        data.withUnsafeBufferPointer { data in
            write(atMost: (data.count + 2) / 3 * 4) { out in Base64.encode(data, into: out) }
        }
    }

    /// Writes a date-time as ``Timestamp/iso8601``.
    @inline(__always)
    mutating func append(timestamp time: Timestamp) {
        reserve(Timestamp.iso8601MaximumLength)
        let written = time.writeISO8601(to: base + count)
        if written > 0 { count &+= written } else { append(utf8: time.iso8601) }
    }

    /// Hands the collected bytes to the sink when a block is full.
    @inline(__always)
    mutating func flushIfFull() throws {
        if count >= Self.blockSize { try flush() }
    }

    /// Hands every collected byte to the sink.
    mutating func flush() throws {
        guard count > 0 else { return }
        try sink.write(UnsafeRawBufferPointer(start: base, count: count))
        count = 0
        if capacity > 4 * Self.blockSize {
            // One huge value grew the buffer: give the memory back.
            storage = Storage(capacity: Self.blockSize + 4096)
            base = storage.base
            capacity = storage.capacity
        }
    }
}
