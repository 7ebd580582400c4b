internal import Foundation
internal import HandoverArchive
internal import HandoverCore
public import HandoverMinisign

extension BundleVerifier {
    /// Whether every archive published at `path` (one archive, or each part in a `.parts` folder) has a detached
    /// `….minisig` beside it that verifies with `publicKey` and whose trusted comment names `request`: how a worker
    /// recognises an encrypted bundle it published itself, without opening it.
    public static func detachedSignaturesHold(published path: String, publicKey: MinisignPublicKey, request: String)
        -> Bool
    {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { return false }
        let archives = isFolder.boolValue ? parts(inFolder: path) : [path]
        guard !archives.isEmpty else { return false }
        return archives.allSatisfy { archive in
            guard let bytes = State.signatureFile(archive + ".minisig"), bytes.count <= State.signatureLimit,
                let signature = try? MinisignSignature(parsing: String(decoding: bytes, as: UTF8.self)),
                signature.isPrehashed, signature.keyID == publicKey.keyID,
                signature.trustedComment.split(separator: " ").contains(Substring("request:" + request)),
                let digest = try? State.prehash(file: archive)
            else { return false }
            return (try? publicKey.verify(signature, prehash: digest)) != nil
        }
    }
}

extension BundleVerifier.State {
    /// Reports the bundle's signatures, and checks them when `publicKey` is given: `manifest.json.minisig` in
    /// each part must sign that part's `manifest.json`, and each archive needs a detached `….minisig` beside it
    /// that signs its bytes; every trusted comment must name the manifest's request.
    mutating func checkSignatures(_ publicKey: MinisignPublicKey?) {
        let name = BundlePackager.manifestSignature
        let found = parts.indices.compactMap { tagFiles[$0 + 1]?[name] }
        guard let first = found.first else {
            if publicKey != nil {
                problem(.signature, name, "missing: the bundle is not signed, and a public key was given")
            }
            return
        }
        let manifestSignature: MinisignSignature
        do {
            manifestSignature = try MinisignSignature(parsing: String(decoding: first, as: UTF8.self))
        } catch {
            problem(.signature, name, "malformed (\(error.message))")
            return
        }
        let detached = parts.filter { Self.signatureFile($0 + ".minisig") != nil }
        signature = VerificationReport.SignatureReport(
            keyID: Minisign.keyIDText(manifestSignature.keyID), checked: publicKey != nil,
            trustedComment: manifestSignature.trustedComment, detached: detached.count)
        guard let publicKey else { return }
        let request = manifest.map { "request:" + $0.request.id.rawValue }
        for index in parts.indices {
            let label = parts.count > 1 ? "part \(index + 1): " : ""
            guard let bytes = tagFiles[index + 1]?[name], let content = tagFiles[index + 1]?["manifest.json"] else {
                problem(.signature, name, label + "missing")
                continue
            }
            check(bytes, content: .bytes(content), publicKey, path: name, label: label, request: request)
        }
        for path in parts {
            let label = BundleVerifier.label(path, parts)
            guard let bytes = Self.signatureFile(path + ".minisig") else {
                problem(.signature, nil, "\(label): no detached signature beside it (\(path).minisig)")
                continue
            }
            check(Array(bytes), content: .file(path), publicKey, path: nil, label: label + ": ", request: request)
        }
    }

    enum SignedContent {
        case bytes([UInt8])
        case file(String)
    }

    private mutating func check(
        _ signatureBytes: [UInt8], content: SignedContent, _ publicKey: MinisignPublicKey, path: String?,
        label: String, request: String?
    ) {
        guard signatureBytes.count <= Self.signatureLimit else {
            problem(.signature, path, label + "the signature file is too large to be one")
            return
        }
        let signature: MinisignSignature
        do {
            signature = try MinisignSignature(parsing: String(decoding: signatureBytes, as: UTF8.self))
        } catch {
            problem(.signature, path, label + "malformed signature (\(error.message))")
            return
        }
        guard signature.keyID == publicKey.keyID else {
            problem(
                .signature, path,
                label + "signed by key \(Minisign.keyIDText(signature.keyID)), not by the key given "
                    + publicKey.keyIDText)
            return
        }
        do {
            switch content {
            case .bytes(let bytes):
                try publicKey.verify(signature, content: bytes)
            case .file(let file):
                guard signature.isPrehashed else {
                    problem(.signature, path, label + "the signature is not prehashed, as Handover's are")
                    return
                }
                try publicKey.verify(signature, prehash: try Self.prehash(file: file))
            }
        } catch let error as MinisignError {
            problem(.signature, path, label + "does not verify (\(error.message))")
            return
        } catch {
            problem(.signature, path, label + "the signed file cannot be read")
            return
        }
        // Handover's trusted comments name the request, so that a genuine signature of another bundle is caught;
        // a signature made with minisign itself (its own comment) is judged by the key alone.
        if let request, signature.trustedComment.hasPrefix("handover "),
            !signature.trustedComment.split(separator: " ").contains(Substring(request))
        {
            problem(.signature, path, label + "the signature's trusted comment names another request")
        }
    }

    /// The most bytes a signature file may hold (minisign's are about 300).
    static let signatureLimit = 4096

    /// The start of the regular file at `path`, one byte more than ``signatureLimit`` at most (enough to tell that it
    /// is too large without reading it whole); nil when there is no regular file there (a folder, a FIFO).
    static func signatureFile(_ path: String) -> [UInt8]? {
        guard (try? FileManager.default.attributesOfItem(atPath: path)[.type] as? FileAttributeType) == .typeRegular,
            let file = try? FileInput(path: path)
        else { return nil }
        return try? file.bytes(at: 0, count: Int(min(file.size, UInt64(signatureLimit + 1))))
    }

    /// minisign's prehash (BLAKE2b-512) of the file at `path`, read in blocks.
    static func prehash(file path: String) throws -> [UInt8] {
        let file = try FileInput(path: path)
        var hasher = Minisign.Prehasher()
        var offset: UInt64 = 0
        var block = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = try block.withUnsafeMutableBytes { try file.read(at: offset, into: $0) }
            if count == 0 { break }
            hasher.update(block[0..<count])
            offset += UInt64(count)
        }
        return hasher.finalize()
    }
}
