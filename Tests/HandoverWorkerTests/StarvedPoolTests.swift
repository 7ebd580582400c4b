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
    /// Where it writes its archives: the test's own folder, removed after it.
    let folder: String

    func fulfil(_ request: StoredRequest) async throws -> String {
        usleep(useconds_t(seconds * 1_000_000))
        // A file where a real fulfiller publishes its archive (the worker reads its size and digest).
        let path = folder + "/handover-\(request.request.id)-\(UUID().uuidString).zip"
        try Data("an archive".utf8).write(to: URL(fileURLWithPath: path))
        return path
    }
}

@Suite struct StarvedPoolTests {
    /// Every thread of Swift's cooperative pool blocked for four lease periods while an export blocks for as
    /// long: the worker's lease renewals, which run on a thread of their own, keep the lease. (A 2 s lease
    /// leaves each renewal 1.3 s, room for a slow fsync when the whole suite loads the disk.)
    @Test(arguments: StoreKind.allCases)
    func aLeaseSurvivesAnExportOfManyLeasePeriodsWhileTheCooperativePoolIsBlocked(_ kind: StoreKind) async throws {
        try await withTemporaryDirectory { folder in
            try await withStore(kind) { store, _ in
                try await queue(store, [("req-starved", .tenant("1"))])
                let worker = RequestWorker(
                    store: store, fulfiller: BlockingFulfiller(seconds: 8, folder: folder),
                    configuration: WorkerConfiguration(id: "w-starved", leaseSeconds: 2), logger: quietLogger)
                let events = Mutex<[WorkerEvent.Kind]>([])
                let run = Task {
                    await worker.run(untilIdle: true) { event in events.withLock { $0.append(event.kind) } }
                }
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
}

/// A fulfiller that says it published an archive that is not there.
struct VanishingFulfiller: RequestFulfiller {
    func fulfil(_ request: StoredRequest) async throws -> String { "/nonexistent/handover-\(request.request.id).zip" }
}

@Suite struct PublishedFilesTests {
    @Test func anArchiveThatIsNotThereIsAFailedAttemptNotACompletion() async throws {
        try await withStore(.sqlite) { store, _ in
            try await queue(store, [("req-vanish", .tenant("1"))])
            let worker = RequestWorker(
                store: store, fulfiller: VanishingFulfiller(),
                configuration: WorkerConfiguration(id: "w-vanish", leaseSeconds: 30), logger: quietLogger)
            let events = Mutex<[WorkerEvent.Kind]>([])
            _ = await worker.run(untilIdle: true) { event in events.withLock { $0.append(event.kind) } }
            #expect(events.withLock { $0 }.prefix(2) == [.claimed, .retrying])
            let stored = try #require(try await store.request(try RequestID("req-vanish")))
            #expect(stored.state == .queued && stored.failureReason?.contains("is not there") == true)
        }
    }
}
