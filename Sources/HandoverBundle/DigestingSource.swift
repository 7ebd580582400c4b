package import HandoverBagIt
package import HandoverCore

/// Passes a source through, counting what is read and hashing it with one or several algorithms at once: the
/// one hashing source of the builder (a packed part's SHA-256) and of the verifier (every listed digest).
package struct DigestingSource<Base: ByteSource>: ByteSource {
    package var base: Base
    private var hasher: BagItHasher
    package private(set) var bytes: Int64 = 0

    package init(_ base: Base, _ algorithms: Set<BagItAlgorithm>) {
        self.base = base
        self.hasher = BagItHasher(algorithms)
    }

    package mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = try base.read(into: buffer)
        if count > 0 {
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            bytes += Int64(count)
        }
        return count
    }

    /// Reads what is left, so that the digests cover the whole stream.
    package mutating func drain() throws {
        var block = [UInt8](repeating: 0, count: 64 * 1024)
        while try block.withUnsafeMutableBytes({ try read(into: $0) }) > 0 {}
    }

    /// Every digest, in lowercase hexadecimal.
    package var digests: [BagItAlgorithm: String] { hasher.finalize() }

    /// The SHA-256, in lowercase hexadecimal.
    package var sha256: String { digests[.sha256] ?? "" }
}
