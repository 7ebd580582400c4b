import ArgumentParser
import Foundation
import HandoverCore
import HandoverNotify
import HandoverStore
import Logging

/// `--notify-url` and its companions, on `worker` and `serve`: webhooks when a request completes, fails or nears
/// its deadline.
struct NotifyOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "POST a signed JSON event here when a request completes, fails, or nears its deadline.",
            discussion: """
                http:// or https://. The body holds no personal data; the header Handover-Signature: t=…,v1=… is \
                HMAC-SHA-256 of "<t>.<body>" with the secret of --notify-secret-file. Retried with a doubling \
                backoff; every attempt is recorded in the request's audit log.
                """, valueName: "url"))
    var notifyURL: String?

    @Option(name: .long, help: "The file holding the webhook's shared secret (at least 16 bytes; mode 600).")
    var notifySecretFile: String?

    @Option(name: .long, help: "PEM certificates to trust for an https --notify-url instead of the system's.")
    var notifyCAFile: String?

    @Option(name: .long, help: "Delivery attempts per event before it is given up.")
    var notifyAttempts = 12

    @Option(
        name: .long, help: "The wait after the first failed attempt; it doubles after each further one (at most 1h).")
    var notifyBackoff = "15s"

    @Option(name: .long, help: "Warn of an open request this long before its deadline.")
    var notifyBeforeDeadline = "3d"

    func validate() throws {
        if (notifyURL == nil) != (notifySecretFile == nil) {
            throw ValidationError("Give --notify-url and --notify-secret-file together.")
        }
        if notifyAttempts < 1 || notifyAttempts > 100 {
            throw ValidationError("--notify-attempts must be between 1 and 100.")
        }
        if let notifyURL {
            do {
                _ = try WebhookEndpoint(notifyURL)
            } catch let error as HandoverError {
                throw ValidationError(error.message.prefix(1).uppercased() + error.message.dropFirst() + ".")
            }
        }
    }

    /// The notifier these options describe, or nil without --notify-url.
    func makeNotifier(
        store: RequestStore, id: String, logger: Logger, observe: @escaping @Sendable (NotifierEvent) -> Void
    ) throws -> Notifier? {
        guard let notifyURL, let notifySecretFile else { return nil }
        var secret = try PrivateFile.read(notifySecretFile, "the notification secret file")
        // A CRLF is one Character in Swift: ask whether it is a line break, not which one.
        while let last = secret.last, last.isNewline { secret.removeLast() }
        let configuration = NotifierConfiguration(
            id: id, endpoint: try WebhookEndpoint(notifyURL), secret: Array(secret.utf8),
            retry: NotificationRetry(maxAttempts: notifyAttempts, backoffSeconds: try parseInterval(notifyBackoff)),
            deadlineWarningSeconds: try parseDuration(notifyBeforeDeadline), trustRootsFile: notifyCAFile)
        return try Notifier(store: store, configuration: configuration, logger: logger, observe: observe)
    }
}

/// One notification attempt in words, for standard error.
func describe(_ event: NotifierEvent) -> String {
    let what = "\(event.notification.kind.rawValue) \(event.notification.request)"
    switch event.outcome {
    case .delivered(let status): return "notified \(what) (HTTP \(status))"
    case .failed(let reason):
        return event.finished
            ? "gave up notifying \(what): \(safe(reason))" : "could not notify \(what): \(safe(reason))"
    }
}

/// The `event` of a notification attempt in `--json` output: `notified`, `notify-retrying` or `notify-given-up`.
func notificationEventName(_ event: NotifierEvent) -> String {
    switch event.outcome {
    case .delivered: "notified"
    case .failed: event.finished ? "notify-given-up" : "notify-retrying"
    }
}
