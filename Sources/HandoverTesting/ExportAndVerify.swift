internal import Foundation
internal import HandoverArchive
public import HandoverBundle
public import HandoverCore
public import Logging

/// What ``exportAndVerify(_:request:options:logger:)`` produced: the bundle, and what the verifier says of it.
public struct VerifiedExport: Sendable {
    /// The published bundle.
    public var result: BundleResult
    /// The verifier's report on the published archive (or parts).
    public var report: VerificationReport
    /// Every regular file of the bundle, by its path inside the bundle's folder (`data/…`, `manifest.json`).
    public var files: [String: [UInt8]]
}

/// Runs `exporters` for `request` into a bundle, publishes it, and verifies what was published with
/// ``BundleVerifier``, as a receiver would.
///
/// Meant for an operator's tests of their own exporters: the bundle must be valid, and its files can be read
/// back to check which rows it holds.
/// - Parameters:
///   - exporters: The exporters to run.
///   - request: The request (its id names the archive).
///   - options: How to write the bundle; the output folder must be one the test owns.
///   - logger: Where the builder logs.
/// - Returns: The bundle, the verifier's report, and the bundle's files.
/// - Throws: What ``BundleBuilder/build(for:)`` throws, or ``HandoverError/Code/archiveCorrupt`` when the published
///   archive cannot be read back.
public func exportAndVerify(
    _ exporters: [any Exporter], request: ExportRequest, options: BundleOptions,
    logger: Logger = Logger(label: "handover.testing")
) async throws -> VerifiedExport {
    let builder = BundleBuilder(exporters: try ExporterRegistry(exporters), options: options, logger: logger)
    let result = try await builder.build(for: request)
    let report = BundleVerifier.verify(published: result.archivePath)
    var files: [String: [UInt8]] = [:]
    for part in result.parts {
        try ArchiveReader.read(part) { reader in
            while let entry = try reader.nextEntry() {
                // Drop the bundle's folder: `handover-<id>/data/…` → `data/…`.
                guard entry.isRegularFile, let slash = entry.name.firstIndex(of: "/") else { continue }
                files[String(entry.name[entry.name.index(after: slash)...])] = try reader.readAll()
            }
        }
    }
    return VerifiedExport(result: result, report: report, files: files)
}
