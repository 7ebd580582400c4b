import Foundation
import HandoverAge
import HandoverArchive
import HandoverBundle
import HandoverCore
import HandoverMinisign
import Logging
import TestSupport
import Testing

/// Builds the demo tenant's bundle encrypted to `recipients` and signed with `key`.
func sealedBuild(
    into folder: String, format: ArchiveFormat = .zip, split: Int64? = nil, recipients: [AgeRecipient],
    key: MinisignSecretKey?
) async throws -> BundleResult {
    var options = BundleOptions(
        outputDirectory: folder, archiveFormat: format, pseudonymizer: fixedKey,
        generatedAt: Timestamp(iso8601: "2026-11-25T10:00:00Z"), splitSize: split)
    options.recipients = recipients
    options.signingKey = key
    let builder = BundleBuilder(exporters: try demoRegistry(), options: options, logger: Logger(label: "test"))
    return try await builder.build(
        for: ExportRequest(
            id: try RequestID("req-sealed"), purpose: .portability, scope: .tenant("1"),
            receivedAt: Timestamp(iso8601: "2026-11-20T09:00:00Z")!))
}

/// Reads the whole age file at `path` with `identity`, chunk by chunk.
func decryptFile(_ path: String, _ identity: AgeIdentity) throws -> [UInt8] {
    let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
    var decryptor = try AgeDecryptor(identities: [identity], bytes: bytes)
    var plain: [UInt8] = []
    while let chunk = try decryptor.next() { plain += chunk }
    return plain
}

@Suite struct SealedBundleTests {
    @Test(arguments: ArchiveFormat.allCases)
    func anEncryptedBundleVerifiesWithItsIdentityAndNothingElse(format: ArchiveFormat) async throws {
        try await withTemporaryDirectory { folder in
            let identity = AgeIdentity.generate()
            let other = AgeIdentity.generate()
            let result = try await sealedBuild(
                into: folder, format: format, recipients: [other.recipient, identity.recipient], key: nil)
            #expect(result.archivePath.hasSuffix("/handover-req-sealed." + format.fileExtension + ".age"))
            // Nothing but the encrypted archive in the folder: no plaintext left on the way.
            #expect(listFolder(folder) == ["handover-req-sealed." + format.fileExtension + ".age"])
            let mode = try FileManager.default.attributesOfItem(atPath: result.archivePath)[.posixPermissions] as? Int
            #expect(mode == 0o600)

            for key in [identity, other] {
                let report = BundleVerifier.verify(
                    archive: result.archivePath, keys: VerificationKeys(identities: [key]))
                #expect(report.valid && report.encrypted, "\(report.problems)")
                #expect(report.files > 40 && report.records == result.manifest.records)
            }
            // The plaintext is an archive like any other: the same bundle, valid on its own.
            let plain = folder + "/plain." + format.fileExtension
            try Data(try decryptFile(result.archivePath, identity)).write(to: URL(fileURLWithPath: plain))
            #expect(BundleVerifier.verify(archive: plain).valid)

            let locked = BundleVerifier.verify(archive: result.archivePath)
            #expect(locked.problems.map(\.kind) == [.encryption] && locked.encrypted)
            #expect(locked.problems.first?.message.contains("--identity") == true)
            let stranger = BundleVerifier.verify(
                archive: result.archivePath, keys: VerificationKeys(identities: [AgeIdentity.generate()]))
            #expect(stranger.problems.map(\.kind) == [.encryption], "\(stranger.problems)")
        }
    }

    @Test func everyChunkOfAnEncryptedArchiveCountsWhetherTheArchiveReaderNeedsItOrNot() async throws {
        try await withTemporaryDirectory { folder in
            let identity = AgeIdentity.generate()
            let result = try await sealedBuild(into: folder, recipients: [identity.recipient], key: nil)
            let original = try Array(Data(contentsOf: URL(fileURLWithPath: result.archivePath)))
            let keys = VerificationKeys(identities: [identity])
            // The header ends with the MAC line ("--- …\n"); the 16-byte payload nonce follows.
            let macLine = try #require(
                original.indices.first { original[$0] == 0x2D && original[$0..<($0 + 4)] == [0x2D, 0x2D, 0x2D, 0x20] })
            let header = try #require(original[macLine...].firstIndex(of: 0x0A)) + 1 + 16
            let chunkStarts = stride(from: header, to: original.count, by: 64 * 1024 + 16).map { $0 }
            #expect(chunkStarts.count >= 3)
            func check(_ bytes: [UInt8], _ what: String) throws {
                let path = folder + "/changed.zip.age"
                try? FileManager.default.removeItem(atPath: path)
                try Data(bytes).write(to: URL(fileURLWithPath: path))
                let report = BundleVerifier.verify(archive: path, keys: keys)
                #expect(!report.valid, "\(what) was not noticed")
            }
            // A flipped byte in each chunk (the first, a middle, the last), in the header, in the nonce.
            for offset in chunkStarts.map({ $0 + 100 }) + [original.count - 1, 30, header - 3] {
                var changed = original
                changed[offset] ^= 0x01
                try check(changed, "a flipped byte at \(offset)")
            }
            // Cut at a chunk boundary (the new last chunk was sealed as a middle one), inside a tag, and grown.
            try check(Array(original[..<chunkStarts[2]]), "a file cut at a chunk boundary")
            try check(Array(original.dropLast(5)), "a file cut inside the last tag")
            try check(original + [0], "a byte after the last chunk")
            // Two chunks swapped: each authenticates only at its own position.
            var swapped = original
            let size = 64 * 1024 + 16
            swapped.replaceSubrange(
                chunkStarts[0]..<(chunkStarts[0] + size), with: original[chunkStarts[1]..<(chunkStarts[1] + size)])
            swapped.replaceSubrange(
                chunkStarts[1]..<(chunkStarts[1] + size), with: original[chunkStarts[0]..<(chunkStarts[0] + size)])
            try check(swapped, "two chunks swapped")
        }
    }

    @Test func aSignedBundleCarriesItsSignaturesAndVerifyChecksThem() async throws {
        try await withTemporaryDirectory { folder in
            let key = MinisignSecretKey.generate()
            let result = try await sealedBuild(into: folder, split: 120_000, recipients: [], key: key)
            #expect(result.parts.count > 2)
            let files = try readArchive(result.parts[0])
            let root = "handover-req-sealed/"
            let manifest = try #require(files[root + "manifest.json"])
            let tagSignature = try MinisignSignature(
                parsing: String(decoding: try #require(files[root + "manifest.json.minisig"]), as: UTF8.self))
            try key.publicKey.verify(tagSignature, content: manifest)
            #expect(tagSignature.trustedComment.contains("request:req-sealed"))
            #expect(tagSignature.trustedComment.contains("generated:2026-11-25T10:00:00Z"))
            #expect(tagSignature.trustedComment.contains("file:manifest.json"))
            let tagManifest = String(decoding: try #require(files[root + "tagmanifest-sha256.txt"]), as: UTF8.self)
            #expect(tagManifest.contains("  manifest.json.minisig\n"), "the signature is a listed tag file")

            for part in result.parts {
                let detached = try MinisignSignature(
                    parsing: try String(contentsOfFile: part + ".minisig", encoding: .utf8))
                try key.publicKey.verify(detached, content: try Array(Data(contentsOf: URL(fileURLWithPath: part))))
                #expect(detached.trustedComment.hasSuffix("file:" + (part as NSString).lastPathComponent))
                let mode =
                    try FileManager.default.attributesOfItem(atPath: part + ".minisig")[.posixPermissions] as? Int
                #expect(mode == 0o600)
            }

            let checked = BundleVerifier.verify(
                published: result.archivePath, keys: VerificationKeys(publicKey: key.publicKey))
            #expect(checked.valid, "\(checked.problems)")
            #expect(checked.signature?.checked == true && checked.signature?.keyID == key.publicKey.keyIDText)
            #expect(checked.signature?.detached == result.parts.count)
            let unchecked = BundleVerifier.verify(published: result.archivePath)
            #expect(unchecked.valid && unchecked.signature?.checked == false)
            #expect(unchecked.signature?.keyID == key.publicKey.keyIDText)

            // Another key: every signature is by the wrong key.
            let stranger = BundleVerifier.verify(
                published: result.archivePath, keys: VerificationKeys(publicKey: MinisignSecretKey.generate().publicKey)
            )
            #expect(stranger.problems.count == 2 * result.parts.count)
            #expect(stranger.problems.allSatisfy { $0.kind == .signature && $0.message.contains("not by the key") })

            // A detached signature missing, one broken, one of another part.
            let second = result.parts[1] + ".minisig"
            let third = result.parts[2] + ".minisig"
            let secondText = try String(contentsOfFile: second, encoding: .utf8)
            try FileManager.default.removeItem(atPath: result.parts[0] + ".minisig")
            try secondText.replacingOccurrences(of: "untrusted", with: "broken").write(
                toFile: second, atomically: true, encoding: .utf8)
            try FileManager.default.removeItem(atPath: third)
            try FileManager.default.copyItem(atPath: result.parts[3] + ".minisig", toPath: third)
            let damaged = BundleVerifier.verify(
                published: result.archivePath, keys: VerificationKeys(publicKey: key.publicKey))
            let messages = damaged.problems.filter { $0.kind == .signature }.map(\.message)
            #expect(messages.count == 3, "\(messages)")
            #expect(messages.contains { $0.contains("no detached signature") })
            #expect(messages.contains { $0.contains("malformed") })
            #expect(messages.contains { $0.contains("does not verify") })

            // A signature file of 16 MiB is refused after its first 4 KiB, not read whole; a folder is no signature.
            try Data(count: 16 << 20).write(to: URL(fileURLWithPath: third))
            try FileManager.default.createDirectory(
                atPath: result.parts[0] + ".minisig", withIntermediateDirectories: false)
            let hostile = BundleVerifier.verify(
                published: result.archivePath, keys: VerificationKeys(publicKey: key.publicKey))
            let hostileMessages = hostile.problems.filter { $0.kind == .signature }.map(\.message)
            #expect(hostileMessages.contains { $0.contains("too large") }, "\(hostileMessages)")
            #expect(hostileMessages.contains { $0.contains("no detached signature") }, "\(hostileMessages)")
        }
    }

    @Test func aPassphraseProtectedMinisignKeyRoundTripsAndAWrongPassphraseIsSaidSo() throws {
        let key = MinisignSecretKey.generate()
        // Small work limits keep the test quick; the format and the parameter choice are those of libsodium.
        let text = try key.fileText(passphrase: Array("correct horse".utf8), opsLimit: 1 << 16, memLimit: 1 << 22)
        #expect(text.hasPrefix("untrusted comment: minisign encrypted secret key\n"))
        let opened = try MinisignSecretKey(parsing: text, passphrase: Array("correct horse".utf8))
        #expect(opened.publicKey == key.publicKey)
        #expect(throws: MinisignError.self) { try MinisignSecretKey(parsing: text) }
        do {
            _ = try MinisignSecretKey(parsing: text, passphrase: Array("wrong horse".utf8))
            Issue.record("a wrong passphrase opened the key")
        } catch {
            #expect(error.message.contains("passphrase does not open"))
            #expect(!error.description.contains("horse"))
        }
    }
}
