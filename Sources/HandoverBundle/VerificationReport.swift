public import HandoverCore

/// What `verify` found in a bundle.
public struct VerificationReport: Sendable, Codable {
    /// One thing wrong with the bundle.
    public struct Problem: Sendable, Codable, Hashable, CustomStringConvertible {
        /// What kind of problem.
        public enum Kind: String, Sendable, Codable, Hashable {
            /// The archive cannot be read: damaged or truncated.
            case archive
            /// An entry's name is unsafe or lies outside the bundle's folder.
            case path
            /// The manifest is missing, unreadable or breaks its schema.
            case manifest
            /// A file the manifest lists is not in the archive.
            case missing
            /// A file in the archive is not in the manifest.
            case unlisted
            /// A file's size differs from the manifest's.
            case size
            /// A file's SHA-256 differs from the manifest's.
            case checksum
            /// A file breaks its schema, or its schema is unusable.
            case schema
            /// A file's record count differs from the manifest's.
            case records
            /// A file is in another part than the manifest says, or the set of parts is wrong.
            case part
            /// The BagIt bag is incomplete or invalid.
            case bagit
            /// A foreign key that `datapackage.json` declares does not hold: rows refer to rows the bundle lacks.
            case reference
            /// The archive is encrypted and cannot be opened: no identity given, none that opens it, or its
            /// ciphertext does not authenticate.
            case encryption
            /// A signature checked against the public key given is missing, malformed, by another key, or wrong.
            case signature
        }

        /// What kind of problem.
        public var kind: Kind
        /// The file concerned, relative to the bundle's folder, when there is one.
        public var path: String?
        /// What is wrong, without any data value.
        public var message: String

        /// `data/sales/users.csv: checksum: …`.
        public var description: String {
            (path.map { $0 + ": " } ?? "") + kind.rawValue + ": " + message
        }
    }

    /// The archive checked, or the first of its parts.
    public var archive: String
    /// Every archive checked: the one archive, or each part.
    public var parts: [String]
    /// The bundle's folder inside the archive.
    public var bundle: String?
    /// The request the manifest names.
    public var request: String?
    /// The request as the manifest records it (id, purpose, receipt, scope with the subject as a pseudonym),
    /// when the manifest could be read; compare it with what was asked before trusting the bundle as an answer.
    public var requestRecord: Manifest.RequestRecord?
    /// The number of files checked (manifest, schemas and data).
    public var files: Int
    /// The records the data files hold, by the manifest.
    public var records: Int?
    /// The bundle's status by its manifest: complete, or partial when an exporter's data is missing (the bundle
    /// can still be valid: what it holds is intact, and it says what it lacks).
    public var status: ExportStatus?
    /// Each exporter that did not complete, and why, as the manifest records it.
    public var unfinished: [String]
    /// Everything wrong; empty when the bundle is valid.
    public var problems: [Problem]
    /// Whether the archives were age-encrypted (and decrypted as they were read).
    public var encrypted = false
    /// The bundle's minisign signatures, when it carries any.
    public var signature: SignatureReport?
    /// The SHA-256 of the `manifest.json` that was verified (lowercase hexadecimal), so that a reader of the bundle
    /// afterwards (`handover import`) can tell it reads the same one; nil when none was read.
    public var manifestSHA256: String? = nil

    /// What verify found of a bundle's signatures.
    public struct SignatureReport: Sendable, Codable, Hashable {
        /// The key id (16 hexadecimal digits) of the key that signed `manifest.json`, as its signature names it.
        public var keyID: String
        /// Whether the signatures were checked against a public key given (and held: otherwise there are
        /// problems of kind ``Problem/Kind/signature``); false when no key was given.
        public var checked: Bool
        /// The manifest signature's trusted comment: request id, generation time, file name.
        public var trustedComment: String
        /// The detached signatures found beside the archives (`….minisig`).
        public var detached: Int
    }

    /// Whether the bundle is valid.
    public var valid: Bool { problems.isEmpty }
}
