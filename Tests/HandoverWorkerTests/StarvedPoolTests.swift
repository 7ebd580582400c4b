import Foundation
import HandoverCore
import HandoverStore
import HandoverWorker
import Synchronization
import TestSupport
import Testing

/// A fulfiller whose export blocks its thread for a while, as a long SQLite read or validation does.
struct BlockingFulfiller: RequestFulfiller {
    let seconds: Double

    func fulfil(_ request: StoredRequest) async throws -> String {
        usleep(useconds_t(seconds * 1_000_000))
        return "/nowhere/handover-\(request.request.id).zip"
    }
}

@Suite struct StarvedPoolTests {
    /// Every thread of Swift's cooperative pool blocked for four lease periods while an export blocks for as
    /// long: the worker's lease renewals, which run on a thread of their own, keep the lease. (A 2 s lease
    /// leaves each renewal 1.3 s, room for a slow fsync when the whole suite loads the disk.)
    @Test(arguments: StoreKind.allCases)
    func aLeaseSurvivesAnExportOfManyLeasePeriodsWhileTheCooperativePoolIsBlocked(_ kind: StoreKind) async throws {
        try await withStore(kind) { store, _ in
            try await queue(store, [("req-starved", .tenant("1"))])
            let worker = RequestWorker(
                store: store, fulfiller: BlockingFulfiller(seconds: 8),
                configuration: WorkerConfiguration(id: "w-starved", leaseSeconds: 2), logger: quietLogger)
            let events = Mutex<[WorkerEvent.Kind]>([])
            let run = Task { await worker.run(untilIdle: true) { event in events.withLock { $0.append(event.kind) } } }
            // Let the worker claim, then take every cooperative thread for as long as the export runs.
            try await Task.sleep(for: .milliseconds(300))
            let threads = ProcessInfo.processInfo.activeProcessorCount
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<threads { group.addTask { usleep(8_500_000) } }
            }
            let completed = await run.value
            #expect(completed == 1)
            #expect(events.withLock { $0 } == [.claimed, .completed], "the lease was lost")
            let stored = try #require(try await store.request(try RequestID("req-starved")))
            #expect(stored.state == .completed)
            #expect(stored.attempts == 1)
            let log = try await store.audit(of: stored.request.id)
            let lapses = log.filter { ($0.detail ?? "").hasPrefix("lease of") }
            #expect(lapses.isEmpty)
        }
    }
}
