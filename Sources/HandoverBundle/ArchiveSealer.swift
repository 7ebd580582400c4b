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
            let encryptor: AgeEncryptor
            do {
                encryptor = try AgeEncryptor(recipients: recipients)
            } catch {
                throw HandoverError(.invalidArgument, "cannot encrypt the archive: \(error.message)")
            }
            let filters: [any ArchiveOutputFilter] = [AgeEncryptingFilter(encryptor)] + (prehasher.map { [$0] } ?? [])
            output = folder + "/" + name + ".age"
            let input = try FileInput(path: path)
            bytes = try AtomicFile.create(at: output) { descriptor, _ in
                var written: Int64 = 0
                func emit(_ chunk: [UInt8], from index: Int) throws {
                    var chunk = chunk
                    for filter in filters[index...] where !chunk.isEmpty {
                        chunk = try chunk.withUnsafeBytes { try filter.process($0) }
                    }
                    try AtomicFile.writeAll(chunk, to: descriptor)
                    written += Int64(chunk.count)
                }
                for (index, filter) in filters.enumerated() { try emit(try filter.start(), from: index + 1) }
                var block = [UInt8](repeating: 0, count: 1 << 20)
                var offset: UInt64 = 0
                while true {
                    let count = try block.withUnsafeMutableBytes { try input.read(at: offset, into: $0) }
                    if count == 0 { break }
                    offset += UInt64(count)
                    try emit(
                        try block.withUnsafeBytes {
                            try filters[0].process(UnsafeRawBufferPointer(rebasing: $0[0..<count]))
                        }, from: 1)
                }
                guard offset == input.size else {
                    throw HandoverError(.outputUnavailable, "'\(path)' changed size while it was sealed")
                }
                for (index, filter) in filters.enumerated() { try emit(try filter.finish(), from: index + 1) }
                return written
            }
        }
        guard let signingKey else { return Sealed(path: output, signature: nil, bytes: bytes) }
        let digest: [UInt8]
        if let prehasher, !recipients.isEmpty {
            digest = prehasher.digest()
        } else {
            digest = try BundleVerifier.State.prehash(file: output)
        }
        let file = (output as NSString).lastPathComponent
        let comment = "handover request:\(request) generated:\(generatedAt.iso8601) file:\(file)"
        let signature = try BundlePackager.signing { () throws(MinisignError) in
            try signingKey.sign(
                prehash: digest, trustedComment: comment,
                untrustedComment: "signature from Handover, key \(signingKey.publicKey.keyIDText)")
        }
        do {
            try AtomicFile.write(Array(signature.fileText.utf8), to: output + ".minisig")
        } catch {
            // An encrypted archive without the signature asked for must not stand as if complete.
            if output != path { unlink(output) }
            throw error
        }
        return Sealed(path: output, signature: output + ".minisig", bytes: bytes)
    }
}
