internal import Foundation
public import HandoverCore

/// What a notification tells: a request completed, failed for good, or nears its deadline while still open.
public enum NotificationKind: String, Sendable, CaseIterable, Codable {
    /// The request's archive was published and recorded.
    case completed = "request.completed"
    /// The request failed for good (no attempt left, or a failure no retry mends).
    case failed = "request.failed"
    /// The request is still open and its deadline is near.
    case deadlineApproaching = "request.deadline_approaching"
}

/// A notification waiting in the store's outbox: the event's fixed body (the same bytes on every attempt) and
/// how often it was tried.
public struct PendingNotification: Sendable, Hashable {
    /// The event's id (`evt_` and 16 hexadecimal digits), sent as `Handover-Event-Id` so that a receiver can drop
    /// a delivery it already has.
    public var id: String
    /// The request it is about.
    public var request: RequestID
    /// What it tells.
    public var kind: NotificationKind
    /// The JSON body, exactly as it will be sent.
    public var body: String
    /// When the event happened.
    public var createdAt: Timestamp
    /// Delivery attempts made before this one.
    public var attempts: Int
}

/// How one delivery attempt ended.
public enum NotificationOutcome: Sendable, Hashable {
    /// The receiver answered 2xx.
    case delivered(status: Int)
    /// The attempt failed: a status outside 2xx, or a network problem (described without the URL's secrets).
    case failed(reason: String)
}

/// Attempts and backoff for notifications: the wait after attempt n is `backoffSeconds × 2^(n−1)`, at most
/// `maxBackoffSeconds`.
public struct NotificationRetry: Sendable, Hashable {
    /// Attempts before a notification is given up (recorded as not delivered).
    public var maxAttempts: Int
    /// The wait after the first failed attempt, in seconds (fractions allowed).
    public var backoffSeconds: Double
    /// The longest wait between attempts, in seconds.
    public var maxBackoffSeconds: Double
    /// Events older than this when first picked up are not sent (a notifier started long after they happened);
    /// each is recorded as not delivered.
    public var maxAgeSeconds: Int64

    /// By default 12 attempts, 15 s doubling to at most 1 h (about 4.5 hours in all), and events up to 3 days old.
    public init(
        maxAttempts: Int = 12, backoffSeconds: Double = 15, maxBackoffSeconds: Double = 3_600,
        maxAgeSeconds: Int64 = 3 * 86_400
    ) {
        self.maxAttempts = max(1, maxAttempts)
        self.backoffSeconds = max(0.001, backoffSeconds)
        self.maxBackoffSeconds = max(self.backoffSeconds, maxBackoffSeconds)
        self.maxAgeSeconds = max(1, maxAgeSeconds)
    }

    /// The wait in milliseconds after attempt `attempt` (1-based) failed.
    public func backoffMilliseconds(afterAttempt attempt: Int) -> Int64 {
        let factor = pow(2.0, Double(min(max(attempt, 1) - 1, 40)))
        return Int64((min(backoffSeconds * factor, maxBackoffSeconds) * 1000).rounded())
    }
}

/// The body of a notification: the event and the request, with no personal data (no subject value, no subject
/// pseudonym, no name of a person; a tenant is the operator's own account id).
struct NotificationBody: Encodable {
    struct Request: Encodable {
        var id: String
        var purpose: String
        var scope: String
        var tenant: String?
        var state: String
        var receivedAt: String
        var due: String
        var failureReason: String?
        var archive: Archive?
    }

    struct Archive: Encodable {
        var bytes: Int64
        var sha256: String?
        var files: [ArchiveFile]
        var expiresAt: String?
    }

    var id: String
    var type: String
    var createdAt: String
    var request: Request

    init(id: String, kind: NotificationKind, stored: StoredRequest, at now: Timestamp) {
        self.id = id
        type = kind.rawValue
        createdAt = now.iso8601
        let scope: String
        let tenant: String?
        switch stored.request.scope {
        case .subject(_, let owner):
            scope = "subject"
            tenant = owner
        case .tenant(let owner):
            scope = "tenant"
            tenant = owner
        }
        var archive: Archive?
        if stored.state == .completed {
            let files = stored.archiveFiles
            archive = Archive(
                bytes: files.reduce(0) { $0 + $1.bytes }, sha256: files.count == 1 ? files[0].sha256 : nil,
                files: files, expiresAt: stored.expiresAt?.iso8601)
        }
        request = Request(
            id: stored.request.id.rawValue, purpose: stored.request.purpose.rawValue, scope: scope, tenant: tenant,
            state: stored.state.rawValue, receivedAt: stored.request.receivedAt.iso8601, due: stored.due.iso8601,
            failureReason: stored.state == .failed ? stored.failureReason : nil, archive: archive)
    }

    func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Every field is a string, an integer or an array of them: encoding cannot fail.
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }
}

extension RequestStore {
    /// Puts an event in the outbox, in the transaction that made it happen, so that an event is recorded exactly
    /// when its change is. `stored` is the request as it is after the change.
    func enqueueNotification(
        _ tx: any StoreTransaction, _ kind: NotificationKind, _ stored: StoredRequest, _ now: Timestamp
    ) async throws {
        let id = "evt_" + Secrets.make().id
        let body = NotificationBody(id: id, kind: kind, stored: stored, at: now).json()
        try await tx.run(
            """
            INSERT INTO notifications (id, request, event, due, body, created_at, attempts, next_attempt_at)
            VALUES (?, ?, ?, ?, ?, ?, 0, ?) ON CONFLICT DO NOTHING
            """,
            [
                .text(id), .text(stored.request.id.rawValue), .text(kind.rawValue), StoreValue(stored.due),
                .text(body), StoreValue(now), StoreValue(now),
            ])
    }

    /// Puts a ``NotificationKind/deadlineApproaching`` event in the outbox for every open request (received,
    /// verified, queued or running) due before `before` that has none yet for its current deadline (a deadline
    /// extended later gets a warning of its own).
    /// - Returns: How many events were added.
    @discardableResult
    public func enqueueDeadlineWarnings(dueBefore before: Timestamp, at now: Timestamp) async throws -> Int {
        try await backEnd.write { tx in
            let rows = try await tx.rows(
                """
                SELECT \(Self.columns) FROM requests WHERE state IN ('received', 'verified', 'queued', 'running')
                AND due < ? AND NOT EXISTS (SELECT 1 FROM notifications WHERE notifications.request = requests.id
                AND notifications.event = ? AND notifications.due = requests.due) ORDER BY due, id LIMIT 500
                """, [StoreValue(before), .text(NotificationKind.deadlineApproaching.rawValue)])
            for row in rows {
                try await enqueueNotification(tx, .deadlineApproaching, try Self.decode(row), now)
            }
            return rows.count
        }
    }

    /// Gives up to `limit` notifications that are due to `holder` under a lease of `leaseSeconds`, oldest first.
    /// Notifications older than `retry.maxAgeSeconds` are first recorded as not delivered (never sent). On
    /// PostgreSQL the rows are read `FOR UPDATE SKIP LOCKED`: several notifiers never send one event twice at once.
    public func claimNotifications(
        holder: String, leaseSeconds: Int64, limit: Int = 10, retry: NotificationRetry = NotificationRetry(),
        at now: Timestamp
    ) async throws -> [PendingNotification] {
        try ControlCharacters.require(holder, "notifier id")
        return try await backEnd.write { tx in
            let stale = try await tx.rows(
                """
                SELECT id, request, event FROM notifications WHERE delivered_at IS NULL AND abandoned_at IS NULL
                AND attempts = 0 AND created_at < ? ORDER BY id LIMIT 100
                """ + backEnd.lockRowsSkippingLocked, [StoreValue(now.adding(seconds: -retry.maxAgeSeconds))])
            for row in stale {
                let columns = try RowDecoder(row, columns: ["id", "request", "event"], name: "notification row")
                let id = try columns.text(0)
                try await tx.run(
                    "UPDATE notifications SET abandoned_at = ?, last_result = ? WHERE id = ?",
                    [StoreValue(now), .text("older than the notifier's maximum age when first picked up"), .text(id)])
                try await auditNotification(
                    tx, try RequestID(try columns.text(1)), holder,
                    "notification \(try columns.text(2)) \(id) not sent: it was older than "
                        + "\(retry.maxAgeSeconds) s when a notifier first picked it up", now)
            }
            let rows = try await tx.rows(
                """
                SELECT id, request, event, body, created_at, attempts FROM notifications
                WHERE delivered_at IS NULL AND abandoned_at IS NULL AND next_attempt_at <= ?
                AND (lease_until IS NULL OR lease_until < ?) ORDER BY next_attempt_at, id LIMIT ?
                """ + backEnd.lockRowsSkippingLocked,
                [StoreValue(now), StoreValue(now), .integer(Int64(max(1, limit)))])
            var claimed: [PendingNotification] = []
            for row in rows {
                let columns = try RowDecoder(
                    row, columns: ["id", "request", "event", "body", "created_at", "attempts"],
                    name: "notification row")
                let notification = PendingNotification(
                    id: try columns.text(0), request: try RequestID(try columns.text(1)),
                    kind: try columns.value(2, NotificationKind.self, "event"), body: try columns.text(3),
                    createdAt: try columns.time(4), attempts: Int(try columns.integer(5)))
                try await tx.run(
                    "UPDATE notifications SET lease_holder = ?, lease_until = ? WHERE id = ?",
                    [.text(holder), StoreValue(now.adding(seconds: leaseSeconds)), .text(notification.id)])
                claimed.append(notification)
            }
            return claimed
        }
    }

    /// Records how an attempt to deliver `notification` ended, in the outbox and in the request's audit log:
    /// delivered; failed, with the next attempt after the backoff; or, after `retry.maxAttempts`, given up.
    /// - Returns: True when the notification is finished (delivered or given up).
    /// - Throws: ``HandoverError/Code/conflict`` when `holder` no longer holds its lease (another notifier took
    ///   it over): nothing is recorded.
    @discardableResult
    public func recordNotification(
        _ notification: PendingNotification, holder: String, outcome: NotificationOutcome,
        retry: NotificationRetry = NotificationRetry(), at now: Timestamp
    ) async throws -> Bool {
        try await backEnd.write { tx in
            let rows = try await tx.rows(
                "SELECT attempts, lease_holder FROM notifications WHERE id = ? AND delivered_at IS NULL "
                    + "AND abandoned_at IS NULL" + backEnd.lockRows, [.text(notification.id)])
            guard let row = rows.first, row[1].text == holder else {
                throw HandoverError(.conflict, "notifier \(holder) does not hold notification \(notification.id)")
            }
            let attempts = (row[0].integer ?? 0) + 1
            let name = "notification \(notification.kind.rawValue) \(notification.id)"
            switch outcome {
            case .delivered(let status):
                try await tx.run(
                    """
                    UPDATE notifications SET attempts = ?, delivered_at = ?, last_result = ?, lease_holder = NULL,
                    lease_until = NULL WHERE id = ?
                    """, [.integer(attempts), StoreValue(now), .text("HTTP \(status)"), .text(notification.id)])
                try await auditNotification(
                    tx, notification.request, holder, "\(name) delivered (HTTP \(status), attempt \(attempts))", now)
                return true
            case .failed(let reason):
                let reason = ControlCharacters.escaped(reason)
                if attempts >= Int64(retry.maxAttempts) {
                    try await tx.run(
                        """
                        UPDATE notifications SET attempts = ?, abandoned_at = ?, last_result = ?, lease_holder = NULL,
                        lease_until = NULL WHERE id = ?
                        """, [.integer(attempts), StoreValue(now), .text(reason), .text(notification.id)])
                    try await auditNotification(
                        tx, notification.request, holder,
                        "\(name) not delivered: attempt \(attempts) of \(retry.maxAttempts) failed (\(reason)); "
                            + "given up", now)
                    return true
                }
                let wait = retry.backoffMilliseconds(afterAttempt: Int(attempts))
                try await tx.run(
                    """
                    UPDATE notifications SET attempts = ?, next_attempt_at = ?, last_result = ?, lease_holder = NULL,
                    lease_until = NULL WHERE id = ?
                    """,
                    [
                        .integer(attempts), .integer(now.millisecondsSince1970 + wait), .text(reason),
                        .text(notification.id),
                    ])
                try await auditNotification(
                    tx, notification.request, holder,
                    "\(name) attempt \(attempts) of \(retry.maxAttempts) failed (\(reason)); next in "
                        + Self.seconds(wait), now)
                return false
            }
        }
    }

    /// When the next pending notification is due (nil when none is pending), for a notifier deciding whether to
    /// wait for it before it stops.
    public func nextNotificationDue() async throws -> Timestamp? {
        try await backEnd.read { tx in
            try await tx.rows(
                "SELECT MIN(next_attempt_at) FROM notifications WHERE delivered_at IS NULL AND abandoned_at IS NULL",
                []
            ).first?.first?.time
        }
    }

    /// The notifications of one request, oldest first: what was sent, how often, and how it ended.
    public func notifications(of id: RequestID) async throws -> [NotificationRecord] {
        try await backEnd.read { tx in
            try await tx.rows(
                """
                SELECT id, event, created_at, attempts, delivered_at, abandoned_at, last_result, body
                FROM notifications WHERE request = ? ORDER BY created_at, id
                """, [.text(id.rawValue)]
            ).map { row in
                let columns = try RowDecoder(
                    row,
                    columns: [
                        "id", "event", "created_at", "attempts", "delivered_at", "abandoned_at", "last_result", "body",
                    ], name: "notification row of request \(id)")
                return NotificationRecord(
                    id: try columns.text(0), request: id, kind: try columns.value(1, NotificationKind.self, "event"),
                    createdAt: try columns.time(2), attempts: Int(try columns.integer(3)),
                    deliveredAt: try columns.optionalTime(4), abandonedAt: try columns.optionalTime(5),
                    lastResult: try columns.optionalText(6), body: try columns.text(7))
            }
        }
    }

    private func auditNotification(
        _ tx: any StoreTransaction, _ id: RequestID, _ holder: String, _ detail: String, _ now: Timestamp
    ) async throws {
        let stored = try await tx.rows("SELECT state, subject_key FROM requests WHERE id = ?", [.text(id.rawValue)])
        guard let row = stored.first, let state = row[0].text.flatMap(RequestState.init(rawValue:)) else { return }
        try await recordAudit(tx, id, row[1].text, state: state, holder, detail, now)
    }

    private static func seconds(_ milliseconds: Int64) -> String {
        milliseconds % 1000 == 0 ? "\(milliseconds / 1000) s" : String(format: "%.3f s", Double(milliseconds) / 1000)
    }
}

/// A notification as the store records it.
public struct NotificationRecord: Sendable, Hashable {
    /// The event's id.
    public var id: String
    /// The request it is about.
    public var request: RequestID
    /// What it tells.
    public var kind: NotificationKind
    /// When the event happened.
    public var createdAt: Timestamp
    /// Delivery attempts made.
    public var attempts: Int
    /// When it was delivered, if it was.
    public var deliveredAt: Timestamp?
    /// When it was given up, if it was.
    public var abandonedAt: Timestamp?
    /// The last attempt's result (`HTTP 204`, or why it failed), without the URL's secrets.
    public var lastResult: String?
    /// The JSON body sent.
    public var body: String
}
