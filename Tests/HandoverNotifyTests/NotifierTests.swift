import Crypto
import Foundation
import HandoverCore
import HandoverNotify
import HandoverStore
import Logging
import TestSupport
import Testing

private let secret = Array("a shared secret of 32 characters".utf8)
private let subjectEmail = "ana.notified@example.com"

private func completedRequest(_ store: RequestStore, _ id: String, at now: Timestamp = .now()) async throws {
    let request = ExportRequest(
        id: try RequestID(id), purpose: .portability,
        scope: .subject(SubjectSelector(column: "email", value: subjectEmail), tenant: "acme"), receivedAt: now)
    try await submitVerifyAndQueue(store, [request])
    let claimed = try #require(try await store.claim(worker: "w", leaseSeconds: 60, at: now))
    try await store.complete(
        claimed.request.id, worker: "w", archive: "/srv/out/handover-\(id).zip",
        files: [ArchiveFile(name: "handover-\(id).zip", bytes: 1234, sha256: String(repeating: "c", count: 64))],
        retentionSeconds: 3600, at: now)
}

/// The default timeout is long: under the full suite's load the in-process receiver has answered after 5 s, and the
/// 500 it sent was then recorded as a timeout. The test of timeouts gives its own.
private func notifier(
    _ store: RequestStore, _ url: String, id: String = "notifier-1", attempts: Int = 3, timeout: Double = 60,
    warning: Int64 = 86_400, trace: (@Sendable (NotifierEvent) -> Void)? = nil
) throws -> Notifier {
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    return try Notifier(
        store: store,
        configuration: NotifierConfiguration(
            id: id, endpoint: try WebhookEndpoint(url), secret: secret,
            retry: NotificationRetry(maxAttempts: attempts, backoffSeconds: 0.05, maxBackoffSeconds: 0.1),
            deadlineWarningSeconds: warning, timeoutSeconds: timeout, pollSeconds: 0.05),
        logger: logger, observe: trace ?? { _ in })
}

/// Sends what is due until nothing is left pending (each retry waits its backoff), at most `rounds` times: rounds,
/// not seconds, so that a machine that stalls the test for a while does not fail it.
private func drain(_ notifier: Notifier, _ store: RequestStore, _ id: RequestID, rounds: Int = 2_000) async throws {
    for _ in 0..<rounds {
        try await notifier.sendDue()
        let records = try await store.notifications(of: id)
        if !records.isEmpty && records.allSatisfy({ $0.deliveredAt != nil || $0.abandonedAt != nil }) { return }
        try await Task.sleep(for: .milliseconds(30))
    }
    Issue.record("notifications of \(id) still pending after \(rounds) rounds")
}

@Suite struct WebhookSignatureTests {
    @Test func signsTimestampAndBodyAndRefusesAnyChange() throws {
        let body = Array(#"{"id":"evt_1"}"#.utf8)
        let header = WebhookSignature.header(secret: secret, timestamp: 1_700_000_000, body: body)
        #expect(header.hasPrefix("t=1700000000,v1="))
        // The MAC is HMAC-SHA-256 over "<t>.<body>", computed here from the primitive.
        let expected = HMAC<SHA256>.authenticationCode(
            for: Array("1700000000.".utf8) + body, using: SymmetricKey(data: secret)
        ).map { String(format: "%02x", $0) }.joined()
        #expect(header == "t=1700000000,v1=" + expected)
        #expect(WebhookSignature.isValid(header: header, secret: secret, body: body, now: 1_700_000_100))
        #expect(!WebhookSignature.isValid(header: header, secret: secret, body: body + [32], now: 1_700_000_100))
        #expect(!WebhookSignature.isValid(header: header, secret: secret + [1], body: body, now: 1_700_000_100))
        #expect(!WebhookSignature.isValid(header: header, secret: secret, body: body, now: 1_700_000_301), "replay")
        let other = header.replacingOccurrences(of: "t=1700000000", with: "t=1700000001")
        #expect(!WebhookSignature.isValid(header: other, secret: secret, body: body, now: 1_700_000_100))
        #expect(
            WebhookSignature.isValid(
                header: "t=1700000000,v1=00ff,v1=" + expected, secret: secret, body: body, now: 1_700_000_000),
            "any of several v1 values")
        for garbage in ["", "t=1700000000", "v1=" + expected, "t=x,v1=" + expected, "t=1700000000,v1=zz"] {
            #expect(!WebhookSignature.isValid(header: garbage, secret: secret, body: body, now: 1_700_000_000))
        }
    }

    @Test func aConfigurationNeverShowsItsSecret() throws {
        let configuration = NotifierConfiguration(
            id: "n", endpoint: try WebhookEndpoint("https://hooks.example/in?token=abc"), secret: secret)
        var dumped = ""
        dump(configuration, to: &dumped)
        let secretText = String(decoding: secret, as: UTF8.self)
        for text in ["\(configuration)", String(reflecting: configuration), dumped] {
            #expect(!text.contains(secretText) && !text.contains("token=abc") && text.contains("<32 bytes>"), "\(text)")
        }
    }

    @Test func endpointsParseAndDescribeWithoutPathOrQuery() throws {
        let endpoint = try WebhookEndpoint("https://hooks.example.com/in/abc?token=s3cret#x")
        #expect(endpoint.tls && endpoint.host == "hooks.example.com" && endpoint.port == 443)
        #expect(endpoint.target == "/in/abc?token=s3cret")
        #expect(endpoint.description == "https://hooks.example.com:443")
        let v6 = try WebhookEndpoint("http://[::1]:8081")
        #expect(v6.host == "::1" && v6.port == 8081 && v6.target == "/" && v6.description == "http://[::1]:8081")
        for bad in [
            "ftp://x/", "http://user:pw@host/", "http://", "http://host:0/", "http://host:99999/", "http://ho st/",
            "http://[::1/", "hooks.example.com",
        ] {
            #expect(throws: HandoverError.self, "\(bad)") { try WebhookEndpoint(bad) }
            do { _ = try WebhookEndpoint(bad) } catch { #expect(!"\(error)".contains("pw")) }
        }
    }
}

@Suite(.serialized) struct NotifierTests {
    @Test func aCompletedRequestIsPostedSignedRetriedAndAudited() async throws {
        let receiver = try await Receiver(script: [500, 204])
        defer { Task { await receiver.close() } }
        try await withStore(.sqlite) { store, _ in
            try await completedRequest(store, "req-n1")
            let id = try RequestID("req-n1")
            try await drain(try notifier(store, receiver.url), store, id)
            let deliveries = receiver.deliveries
            try #require(deliveries.count == 2, "one failed attempt (500), then delivered")
            #expect(deliveries[0].body == deliveries[1].body, "the same bytes on every attempt")
            #expect(deliveries[0].headers["handover-event-id"] == deliveries[1].headers["handover-event-id"])
            for delivery in deliveries {
                #expect(delivery.target == "/hooks/handover?token=receiver-secret")
                #expect(delivery.headers["content-type"] == "application/json")
                #expect(delivery.headers["handover-event-type"] == "request.completed")
                let header = try #require(delivery.headers["handover-signature"])
                #expect(
                    WebhookSignature.isValid(
                        header: header, secret: secret, body: delivery.body,
                        now: Timestamp.now().millisecondsSince1970 / 1000))
            }
            let body = String(decoding: deliveries[1].body, as: UTF8.self)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
            #expect(json["type"] as? String == "request.completed")
            let request = try #require(json["request"] as? [String: Any])
            #expect(request["id"] as? String == "req-n1" && request["state"] as? String == "completed")
            let archive = try #require(request["archive"] as? [String: Any])
            #expect(
                archive["bytes"] as? Int == 1234 && archive["sha256"] as? String == String(repeating: "c", count: 64))
            #expect(!body.contains(subjectEmail) && !body.contains("ana"), "no personal data")
            let stored = try #require(try await store.request(id))
            #expect(!body.contains(try #require(stored.subjectKey)), "not even the subject's pseudonym")

            let record = try #require(try await store.notifications(of: id).first)
            #expect(record.attempts == 2 && record.deliveredAt != nil && record.lastResult == "HTTP 204")
            let audit = try await store.audit(of: id).compactMap(\.detail)
            #expect(
                audit.contains { $0.contains("request.completed") && $0.contains("attempt 1 of 3 failed (HTTP 500)") })
            #expect(
                audit.contains { $0.contains("request.completed") && $0.contains("delivered (HTTP 204, attempt 2)") })
            #expect(!audit.joined().contains("receiver-secret"), "the URL's query is nobody's business")
            #expect(try await store.checkAudit().isIntact)
        }
    }

    @Test func unreachableEndpointsAreGivenUpAfterTheLastAttemptAndRedirectsAreNotFollowed() async throws {
        // A port nothing listens on: bind a receiver, note its port, close it.
        let closed = try await Receiver()
        let port = closed.port
        await closed.close()
        let redirecting = try await Receiver(script: [302, 302])
        defer { Task { await redirecting.close() } }
        try await withStore(.memory) { store, _ in
            try await completedRequest(store, "req-n2")
            let id = try RequestID("req-n2")
            try await drain(try notifier(store, "http://127.0.0.1:\(port)/x", attempts: 2), store, id)
            let record = try #require(try await store.notifications(of: id).first)
            #expect(record.deliveredAt == nil && record.abandonedAt != nil && record.attempts == 2)
            #expect(record.lastResult?.contains("cannot connect") == true, "\(record.lastResult ?? "")")
            let audit = try await store.audit(of: id).compactMap(\.detail)
            #expect(audit.contains { $0.contains("attempt 2 of 2 failed") && $0.contains("given up") })

            try await completedRequest(store, "req-n3")
            let other = try RequestID("req-n3")
            try await drain(try notifier(store, redirecting.url, attempts: 2), store, other)
            #expect(try await store.notifications(of: other).first?.lastResult == "HTTP 302")
            #expect(redirecting.deliveries.count == 2, "a 3xx is a failed attempt; its Location is never visited")
        }
    }

    @Test func aReceiverThatNeverAnswersTimesOut() async throws {
        let silent = try await Receiver(script: [0])
        defer { Task { await silent.close() } }
        try await withStore(.memory) { store, _ in
            try await completedRequest(store, "req-n4")
            let id = try RequestID("req-n4")
            try await notifier(store, silent.url, attempts: 1, timeout: 0.5).sendDue()
            let record = try #require(try await store.notifications(of: id).first)
            #expect(record.abandonedAt != nil && record.lastResult?.hasPrefix("no answer within") == true)
        }
    }

    @Test(arguments: StoreKind.everyBackEnd)
    func twoNotifiersOnOneStoreSendEachEventOnce(_ kind: StoreKind) async throws {
        let receiver = try await Receiver()
        defer { Task { await receiver.close() } }
        try await withStore(kind) { store, _ in
            let now = Timestamp.now()
            let ids = (1...12).map { "req-m\($0)" }
            for id in ids { try await completedRequest(store, id, at: now) }
            let first = try notifier(store, receiver.url, id: "n-1")
            let second = try notifier(store, receiver.url, id: "n-2")
            for _ in 0..<4 {
                async let a = first.sendDue()
                async let b = second.sendDue()
                _ = try await (a, b)
            }
            let events = receiver.deliveries.compactMap { $0.headers["handover-event-id"] }
            #expect(events.count == 12 && Set(events).count == 12, "\(events.count) deliveries")
            for id in ids {
                #expect(try await store.notifications(of: try RequestID(id)).first?.deliveredAt != nil)
            }
        }
    }

    @Test(arguments: StoreKind.everyBackEnd)
    func openRequestsNearTheirDeadlineAreWarnedOncePerDeadline(_ kind: StoreKind) async throws {
        let receiver = try await Receiver()
        defer { Task { await receiver.close() } }
        try await withStore(kind) { store, _ in
            // Received 29 days ago: due in about two days. Another, received today, is not near its deadline.
            let now = Timestamp.now()
            let late = ExportRequest(
                id: try RequestID("req-late"), purpose: .access,
                scope: .subject(SubjectSelector(column: "email", value: subjectEmail), tenant: nil),
                receivedAt: now.adding(seconds: -29 * 86_400))
            let fresh = ExportRequest(
                id: try RequestID("req-fresh"), purpose: .access, scope: .tenant("acme"), receivedAt: now)
            try await store.submit(late, actor: "portal", at: late.receivedAt)
            try await store.submit(fresh, actor: "portal", at: now)
            let warned = try await store.enqueueDeadlineWarnings(dueBefore: now.adding(seconds: 3 * 86_400), at: now)
            #expect(warned == 1)
            #expect(try await store.enqueueDeadlineWarnings(dueBefore: now.adding(seconds: 3 * 86_400), at: now) == 0)
            try await notifier(store, receiver.url).sendDue()
            #expect(receiver.deliveries.map { $0.headers["handover-event-type"] } == ["request.deadline_approaching"])
            let body = String(decoding: try #require(receiver.deliveries.first).body, as: UTF8.self)
            #expect(
                body.contains("req-late") && body.contains("\"state\":\"received\"") && !body.contains(subjectEmail))
            // An extended deadline that comes near again is warned of again.
            try await store.extend(late.id, byMonths: 1, reason: "complex request", actor: "dpo", at: now)
            #expect(try await store.enqueueDeadlineWarnings(dueBefore: now.adding(seconds: 40 * 86_400), at: now) == 2)
        }
    }

    @Test func eventsOlderThanTheMaximumAgeAreRecordedButNotSent() async throws {
        let receiver = try await Receiver()
        defer { Task { await receiver.close() } }
        try await withStore(.memory) { store, _ in
            try await completedRequest(store, "req-old", at: Timestamp.now().adding(seconds: -4 * 86_400))
            try await notifier(store, receiver.url).sendDue()
            #expect(receiver.deliveries.isEmpty)
            let record = try #require(try await store.notifications(of: try RequestID("req-old")).first)
            #expect(record.abandonedAt != nil && record.attempts == 0)
            #expect(
                try await store.audit(of: try RequestID("req-old")).contains { $0.detail?.contains("not sent") == true }
            )
        }
    }

    @Test func aTransientFailureThatWillBeRetriedIsNoEvent() async throws {
        try await withStore(.memory) { store, _ in
            let now = Timestamp.now()
            let request = ExportRequest(
                id: try RequestID("req-t1"), purpose: .access, scope: .tenant("acme"), receivedAt: now)
            try await submitVerifyAndQueue(store, [request])
            _ = try #require(try await store.claim(worker: "w", leaseSeconds: 60, at: now))
            try await store.fail(request.id, worker: "w", reason: "disk busy", transient: true, at: now)
            #expect(try await store.notifications(of: request.id).isEmpty)
            let again = try #require(
                try await store.claim(worker: "w", leaseSeconds: 60, at: now.adding(seconds: 3600)))
            try await store.fail(again.request.id, worker: "w", reason: "corrupt map", transient: false, at: now)
            let records = try await store.notifications(of: request.id)
            #expect(records.map(\.kind) == [.failed] && records[0].body.contains("corrupt map"))
        }
    }
}
