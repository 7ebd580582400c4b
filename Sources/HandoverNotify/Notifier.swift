public import HandoverCore
public import HandoverStore
public import Logging
public import ServiceLifecycle

/// How a ``Notifier`` sends: where, with which secret, how often it retries, and when a deadline counts as near.
public struct NotifierConfiguration: Sendable {
    /// The notifier's name in the store and the audit log (such as `host:pid/notify`).
    public var id: String
    /// Where events are posted.
    public var endpoint: WebhookEndpoint
    /// The shared secret of the HMAC in `Handover-Signature`. Never logged, never in an error.
    public var secret: [UInt8]
    /// Attempts and backoff.
    public var retry: NotificationRetry
    /// An open request due within this many seconds gets a ``NotificationKind/deadlineApproaching`` event.
    public var deadlineWarningSeconds: Int64
    /// How long one delivery may take, connection included.
    public var timeoutSeconds: Double
    /// How long to wait before looking again when nothing is due.
    public var pollSeconds: Double
    /// A PEM file of certificates to trust for an `https` endpoint instead of the system's.
    public var trustRootsFile: String?

    /// A configuration: by default 3 days' deadline warning, a 10 s timeout, and a look every second.
    public init(
        id: String, endpoint: WebhookEndpoint, secret: [UInt8], retry: NotificationRetry = NotificationRetry(),
        deadlineWarningSeconds: Int64 = 3 * 86_400, timeoutSeconds: Double = 10, pollSeconds: Double = 1,
        trustRootsFile: String? = nil
    ) {
        self.id = id
        self.endpoint = endpoint
        self.secret = secret
        self.retry = retry
        self.deadlineWarningSeconds = max(0, deadlineWarningSeconds)
        self.timeoutSeconds = max(0.1, timeoutSeconds)
        self.pollSeconds = max(0.01, pollSeconds)
        self.trustRootsFile = trustRootsFile
    }
}

extension NotifierConfiguration: CustomStringConvertible, CustomReflectable {
    /// The configuration without its secret (and the endpoint without path or query).
    public var description: String {
        "NotifierConfiguration(id: \(id), endpoint: \(endpoint), secret: <\(secret.count) bytes>, "
            + "attempts: \(retry.maxAttempts))"
    }

    /// A mirror that leaves the secret out, so that `dump` and debuggers do not show it either.
    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "id": id, "endpoint": endpoint.description, "secret": "<\(secret.count) bytes>", "retry": retry,
                "deadlineWarningSeconds": deadlineWarningSeconds, "timeoutSeconds": timeoutSeconds,
            ])
    }
}

/// One delivery attempt, for the caller to show or count. Holds no personal data and no secret.
public struct NotifierEvent: Sendable {
    /// The notification.
    public var notification: PendingNotification
    /// How the attempt ended.
    public var outcome: NotificationOutcome
    /// Whether the notification is finished (delivered, or given up after its last attempt).
    public var finished: Bool
}

/// Sends the store's notifications to a webhook: the events of requests completed, failed for good, or near their
/// deadline, each a JSON body signed with HMAC-SHA-256 (``WebhookSignature``), retried with backoff, and recorded
/// in the request's audit log.
///
/// Events are written to the store's outbox in the same transaction as the change they tell of, so a notifier
/// that was down, or a worker that died, loses none: whichever notifier runs next sends them. Several notifiers
/// on one store (one per worker process) share the outbox under leases and never send an event twice at once.
/// A receiver may still see an event twice (an answer lost on the way back); `Handover-Event-Id` lets it drop the
/// second.
///
/// As a swift-service-lifecycle `Service`: on graceful shutdown it makes one last pass over what is due (bounded
/// by the timeout) and returns; what is left waits in the store.
public struct Notifier: Service {
    /// The store whose outbox it sends.
    public let store: RequestStore
    /// Where and how.
    public let configuration: NotifierConfiguration
    /// Where it logs (the endpoint's host and port, event ids and outcomes; never a secret, path or body).
    public let logger: Logger
    /// Told of every attempt.
    public let observe: @Sendable (NotifierEvent) -> Void
    private let client: WebhookClient

    /// A notifier on `store`.
    /// - Throws: ``HandoverError/Code/invalidArgument`` when the TLS settings cannot be used, or the secret is
    ///   shorter than 16 bytes.
    public init(
        store: RequestStore, configuration: NotifierConfiguration, logger: Logger,
        observe: @escaping @Sendable (NotifierEvent) -> Void = { _ in }
    ) throws {
        guard configuration.secret.count >= 16 else {
            throw HandoverError(.invalidArgument, "the notification secret must be at least 16 bytes long")
        }
        self.store = store
        self.configuration = configuration
        self.logger = logger
        self.observe = observe
        client = try WebhookClient(
            endpoint: configuration.endpoint, trustRootsFile: configuration.trustRootsFile,
            timeoutSeconds: configuration.timeoutSeconds)
    }

    /// Sends until graceful shutdown (or cancellation), then makes one last pass over what is due.
    ///
    /// Its store transactions run on a thread of its own (a SQLite store's statements block), never on the
    /// cooperative pool; the HTTP exchanges are SwiftNIO's, on its event loops.
    public func run() async throws {
        let own = ThreadPoolExecutor(threads: 1)
        defer { own.shutdown() }
        await withTaskExecutorPreference(own) { await work() }
    }

    private func work() async {
        var lastDeadlineScan: Timestamp?
        var outage = 0
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let now = Timestamp.now()
                if lastDeadlineScan.map({ now.millisecondsSince1970 - $0.millisecondsSince1970 >= 60_000 }) ?? true {
                    try await store.enqueueDeadlineWarnings(
                        dueBefore: now.adding(seconds: configuration.deadlineWarningSeconds), at: now)
                    lastDeadlineScan = now
                }
                let sent = try await sendDue()
                outage = 0
                if sent > 0 { continue }
                try? await gracefulShutdown(orSleep: configuration.pollSeconds)
            } catch {
                outage += 1
                logger.warning(
                    "notifications: the store cannot be reached",
                    metadata: ["error": "\(Self.describe(error))", "notifier": "\(configuration.id)"])
                try? await gracefulShutdown(orSleep: min(30, configuration.pollSeconds * Double(1 << min(outage, 5))))
            }
        }
        // Last pass: what is due now, and retries that fall due within one timeout's time; the rest waits in the
        // store for the next notifier.
        let end = Timestamp.now().adding(seconds: Int64(configuration.timeoutSeconds.rounded(.up)))
        while Timestamp.now() < end, !Task.isCancelled {
            guard let sent = try? await sendDue() else { break }
            if sent > 0 { continue }
            guard let next = try? await store.nextNotificationDue(), next < end else { break }
            try? await Task.sleep(
                for: .milliseconds(
                    min(200, max(10, next.millisecondsSince1970 - Timestamp.now().millisecondsSince1970))))
        }
    }

    /// Claims what is due now and makes one delivery attempt for each (at most ten at once), recording each.
    /// - Returns: How many attempts were made.
    @discardableResult
    public func sendDue() async throws -> Int {
        let lease = Int64(max(60, configuration.timeoutSeconds * 3))
        let batch = try await store.claimNotifications(
            holder: configuration.id, leaseSeconds: lease, limit: 10, retry: configuration.retry, at: .now())
        await withTaskGroup(of: Void.self) { group in
            for notification in batch {
                group.addTask { await deliver(notification) }
            }
        }
        return batch.count
    }

    private func deliver(_ notification: PendingNotification) async {
        let body = Array(notification.body.utf8)
        let signature = WebhookSignature.header(
            secret: configuration.secret, timestamp: Timestamp.now().millisecondsSince1970 / 1000, body: body)
        let outcome: NotificationOutcome
        do {
            let status = try await client.post(
                body: body,
                headers: [
                    ("Content-Type", "application/json"), ("User-Agent", "Handover-Notifier/1"),
                    ("Handover-Event-Id", notification.id), ("Handover-Event-Type", notification.kind.rawValue),
                    ("Handover-Signature", signature),
                ])
            outcome = (200..<300).contains(status) ? .delivered(status: status) : .failed(reason: "HTTP \(status)")
        } catch {
            outcome = .failed(reason: error.reason)
        }
        do {
            let finished = try await store.recordNotification(
                notification, holder: configuration.id, outcome: outcome, retry: configuration.retry, at: .now())
            observe(NotifierEvent(notification: notification, outcome: outcome, finished: finished))
        } catch {
            logger.warning(
                "notifications: cannot record a delivery attempt",
                metadata: ["event": "\(notification.id)", "error": "\(Self.describe(error))"])
        }
    }

    private func gracefulShutdown(orSleep seconds: Double) async throws {
        try await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(seconds)) }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? HandoverError { return error.code.description + ": " + error.message }
        return String(describing: type(of: error))
    }
}
