public import HandoverCore

/// A sink that keeps everything in memory; for tests and small documents.
package struct MemorySink: ByteSink, Sendable {
    /// Everything written so far.
    package private(set) var bytes: [UInt8] = []

    /// Creates an empty sink.
    package init() {}

    /// Appends the bytes.
    package mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        self.bytes.append(contentsOf: bytes)
    }

    /// What was written, decoded as UTF-8.
    package var string: String { String(decoding: bytes, as: UTF8.self) }
}
