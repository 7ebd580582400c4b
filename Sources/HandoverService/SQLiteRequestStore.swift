public import HandoverCore
internal import HandoverSQL

/// The request store on one machine: a SQLite database in WAL mode.
///
/// Every change runs in one `BEGIN IMMEDIATE` transaction and appends to the audit log in the same
/// transaction, so several worker processes may share the file: a claim is atomic, and a request is
/// claimed by one worker at a time. The audit table refuses updates and deletes (triggers).
public struct SQLiteRequestStore: Sendable {
    /// The database file.
    public let path: String

    /// Opens (creating when missing) the store at `path`.
    /// - Throws: ``HandoverError/Code/sourceUnavailable`` when the file cannot be opened or set up.
    public init(path: String) throws {
        self.path = path
        try SQLiteConnection.withConnection(path: path, mode: .readWriteCreate) { db in
            try db.execute("PRAGMA journal_mode = WAL")
            try db.execute(Self.schema)
        }
    }

    static let schema = """
        CREATE TABLE IF NOT EXISTS requests (
            id TEXT PRIMARY KEY, purpose TEXT NOT NULL, scope_kind TEXT NOT NULL, tenant TEXT,
            subject_column TEXT, subject_value TEXT, received_at INTEGER NOT NULL, state TEXT NOT NULL,
            due INTEGER NOT NULL, extension_reason TEXT, attempts INTEGER NOT NULL DEFAULT 0, not_before INTEGER,
            worker TEXT, lease_until INTEGER, archive TEXT, expires_at INTEGER, failure_reason TEXT);
        CREATE INDEX IF NOT EXISTS requests_by_state ON requests(state, not_before, due);
        CREATE TABLE IF NOT EXISTS audit (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, request TEXT NOT NULL, from_state TEXT,
            to_state TEXT NOT NULL, actor TEXT NOT NULL, detail TEXT);
        CREATE INDEX IF NOT EXISTS audit_by_request ON audit(request, seq);
        CREATE TRIGGER IF NOT EXISTS audit_append_only_update BEFORE UPDATE ON audit
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        CREATE TRIGGER IF NOT EXISTS audit_append_only_delete BEFORE DELETE ON audit
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        """

    // MARK: - Changes

    /// Records a new request as received, due one month after receipt.
    /// - Throws: ``HandoverError/Code/conflict`` when a request with that id exists.
    public func submit(_ request: ExportRequest, actor: String, at now: Timestamp) throws {
        try change { db in
            guard try find(request.id, db) == nil else {
                throw HandoverError(.conflict, "request \(request.id) already exists")
            }
            var subjectColumn: SQLiteValue = .null
            var subjectValue: SQLiteValue = .null
            if case .subject(let selector, _) = request.scope {
                subjectColumn = .text(selector.column)
                subjectValue = .text(selector.value)
            }
            try db.prepare(
                """
                INSERT INTO requests (id, purpose, scope_kind, tenant, subject_column, subject_value, received_at, state, due)
                VALUES (?, ?, ?, ?, ?, ?, ?, 'received', ?)
                """
            ).run([
                .text(request.id.rawValue), .text(request.purpose.rawValue),
                .text(request.scope.isSubject ? "subject" : "tenant"), request.scope.tenant.map { .text($0) } ?? .null,
                subjectColumn, subjectValue, .integer(request.receivedAt.millisecondsSince1970),
                .integer(Deadline.initial(receivedAt: request.receivedAt).millisecondsSince1970),
            ])
            try audit(db, request.id, from: nil, to: .received, actor: actor, detail: nil, at: now)
        }
    }

    /// Records that `actor` verified the requester's identity.
    public func verify(_ id: RequestID, by actor: String, at now: Timestamp) throws {
        try move(id, to: .verified, actor: actor, at: now)
    }

    /// Puts a verified request in the queue for workers.
    public func enqueue(_ id: RequestID, actor: String, at now: Timestamp) throws {
        try move(id, to: .queued, actor: actor, at: now)
    }

    /// Withdraws a request that has not completed.
    public func cancel(_ id: RequestID, actor: String, reason: String?, at now: Timestamp) throws {
        try move(id, to: .cancelled, actor: actor, at: now, detail: reason) { sql in
            sql.set["worker"] = .null
            sql.set["lease_until"] = .null
        }
    }

    /// Extends the deadline by `months` (GDPR Art. 12(3)): at most three months after receipt in all.
    /// - Throws: ``HandoverError/Code/invalidArgument`` without a reason or past the limit.
    public func extend(_ id: RequestID, byMonths months: Int, reason: String, actor: String, at now: Timestamp) throws {
        guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw HandoverError(.invalidArgument, "an extension needs a reason")
        }
        try change { db in
            guard let stored = try find(id, db) else { throw HandoverError(.notFound, "no request \(id)") }
            guard !stored.state.isFinal else {
                throw HandoverError(.conflict, "request \(id) is \(stored.state.rawValue); its deadline no longer runs")
            }
            let extended = Deadline.adding(months: months, to: stored.due)
            guard months > 0, extended <= Deadline.latest(receivedAt: stored.request.receivedAt) else {
                throw HandoverError(
                    .invalidArgument, "a deadline may be extended by at most two months beyond the first (Art. 12(3))")
            }
            try db.prepare("UPDATE requests SET due = ?, extension_reason = ? WHERE id = ?")
                .run([.integer(extended.millisecondsSince1970), .text(reason), .text(id.rawValue)])
            try audit(
                db, id, from: stored.state, to: stored.state, actor: actor,
                detail: "deadline extended to \(extended.iso8601)", at: now)
        }
    }

    /// Gives the most urgent queued request to `worker` under a lease, after returning to the queue every
    /// running request whose lease ran out; nil when nothing is ready.
    public func claim(worker: String, leaseSeconds: Int, at now: Timestamp) throws -> StoredRequest? {
        try change { db in
            let expired = try db.prepare("SELECT id FROM requests WHERE state = 'running' AND lease_until < ?")
            try expired.bind([.integer(now.millisecondsSince1970)])
            var lapsed: [RequestID] = []
            while try expired.step() {
                if case .text(let text) = try expired.value(at: 0) { lapsed.append(try RequestID(text)) }
            }
            for id in lapsed {
                try db.prepare("UPDATE requests SET state = 'queued', worker = NULL, lease_until = NULL WHERE id = ?")
                    .run([.text(id.rawValue)])
                try audit(db, id, from: .running, to: .queued, actor: "system", detail: "lease expired", at: now)
            }
            let next = try db.prepare(
                """
                SELECT id FROM requests WHERE state = 'queued' AND (not_before IS NULL OR not_before <= ?)
                ORDER BY due, received_at, id LIMIT 1
                """)
            try next.bind([.integer(now.millisecondsSince1970)])
            guard try next.step(), case .text(let text) = try next.value(at: 0) else { return nil }
            let id = try RequestID(text)
            try db.prepare(
                "UPDATE requests SET state = 'running', worker = ?, lease_until = ?, attempts = attempts + 1 WHERE id = ?"
            ).run([
                .text(worker), .integer(now.millisecondsSince1970 + Int64(leaseSeconds) * 1000), .text(id.rawValue),
            ])
            try audit(db, id, from: .queued, to: .running, actor: worker, detail: nil, at: now)
            return try find(id, db)
        }
    }

    /// Extends `worker`'s lease on a running request.
    /// - Throws: ``HandoverError/Code/conflict`` when the worker no longer holds the lease.
    public func renew(_ id: RequestID, worker: String, leaseSeconds: Int, at now: Timestamp) throws {
        try change { db in
            try requireLease(id, worker, now, db)
            try db.prepare("UPDATE requests SET lease_until = ? WHERE id = ?")
                .run([.integer(now.millisecondsSince1970 + Int64(leaseSeconds) * 1000), .text(id.rawValue)])
        }
    }

    /// Records the published archive; it expires `retentionSeconds` later.
    /// - Throws: ``HandoverError/Code/conflict`` when the worker no longer holds the lease.
    public func complete(_ id: RequestID, worker: String, archive: String, retentionSeconds: Int, at now: Timestamp)
        throws
    {
        try change { db in
            try requireLease(id, worker, now, db)
            try db.prepare(
                """
                UPDATE requests SET state = 'completed', archive = ?, expires_at = ?, worker = NULL, lease_until = NULL,
                failure_reason = NULL WHERE id = ?
                """
            ).run([
                .text(archive), .integer(now.millisecondsSince1970 + Int64(retentionSeconds) * 1000),
                .text(id.rawValue),
            ])
            try audit(db, id, from: .running, to: .completed, actor: worker, detail: archive, at: now)
        }
    }

    /// Records a failed attempt: back to the queue after a backoff while attempts remain and the failure is
    /// transient, failed for good otherwise. The reason must hold no personal data.
    public func fail(
        _ id: RequestID, worker: String, reason: String, transient: Bool, maxAttempts: Int, backoffSeconds: Int,
        at now: Timestamp
    ) throws {
        try change { db in
            try requireLease(id, worker, now, db)
            guard let stored = try find(id, db) else { throw HandoverError(.notFound, "no request \(id)") }
            if transient && stored.attempts < maxAttempts {
                // Exponential backoff: base, 2×base, 4×base, …
                let delay = Int64(backoffSeconds) * (Int64(1) << Int64(min(stored.attempts - 1, 20)))
                try db.prepare(
                    """
                    UPDATE requests SET state = 'queued', worker = NULL, lease_until = NULL, not_before = ?, failure_reason = ?
                    WHERE id = ?
                    """
                ).run([.integer(now.millisecondsSince1970 + delay * 1000), .text(reason), .text(id.rawValue)])
                try audit(
                    db, id, from: .running, to: .queued, actor: worker, detail: "retry after \(delay) s: " + reason,
                    at: now)
            } else {
                try db.prepare(
                    "UPDATE requests SET state = 'failed', worker = NULL, lease_until = NULL, failure_reason = ? WHERE id = ?"
                ).run([.text(reason), .text(id.rawValue)])
                try audit(db, id, from: .running, to: .failed, actor: worker, detail: reason, at: now)
            }
        }
    }

    /// Marks a completed request's archive as deleted.
    public func markExpired(_ id: RequestID, actor: String, at now: Timestamp) throws {
        try move(id, to: .expired, actor: actor, at: now)
    }

    // MARK: - Reading

    /// One request, or nil.
    public func request(_ id: RequestID) throws -> StoredRequest? {
        try read { db in try find(id, db) }
    }

    /// Requests, most urgent first: by state, and those due before `dueBefore` (open ones only).
    public func list(state: RequestState? = nil, dueBefore: Timestamp? = nil) throws -> [StoredRequest] {
        try read { db in
            var conditions: [String] = []
            var parameters: [SQLiteValue] = []
            if let state {
                conditions.append("state = ?")
                parameters.append(.text(state.rawValue))
            }
            if let dueBefore {
                conditions.append("due < ? AND state IN ('received', 'verified', 'queued', 'running')")
                parameters.append(.integer(dueBefore.millisecondsSince1970))
            }
            let filter = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
            let statement = try db.prepare("SELECT id FROM requests" + filter + " ORDER BY due, id")
            try statement.bind(parameters)
            var ids: [RequestID] = []
            while try statement.step() {
                if case .text(let text) = try statement.value(at: 0) { ids.append(try RequestID(text)) }
            }
            return try ids.compactMap { try find($0, db) }
        }
    }

    /// Completed requests whose archives have reached their expiry.
    public func expiring(at now: Timestamp) throws -> [StoredRequest] {
        try list(state: .completed).filter { ($0.expiresAt ?? now) <= now }
    }

    /// The audit log of one request, oldest first.
    public func audit(of id: RequestID) throws -> [AuditEvent] {
        try read { db in
            let statement = try db.prepare(
                "SELECT at, from_state, to_state, actor, detail FROM audit WHERE request = ? ORDER BY seq")
            try statement.bind([.text(id.rawValue)])
            var events: [AuditEvent] = []
            while try statement.step() {
                events.append(
                    AuditEvent(
                        at: Timestamp(millisecondsSince1970: try statement.integer(0) ?? 0), request: id,
                        from: try statement.text(1).flatMap(RequestState.init(rawValue:)),
                        to: RequestState(rawValue: try statement.text(2) ?? "") ?? .received,
                        actor: try statement.text(3) ?? "", detail: try statement.text(4)))
            }
            return events
        }
    }

    // MARK: - Helpers

    private func change<T>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        try SQLiteConnection.withConnection(path: path, mode: .readWriteCreate) { db in
            try db.execute("BEGIN IMMEDIATE")
            do {
                let result = try body(db)
                try db.execute("COMMIT")
                return result
            } catch {
                try? db.execute("ROLLBACK")
                throw error
            }
        }
    }

    private func read<T>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        try SQLiteConnection.withConnection(path: path, mode: .readOnly) { db in try body(db) }
    }

    struct Assignments {
        var set: [String: SQLiteValue] = [:]
    }

    private func move(
        _ id: RequestID, to target: RequestState, actor: String, at now: Timestamp, detail: String? = nil,
        also: (inout Assignments) -> Void = { _ in }
    ) throws {
        try change { db in
            guard let stored = try find(id, db) else { throw HandoverError(.notFound, "no request \(id)") }
            guard stored.state.successors.contains(target) else {
                throw HandoverError(
                    .conflict, "request \(id) is \(stored.state.rawValue); it cannot become \(target.rawValue)")
            }
            var assignments = Assignments()
            assignments.set["state"] = .text(target.rawValue)
            also(&assignments)
            let columns = assignments.set.keys.sorted()
            try db.prepare(
                "UPDATE requests SET " + columns.map { $0 + " = ?" }.joined(separator: ", ") + " WHERE id = ?"
            ).run(columns.map { assignments.set[$0]! } + [.text(id.rawValue)])
            try audit(db, id, from: stored.state, to: target, actor: actor, detail: detail, at: now)
        }
    }

    private func requireLease(_ id: RequestID, _ worker: String, _ now: Timestamp, _ db: SQLiteConnection) throws {
        guard let stored = try find(id, db) else { throw HandoverError(.notFound, "no request \(id)") }
        guard stored.state == .running, stored.worker == worker, let until = stored.leaseUntil, until >= now else {
            throw HandoverError(.conflict, "worker \(worker) does not hold the lease on request \(id)")
        }
    }

    private func audit(
        _ db: SQLiteConnection, _ id: RequestID, from: RequestState?, to: RequestState, actor: String, detail: String?,
        at now: Timestamp
    ) throws {
        try db.prepare("INSERT INTO audit (at, request, from_state, to_state, actor, detail) VALUES (?, ?, ?, ?, ?, ?)")
            .run([
                .integer(now.millisecondsSince1970), .text(id.rawValue), from.map { .text($0.rawValue) } ?? .null,
                .text(to.rawValue), .text(actor), detail.map { .text($0) } ?? .null,
            ])
    }

    private func find(_ id: RequestID, _ db: SQLiteConnection) throws -> StoredRequest? {
        let s = try db.prepare(
            """
            SELECT purpose, scope_kind, tenant, subject_column, subject_value, received_at, state, due, extension_reason,
            attempts, not_before, worker, lease_until, archive, expires_at, failure_reason FROM requests WHERE id = ?
            """)
        try s.bind([.text(id.rawValue)])
        guard try s.step() else { return nil }
        let scope: ExportScope =
            try s.text(1) == "subject"
            ? .subject(SubjectSelector(column: try s.text(3) ?? "", value: try s.text(4) ?? ""), tenant: try s.text(2))
            : .tenant(try s.text(2) ?? "")
        let time = { (index: Int) throws -> Timestamp? in
            try s.integer(index).map(Timestamp.init(millisecondsSince1970:))
        }
        return StoredRequest(
            request: ExportRequest(
                id: id, purpose: Purpose(rawValue: try s.text(0) ?? "") ?? .access, scope: scope,
                receivedAt: try time(5) ?? Timestamp(millisecondsSince1970: 0)),
            state: RequestState(rawValue: try s.text(6) ?? "") ?? .received,
            due: try time(7) ?? Timestamp(millisecondsSince1970: 0),
            extensionReason: try s.text(8), attempts: Int(try s.integer(9) ?? 0), notBefore: try time(10),
            worker: try s.text(11), leaseUntil: try time(12), archive: try s.text(13), expiresAt: try time(14),
            failureReason: try s.text(15))
    }
}

extension SQLiteStatement {
    fileprivate func text(_ index: Int) throws -> String? {
        if case .text(let text) = try value(at: index) { return text }
        return nil
    }

    fileprivate func integer(_ index: Int) throws -> Int64? {
        if case .integer(let value) = try value(at: index) { return value }
        return nil
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: WhitespaceSet) -> String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }

    fileprivate enum WhitespaceSet { case whitespaces }
}
