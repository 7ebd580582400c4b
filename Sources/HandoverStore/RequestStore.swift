public import HandoverCore

/// How often a request is tried, and how long to wait between tries.
public struct RetryPolicy: Sendable, Hashable {
    /// The most attempts a request gets (including attempts whose worker died); then it fails for good.
    public var maxAttempts: Int
    /// The wait after the first failed attempt; it doubles after each further one.
    public var backoffSeconds: Int64
    /// The longest wait between attempts.
    public var maxBackoffSeconds: Int64

    /// Creates a policy; by default 5 attempts, waiting 30 s, 60 s, 120 s, … at most an hour.
    public init(maxAttempts: Int = 5, backoffSeconds: Int64 = 30, maxBackoffSeconds: Int64 = 3600) {
        self.maxAttempts = max(1, maxAttempts)
        self.backoffSeconds = max(0, backoffSeconds)
        self.maxBackoffSeconds = max(self.backoffSeconds, maxBackoffSeconds)
    }

    /// The wait after the `attempt`-th failed attempt (1-based): base × 2^(attempt-1), capped.
    public func backoff(afterAttempt attempt: Int) -> Int64 {
        let doublings = min(max(attempt - 1, 0), 30)
        let (delay, overflow) = backoffSeconds.multipliedReportingOverflow(by: Int64(1) << Int64(doublings))
        return overflow ? maxBackoffSeconds : min(delay, maxBackoffSeconds)
    }
}

/// The request store: requests, their lifecycle, leases, retries, deadlines and the append-only audit log.
///
/// The rules live here, once; the database is a ``RequestStoreBackEnd``: ``SQLiteRequestStoreBackEnd`` on
/// one machine, or the PostgreSQL back end of `HandoverPostgres` for workers on many machines. Every change
/// is one transaction that also appends its audit event, so a change is recorded exactly when it happens.
///
/// The subject's selector value (an email address, say) is personal data: the store keeps it only while
/// the request is open, because a worker needs it to export, and erases it when the request becomes
/// failed, cancelled or expired. The audit log never holds it; it names the subject only by
/// ``StoredRequest/subjectKey``, a keyed pseudonym.
public struct RequestStore: Sendable {
    /// The database.
    public let backEnd: any RequestStoreBackEnd
    /// Makes the subject's pseudonymous key (use the installation's key, so that it matches the bundles').
    public let pseudonymizer: any Pseudonymizer

    /// A store over `backEnd`.
    public init(backEnd: any RequestStoreBackEnd, pseudonymizer: any Pseudonymizer) {
        self.backEnd = backEnd
        self.pseudonymizer = pseudonymizer
    }

    // MARK: - Submission and the caller's steps

    /// Records a new request as received, due one month after receipt.
    ///
    /// Here and in every other change, an actor, worker id or reason holding a control or bidirectional-override
    /// character is refused (``HandoverError/Code/invalidArgument``): it would forge lines of a printed log.
    /// - Throws: ``HandoverError/Code/conflict`` when a request with that id exists, ``HandoverError/Code/invalidArgument``
    ///   when the subject is selected by a blank value.
    ///
    /// With `verifiedBy`, the requester's identity is already known (a tenant's own token, a signed-in session):
    /// the request is also verified and queued, in the same transaction, so it is never left received or verified.
    public func submit(_ request: ExportRequest, actor: String, verifiedBy: String? = nil, at now: Timestamp)
        async throws
    {
        try ControlCharacters.require(actor, "actor")
        try ControlCharacters.require(verifiedBy, "actor")
        var subjectColumn: String?
        var subjectValue: String?
        var subjectKey: String?
        if case .subject(let selector, _) = request.scope {
            try selector.checkNotBlank()
            subjectColumn = selector.column
            subjectValue = selector.value
            subjectKey = pseudonymizer.pseudonym(for: selector.value, domain: "subject." + selector.column)
        }
        let values: [StoreValue] = [
            .text(request.id.rawValue), .text(request.purpose.rawValue),
            .text(request.scope.isSubject ? "subject" : "tenant"), StoreValue(request.scope.tenant),
            StoreValue(subjectColumn), StoreValue(subjectValue), StoreValue(subjectKey),
            StoreValue(request.receivedAt), .text(RequestState.received.rawValue),
            StoreValue(Deadline.initial(receivedAt: request.receivedAt)),
        ]
        try await backEnd.write { tx in
            let inserted = try await tx.rows(
                """
                INSERT INTO requests (id, purpose, scope_kind, tenant, subject_column, subject_value, subject_key,
                received_at, state, due) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING id
                """, values)
            guard !inserted.isEmpty else { throw HandoverError(.conflict, "request \(request.id) already exists") }
            try await appendAudit(tx, request.id, subjectKey, from: nil, to: .received, actor, nil, now)
            if let verifiedBy {
                try await transition(tx, request.id, to: .verified, actor: verifiedBy, at: now)
                try await transition(tx, request.id, to: .queued, actor: verifiedBy, at: now)
            }
        }
    }

    /// Records that `actor` verified the requester's identity.
    public func verify(_ id: RequestID, by actor: String, at now: Timestamp) async throws {
        try await move(id, to: .verified, actor: actor, at: now)
    }

    /// Records that `actor` verified the requester's identity (unless it is verified already) and queues the
    /// request, in one transaction: a failure leaves it as it was, never verified but not queued.
    public func verifyAndQueue(_ id: RequestID, by actor: String, at now: Timestamp) async throws {
        try ControlCharacters.require(actor, "actor")
        try await backEnd.write { tx in
            if try await find(id, tx, lock: true).state != .verified {
                try await transition(tx, id, to: .verified, actor: actor, at: now)
            }
            try await transition(tx, id, to: .queued, actor: actor, at: now)
        }
    }

    /// Puts a verified request in the queue for workers.
    public func enqueue(_ id: RequestID, actor: String, at now: Timestamp) async throws {
        try await move(id, to: .queued, actor: actor, at: now)
    }

    /// Withdraws a request that has not completed; a worker holding it loses its lease.
    public func cancel(_ id: RequestID, actor: String, reason: String?, at now: Timestamp) async throws {
        try await move(
            id, to: .cancelled, actor: actor, at: now, detail: reason,
            set: [("worker", .null), ("lease_until", .null), ("subject_value", .null)])
    }

    /// Extends the deadline by `months` (GDPR Art. 12(3)): at most three months after receipt in all.
    /// - Throws: ``HandoverError/Code/invalidArgument`` without a reason or past the limit,
    ///   ``HandoverError/Code/conflict`` when the request is finished.
    public func extend(_ id: RequestID, byMonths months: Int, reason: String, actor: String, at now: Timestamp)
        async throws
    {
        guard reason.contains(where: { !$0.isWhitespace }) else {
            throw HandoverError(.invalidArgument, "an extension needs a reason")
        }
        try ControlCharacters.require(reason, "reason")
        try ControlCharacters.require(actor, "actor")
        try await backEnd.write { tx in
            let stored = try await find(id, tx, lock: true)
            guard !stored.state.isFinal else {
                throw HandoverError(.conflict, "request \(id) is \(stored.state.rawValue); its deadline no longer runs")
            }
            let extended = Deadline.adding(months: months, to: stored.due)
            guard months > 0, extended <= Deadline.latest(receivedAt: stored.request.receivedAt) else {
                throw HandoverError(
                    .invalidArgument, "a deadline may be extended by at most two months beyond the first (Art. 12(3))")
            }
            try await tx.run(
                "UPDATE requests SET due = ?, extension_reason = ? WHERE id = ?",
                [StoreValue(extended), .text(reason), .text(id.rawValue)])
            try await appendAudit(
                tx, id, stored.subjectKey, from: stored.state, to: stored.state, actor,
                "deadline extended to \(extended.iso8601): \(reason)", now)
        }
    }

    // MARK: - Workers

    /// Gives the most urgent ready request to `worker` under a lease, or nil when none is ready.
    ///
    /// First, every running request whose lease ran out goes back to the queue (its worker died or lost
    /// touch), or fails when it has had `retry.maxAttempts` attempts, so that a request that kills its
    /// workers cannot kill them for ever. On PostgreSQL the rows are read `FOR UPDATE SKIP LOCKED`:
    /// workers claiming at once get different requests and never wait on each other.
    public func claim(worker: String, leaseSeconds: Int64, retry: RetryPolicy = RetryPolicy(), at now: Timestamp)
        async throws -> StoredRequest?
    {
        try ControlCharacters.require(worker, "worker id")
        return try await backEnd.write { tx in
            let lapsed = try await tx.rows(
                "SELECT \(Self.columns) FROM requests WHERE state = 'running' AND lease_until < ? ORDER BY id"
                    + backEnd.lockRowsSkippingLocked, [StoreValue(now)])
            for row in lapsed {
                let stored = try Self.decode(row)
                let id = stored.request.id
                if stored.attempts >= retry.maxAttempts {
                    let reason = "the worker stopped renewing its lease; \(stored.attempts) attempts made"
                    try await tx.run(
                        """
                        UPDATE requests SET state = 'failed', worker = NULL, lease_until = NULL, failure_reason = ?,
                        subject_value = NULL WHERE id = ?
                        """, [.text(reason), .text(id.rawValue)])
                    try await appendAudit(tx, id, stored.subjectKey, from: .running, to: .failed, "system", reason, now)
                    var after = stored
                    after.state = .failed
                    after.failureReason = reason
                    try await enqueueNotification(tx, .failed, after, now)
                } else {
                    try await tx.run(
                        "UPDATE requests SET state = 'queued', worker = NULL, lease_until = NULL WHERE id = ?",
                        [.text(id.rawValue)])
                    try await appendAudit(
                        tx, id, stored.subjectKey, from: .running, to: .queued, "system",
                        "lease of \(stored.worker ?? "?") expired", now)
                }
            }
            let next = try await tx.rows(
                """
                SELECT \(Self.columns) FROM requests WHERE state = 'queued' AND (not_before IS NULL OR not_before <= ?)
                ORDER BY due, received_at, id LIMIT 1
                """ + backEnd.lockRowsSkippingLocked, [StoreValue(now)])
            guard let row = next.first else { return nil }
            var stored = try Self.decode(row)
            stored.state = .running
            stored.worker = worker
            stored.leaseUntil = now.adding(seconds: leaseSeconds)
            stored.attempts += 1
            try await tx.run(
                "UPDATE requests SET state = 'running', worker = ?, lease_until = ?, attempts = ? WHERE id = ?",
                [
                    .text(worker), StoreValue(stored.leaseUntil), .integer(Int64(stored.attempts)),
                    .text(stored.request.id.rawValue),
                ])
            try await appendAudit(
                tx, stored.request.id, stored.subjectKey, from: .queued, to: .running, worker,
                "attempt \(stored.attempts)", now)
            return stored
        }
    }

    /// Extends `worker`'s lease on a running request.
    /// - Throws: ``HandoverError/Code/conflict`` when the worker no longer holds the lease (it ran out and
    ///   another worker may have the request, or the request was cancelled): stop working on it.
    public func renew(_ id: RequestID, worker: String, leaseSeconds: Int64, at now: Timestamp) async throws {
        try await backEnd.write { tx in
            _ = try await requireLease(id, worker, now, tx)
            try await tx.run(
                "UPDATE requests SET lease_until = ? WHERE id = ?",
                [StoreValue(now.adding(seconds: leaseSeconds)), .text(id.rawValue)])
        }
    }

    /// Records the published archive; it expires `retentionSeconds` later. `files` describes what was
    /// published (the archive, or each part of a split bundle, with size and SHA-256), for delivery.
    /// - Throws: ``HandoverError/Code/conflict`` when the worker no longer holds the lease.
    public func complete(
        _ id: RequestID, worker: String, archive: String, files: [ArchiveFile] = [], retentionSeconds: Int64,
        at now: Timestamp
    ) async throws {
        try await backEnd.write { tx in
            let stored = try await requireLease(id, worker, now, tx)
            try ControlCharacters.require(worker, "worker id")
            try await tx.run(
                """
                UPDATE requests SET state = 'completed', archive = ?, archive_files = ?, expires_at = ?, worker = NULL,
                lease_until = NULL,
                failure_reason = NULL WHERE id = ?
                """,
                [
                    .text(archive), StoreValue(ArchiveFile.encode(files)),
                    StoreValue(now.adding(seconds: retentionSeconds)),
                    .text(id.rawValue),
                ])
            try await appendAudit(tx, id, stored.subjectKey, from: .running, to: .completed, worker, archive, now)
            var after = stored
            after.state = .completed
            after.archive = archive
            after.archiveFiles = files
            after.expiresAt = now.adding(seconds: retentionSeconds)
            try await enqueueNotification(tx, .completed, after, now)
        }
    }

    /// Records a failed attempt: back to the queue after a backoff while attempts remain and the failure
    /// is transient, failed for good otherwise, with the reason kept. The reason must hold no personal data.
    /// - Returns: The state the request is now in (``RequestState/queued`` or ``RequestState/failed``).
    @discardableResult
    public func fail(
        _ id: RequestID, worker: String, reason: String, transient: Bool, retry: RetryPolicy = RetryPolicy(),
        at now: Timestamp
    ) async throws -> RequestState {
        try await backEnd.write { tx in
            try ControlCharacters.require(worker, "worker id")
            try ControlCharacters.require(reason, "reason")
            let stored = try await requireLease(id, worker, now, tx)
            if transient && stored.attempts < retry.maxAttempts {
                let delay = retry.backoff(afterAttempt: stored.attempts)
                try await tx.run(
                    """
                    UPDATE requests SET state = 'queued', worker = NULL, lease_until = NULL, not_before = ?,
                    failure_reason = ? WHERE id = ?
                    """, [StoreValue(now.adding(seconds: delay)), .text(reason), .text(id.rawValue)])
                try await appendAudit(
                    tx, id, stored.subjectKey, from: .running, to: .queued, worker,
                    "attempt \(stored.attempts) failed, retry in \(delay) s: \(reason)", now)
                return .queued
            }
            let detail =
                transient ? "attempt \(stored.attempts) of \(retry.maxAttempts) failed: \(reason)" : reason
            try await tx.run(
                """
                UPDATE requests SET state = 'failed', worker = NULL, lease_until = NULL, failure_reason = ?,
                subject_value = NULL WHERE id = ?
                """, [.text(detail), .text(id.rawValue)])
            try await appendAudit(tx, id, stored.subjectKey, from: .running, to: .failed, worker, detail, now)
            var after = stored
            after.state = .failed
            after.failureReason = detail
            try await enqueueNotification(tx, .failed, after, now)
            return .failed
        }
    }

    /// Hands a running request back to the queue without counting the attempt (a worker stopping cleanly).
    /// - Throws: ``HandoverError/Code/conflict`` when the worker no longer holds the lease.
    public func release(_ id: RequestID, worker: String, reason: String, at now: Timestamp) async throws {
        try await backEnd.write { tx in
            try ControlCharacters.require(worker, "worker id")
            try ControlCharacters.require(reason, "reason")
            let stored = try await requireLease(id, worker, now, tx)
            try await tx.run(
                "UPDATE requests SET state = 'queued', worker = NULL, lease_until = NULL, attempts = ? WHERE id = ?",
                [.integer(Int64(max(0, stored.attempts - 1))), .text(id.rawValue)])
            try await appendAudit(tx, id, stored.subjectKey, from: .running, to: .queued, worker, reason, now)
        }
    }

    /// Records that a completed request's archive was deleted at the end of its retention period.
    public func markExpired(_ id: RequestID, actor: String, detail: String? = nil, at now: Timestamp) async throws {
        try await move(id, to: .expired, actor: actor, at: now, detail: detail, set: [("subject_value", .null)])
    }

    // MARK: - Reading

    /// One request, or nil.
    public func request(_ id: RequestID) async throws -> StoredRequest? {
        try await backEnd.read { tx in
            try await tx.rows("SELECT \(Self.columns) FROM requests WHERE id = ?", [.text(id.rawValue)])
                .first.map(Self.decode)
        }
    }

    /// Requests, most urgent first: in `state` when given, only open ones due before `dueBefore` when given, and
    /// only `tenant`'s (its tenant exports and its subjects' requests) when given.
    public func list(state: RequestState? = nil, dueBefore: Timestamp? = nil, tenant: String? = nil) async throws
        -> [StoredRequest]
    {
        var conditions: [String] = []
        var parameters: [StoreValue] = []
        if let tenant {
            conditions.append("tenant = ?")
            parameters.append(.text(tenant))
        }
        if let state {
            conditions.append("state = ?")
            parameters.append(.text(state.rawValue))
        }
        if let dueBefore {
            conditions.append("due < ? AND state IN ('received', 'verified', 'queued', 'running')")
            parameters.append(StoreValue(dueBefore))
        }
        let filter = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        let sql = "SELECT \(Self.columns) FROM requests" + filter + " ORDER BY due, id"
        return try await backEnd.read { tx in try await tx.rows(sql, parameters).map(Self.decode) }
    }

    /// Completed requests whose archives have reached the end of their retention period.
    public func expiring(at now: Timestamp) async throws -> [StoredRequest] {
        try await backEnd.read { tx in
            try await tx.rows(
                "SELECT \(Self.columns) FROM requests WHERE state = 'completed' AND expires_at <= ? ORDER BY expires_at, id",
                [StoreValue(now)]
            ).map(Self.decode)
        }
    }

    /// The audit log of one request, oldest first.
    public func audit(of id: RequestID) async throws -> [AuditEvent] {
        try await backEnd.read { tx in
            try await tx.rows(
                "SELECT at, from_state, to_state, actor, detail, subject_key FROM audit WHERE request = ? ORDER BY seq",
                [.text(id.rawValue)]
            ).map { row in
                let columns = try RowDecoder(
                    row, columns: ["at", "from_state", "to_state", "actor", "detail", "subject_key"],
                    name: "audit row of request \(id)")
                return AuditEvent(
                    at: try columns.time(0), request: id,
                    from: try columns.optionalValue(1, RequestState.self, "state"),
                    to: try columns.value(2, RequestState.self, "state"), actor: try columns.text(3),
                    detail: try columns.optionalText(4), subjectKey: try columns.optionalText(5))
            }
        }
    }

    // MARK: - Helpers

    static let columnNames = [
        "id", "purpose", "scope_kind", "tenant", "subject_column", "subject_value", "subject_key", "received_at",
        "state", "due", "extension_reason", "attempts", "not_before", "worker", "lease_until", "archive", "expires_at",
        "failure_reason", "archive_files",
    ]
    static let columns = columnNames.joined(separator: ", ")

    /// A request row, refused (``HandoverError/Code/invalidData``, naming the column) when a column the store
    /// always fills is NULL, or holds a value of the wrong kind or one the store never writes (an unknown
    /// purpose, state or kind of scope): such a row was edited by hand, and reading a default in its place
    /// (a purpose, a receipt time in 1970) would export or date the request wrongly.
    static func decode(_ row: [StoreValue]) throws -> StoredRequest {
        var columns = try RowDecoder(row, columns: columnNames, name: "request row")
        let id: RequestID
        do {
            id = try RequestID(try columns.text(0))
        } catch let error as HandoverError where error.code == .invalidArgument {
            throw columns.refuse(0, "holds an id that is not a valid request id")
        }
        columns = try RowDecoder(row, columns: columnNames, name: "request row \(id)")
        let state = try columns.value(8, RequestState.self, "state")
        let scope: ExportScope
        switch try columns.text(2) {
        case "subject":
            // The selector's value is erased when the request fails, is cancelled or expires.
            let erased = state == .failed || state == .cancelled || state == .expired
            let value = erased ? try columns.optionalText(5) ?? "" : try columns.text(5)
            scope = .subject(
                SubjectSelector(column: try columns.text(4), value: value), tenant: try columns.optionalText(3))
        case "tenant":
            scope = .tenant(try columns.text(3))
        default:
            throw columns.refuse(2, "holds an unknown kind of scope")
        }
        let attempts = try columns.integer(11)
        guard attempts >= 0, let attemptCount = Int(exactly: attempts) else {
            throw columns.refuse(11, "holds a negative or too large number of attempts")
        }
        return StoredRequest(
            request: ExportRequest(
                id: id, purpose: try columns.value(1, Purpose.self, "purpose"), scope: scope,
                receivedAt: try columns.time(7)),
            subjectKey: try columns.optionalText(6), state: state, due: try columns.time(9),
            extensionReason: try columns.optionalText(10), attempts: attemptCount,
            notBefore: try columns.optionalTime(12), worker: try columns.optionalText(13),
            leaseUntil: try columns.optionalTime(14),
            archive: try columns.optionalText(15), expiresAt: try columns.optionalTime(16),
            failureReason: try columns.optionalText(17),
            archiveFiles: try ArchiveFile.decode(try columns.optionalText(18)) ?? [])
    }

    private func find(_ id: RequestID, _ tx: any StoreTransaction, lock: Bool) async throws -> StoredRequest {
        let rows = try await tx.rows(
            "SELECT \(Self.columns) FROM requests WHERE id = ?" + (lock ? backEnd.lockRows : ""), [.text(id.rawValue)])
        guard let row = rows.first else { throw HandoverError(.notFound, "no request \(id)") }
        return try Self.decode(row)
    }

    private func move(
        _ id: RequestID, to target: RequestState, actor: String, at now: Timestamp, detail: String? = nil,
        set extra: [(String, StoreValue)] = []
    ) async throws {
        try ControlCharacters.require(actor, "actor")
        try ControlCharacters.require(detail, "reason")
        try await backEnd.write { tx in
            try await transition(tx, id, to: target, actor: actor, at: now, detail: detail, set: extra)
        }
    }

    /// One change of state in `tx`, with its audit row; refused when the lifecycle does not allow it.
    private func transition(
        _ tx: any StoreTransaction, _ id: RequestID, to target: RequestState, actor: String, at now: Timestamp,
        detail: String? = nil, set extra: [(String, StoreValue)] = []
    ) async throws {
        let stored = try await find(id, tx, lock: true)
        guard stored.state.successors.contains(target) else {
            throw HandoverError(
                .conflict, "request \(id) is \(stored.state.rawValue); it cannot become \(target.rawValue)")
        }
        let assignments = [("state", StoreValue.text(target.rawValue))] + extra
        try await tx.run(
            "UPDATE requests SET " + assignments.map { $0.0 + " = ?" }.joined(separator: ", ") + " WHERE id = ?",
            assignments.map(\.1) + [.text(id.rawValue)])
        try await appendAudit(tx, id, stored.subjectKey, from: stored.state, to: target, actor, detail, now)
    }

    private func requireLease(_ id: RequestID, _ worker: String, _ now: Timestamp, _ tx: any StoreTransaction)
        async throws -> StoredRequest
    {
        let stored = try await find(id, tx, lock: true)
        guard stored.state == .running, stored.worker == worker, let until = stored.leaseUntil, until >= now else {
            throw HandoverError(.conflict, "worker \(worker) does not hold the lease on request \(id)")
        }
        return stored
    }

    func appendAudit(
        _ tx: any StoreTransaction, _ id: RequestID, _ subjectKey: String?, from: RequestState?, to: RequestState,
        _ actor: String, _ detail: String?, _ now: Timestamp
    ) async throws {
        if !backEnd.lockAuditChain.isEmpty { try await tx.run(backEnd.lockAuditChain, []) }
        let head = try await tx.rows(
            "SELECT chain, hash FROM audit WHERE chain IS NOT NULL ORDER BY chain DESC LIMIT 1", [])
        let chain = (head.first?[0].integer ?? 0) + 1
        let row = AuditChain.Row(
            seq: 0, chain: chain, hash: nil, at: now.millisecondsSince1970, request: id.rawValue,
            subjectKey: subjectKey, from: from?.rawValue, to: to.rawValue, actor: actor, detail: detail)
        let hash = AuditChain.hash(row, chain: chain, previous: head.first?[1].text ?? AuditChain.genesis)
        try await tx.run(
            """
            INSERT INTO audit (at, request, subject_key, from_state, to_state, actor, detail, chain, hash)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                StoreValue(now), .text(id.rawValue), StoreValue(subjectKey), StoreValue(from?.rawValue),
                .text(to.rawValue), .text(actor), StoreValue(detail), .integer(chain), .text(hash),
            ])
    }
}

extension RequestStore {
    /// An audit row that records an event without a change of state (a link made, a download), in `tx`.
    func recordAudit(
        _ tx: any StoreTransaction, _ id: RequestID, _ subjectKey: String?, state: RequestState, _ actor: String,
        _ detail: String, _ now: Timestamp
    ) async throws {
        try await appendAudit(tx, id, subjectKey, from: state, to: state, actor, detail, now)
    }
}
