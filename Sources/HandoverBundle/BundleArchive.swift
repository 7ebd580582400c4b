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
        var encrypted = false
        let opened: (input: any ArchiveInput, age: AgeArchiveInput?)
        do {
            opened = try BundleVerifier.open(path, keys: keys, encrypted: &encrypted)
        } catch let problem as BundleVerifier.EncryptionProblem {
            throw HandoverError(.invalidArgument, "\(path) \(problem.message)")
        }
        let result = try await ArchiveReader.read(input: opened.input, label: path, body)
        do {
            try BundleVerifier.authenticateRemaining(opened.age)
        } catch let problem as BundleVerifier.EncryptionProblem {
            throw HandoverError(.archiveCorrupt, "\(path): \(problem.message)")
        }
        return result
    }
}
