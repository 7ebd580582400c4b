internal import Foundation
public import HandoverAge
internal import HandoverArchive
public import HandoverCore
public import HandoverMinisign

/// Encrypts and signs an archive that is already published: what `export --recipient --sign-key` does on the
/// way to the file, done afterwards (to an archive a worker published, say).
public enum ArchiveSealer {
    /// What sealing wrote.
    public struct Sealed: Sendable {
        /// The encrypted archive (`….age`), or the archive itself when only signing.
        public var path: String
        /// The detached signature beside it (`….minisig`), when signing.
        public var signature: String?
        /// The bytes written (the encrypted archive's size; 0 when only signing).
        public var bytes: Int64
    }

    /// Encrypts the archive at `path` to `recipients` as `<folder>/<name>.age` (none: not encrypted) and signs
    /// the result with `signingKey` into `….minisig` beside it (nil: not signed), streaming in 1 MiB blocks.
    /// Each file appears only when complete, mode 0600, never over an existing one.
    /// - Parameters:
    ///   - request: The request id the trusted comment names.
    ///   - generatedAt: The time the trusted comment names.
    /// - Throws: ``HandoverError/Code/invalidArgument`` with neither recipients nor key,
    ///   ``HandoverError/Code/outputExists``, ``HandoverError/Code/outputUnavailable``, or a read failure.
    public static func seal(
        _ path: String, into folder: String, recipients: [AgeRecipient], signingKey: MinisignSecretKey?,
        request: String, generatedAt: Timestamp = .now()
    ) throws -> Sealed {
        guard !recipients.isEmpty || signingKey != nil else {
            throw HandoverError(.invalidArgument, "nothing to do: give recipients, a signing key, or both")
        }
        let name = (path as NSString).lastPathComponent
        var output = path
        var bytes: Int64 = 0
        let prehasher = signingKey != nil ? PrehashingFilter() : nil
        if !recipients.isEmpty {
            let filters: [any ArchiveOutputFilter] =
                [try AgeEncryptingFilter(to: recipients)] + (prehasher.map { [$0] } ?? [])
            output = folder + "/" + name + ".age"
            bytes = try AtomicFile.write(from: try FileInput(path: path), to: output, filters: filters)
        }
        guard let signingKey else { return Sealed(path: output, signature: nil, bytes: bytes) }
        let digest: [UInt8]
        if let prehasher, !recipients.isEmpty {
            digest = prehasher.digest()
        } else {
            digest = try BundleVerifier.State.prehash(file: output)
        }
        try BundlePackager.writeSignature(
            of: output, digest: digest, key: signingKey, request: request, generatedAt: generatedAt,
            removingOnFailure: output != path)
        return Sealed(path: output, signature: output + ".minisig", bytes: bytes)
    }
}
