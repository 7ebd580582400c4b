import ArgumentParser
import Foundation
import HandoverAge
internal import HandoverBagIt
import HandoverBundle
import HandoverCore
import HandoverMinisign

/// `handover verify`: check a received bundle with nothing but the bundle.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a bundle archive: manifest, checksums, schemas, record counts, completeness.",
        discussion: """
            Exits 0 when the bundle is valid and 1 when it is not, printing one line per problem \
            (or, with --json, one JSON report). A file that cannot be opened at all exits 66. A folder \
            holding bagit.txt is checked as an unpacked BagIt bag, on its own: given with other arguments, \
            it is refused (exit 64). The JSON report has the same keys for a bag folder as for an archive. \
            An age-encrypted archive (….zip.age) is decrypted as it is read with --identity, its plaintext \
            written nowhere. A signed bundle's signatures (manifest.json.minisig inside, ….minisig beside each \
            archive) are checked with --pubkey or --pubkey-string; without either, verify says the bundle is \
            signed, by which key, and that the signature was not checked.
            """
    )

    @Argument(
        help: """
            The archive to check; for a split bundle, every part in order, or the folder holding them; or one \
            unpacked bag folder.
            """)
    var archives: [String]

    @OptionGroup var keyOptions: VerificationKeyOptions

    @OptionGroup var common: CommonOptions

    func validate() throws {
        try keyOptions.validate()
        // Several arguments are the parts of one bundle; a bag folder is a whole bag, so it cannot be one of them.
        if archives.count > 1, let bag = archives.first(where: Self.isBagFolder) {
            throw ValidationError(
                "'\(bag)' is an unpacked bag folder, which is checked on its own: give it as the only argument")
        }
    }

    func run() async throws {
        let keys: VerificationKeys = try await reportingErrors { try keyOptions.keys() }
        var parts: [String] = []
        for path in archives {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
                printError("source unavailable: '\(path)' does not exist")
                throw ExitCode(ExitStatus.noInput)
            }
            if Self.isBagFolder(path) {
                try verifyUnpackedBag(path)
                return
            }
            if isFolder.boolValue {
                parts += BundleVerifier.parts(inFolder: path)
            } else {
                parts.append(path)
            }
        }
        let archive = parts.count == 1 ? parts[0] : archives.joined(separator: " ")
        let report = BundleVerifier.verify(parts: BundleVerifier.ordered(parts: parts), keys: keys)
        if common.json {
            try printJSON(VerifyJSON(report))
        } else if report.valid {
            if let signature = report.signature {
                print(
                    signature.checked
                        ? "signed by key \(signature.keyID): signatures verified"
                        : "signed by key \(signature.keyID): signature not checked (give --pubkey to check it)")
            }
            for line in report.unfinished { print(safe(line)) }
            let partial = report.status == .partial ? " (partial: \(report.unfinished.count) exporter(s) missing)" : ""
            print("valid: \(archive): \(report.files) files, \(report.records ?? 0) records" + partial)
        } else {
            for problem in report.problems { print(safe(problem.description)) }
            print("invalid: \(archive): \(report.problems.count) problem\(report.problems.count == 1 ? "" : "s")")
        }
        if !report.valid { throw ExitCode(1) }
    }

    /// Whether `path` is a folder holding `bagit.txt`: an unpacked bag rather than a folder of parts.
    static func isBagFolder(_ path: String) -> Bool {
        var isFolder: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) && isFolder.boolValue
            && FileManager.default.fileExists(atPath: path + "/bagit.txt")
    }
}

extension VerifyCommand {
    /// Checks an unpacked bag folder as a BagIt bag (RFC 8493): declaration, manifests, fixity, completeness.
    func verifyUnpackedBag(_ path: String) throws {
        let found = BagItValidator.validate(directory: path)
        let errors = found.filter { $0.severity == .error }
        if common.json {
            try printJSON(VerifyJSON(bag: path, found: found, files: Self.regularFiles(in: path)))
        } else {
            for problem in found { print(safe(problem.description)) }
            print((errors.isEmpty ? "valid: " : "invalid: ") + safe(path) + " (BagIt bag)")
        }
        if !errors.isEmpty { throw ExitCode(1) }
    }

    /// The regular files in the bag (tag files and payload), symbolic links neither counted nor followed.
    static func regularFiles(in path: String) -> Int {
        guard let walk = FileManager.default.enumerator(atPath: path) else { return 0 }
        var count = 0
        while walk.nextObject() != nil {
            if walk.fileAttributes?[.type] as? FileAttributeType == .typeRegular { count += 1 }
        }
        return count
    }
}

/// The JSON form of a verification report: the same keys for an archive, a split bundle and an unpacked bag
/// folder, absent values written as `null`.
///
/// `{"archive", "parts", "valid", "bundle", "request", "files", "records", "problems": [{kind, path, message}],
/// "warnings": [{kind, path, message}]}`. `valid` is true when `problems` is empty; `warnings` are irregularities
/// that do not make a bag invalid (only a bag folder has them). For a bag folder, `bundle` is the folder's
/// name, `parts` is the folder, `files` counts its regular files, and `request` and `records` are null (a bag
/// of any origin has neither).
struct VerifyJSON: Encodable {
    /// One problem or warning.
    struct Problem: Encodable {
        var kind: String
        var path: String?
        var message: String

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(kind, forKey: .kind)
            try container.encode(path, forKey: .path)
            try container.encode(message, forKey: .message)
        }

        enum CodingKeys: String, CodingKey { case kind, path, message }
    }

    var archive: String
    var parts: [String]
    var valid: Bool
    var bundle: String?
    var request: String?
    var files: Int
    var records: Int?
    /// The manifest's status (complete, partial), null when it could not be read or for a bare bag.
    var status: String?
    var unfinished: [String]
    var problems: [Problem]
    var warnings: [Problem]
    /// Whether the archives were age-encrypted.
    var encrypted: Bool
    /// The signatures found: `{keyID, checked, trustedComment, detached}`, null when unsigned.
    var signature: VerificationReport.SignatureReport?

    init(_ report: VerificationReport) {
        encrypted = report.encrypted
        signature = report.signature
        archive = report.archive
        parts = report.parts
        valid = report.valid
        bundle = report.bundle
        request = report.request
        files = report.files
        records = report.records
        status = report.status?.rawValue
        unfinished = report.unfinished
        problems = report.problems.map { Problem(kind: $0.kind.rawValue, path: $0.path, message: $0.message) }
        warnings = []
    }

    init(bag path: String, found: [BagItProblem], files: Int) {
        encrypted = false
        signature = nil
        archive = path
        parts = [path]
        bundle = URL(fileURLWithPath: path).standardizedFileURL.lastPathComponent
        request = nil
        self.files = files
        records = nil
        status = nil
        unfinished = []
        let kind = VerificationReport.Problem.Kind.bagit.rawValue
        problems = found.filter { $0.severity == .error }.map {
            Problem(kind: kind, path: $0.path, message: $0.message)
        }
        warnings = found.filter { $0.severity == .warning }.map {
            Problem(kind: kind, path: $0.path, message: $0.message)
        }
        valid = problems.isEmpty
    }

    /// Every key, `null` for what is absent, so that the shape does not depend on what was found.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(archive, forKey: .archive)
        try container.encode(parts, forKey: .parts)
        try container.encode(valid, forKey: .valid)
        try container.encode(bundle, forKey: .bundle)
        try container.encode(request, forKey: .request)
        try container.encode(files, forKey: .files)
        try container.encode(records, forKey: .records)
        try container.encode(status, forKey: .status)
        try container.encode(unfinished, forKey: .unfinished)
        try container.encode(problems, forKey: .problems)
        try container.encode(warnings, forKey: .warnings)
        try container.encode(encrypted, forKey: .encrypted)
        try container.encode(signature, forKey: .signature)
    }

    enum CodingKeys: String, CodingKey {
        case archive, parts, valid, bundle, request, files, records, status, unfinished, problems, warnings
        case encrypted, signature
    }
}
