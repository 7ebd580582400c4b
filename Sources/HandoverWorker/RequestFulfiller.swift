internal import Foundation
public import HandoverBundle
public import HandoverCore
internal import HandoverSQLite
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
    public var exporters: @Sendable (StoredRequest) async throws -> ExporterRegistry
    /// Formats, archive format, output folder, pseudonymizer and the rest; `progress` is left unset.
    public var options: BundleOptions
    /// Where the builder logs.
    public var logger: Logger

    /// A fulfiller exporting with `exporters` under `options`.
    public init(
        options: BundleOptions, logger: Logger,
        exporters: @escaping @Sendable (StoredRequest) async throws -> ExporterRegistry
    ) {
        self.options = options
        self.logger = logger
        self.exporters = exporters
    }

    /// Exports the request and publishes its archive, or takes the archive an earlier attempt published.
    public func fulfil(_ stored: StoredRequest) async throws -> String {
        let path = options.publishedPath(for: stored.request.id)
        if let existing = try adopt(path, stored) { return existing }
        let builder = BundleBuilder(exporters: try await exporters(stored), options: options, logger: logger)
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
        if !options.recipients.isEmpty {
            // An encrypted bundle cannot be opened here (the worker holds recipients, not identities): it is this
            // request's answer only if this installation's key signed it for this request.
            guard let key = options.signingKey,
                BundleVerifier.detachedSignaturesHold(published: path, publicKey: key.publicKey, request: id.rawValue)
            else {
                throw HandoverError(
                    .outputExists,
                    "'\(path)' exists, is encrypted, and is not signed by this installation's key for request \(id), "
                        + "so it cannot be checked to be its answer; it is left alone")
            }
            logger.debug(
                "found the request's sealed bundle published by an earlier attempt", metadata: ["request": "\(id)"])
            return path
        }
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
    /// Whether trying again later may succeed.
    ///
    /// Decided from the ``HandoverError/cause`` first, where there is one: a busy or locked database, an I/O
    /// error, a full disk (an operator or the retention purge frees space; the retry policy bounds the
    /// attempts), a serialization failure, a deadlock, a lost connection or a server shutting down pass with
    /// time; a corrupt database, a violated constraint, a failed authentication, SQL the server rejects, a
    /// permission the file system refuses do not, and the request fails at once. Without a cause, or with one
    /// that does not say: the database, the disk or the archive failed, or the work was interrupted, is worth
    /// a retry; a wrong dataset map, bad data, an unknown subject or tenant, an archive already there that is
    /// not the request's own, or a bug in Handover (``HandoverError/Code/internalError``, unless its cause is
    /// ``HandoverError/Cause/transient``) is the same again.
    public var isTransient: Bool {
        if let cause, let transient = RetryRules.transience(of: cause) { return transient }
        switch code {
        case .sourceUnavailable, .sourceFailed, .outputUnavailable, .archiveFailed, .cancelled:
            return true
        default:
            return false
        }
    }
}

/// Which causes pass with time (true), which do not (false), and which do not say (nil: the code decides).
enum RetryRules {
    static func transience(of cause: HandoverError.Cause) -> Bool? {
        if let code = cause.sqliteResultCode { return sqlite(code) }
        if let number = cause.errno { return errno(number) }
        if let state = cause.sqlstate { return sqlstate(state) }
        if cause.isConnectionLost || cause.isMarkedTransient { return true }
        if cause.isAuthenticationFailure { return false }
        return nil
    }

    /// SQLite result codes (extended, or primary).
    static func sqlite(_ code: Int32) -> Bool? {
        if code == SQLiteResultCode.ioErrorCorruptFileSystem { return false }
        switch code & 0xFF {
        case SQLiteResultCode.busy, SQLiteResultCode.locked, SQLiteResultCode.ioError, SQLiteResultCode.full,
            SQLiteResultCode.lockProtocol, SQLiteResultCode.noMemory, SQLiteResultCode.interrupt,
            SQLiteResultCode.schema:
            return true
        case SQLiteResultCode.corrupt, SQLiteResultCode.notADatabase, SQLiteResultCode.constraint,
            SQLiteResultCode.authorization, SQLiteResultCode.permission, SQLiteResultCode.readOnly,
            SQLiteResultCode.error, SQLiteResultCode.internalError, SQLiteResultCode.misuse,
            SQLiteResultCode.mismatch, SQLiteResultCode.range, SQLiteResultCode.tooBig:
            return false
        default:
            return nil
        }
    }

    /// `errno` values: I/O, space, memory, descriptors, the network pass; permissions and wrong paths do not;
    /// a missing file may be a mount not there yet, so the code decides.
    static func errno(_ number: Int32) -> Bool? {
        switch number {
        case EIO, EINTR, EAGAIN, EWOULDBLOCK, ENOSPC, EDQUOT, EBUSY, ENOMEM, EMFILE, ENFILE, ETIMEDOUT, ESTALE,
            ECONNREFUSED, ECONNRESET, ECONNABORTED, EPIPE, ENETDOWN, ENETUNREACH, ENETRESET, EHOSTUNREACH,
            EHOSTDOWN:
            return true
        case EACCES, EPERM, EROFS, ENOTDIR, EISDIR, ENAMETOOLONG, ELOOP, EINVAL, EXDEV, EBADF, EFBIG:
            return false
        default:
            return nil
        }
    }

    /// PostgreSQL's SQLSTATEs (appendix A of its manual).
    static func sqlstate(_ state: String) -> Bool? {
        switch state {
        // Serialization failure, deadlock, rollback, completion unknown; lock not available, object in use.
        case "40000", "40001", "40P01", "40003", "55P03", "55006": return true
        // Admin, crash and idle-session shutdown, cannot connect now, a cancelled statement (a timeout).
        case "57P01", "57P02", "57P03", "57P05", "57014": return true
        // I/O and system errors on the server.
        case "58000", "58030": return true
        // Data or an index corrupted; an internal error; a constraint checked at commit.
        case "XX000", "XX001", "XX002", "40002": return false
        default: break
        }
        switch state.prefix(2) {
        // Connection exceptions; insufficient resources (disk full, out of memory, too many connections).
        case "08": return true
        case "53": return state != "53400"  // a configuration limit does not pass
        // Integrity constraints, authorization, syntax and access rules, data exceptions, unsupported features,
        // no such database or schema, a PL/pgSQL RAISE (the audit log's append-only trigger).
        case "23", "28", "42", "22", "0A", "3D", "3F", "P0": return false
        default: return nil
        }
    }
}
