import HandoverCore
import HandoverStore
import TestSupport
import Testing

/// Tokens, sessions and links on every back end: only hashes kept, constant answers for anything not valid.
@Suite struct DeliveryStoreTests {
    @Test(arguments: StoreKind.everyBackEnd)
    func tokensSessionsAndLinksKeepOnlyHashesAndExpire(_ kind: StoreKind) async throws {
        try await withStore(kind) { store, _ in
            let now = Timestamp.now()
            let (token, secret) = try await store.createToken(
                name: "acme", kind: .tenant("acme"), expiresAt: nil, at: now)
            #expect(try await store.authenticate(bearer: secret, at: now)?.id == token.id)
            #expect(try await store.authenticate(bearer: secret + "x", at: now) == nil)
            let stored = try await store.backEnd.read { try await $0.rows("SELECT * FROM api_tokens", []) }
            // The random part follows the first "_" (it may hold "_" itself, being base64url).
            let random = String(secret[secret.index(after: try #require(secret.firstIndex(of: "_")))...])
            #expect(random.count >= 20 && !"\(stored)".contains(random), "only the hash is kept")

            let session = try await store.openSession(for: token, lifetimeSeconds: 60, at: now)
            #expect(try await store.session(cookie: session.cookie, at: now)?.csrf == session.csrf)
            #expect(try await store.session(cookie: session.cookie, at: now.adding(seconds: 61)) == nil, "expired")
            try await store.revokeToken(token.id, at: now)
            #expect(try await store.authenticate(bearer: secret, at: now) == nil)
            #expect(try await store.session(cookie: session.cookie, at: now) == nil, "a revoked token's sessions end")

            try await queued(store, ["req-d1"])
            let claimed = try #require(try await store.claim(worker: "w", leaseSeconds: 60, at: now))
            try await store.complete(
                claimed.request.id, worker: "w", archive: "/x/handover-req-d1.zip",
                files: [ArchiveFile(name: "handover-req-d1.zip", bytes: 10, sha256: String(repeating: "a", count: 64))],
                retentionSeconds: 3600, at: now)
            #expect(try await store.request(claimed.request.id)?.archiveFiles.first?.bytes == 10)
            let (link, linkSecret) = try await store.createLink(
                for: claimed.request.id, by: "token:x", expiresAt: now.adding(seconds: 99_999), maxDownloads: 2, at: now
            )
            #expect(link.expiresAt == now.adding(seconds: 3600), "never past the retention")
            guard case .valid = try await store.lookUpLink(linkSecret, at: now) else {
                Issue.record("a new link is valid")
                return
            }
            #expect(try await store.useLink(link.id, bytes: 15, archiveBytes: 10, startsDownload: true))
            #expect(
                !(try await store.useLink(link.id, bytes: 6, archiveBytes: 10, startsDownload: false)),
                "20 bytes at most")
            #expect(try await store.useLink(link.id, bytes: 5, archiveBytes: 10, startsDownload: false))
            if case .gone = try await store.lookUpLink(linkSecret, at: now.adding(seconds: 3600)) {
            } else {
                Issue.record("an expired link is gone")
            }
            try await store.revokeLink(link.id, by: "token:x", at: now)
            #expect(try await store.lookUpLink(linkSecret, at: now) == .notFound)
            try await store.recordDownload(
                claimed.request.id, by: "link:" + link.id, file: "handover-req-d1.zip", range: nil, bytesSent: 10,
                completed: true, at: now)
            let check = try await store.checkAudit()
            #expect(check.isIntact, "\(check.problems)")
        }
    }
}

/// A request whose requester is already known is verified and queued in the transaction that records it; a
/// verification queues in the same transaction.
@Suite struct VerifyAndQueueTests {
    @Test(arguments: StoreKind.everyBackEnd)
    func knownRequestersAreQueuedInOneTransaction(_ kind: StoreKind) async throws {
        try await withStore(kind) { store, _ in
            let now = Timestamp.now()
            let tenant = ExportRequest(
                id: try RequestID("req-known"), purpose: .controllerTransfer, scope: .tenant("acme"), receivedAt: now)
            try await store.submit(tenant, actor: "token:t1", verifiedBy: "token:t1", at: now)
            #expect(try await store.request(tenant.id)?.state == .queued)
            #expect(try await store.audit(of: tenant.id).map(\.to) == [.received, .verified, .queued])

            let other = try request("req-later")
            try await store.submit(other, actor: "portal", at: now)
            try await store.verifyAndQueue(other.id, by: "agent", at: now)
            #expect(try await store.request(other.id)?.state == .queued)
            // A verified request (an earlier run stopped before queueing it) is queued without a second verification.
            let verified = try request("req-verified")
            try await store.submit(verified, actor: "portal", at: now)
            try await store.verify(verified.id, by: "agent", at: now)
            try await store.verifyAndQueue(verified.id, by: "agent", at: now)
            #expect(try await store.audit(of: verified.id).map(\.to) == [.received, .verified, .queued])
            // A cancelled one is refused and left as it was.
            let cancelled = try request("req-cancelled")
            try await store.submit(cancelled, actor: "portal", at: now)
            try await store.cancel(cancelled.id, actor: "portal", reason: nil, at: now)
            await #expect(throws: HandoverError.self) {
                try await store.verifyAndQueue(cancelled.id, by: "agent", at: now)
            }
            #expect(try await store.audit(of: cancelled.id).map(\.to) == [.received, .cancelled])
            #expect(try await store.checkAudit().isIntact)
        }
    }
}
