internal import Foundation
public import HandoverBundle
public import HandoverCore
public import HandoverStore
public import Logging

/// What a worker does with a claimed request: publish its archive and say where it is.
///
/// A fulfiller must publish at most one archive per request, even when two workers run the same request
/// (one whose lease lapsed without its knowing, and its successor): publish under a name derived from the
/// request id without ever replacing a file, and accept an archive of that name already published for the
/// same request. It must stop, leaving nothing behind, when its task is cancelled.
public protocol RequestFulfiller: Sendable {
    /// Publishes `request`'s archive and returns its path.
    /// - Throws: ``HandoverError``; ``HandoverError/isTransient`` decides whether the request is retried.
    func fulfil(_ request: StoredRequest) async throws -> String
}

/// Fulfils requests by exporting them into bundles with ``BundleBuilder``.
public struct BundleFulfiller: RequestFulfiller {
    /// The exporters for a request (the same for every request, usually).
    public var exporters: @Sendable (StoredRequest) throws -> ExporterRegistry
    /// Formats, archive format, output folder, pseudonymizer and the rest; `progress` is left unset.
    public var options: BundleOptions
    /// Where the builder logs.
    public var logger: Logger

    /// A fulfiller exporting with `exporters` under `options`.
    public init(
        options: BundleOptions, logger: Logger,
        exporters: @escaping @Sendable (StoredRequest) throws -> ExporterRegistry
    ) {
        self.options = options
        self.logger = logger
        self.exporters = exporters
    }

    /// Exports the request and publishes its archive, or takes the archive an earlier attempt published.
    public func fulfil(_ stored: StoredRequest) async throws -> String {
        let path = options.publishedPath(for: stored.request.id)
        if let existing = try adopt(path, stored) { return existing }
        let builder = BundleBuilder(exporters: try exporters(stored), options: options, logger: logger)
        do {
            return try await builder.build(for: stored.request).archivePath
        } catch let error as HandoverError where error.code == .outputExists {
            // Another worker published it while this one worked (this one's lease had lapsed).
            if let existing = try adopt(path, stored) { return existing }
            throw error
        }
    }

    /// The archive at `path` when one is there, verifies, and is the answer to `stored`; nil when none is there.
    ///
    /// Answering means its manifest records this very request: the same id, purpose, receipt time and scope, the
    /// subject's keyed pseudonym and the tenant included. A bundle that only carries the id (a manual export
    /// given `--request-id` for somebody else, say) is not adopted. An archive there that is not the request's
    /// answer is never replaced, and the request fails with a reason that says which.
    private func adopt(_ path: String, _ stored: StoredRequest) throws -> String? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let id = stored.request.id
        let report = BundleVerifier.verify(published: path)
        guard report.valid, report.request == id.rawValue else {
            throw HandoverError(
                .outputExists,
                "'\(path)' exists and is not a valid bundle of request \(id); it is left alone"
                    + (report.problems.first.map { " (\($0.kind.rawValue))" } ?? ""))
        }
        // Without the installation's key no subject's pseudonym can match (a random key makes sure of it).
        let expected = BundleBuilder.requestRecord(
            for: stored.request, pseudonymizer: options.pseudonymizer ?? KeyedPseudonymizer.random())
        if let mismatch = Self.mismatch(report.requestRecord, expected: expected) {
            throw HandoverError(
                .outputExists,
                "'\(path)' exists and is a bundle of request \(id), but its \(mismatch) differs from the stored "
                    + "request's, so it answers another request; it is left alone")
        }
        logger.debug("found the request's bundle published by an earlier attempt", metadata: ["request": "\(id)"])
        return path
    }

    /// What of a bundle's request record differs from the expected one (no values, only the names of the
    /// parts), or nil when they are the same.
    static func mismatch(_ found: Manifest.RequestRecord?, expected: Manifest.RequestRecord) -> String? {
        guard let found else { return "request record" }
        if found.id != expected.id { return "request id" }
        if found.purpose != expected.purpose { return "purpose" }
        if found.scope.kind != expected.scope.kind { return "kind of scope" }
        if found.scope.tenant != expected.scope.tenant { return "tenant" }
        if found.scope.subjectColumn != expected.scope.subjectColumn { return "subject column" }
        if found.scope.subjectPseudonym != expected.scope.subjectPseudonym { return "subject pseudonym" }
        if found.receivedAt != expected.receivedAt { return "receipt time" }
        return nil
    }
}

extension HandoverError {
    /// Whether trying again later may succeed: the database, the disk or the archive failed, or the work was
    /// interrupted. A wrong dataset map, bad data, an unknown subject or tenant, an archive already there
    /// that is not the request's own: the same again, so the request fails at once.
    public var isTransient: Bool {
        switch code {
        case .sourceUnavailable, .sourceFailed, .outputUnavailable, .archiveFailed, .internalError, .cancelled:
            true
        default:
            false
        }
    }
}
