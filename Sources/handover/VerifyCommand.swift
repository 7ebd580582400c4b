import ArgumentParser
import Foundation
import HandoverBundle
import HandoverCore
internal import HandoverBagIt

/// `handover verify`: check a received bundle with nothing but the bundle.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a bundle archive: manifest, checksums, schemas, record counts, completeness.",
        discussion: """
            Exits 0 when the bundle is valid and 1 when it is not, printing one line per problem \
            (or, with --json, one JSON report). A file that cannot be opened at all exits 66. A folder \
            holding bagit.txt is checked as an unpacked BagIt bag.
            """
    )

    @Argument(help: "The archive to check; for a split bundle, every part in order, or the folder holding them.")
    var archives: [String]

    @OptionGroup var common: CommonOptions

    func run() async throws {
        var parts: [String] = []
        for path in archives {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
                printError("source unavailable: '\(path)' does not exist")
                throw ExitCode(ExitStatus.noInput)
            }
            if isFolder.boolValue && FileManager.default.fileExists(atPath: path + "/bagit.txt") {
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
        let report = BundleVerifier.verify(parts: BundleVerifier.ordered(parts: parts))
        if common.json {
            try printJSON(VerifyJSON(report))
        } else if report.valid {
            print("valid: \(archive): \(report.files) files, \(report.records ?? 0) records")
        } else {
            for problem in report.problems { print(safe(problem.description)) }
            print("invalid: \(archive): \(report.problems.count) problem\(report.problems.count == 1 ? "" : "s")")
        }
        if !report.valid { throw ExitCode(1) }
    }
}

extension VerifyCommand {
    /// Checks an unpacked bag folder as a BagIt bag (RFC 8493): declaration, manifests, fixity, completeness.
    func verifyUnpackedBag(_ path: String) throws {
        let found = BagItValidator.validate(directory: path)
        let errors = found.filter { $0.severity == .error }
        if common.json {
            try printJSON(BagReport(archive: path, valid: errors.isEmpty, problems: found.map(\.description)))
        } else {
            for problem in found { print(safe(problem.description)) }
            print((errors.isEmpty ? "valid: " : "invalid: ") + path + " (BagIt bag)")
        }
        if !errors.isEmpty { throw ExitCode(1) }
    }

    struct BagReport: Encodable {
        var archive: String
        var valid: Bool
        var problems: [String]
    }
}

/// The JSON form of a verification report.
struct VerifyJSON: Encodable {
    var archive: String
    var parts: [String]
    var valid: Bool
    var bundle: String?
    var request: String?
    var files: Int
    var records: Int?
    var problems: [VerificationReport.Problem]

    init(_ report: VerificationReport) {
        archive = report.archive
        parts = report.parts
        valid = report.valid
        bundle = report.bundle
        request = report.request
        files = report.files
        records = report.records
        problems = report.problems
    }
}
