public import HandoverArchive
internal import HandoverCore

/// Reading a published archive (or one part of it) entry by entry, for tools that take a bundle apart after it
/// verified, such as `handover import`.
public enum BundleArchive {
    /// Opens the archive or part at `path` for the duration of `body`; an age-encrypted one is decrypted with
    /// `keys.identities` as it is read, chunk by chunk, its plaintext never written anywhere, and every chunk is
    /// authenticated by the time `body` returns.
    ///
    /// Run it with a preference for a blocking executor (`ThreadPoolExecutor.blocking`): every read blocks.
    /// - Throws: ``HandoverError/Code/invalidArgument`` when an encrypted archive cannot be opened with the keys,
    ///   ``HandoverError/Code/archiveCorrupt`` when it is damaged, or what `body` throws.
    public static func read<T>(
        _ path: String, keys: VerificationKeys, _ body: (ArchiveReader) async throws -> T
    ) async throws -> T {
        let file = try FileInput(path: path)
        let start = try file.bytes(at: 0, count: Int(min(file.size, UInt64(AgeArchiveInput.magic.count))))
        if start == AgeArchiveInput.armorMagic {
            throw HandoverError(
                .invalidArgument, "\(path) is an ASCII-armored age file; Handover reads binary age files")
        }
        guard start == AgeArchiveInput.magic else {
            return try await ArchiveReader.read(input: file, label: path, body)
        }
        guard !keys.identities.isEmpty else {
            throw HandoverError(
                .invalidArgument, "\(path) is encrypted with age; give the identity that opens it (--identity)")
        }
        let input: AgeArchiveInput
        do {
            input = try AgeArchiveInput(file: file, identities: keys.identities)
        } catch {
            throw HandoverError(.invalidArgument, "\(path): \(error.message)")
        }
        let result = try await ArchiveReader.read(input: input, label: path, body)
        do {
            try input.authenticateRemaining()
        } catch {
            throw HandoverError(.archiveCorrupt, "\(path): \(error.message)")
        }
        return result
    }
}
