import Foundation
import HandoverCore
import HandoverService
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

func queued(_ store: SQLiteRequestStore, _ ids: [String], received: String = "2026-01-31T10:00:00Z") throws {
    for id in ids {
        try store.submit(try request(id, received: received), actor: "portal", at: at(received))
        try store.verify(try RequestID(id), by: "agent-7", at: at(received))
        try store.enqueue(try RequestID(id), actor: "agent-7", at: at(received))
    }
}

@Suite struct DeadlineTests {
    @Test(arguments: [
        ("2026-01-31T10:00:00Z", 1, "2026-02-28T10:00:00Z"),
        ("2024-01-31T10:00:00Z", 1, "2024-02-29T10:00:00Z"),
        ("2026-12-15T23:59:59Z", 1, "2027-01-15T23:59:59Z"),
        ("2026-03-31T00:00:00Z", 3, "2026-06-30T00:00:00Z"),
        ("2026-11-25T08:30:00Z", 2, "2027-01-25T08:30:00Z"),
    ])
    func monthsAreCalendarMonths(from: String, months: Int, expected: String) {
        #expect(Deadline.adding(months: months, to: at(from)) == at(expected))
    }

    @Test func aRequestIsDueOneMonthAfterReceiptAndAtMostThree() {
        #expect(Deadline.initial(receivedAt: at("2026-11-25T08:00:00Z")) == at("2026-12-25T08:00:00Z"))
        #expect(Deadline.latest(receivedAt: at("2026-11-25T08:00:00Z")) == at("2027-02-25T08:00:00Z"))
    }
}

@Suite struct RequestStoreTests {
    @Test func aRequestGoesThroughItsLifecycleAndTheAuditLogTellsWhoDidWhat() async throws {
        try await withTemporaryDirectory { folder in
            let store = try SQLiteRequestStore(path: folder + "/requests.sqlite")
            try queued(store, ["req-1"])
            let now = at("2026-02-01T09:00:00Z")
            let claimed = try #require(try store.claim(worker: "worker-a", leaseSeconds: 60, at: now))
            #expect(claimed.request.id.rawValue == "req-1")
            #expect(claimed.state == .running)
            #expect(claimed.attempts == 1)
            #expect(claimed.due == at("2026-02-28T10:00:00Z"))
            if case .subject(let selector, _) = claimed.request.scope { #expect(selector.value == "ana@example.com") }
            try store.renew(claimed.request.id, worker: "worker-a", leaseSeconds: 60, at: now.adding(seconds: 50))
            try store.complete(
                claimed.request.id, worker: "worker-a", archive: "/out/handover-req-1.zip",
                retentionSeconds: 7 * 86_400,
                at: now.adding(seconds: 100))
            let done = try #require(try store.request(claimed.request.id))
            #expect(done.state == .completed)
            #expect(done.expiresAt == now.adding(seconds: 100 + 7 * 86_400))
            #expect(try store.expiring(at: now.adding(seconds: 8 * 86_400)).map(\.request.id) == [claimed.request.id])
            try store.markExpired(claimed.request.id, actor: "purge", at: now.adding(seconds: 8 * 86_400))

            let log = try store.audit(of: claimed.request.id)
            #expect(log.map(\.to) == [.received, .verified, .queued, .running, .completed, .expired])
            #expect(log.map(\.actor) == ["portal", "agent-7", "agent-7", "worker-a", "worker-a", "purge"])
            #expect(log.allSatisfy { !($0.detail ?? "").contains("ana@") })
        }
    }

    @Test func theLifecycleRefusesWhatItDoesNotAllow() async throws {
        try await withTemporaryDirectory { folder in
            let store = try SQLiteRequestStore(path: folder + "/requests.sqlite")
            let id = try RequestID("req-2")
            try store.submit(try request("req-2"), actor: "portal", at: at("2026-01-31T10:00:00Z"))
            #expect { try store.enqueue(id, actor: "x", at: at("2026-12-01T00:00:00Z")) } throws: {
                ($0 as? HandoverError)?.code == .conflict
            }
            #expect { try store.submit(try request("req-2"), actor: "x", at: at("2026-12-01T00:00:00Z")) } throws: {
                ($0 as? HandoverError)?.code == .conflict
            }
            try store.verify(id, by: "agent", at: at("2026-12-01T00:00:00Z"))
            #expect { try store.verify(id, by: "agent", at: at("2026-12-01T00:00:00Z")) } throws: {
                ($0 as? HandoverError)?.code == .conflict
            }
            try store.cancel(id, actor: "agent", reason: "withdrawn by the requester", at: at("2026-12-01T00:00:00Z"))
            #expect { try store.enqueue(id, actor: "agent", at: at("2026-12-01T00:00:00Z")) } throws: {
                ($0 as? HandoverError)?.code == .conflict
            }
            #expect { try store.verify(try RequestID("req-none"), by: "a", at: at("2026-12-01T00:00:00Z")) } throws: {
                ($0 as? HandoverError)?.code == .notFound
            }
        }
    }

    @Test func aLapsedLeaseGoesToAnotherWorkerAndTheFirstCannotComplete() async throws {
        try await withTemporaryDirectory { folder in
            let store = try SQLiteRequestStore(path: folder + "/requests.sqlite")
            try queued(store, ["req-3"])
            let start = at("2026-02-01T09:00:00Z")
            let first = try #require(try store.claim(worker: "a", leaseSeconds: 30, at: start))
            #expect(try store.claim(worker: "b", leaseSeconds: 30, at: start.adding(seconds: 10)) == nil)
            let second = try #require(try store.claim(worker: "b", leaseSeconds: 30, at: start.adding(seconds: 31)))
            #expect(second.request.id == first.request.id)
            #expect(second.attempts == 2)
            #expect {
                try store.complete(
                    first.request.id, worker: "a", archive: "x", retentionSeconds: 1, at: start.adding(seconds: 32))
            } throws: { ($0 as? HandoverError)?.code == .conflict }
            #expect {
                try store.renew(first.request.id, worker: "a", leaseSeconds: 30, at: start.adding(seconds: 32))
            } throws: { ($0 as? HandoverError)?.code == .conflict }
            try store.complete(
                second.request.id, worker: "b", archive: "y", retentionSeconds: 1, at: start.adding(seconds: 33))
            let log = try store.audit(of: first.request.id)
            #expect(log.map(\.to) == [.received, .verified, .queued, .running, .queued, .running, .completed])
            #expect(log.filter { $0.to == .completed }.count == 1)
            #expect(log[4].actor == "system" && log[4].detail == "lease expired")
        }
    }

    @Test func transientFailuresAreRetriedWithBackoffThenFailForGood() async throws {
        try await withTemporaryDirectory { folder in
            let store = try SQLiteRequestStore(path: folder + "/requests.sqlite")
            try queued(store, ["req-4"])
            var now = at("2026-02-01T09:00:00Z")
            for attempt in 1...3 {
                let claimed = try #require(
                    try store.claim(worker: "w", leaseSeconds: 60, at: now), "attempt \(attempt)")
                #expect(claimed.attempts == attempt)
                try store.fail(
                    claimed.request.id, worker: "w", reason: "database busy", transient: true, maxAttempts: 3,
                    backoffSeconds: 10,
                    at: now)
                let backoff = 10 << (attempt - 1)
                if attempt < 3 {
                    #expect(try store.claim(worker: "w", leaseSeconds: 60, at: now.adding(seconds: backoff - 1)) == nil)
                    now = now.adding(seconds: backoff)
                }
            }
            let failed = try #require(try store.request(try RequestID("req-4")))
            #expect(failed.state == .failed)
            #expect(failed.failureReason == "database busy")
            #expect(try store.claim(worker: "w", leaseSeconds: 60, at: now.adding(seconds: 10_000)) == nil)
        }
    }

    @Test func deadlinesExtendWithAReasonByAtMostTwoMonths() async throws {
        try await withTemporaryDirectory { folder in
            let store = try SQLiteRequestStore(path: folder + "/requests.sqlite")
            try queued(store, ["req-5", "req-6"], received: "2026-11-25T08:00:00Z")
            let id = try RequestID("req-5")
            #expect {
                try store.extend(id, byMonths: 1, reason: " ", actor: "dpo", at: at("2026-12-01T00:00:00Z"))
            } throws: {
                ($0 as? HandoverError)?.code == .invalidArgument
            }
            #expect {
                try store.extend(id, byMonths: 3, reason: "complex", actor: "dpo", at: at("2026-12-01T00:00:00Z"))
            } throws: {
                ($0 as? HandoverError)?.code == .invalidArgument
            }
            try store.extend(
                id, byMonths: 2, reason: "many systems to search", actor: "dpo", at: at("2026-12-01T00:00:00Z"))
            let extended = try #require(try store.request(id))
            #expect(extended.due == at("2027-02-25T08:00:00Z"))
            #expect(extended.extensionReason == "many systems to search")
            #expect(try store.list(dueBefore: at("2027-01-01T00:00:00Z")).map(\.request.id.rawValue) == ["req-6"])
            #expect(try store.list(state: .queued).count == 2)
        }
    }

    @Test func theAuditLogIsAppendOnly() async throws {
        try await withTemporaryDirectory { folder in
            let path = folder + "/requests.sqlite"
            let store = try SQLiteRequestStore(path: path)
            try queued(store, ["req-7"])
            for sql in ["UPDATE audit SET actor = 'someone else'", "DELETE FROM audit"] {
                let result = try run("/usr/bin/sqlite3", [path, sql])
                #expect(result.status != 0)
                #expect(result.stderr.contains("append-only"))
            }
            #expect(try store.audit(of: try RequestID("req-7")).count == 3)
        }
    }

    @Test func concurrentWorkersClaimEachRequestExactlyOnce() async throws {
        try await withTemporaryDirectory { folder in
            let store = try SQLiteRequestStore(path: folder + "/requests.sqlite")
            let ids = (1...40).map { "req-c\($0)" }
            try queued(store, ids)
            let now = at("2026-02-01T09:00:00Z")
            let claims = try await withThrowingTaskGroup(of: [String].self) { group in
                for worker in 1...4 {
                    group.addTask {
                        let store = try SQLiteRequestStore(path: folder + "/requests.sqlite")
                        var mine: [String] = []
                        while let claimed = try store.claim(worker: "w\(worker)", leaseSeconds: 600, at: now) {
                            mine.append(claimed.request.id.rawValue)
                            try store.complete(
                                claimed.request.id, worker: "w\(worker)", archive: "a", retentionSeconds: 60, at: now)
                        }
                        return mine
                    }
                }
                return try await group.reduce(into: [String]()) { $0 += $1 }
            }
            #expect(claims.sorted() == ids.sorted())
            #expect(try store.list(state: .completed).count == 40)
        }
    }
}

extension Timestamp {
    func adding(seconds: Int) -> Timestamp {
        Timestamp(millisecondsSince1970: millisecondsSince1970 + Int64(seconds) * 1000)
    }
}
