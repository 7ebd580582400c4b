import Foundation
import HandoverCore
import HandoverStore
import TestSupport
import Testing

func at(_ text: String) -> Timestamp { Timestamp(iso8601: text)! }

func request(_ id: String, received: String = "2026-01-31T10:00:00Z", email: String = "ana@example.com") throws
    -> ExportRequest
{
    ExportRequest(
        id: try RequestID(id), purpose: .access,
        scope: .subject(SubjectSelector(column: "email", value: email), tenant: "1"),
        receivedAt: at(received))
}

func queued(_ store: RequestStore, _ ids: [String], received: String = "2026-01-31T10:00:00Z") async throws {
    try await submitVerifyAndQueue(store, try ids.map { try request($0, received: received) })
}

func isCode(_ code: HandoverError.Code) -> @Sendable (any Error) -> Bool {
    { ($0 as? HandoverError)?.code == code }
}

@Suite struct DeadlineTests {
    @Test(arguments: [
        ("2026-01-31T10:00:00Z", 1, "2026-02-28T10:00:00Z"),
        ("2024-01-31T10:00:00Z", 1, "2024-02-29T10:00:00Z"),
        ("2026-12-15T23:59:59Z", 1, "2027-01-15T23:59:59Z"),
        ("2026-03-31T00:00:00Z", 3, "2026-06-30T00:00:00Z"),
        ("2026-11-25T08:30:00Z", 2, "2027-01-25T08:30:00Z"),
        // Before 1970: days and the time of day split by the same floor division as after.
        ("1969-12-31T23:00:00.500Z", 1, "1970-01-31T23:00:00.500Z"),
        ("1969-01-31T10:00:00Z", 1, "1969-02-28T10:00:00Z"),
        ("1969-11-30T00:00:00.001Z", 3, "1970-02-28T00:00:00.001Z"),
    ])
    func monthsAreCalendarMonths(from: String, months: Int, expected: String) {
        #expect(Deadline.adding(months: months, to: at(from)) == at(expected))
    }

    @Test func aRequestIsDueOneMonthAfterReceiptAndAtMostThree() {
        #expect(Deadline.initial(receivedAt: at("2026-11-25T08:00:00Z")) == at("2026-12-25T08:00:00Z"))
        #expect(Deadline.latest(receivedAt: at("2026-11-25T08:00:00Z")) == at("2027-02-25T08:00:00Z"))
    }

    @Test func backoffDoublesUpToItsCap() {
        let policy = RetryPolicy(maxAttempts: 9, backoffSeconds: 30, maxBackoffSeconds: 200)
        #expect((1...5).map(policy.backoff(afterAttempt:)) == [30, 60, 120, 200, 200])
        #expect(RetryPolicy(backoffSeconds: Int64.max / 2).backoff(afterAttempt: 40) == Int64.max / 2)
    }
}

/// The request store's contract, run against both back ends: SQLite and PostgreSQL.
@Suite struct RequestStoreTests {
    @Test(arguments: StoreKind.everyBackEnd)
    func aRequestGoesThroughItsLifecycleAndTheAuditLogTellsWhoDidWhat(_ kind: StoreKind) async throws {
        try await withStore(kind) { store, _ in
            try await queued(store, ["req-1"])
            let now = at("2026-02-01T09:00:00Z")
            let claimed = try #require(try await store.claim(worker: "worker-a", leaseSeconds: 60, at: now))
            #expect(claimed.request.id.rawValue == "req-1")
            #expect(claimed.state == .running)
            #expect(claimed.attempts == 1)
            #expect(claimed.due == at("2026-02-28T10:00:00Z"))
            #expect(claimed.subjectKey == testPseudonymizer.pseudonym(for: "ana@example.com", domain: "subject.email"))
            if case .subject(let selector, _) = claimed.request.scope { #expect(selector.value == "ana@example.com") }
            try await store.renew(claimed.request.id, worker: "worker-a", leaseSeconds: 60, at: now.adding(seconds: 50))
            try await store.complete(
                claimed.request.id, worker: "worker-a", archive: "/out/handover-req-1.zip",
                retentionSeconds: 7 * 86_400, at: now.adding(seconds: 100))
            let done = try #require(try await store.request(claimed.request.id))
            #expect(done.state == .completed)
            #expect(done.archive == "/out/handover-req-1.zip")
            #expect(done.expiresAt == now.adding(seconds: 100 + 7 * 86_400))
            #expect(try await store.expiring(at: now.adding(seconds: 7 * 86_400)).isEmpty)
            #expect(
                try await store.expiring(at: now.adding(seconds: 8 * 86_400)).map(\.request.id) == [done.request.id])
            try await store.markExpired(
                claimed.request.id, actor: "purge", detail: "archive deleted", at: now.adding(seconds: 8 * 86_400))
            let expired = try #require(try await store.request(claimed.request.id))
            #expect(expired.state == .expired)
            if case .subject(let selector, _) = expired.request.scope {
                #expect(selector.value == "", "the subject's value is erased once the request is over")
                #expect(selector.column == "email")
            }
            #expect(expired.subjectKey == claimed.subjectKey)

            let log = try await store.audit(of: claimed.request.id)
            #expect(log.map(\.to) == [.received, .verified, .queued, .running, .completed, .expired])
            #expect(log.map(\.actor) == ["portal", "agent-7", "agent-7", "worker-a", "worker-a", "purge"])
            #expect(log.allSatisfy { $0.subjectKey == claimed.subjectKey })
            #expect(log.allSatisfy { !($0.detail ?? "").contains("ana@") })
            #expect(log.map(\.at) == log.map(\.at).sorted())
        }
    }

    @Test(arguments: StoreKind.everyBackEnd)
    func theLifecycleRefusesWhatItDoesNotAllow(_ kind: StoreKind) async throws {
        try await withStore(kind) { store, _ in
            let id = try RequestID("req-2")
            let now = at("2026-12-01T00:00:00Z")
            try await store.submit(try request("req-2"), actor: "portal", at: at("2026-01-31T10:00:00Z"))
            await #expect(throws: HandoverError.self) { try await store.enqueue(id, actor: "x", at: now) }
            await #expect(throws: HandoverError.self) {
                try await store.submit(try request("req-2"), actor: "x", at: now)
            }
            try await store.verify(id, by: "agent", at: now)
            await #expect(throws: HandoverError.self) { try await store.verify(id, by: "agent", at: now) }
            try await store.cancel(id, actor: "agent", reason: "withdrawn by the requester", at: now)
            await #expect(throws: HandoverError.self) { try await store.enqueue(id, actor: "agent", at: now) }
            let error = await #expect(throws: HandoverError.self) {
                try await store.verify(try RequestID("req-none"), by: "a", at: now)
            }
            #expect(error?.code == .notFound)
            #expect(try await store.audit(of: id).map(\.to) == [.received, .verified, .cancelled])
            #expect(try await store.audit(of: id).last?.detail == "withdrawn by the requester")
            #expect(try await store.request(try RequestID("req-none")) == nil)
        }
    }

    @Test(arguments: StoreKind.everyBackEnd)
    func aLapsedLeaseGoesToAnotherWorkerAndTheFirstCannotComplete(_ kind: StoreKind) async throws {
        try await withStore(kind) { store, _ in
            try await queued(store, ["req-3"])
            let start = at("2026-02-01T09:00:00Z")
            let first = try #require(try await store.claim(worker: "a", leaseSeconds: 30, at: start))
            #expect(try await store.claim(worker: "b", leaseSeconds: 30, at: start.adding(seconds: 10)) == nil)
            let second = try #require(
                try await store.claim(worker: "b", leaseSeconds: 30, at: start.adding(seconds: 31)))
            #expect(second.request.id == first.request.id)
            #expect(second.attempts == 2)
            let lost = await #expect(throws: HandoverError.self) {
                try await store.complete(
                    first.request.id, worker: "a", archive: "x", retentionSeconds: 1, at: start.adding(seconds: 32))
            }
            #expect(lost?.code == .conflict)
            await #expect(throws: HandoverError.self) {
                try await store.renew(first.request.id, worker: "a", leaseSeconds: 30, at: start.adding(seconds: 32))
            }
            try await store.complete(
                second.request.id, worker: "b", archive: "y", retentionSeconds: 1, at: start.adding(seconds: 33))
            let log = try await store.audit(of: first.request.id)
            #expect(log.map(\.to) == [.received, .verified, .queued, .running, .queued, .running, .completed])
            #expect(log.filter { $0.to == .completed }.count == 1)
            #expect(log[4].actor == "system" && log[4].detail == "lease of a expired")
        }
    }

    @Test(arguments: StoreKind.everyBackEnd)
    func aRequestWhoseWorkersKeepDyingFailsAfterTheLastAttempt(_ kind: StoreKind) async throws {
        try await withStore(kind) { store, _ in
            try await queued(store, ["req-poison"])
            let policy = RetryPolicy(maxAttempts: 2)
            var now = at("2026-02-01T09:00:00Z")
            for _ in 1...2 {
                #expect(try await store.claim(worker: "w", leaseSeconds: 10, retry: policy, at: now) != nil)
                now = now.adding(seconds: 11)
            }
            #expect(try await store.claim(worker: "w", leaseSeconds: 10, retry: policy, at: now) == nil)
            let failed = try #require(try await store.request(try RequestID("req-poison")))
            #expect(failed.state == .failed)
            #expect(failed.failureReason == "the worker stopped renewing its lease; 2 attempts made")
        }
    }

    @Test(arguments: StoreKind.everyBackEnd)
    func transientFailuresAreRetriedWithBackoffThenFailForGood(_ kind: StoreKind) async throws {
        try await withStore(kind) { store, _ in
            try await queued(store, ["req-4", "req-4b"])
            let policy = RetryPolicy(maxAttempts: 3, backoffSeconds: 10)
            var now = at("2026-02-01T09:00:00Z")
            for attempt in 1...3 {
                let claimed = try #require(
                    try await store.claim(worker: "w", leaseSeconds: 60, retry: policy, at: now), "attempt \(attempt)")
                #expect(claimed.request.id.rawValue == "req-4")
                #expect(claimed.attempts == attempt)
                let state = try await store.fail(
                    claimed.request.id, worker: "w", reason: "database busy", transient: true, retry: policy, at: now)
                #expect(state == (attempt < 3 ? .queued : .failed))
                let backoff = Int64(10 << (attempt - 1))
                if attempt < 3 {
                    let other = try #require(
                        try await store.claim(worker: "v", leaseSeconds: 60, retry: policy, at: now.adding(seconds: 1)))
                    #expect(other.request.id.rawValue == "req-4b", "a waiting request does not block the queue")
                    try await store.release(
                        other.request.id, worker: "v", reason: "stopping", at: now.adding(seconds: 1))
                    #expect(
                        try await store.claim(
                            worker: "w", leaseSeconds: 60, retry: policy, at: now.adding(seconds: backoff - 1))?
                            .request.id.rawValue == "req-4b")
                    try await store.release(
                        try RequestID("req-4b"), worker: "w", reason: "stopping", at: now.adding(seconds: backoff - 1))
                    now = now.adding(seconds: backoff)
                }
            }
            let failed = try #require(try await store.request(try RequestID("req-4")))
            #expect(failed.state == .failed)
            #expect(failed.failureReason == "attempt 3 of 3 failed: database busy")
            let handedBack = try #require(try await store.request(try RequestID("req-4b")))
            #expect(handedBack.attempts == 0, "a hand-back does not use up an attempt")
            #expect(try await store.audit(of: handedBack.request.id).last?.detail == "stopping")
        }
    }

    @Test(arguments: StoreKind.everyBackEnd)
    func aPermanentFailureIsNotRetried(_ kind: StoreKind) async throws {
        try await withStore(kind) { store, _ in
            try await queued(store, ["req-8"])
            let now = at("2026-02-01T09:00:00Z")
            let claimed = try #require(try await store.claim(worker: "w", leaseSeconds: 60, at: now))
            let state = try await store.fail(
                claimed.request.id, worker: "w", reason: "invalid dataset map: line 3", transient: false, at: now)
            #expect(state == .failed)
            #expect(try await store.request(claimed.request.id)?.failureReason == "invalid dataset map: line 3")
        }
    }

    @Test(arguments: StoreKind.everyBackEnd)
    func deadlinesExtendWithAReasonByAtMostTwoMonths(_ kind: StoreKind) async throws {
        try await withStore(kind) { store, _ in
            try await queued(store, ["req-5", "req-6"], received: "2026-11-25T08:00:00Z")
            let id = try RequestID("req-5")
            let now = at("2026-12-01T00:00:00Z")
            let blank = await #expect(throws: HandoverError.self) {
                try await store.extend(id, byMonths: 1, reason: " ", actor: "dpo", at: now)
            }
            #expect(blank?.code == .invalidArgument)
            let tooFar = await #expect(throws: HandoverError.self) {
                try await store.extend(id, byMonths: 3, reason: "complex", actor: "dpo", at: now)
            }
            #expect(tooFar?.code == .invalidArgument)
            try await store.extend(id, byMonths: 2, reason: "many systems to search", actor: "dpo", at: now)
            let extended = try #require(try await store.request(id))
            #expect(extended.due == at("2027-02-25T08:00:00Z"))
            #expect(extended.extensionReason == "many systems to search")
            #expect(try await store.list(dueBefore: at("2027-01-01T00:00:00Z")).map(\.request.id.rawValue) == ["req-6"])
            #expect(try await store.list(state: .queued).count == 2)
            #expect(try await store.list().map(\.request.id.rawValue) == ["req-6", "req-5"])
            #expect(
                try await store.audit(of: id).last?.detail
                    == "deadline extended to 2027-02-25T08:00:00Z: many systems to search")
        }
    }

    @Test func aNewSQLiteStoreIsReadableByItsOwnerOnly() async throws {
        try await withTemporaryDirectory { folder in
            let path = folder + "/requests.sqlite"
            let store = try RequestStore.sqlite(path: path, pseudonymizer: testPseudonymizer)
            try await queued(store, ["req-perm"])
            for file in [path, path + "-wal"] where FileManager.default.fileExists(atPath: file) {
                let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
                #expect(mode == 0o600, "\(file): \(String(mode ?? 0, radix: 8))")
            }
        }
    }

    @Test(arguments: StoreKind.everyBackEnd)
    func theAuditLogIsAppendOnly(_ kind: StoreKind) async throws {
        try await withStore(kind) { store, _ in
            try await queued(store, ["req-7"])
            for sql in ["UPDATE audit SET actor = 'someone else'", "DELETE FROM audit"] {
                let error = await #expect(throws: HandoverError.self) {
                    try await store.backEnd.write { try await $0.run(sql, []) }
                }
                let said = (error?.message ?? "") + " " + (error?.underlying ?? "")
                #expect(said.contains("append-only"), "\(said)")
            }
            #expect(try await store.audit(of: try RequestID("req-7")).count == 3)
        }
    }

    @Test(arguments: StoreKind.everyBackEnd)
    func concurrentWorkersClaimEachRequestExactlyOnce(_ kind: StoreKind) async throws {
        try await withStore(kind) { store, _ in
            let ids = (1...40).map { "req-c\($0)" }
            try await queued(store, ids)
            let now = at("2026-02-01T09:00:00Z")
            let claims = try await withThrowingTaskGroup(of: [String].self) { group in
                for worker in 1...4 {
                    group.addTask {
                        var mine: [String] = []
                        while let claimed = try await store.claim(worker: "w\(worker)", leaseSeconds: 600, at: now) {
                            mine.append(claimed.request.id.rawValue)
                            try await store.complete(
                                claimed.request.id, worker: "w\(worker)", archive: "a", retentionSeconds: 60, at: now)
                        }
                        return mine
                    }
                }
                return try await group.reduce(into: [String]()) { $0 += $1 }
            }
            #expect(claims.sorted() == ids.sorted())
            #expect(try await store.list(state: .completed).count == 40)
            let check = try await store.checkAudit()
            #expect(check.isIntact, "concurrent claims keep one audit chain: \(check.problems)")
        }
    }
}
