import ArgumentParser
import Foundation
import HandoverBundle
import HandoverCore

/// `handover verify`: check a received bundle with nothing but the bundle.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a bundle archive: manifest, checksums, schemas, record counts, completeness.",
        discussion: """
            Exits 0 when the bundle is valid and 1 when it is not, printing one line per problem \
            (or, with --json, one JSON report). A file that cannot be opened at all exits 66.
            """
    )

    @Argument(help: "The archive to check.")
    var archive: String

    @OptionGroup var common: CommonOptions

    func run() async throws {
        guard FileManager.default.fileExists(atPath: archive) else {
            printError("source unavailable: '\(archive)' does not exist")
            throw ExitCode(ExitStatus.noInput)
        }
        let report = BundleVerifier.verify(archive: archive)
        if common.json {
            try printJSON(VerifyJSON(report))
        } else if report.valid {
            print("valid: \(archive): \(report.files) files, \(report.records ?? 0) records")
        } else {
            for problem in report.problems { print(problem.description) }
            print("invalid: \(archive): \(report.problems.count) problem\(report.problems.count == 1 ? "" : "s")")
        }
        if !report.valid { throw ExitCode(1) }
    }
}

/// The JSON form of a verification report.
struct VerifyJSON: Encodable {
    var archive: String
    var valid: Bool
    var bundle: String?
    var request: String?
    var files: Int
    var records: Int?
    var problems: [VerificationReport.Problem]

    init(_ report: VerificationReport) {
        archive = report.archive
        valid = report.valid
        bundle = report.bundle
        request = report.request
        files = report.files
        records = report.records
        problems = report.problems
    }
}
