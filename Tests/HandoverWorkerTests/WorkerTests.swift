import Foundation
import HandoverBundle
import HandoverCore
import HandoverDemo
import HandoverSQL
import HandoverStore
import HandoverWorker
import Logging
import Synchronization
import TestSupport
import Testing

let quietLogger: Logger = {
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    return logger
}()

/// Exports from the demo database with the demo dataset map, into `folder`.
func demoFulfiller(_ folder: String) throws -> BundleFulfiller {
    let map = try DatasetMap(yaml: SalesDemo.datasetMap, source: "demo-map.yaml")
    var options = BundleOptions(outputDirectory: folder, formats: [.json, .csv])
    options.pseudonymizer = testPseudonymizer
    return BundleFulfiller(options: options, logger: quietLogger) { _ in
        try ExporterRegistry([try DatasetMapExporter(map: map, databasePath: demoDatabase)])
    }
}

/// A fulfiller that does what the test says: fail, or wait until cancelled.
final class ScriptedFulfiller: RequestFulfiller {
    enum Behaviour: Sendable {
        case fail(HandoverError)
        case waitUntilCancelled
    }

    let behaviour: Behaviour
    let started = Mutex(0)

    init(behaviour: Behaviour) { self.behaviour = behaviour }

    func fulfil(_ request: StoredRequest) async throws -> String {
        started.withLock { $0 += 1 }
        switch behaviour {
        case .fail(let error): throw error
        case .waitUntilCancelled:
            while !Task.isCancelled { try? await Task.sleep(for: .milliseconds(20)) }
            throw HandoverError(.cancelled, "the export was cancelled")
        }
    }
}

/// Queues a subject request for each (id, email).
func submitDemoRequests(_ store: RequestStore, _ emails: [(String, String)]) async throws {
    try await queue(store, emails.map { ($0.0, .subject(SubjectSelector(column: "email", value: $0.1), tenant: nil)) })
}

@Suite struct WorkerTests {
    @Test(arguments: StoreKind.everyBackEnd)
    func aWorkerPublishesOneVerifiedBundlePerRequest(_ kind: StoreKind) async throws {
        try await withStore(kind) { store, _ in
            try await withTemporaryDirectory { out in
                let emails = [
                    ("req-a", SalesDemo.demoSubject.value), ("req-b", "user2@acme.example"),
                    ("req-c", "nobody@example.com"),
                ]
                try await submitDemoRequests(store, emails)
                let worker = RequestWorker(
                    store: store, fulfiller: try demoFulfiller(out),
                    configuration: WorkerConfiguration(id: "w1", retentionSeconds: 3600), logger: quietLogger)
                let events = Mutex<[WorkerEvent.Kind]>([])
                let completed = await worker.run(untilIdle: true) { event in events.withLock { $0.append(event.kind) } }
                #expect(completed == 3)
                #expect(events.withLock { $0 } == [.claimed, .completed, .claimed, .completed, .claimed, .completed])
                #expect(listFolder(out) == ["handover-req-a.zip", "handover-req-b.zip", "handover-req-c.zip"])
                for (id, _) in emails {
                    let stored = try #require(try await store.request(try RequestID(id)))
                    #expect(stored.state == .completed)
                    #expect(stored.archive == out + "/handover-\(id).zip")
                    let report = BundleVerifier.verify(archive: out + "/handover-\(id).zip")
                    #expect(report.valid, "\(report.problems)")
                    #expect(report.request == id)
                }
            }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func anArchivePublishedByAnEarlierAttemptIsAdoptedAndAForeignOneIsLeftAlone(_ kind: StoreKind) async throws {
        try await withStore(kind) { store, _ in
            try await withTemporaryDirectory { out in
                try await submitDemoRequests(store, [("req-d", "user2@acme.example"), ("req-e", "user3@acme.example")])
                let fulfiller = try demoFulfiller(out)
                // An attempt that published and died before recording it.
                let earlier = try #require(try await store.request(try RequestID("req-d")))
                _ = try await fulfiller.fulfil(earlier)
                let before = try Data(contentsOf: URL(fileURLWithPath: out + "/handover-req-d.zip"))
                // Something else under req-e's name.
                try Data("not a bundle".utf8).write(to: URL(fileURLWithPath: out + "/handover-req-e.zip"))
                let worker = RequestWorker(
                    store: store, fulfiller: fulfiller, configuration: WorkerConfiguration(id: "w2"),
                    logger: quietLogger)
                await worker.run(untilIdle: true)
                #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/handover-req-d.zip")) == before)
                #expect(try await store.request(try RequestID("req-d"))?.state == .completed)
                let foreign = try #require(try await store.request(try RequestID("req-e")))
                #expect(foreign.state == .failed)
                #expect(foreign.failureReason?.contains("is not a valid bundle of request req-e") == true)
                #expect(try String(contentsOfFile: out + "/handover-req-e.zip", encoding: .utf8) == "not a bundle")
                #expect(listFolder(out) == ["handover-req-d.zip", "handover-req-e.zip"])
            }
        }
    }

    /// A bundle that carries the request's id but answers somebody else, made the way a manual
    /// `handover export --request-id` would make it, with the installation's own key.
    struct Impostor: Sendable, CustomTestStringConvertible {
        var name: String
        var purpose: Purpose
        var scope: ExportScope
        var receivedLater: Bool
        /// The part of the request record the failure reason must name.
        var differs: String
        var testDescription: String { name }
    }

    static let impostors = [
        Impostor(
            name: "another subject", purpose: .portability,
            scope: .subject(SubjectSelector(column: "email", value: "user3@acme.example"), tenant: nil),
            receivedLater: false, differs: "subject pseudonym"),
        Impostor(
            name: "another purpose", purpose: .access,
            scope: .subject(SubjectSelector(column: "email", value: "user2@acme.example"), tenant: nil),
            receivedLater: false, differs: "purpose"),
        Impostor(
            name: "a tenant", purpose: .portability, scope: .tenant("1"), receivedLater: false,
            differs: "kind of scope"),
        Impostor(
            name: "the subject within a tenant", purpose: .portability,
            scope: .subject(SubjectSelector(column: "email", value: "user2@acme.example"), tenant: "1"),
            receivedLater: false, differs: "tenant"),
        Impostor(
            name: "another receipt", purpose: .portability,
            scope: .subject(SubjectSelector(column: "email", value: "user2@acme.example"), tenant: nil),
            receivedLater: true, differs: "receipt time"),
    ]

    @Test(arguments: [StoreKind.sqlite], impostors)
    func aValidBundleUnderTheRequestsNameThatAnswersAnotherRequestIsNeverAdopted(
        _ kind: StoreKind, _ impostor: Impostor
    ) async throws {
        try await withStore(kind) { store, _ in
            try await withTemporaryDirectory { out in
                try await submitDemoRequests(store, [("req-i", "user2@acme.example")])
                let fulfiller = try demoFulfiller(out)
                let stored = try #require(try await store.request(try RequestID("req-i")))
                let receivedAt = Timestamp(
                    millisecondsSince1970: stored.request.receivedAt.millisecondsSince1970
                        + (impostor.receivedLater ? 1000 : 0))
                let other = ExportRequest(
                    id: stored.request.id, purpose: impostor.purpose, scope: impostor.scope, receivedAt: receivedAt)
                let built = try await BundleBuilder(
                    exporters: try fulfiller.exporters(stored), options: fulfiller.options, logger: quietLogger
                ).build(for: other)
                #expect(BundleVerifier.verify(archive: built.archivePath).valid)
                let before = try Data(contentsOf: URL(fileURLWithPath: built.archivePath))

                await RequestWorker(
                    store: store, fulfiller: fulfiller, configuration: WorkerConfiguration(id: "w9"),
                    logger: quietLogger
                ).run(untilIdle: true)
                let after = try #require(try await store.request(try RequestID("req-i")))
                #expect(after.state == .failed)
                #expect(after.archive == nil)
                let reason = try #require(after.failureReason)
                #expect(reason.contains("its \(impostor.differs) differs"), "\(reason)")
                #expect(reason.contains("answers another request"))
                #expect(!reason.contains("user2") && !reason.contains("user3"))
                #expect(try Data(contentsOf: URL(fileURLWithPath: built.archivePath)) == before)
                #expect(listFolder(out) == ["handover-req-i.zip"])
            }
        }
    }

    @Test(arguments: StoreKind.everyBackEnd)
    func transientFailuresAreRetriedAndPermanentOnesAreNot(_ kind: StoreKind) async throws {
        try await withStore(kind) { store, _ in
            try await submitDemoRequests(store, [("req-t", "a@example.com")])
            let retry = RetryPolicy(maxAttempts: 3, backoffSeconds: 0)
            let flaky = ScriptedFulfiller(behaviour: .fail(HandoverError(.sourceUnavailable, "cannot open 'db'")))
            let worker = RequestWorker(
                store: store, fulfiller: flaky, configuration: WorkerConfiguration(id: "w3", retry: retry),
                logger: quietLogger)
            await worker.run(untilIdle: true)
            #expect(flaky.started.withLock { $0 } == 3)
            let failed = try #require(try await store.request(try RequestID("req-t")))
            #expect(failed.state == .failed)
            #expect(failed.failureReason == "attempt 3 of 3 failed: data source unavailable: cannot open 'db'")
            let log = try await store.audit(of: failed.request.id)
            #expect(
                log.map(\.to) == [
                    .received, .verified, .queued, .running, .queued, .running, .queued, .running, .failed,
                ])

            try await submitDemoRequests(store, [("req-p", "b@example.com")])
            let broken = ScriptedFulfiller(
                behaviour: .fail(HandoverError(.invalidDatasetMap, "line 3: unknown column")))
            await RequestWorker(
                store: store, fulfiller: broken, configuration: WorkerConfiguration(id: "w4", retry: retry),
                logger: quietLogger
            ).run(untilIdle: true)
            #expect(broken.started.withLock { $0 } == 1)
            #expect(
                try await store.request(try RequestID("req-p"))?.failureReason
                    == "invalid dataset map: line 3: unknown column")
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aWorkerToldToStopHandsItsRequestBack(_ kind: StoreKind) async throws {
        try await withStore(kind) { store, _ in
            try await submitDemoRequests(store, [("req-h", "a@example.com")])
            let slow = ScriptedFulfiller(behaviour: .waitUntilCancelled)
            let control = WorkerControl()
            let worker = RequestWorker(
                store: store, fulfiller: slow, configuration: WorkerConfiguration(id: "w5"), logger: quietLogger)
            async let finished = worker.run(control: control)
            while slow.started.withLock({ $0 }) == 0 { try await Task.sleep(for: .milliseconds(10)) }
            control.handBack()
            #expect(await finished == 0)
            let back = try #require(try await store.request(try RequestID("req-h")))
            #expect(back.state == .queued)
            #expect(back.attempts == 0)
            #expect(try await store.audit(of: back.request.id).last?.detail == "the worker stopped")
        }
    }

    @Test(arguments: StoreKind.allCases)
    func cancellingARunningRequestStopsItsWorker(_ kind: StoreKind) async throws {
        try await withStore(kind) { store, _ in
            try await submitDemoRequests(store, [("req-x", "a@example.com")])
            let slow = ScriptedFulfiller(behaviour: .waitUntilCancelled)
            let worker = RequestWorker(
                store: store, fulfiller: slow, configuration: WorkerConfiguration(id: "w6", leaseSeconds: 3),
                logger: quietLogger)
            let claimed = try #require(try await store.claim(worker: "w6", leaseSeconds: 3, at: .now()))
            async let outcome = worker.process(claimed)
            while slow.started.withLock({ $0 }) == 0 { try await Task.sleep(for: .milliseconds(10)) }
            try await store.cancel(claimed.request.id, actor: "agent", reason: "withdrawn", at: .now())
            let event = await outcome
            #expect(event.kind == .leaseLost)
            #expect(try await store.request(claimed.request.id)?.state == .cancelled)
        }
    }
}
