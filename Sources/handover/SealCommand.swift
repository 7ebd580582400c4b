import ArgumentParser
import Foundation
import HandoverArchive
import HandoverBundle
import HandoverCore

/// `handover seal`: encrypt and sign archives already published.
struct SealCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seal",
        abstract: "Encrypt (age) and sign (minisign) bundle archives already published.",
        discussion: """
            Does to an existing archive what export --recipient/--sign-key does while writing: ARCHIVE.age \
            (in --out, or beside the archive) encrypted to the recipients, and ARCHIVE.age.minisig (or \
            ARCHIVE.minisig when only signing) beside it, each appearing only when complete, mode 600. The \
            archive is verified first (a bundle that does not verify is refused) unless --skip-verify; the \
            signature inside the bundle (manifest.json.minisig) is only made by export. The original is left \
            as it is: delete it once the sealed copy has been checked.
            """)

    @Argument(help: "The archives to seal (each a whole bundle or one part).")
    var archives: [String]

    @Option(name: .long, help: "The folder to write the encrypted archives in; by default beside each.")
    var out: String?

    @Flag(name: .long, help: "Do not verify each archive before sealing it.")
    var skipVerify = false

    @OptionGroup var sealing: SealingOptions

    @OptionGroup var common: CommonOptions

    func run() async throws {
        struct Report: Encodable {
            var archive: String
            var sealed: String
            var signature: String?
            var bytes: Int64
            var seconds: Double
        }
        var reports: [Report] = []
        try await reportingErrors {
            var options = BundleOptions(outputDirectory: out ?? ".")
            try sealing.apply(to: &options)
            if let out { try AtomicFile.createPrivateFolder(at: out) }
            for archive in archives {
                guard FileManager.default.fileExists(atPath: archive) else {
                    throw HandoverError(.sourceUnavailable, "'\(archive)' does not exist")
                }
                var request = "unknown"
                if !skipVerify {
                    let report = BundleVerifier.verify(archive: archive)
                    guard report.valid else {
                        throw HandoverError(
                            .archiveCorrupt,
                            "'\(archive)' does not verify (\(report.problems.count) problems; see handover verify)")
                    }
                    request = report.request ?? request
                }
                let started = Date()
                let sealed = try ArchiveSealer.seal(
                    archive, into: out ?? (archive as NSString).deletingLastPathComponent,
                    recipients: options.recipients, signingKey: options.signingKey, request: request)
                reports.append(
                    Report(
                        archive: archive, sealed: sealed.path, signature: sealed.signature, bytes: sealed.bytes,
                        seconds: Date().timeIntervalSince(started)))
                if !common.json && !common.quiet {
                    print("sealed: \(safe(sealed.path))" + (sealed.signature.map { " (signed: \(safe($0)))" } ?? ""))
                }
            }
        }
        if common.json { try printJSON(["sealed": reports]) }
    }
}
