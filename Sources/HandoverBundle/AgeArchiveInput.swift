internal import HandoverAge
internal import HandoverArchive
internal import HandoverCore

/// An age-encrypted archive, decrypted chunk by chunk as the archive reader asks for its bytes: positions in
/// the plaintext map to 64 KiB chunks of the ciphertext, each authenticated before use. Nothing is written.
final class AgeArchiveInput: ArchiveInput {
    /// The first bytes of every binary age file.
    static let magic = Array("age-encryption.org/v1\n".utf8)
    /// The first bytes of an ASCII-armored age file, as long as ``magic``.
    static let armorMagic = Array(Array("-----BEGIN AGE ENCRYPTED FILE-----".utf8).prefix(22))

    private var decryptor: AgeRandomAccessDecryptor
    let size: UInt64

    /// Opens the header of the age file `file` with one of `identities`.
    init(file: FileInput, identities: [AgeIdentity]) throws(AgeError) {
        decryptor = try AgeRandomAccessDecryptor(identities: identities, size: file.size) {
            (offset: UInt64, count: Int) throws(AgeError) -> [UInt8] in
            let available = Int(min(UInt64(count), file.size - min(offset, file.size)))
            do {
                return try file.bytes(at: offset, count: available)
            } catch {
                throw AgeError(.io, "the encrypted file cannot be read")
            }
        }
        size = decryptor.plaintextSize
    }

    func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        do {
            return try decryptor.read(at: offset, into: buffer)
        } catch {
            throw HandoverError(.archiveCorrupt, "the encrypted archive does not decrypt: \(error.message)")
        }
    }

    /// Authenticates the chunks the archive reader did not read.
    func authenticateRemaining() throws(AgeError) {
        try decryptor.authenticateRemaining()
    }
}
