public import HandoverCore

/// Where a request stands in its lifecycle.
///
/// received → verified → queued → running → completed | failed | cancelled → expired.
/// A running request whose lease runs out goes back to queued; a failed attempt that may be
/// retried goes back to queued with a later `notBefore`; a worker that stops cleanly hands its
/// request back to queued.
public enum RequestState: String, Sendable, Codable, CaseIterable {
    /// Submitted; the requester's identity is not yet verified.
    case received
    /// The caller verified the requester's identity.
    case verified
    /// Waiting for a worker.
    case queued
    /// A worker holds it under a lease.
    case running
    /// Its archive is published.
    case completed
    /// It failed for good; the reason is kept.
    case failed
    /// Withdrawn before completion.
    case cancelled
    /// Its archive was deleted when the retention period ended.
    case expired

    /// The states a request may move to from this one.
    public var successors: Set<RequestState> {
        switch self {
        case .received: [.verified, .cancelled]
        case .verified: [.queued, .cancelled]
        case .queued: [.running, .cancelled]
        case .running: [.completed, .failed, .queued, .cancelled]
        case .completed: [.expired]
        case .failed, .cancelled, .expired: []
        }
    }

    /// Whether the request is finished with (no worker will touch it again).
    public var isFinal: Bool { self == .failed || self == .cancelled || self == .expired || self == .completed }
}

/// One request as the store keeps it.
public struct StoredRequest: Sendable, Hashable {
    /// The request: id, purpose, scope (the subject selector is personal data, kept here and nowhere else) and receipt.
    public var request: ExportRequest
    /// The subject's keyed pseudonym (the one the bundle's manifest records), nil for a tenant request.
    public var subjectKey: String?
    /// Where it stands.
    public var state: RequestState
    /// When it is due (GDPR Art. 12(3)): one month after receipt, or later when extended.
    public var due: Timestamp
    /// Why the deadline was extended, when it was.
    public var extensionReason: String?
    /// How many attempts have started.
    public var attempts: Int
    /// No worker may claim it before this time (backoff after a transient failure).
    public var notBefore: Timestamp?
    /// The worker holding it, while running.
    public var worker: String?
    /// When the worker's lease runs out, while running.
    public var leaseUntil: Timestamp?
    /// The published archive, once completed.
    public var archive: String?
    /// When the archive is to be deleted, once completed.
    public var expiresAt: Timestamp?
    /// Why it failed (without personal data), once failed, or why the last attempt failed.
    public var failureReason: String?
    /// What was published, once completed: the archive, or each part of a split bundle in order (empty for a
    /// request completed before the store recorded them).
    public var archiveFiles: [ArchiveFile] = []
}

/// One line of the append-only audit log: who moved which request where, and when.
///
/// The subject appears only as a pseudonymous key; no personal data value is ever recorded.
public struct AuditEvent: Sendable, Hashable {
    /// When.
    public var at: Timestamp
    /// The request.
    public var request: RequestID
    /// The state it left, nil for submission.
    public var from: RequestState?
    /// The state it reached.
    public var to: RequestState
    /// Who: a person (the verifier), a worker's id, or `system`.
    public var actor: String
    /// A data-free detail: a failure reason, an extension reason, an archive path.
    public var detail: String?
    /// The subject's keyed pseudonym, nil for a tenant request: the only way the log names a person.
    public var subjectKey: String?
}

/// GDPR Art. 12(3) deadlines: one month from receipt, extendable by at most two further months.
public enum Deadline {
    /// The instant `months` calendar months after `time` (the day clamped to the month's last day).
    public static func adding(months: Int, to time: Timestamp) -> Timestamp {
        let (days, millisOfDay) = time.millisecondsSince1970.floorDivided(by: 86_400_000)
        let (year, month, day) = CivilDate.fromDays(days)
        let total = Int(year) * 12 + (month - 1) + months
        let newYear = Int64(total / 12)
        let newMonth = total % 12 + 1
        var newDay = day
        while !CivilDate.isValid(year: newYear, month: newMonth, day: newDay) { newDay -= 1 }
        return Timestamp(
            millisecondsSince1970: CivilDate.toDays(year: newYear, month: newMonth, day: newDay) * 86_400_000
                + millisOfDay)
    }

    /// When a request received at `receipt` is due.
    public static func initial(receivedAt receipt: Timestamp) -> Timestamp {
        adding(months: 1, to: receipt)
    }

    /// The latest a deadline may be extended to: three months after receipt.
    public static func latest(receivedAt receipt: Timestamp) -> Timestamp {
        adding(months: 3, to: receipt)
    }
}

/// One published file of a request: the archive, or one part of a split bundle.
public struct ArchiveFile: Sendable, Hashable, Codable {
    /// The file's name in the published folder (no path).
    public var name: String
    /// Its size in bytes.
    public var bytes: Int64
    /// Its SHA-256, in lowercase hexadecimal.
    public var sha256: String

    /// A published file.
    public init(name: String, bytes: Int64, sha256: String) {
        self.name = name
        self.bytes = bytes
        self.sha256 = sha256
    }

    /// One line per file, `sha256 bytes name`; nil for none.
    static func encode(_ files: [ArchiveFile]) -> String? {
        files.isEmpty ? nil : files.map { "\($0.sha256) \($0.bytes) \($0.name)" }.joined(separator: "\n")
    }

    /// The files `encode` wrote; nil for NULL.
    /// - Throws: ``HandoverError/Code/invalidData`` when a line is not `sha256 bytes name`.
    static func decode(_ text: String?) throws -> [ArchiveFile]? {
        guard let text else { return nil }
        return try text.split(separator: "\n").map { line in
            let fields = line.split(separator: " ", maxSplits: 2)
            guard fields.count == 3, fields[0].count == 64, fields[0].allSatisfy(\.isHexDigit),
                let bytes = Int64(fields[1]), bytes >= 0, !fields[2].contains("/")
            else {
                throw HandoverError(.invalidData, "the store's record of a request's archive files is malformed")
            }
            return ArchiveFile(name: String(fields[2]), bytes: bytes, sha256: String(fields[0]))
        }
    }
}
