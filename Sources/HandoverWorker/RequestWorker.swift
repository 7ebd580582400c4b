public import HandoverCore
public import HandoverStore
public import Logging
internal import Synchronization

#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Darwin)
    internal import Darwin
#endif

/// How a worker works: its name, its lease, retries, retention and how often it looks for work.
public struct WorkerConfiguration: Sendable {
    /// The worker's name in the store and the audit log (such as `host:pid`); unique among running workers.
    public var id: String
    /// How long a claim lasts without renewal; the worker renews at a third of it.
    public var leaseSeconds: Int64
    /// Attempts and backoff.
    public var retry: RetryPolicy
    /// How long a completed archive is kept before `purge` deletes it.
    public var retentionSeconds: Int64
    /// How long to wait before looking again when no request is ready.
    public var idleSeconds: Double

    /// A configuration: by default a 60 s lease, 5 attempts, 7 days' retention, a 1 s idle wait.
    public init(
        id: String, leaseSeconds: Int64 = 60, retry: RetryPolicy = RetryPolicy(),
        retentionSeconds: Int64 = 7 * 86_400, idleSeconds: Double = 1
    ) {
        self.id = id
        self.leaseSeconds = max(1, leaseSeconds)
        self.retry = retry
        self.retentionSeconds = max(0, retentionSeconds)
        self.idleSeconds = max(0.01, idleSeconds)
    }
}

/// Tells a running worker to stop: after the request in hand, or at once, handing that request back.
///
/// Safe to call from any thread, a signal handler's queue included; one control may serve several workers.
public final class WorkerControl: Sendable {
    private struct State {
        var stop = false
        var handBack = false
        var next = 0
        var actions: [Int: @Sendable () -> Void] = [:]
    }

    private let state = Mutex(State())

    /// A control that has not asked anything yet.
    public init() {}

    /// Claim nothing more; finish the request in hand, then return.
    public func stopAfterCurrent() { state.withLock { $0.stop = true } }

    /// Stop the request in hand (nothing is published), hand it back to the queue, and return.
    public func handBack() {
        let actions = state.withLock { state in
            state.stop = true
            state.handBack = true
            return Array(state.actions.values)
        }
        for action in actions { action() }
    }

    /// Registers `action` to run when ``handBack()`` is called (at once, if it already was).
    func onHandBack(_ action: @escaping @Sendable () -> Void) -> Int {
        let (token, already) = state.withLock { state in
            state.next += 1
            state.actions[state.next] = action
            return (state.next, state.handBack)
        }
        if already { action() }
        return token
    }

    func remove(_ token: Int) { _ = state.withLock { $0.actions.removeValue(forKey: token) } }

    /// Whether the worker should claim nothing more.
    public var stopping: Bool { state.withLock { $0.stop } }

    /// Whether the worker should hand back what it holds.
    public var handingBack: Bool { state.withLock { $0.handBack } }
}

/// Something a worker did, for the caller to show or count. Holds no personal data.
public struct WorkerEvent: Sendable {
    /// What happened.
    public enum Kind: String, Sendable {
        /// A request was claimed.
        case claimed
        /// Its archive was published (or found published by an earlier attempt) and recorded.
        case completed
        /// The attempt failed and the request waits for another.
        case retrying
        /// The request failed for good.
        case failed
        /// The worker stopped and handed the request back.
        case handedBack
        /// The lease ran out or the request was cancelled while the worker worked; it stopped.
        case leaseLost
        /// The store could not be reached; the worker waits and tries again.
        case storeUnavailable
    }

    /// What happened.
    public var kind: Kind
    /// The request, when there is one.
    public var request: RequestID?
    /// The archive, the reason, or the store's error: data-free.
    public var detail: String?
    /// When.
    public var at: Timestamp
}

/// A worker: claims requests from a store under a lease, renews the lease while it fulfils them, and
/// records the outcome, until told to stop.
///
/// A worker that dies mid-request leaves its lease to run out; the next claim by any worker puts the
/// request back in the queue (or fails it after ``RetryPolicy/maxAttempts``). A request is completed once:
/// only the lease holder can complete it, and the fulfiller never publishes a second archive.
public struct RequestWorker: Sendable {
    /// The store.
    public let store: RequestStore
    /// What to do with a request.
    public let fulfiller: any RequestFulfiller
    /// Name, lease, retries, retention.
    public let configuration: WorkerConfiguration
    /// Where the worker logs (never data values).
    public let logger: Logger

    /// A worker on `store`.
    public init(
        store: RequestStore, fulfiller: any RequestFulfiller, configuration: WorkerConfiguration, logger: Logger
    ) {
        self.store = store
        self.fulfiller = fulfiller
        self.configuration = configuration
        self.logger = logger
    }

    /// Works until `control` says stop (or, with `untilIdle`, until no request is ready), reporting each
    /// event to `observe`. Store outages are reported and waited out, not thrown.
    /// - Returns: How many requests this worker completed.
    @discardableResult
    public func run(
        control: WorkerControl = WorkerControl(), untilIdle: Bool = false,
        observe: @Sendable (WorkerEvent) -> Void = { _ in }
    ) async -> Int {
        // The worker's own steps (claim, renew, record) run on a thread of this worker's own, so that blocking
        // work elsewhere in the process (an export, a validation, another worker's store, a test) cannot delay
        // them until a lease runs out.
        let own = ThreadPoolExecutor(threads: 1)
        defer { own.shutdown() }
        return await withTaskExecutorPreference(own) {
            await work(control: control, untilIdle: untilIdle, steps: own, observe: observe)
        }
    }

    private func work(
        control: WorkerControl, untilIdle: Bool, steps: ThreadPoolExecutor, observe: @Sendable (WorkerEvent) -> Void
    ) async -> Int {
        var completed = 0
        var outage = 0
        while !control.stopping && !Task.isCancelled {
            let claimed: StoredRequest?
            do {
                claimed = try await store.claim(
                    worker: configuration.id, leaseSeconds: configuration.leaseSeconds, retry: configuration.retry,
                    at: .now())
                outage = 0
            } catch {
                outage += 1
                observe(event(.storeUnavailable, nil, Self.describe(error)))
                await pause(seconds: min(30, configuration.idleSeconds * Double(1 << min(outage, 5))), control)
                continue
            }
            guard let claimed else {
                if untilIdle { break }
                await pause(seconds: configuration.idleSeconds, control)
                continue
            }
            observe(event(.claimed, claimed.request.id, "attempt \(claimed.attempts)"))
            let outcome = await process(claimed, control: control, steps: steps)
            if outcome.kind == .completed { completed += 1 }
            observe(outcome)
        }
        return completed
    }

    /// Fulfils one claimed request while renewing its lease, and records the outcome in the store.
    public func process(_ claimed: StoredRequest, control: WorkerControl = WorkerControl()) async -> WorkerEvent {
        await process(claimed, control: control, steps: ThreadPoolExecutor.leases)
    }

    /// ``process(_:control:)`` with the lease renewed on `steps`.
    private func process(_ claimed: StoredRequest, control: WorkerControl, steps: ThreadPoolExecutor) async
        -> WorkerEvent
    {
        let id = claimed.request.id
        // The export runs in a task of its own, so that a hand-back (from a signal handler's thread) or a lost
        // lease cancels it at once, whatever the cooperative pool is busy with.
        // Exports block (SQLite, files, libarchive, validation): they run on threads of their own.
        let export = Task(executorPreference: ThreadPoolExecutor.blocking) { [fulfiller] () -> WorkEnding in
            do {
                return .published(try await fulfiller.fulfil(claimed))
            } catch let error as HandoverError {
                return .failed(error)
            } catch is CancellationError {
                return .failed(HandoverError(.cancelled, "the export was cancelled"))
            } catch {
                return .failed(HandoverError(.internalError, "the fulfiller failed", underlying: Self.describe(error)))
            }
        }
        let registration = control.onHandBack { export.cancel() }
        defer { control.remove(registration) }
        let finished: WorkEnding = await withTaskCancellationHandler {
            await withTaskGroup(of: WorkEnding?.self) { group in
                group.addTask { await export.value }
                group.addTask(executorPreference: steps) { await keepLease(claimed, control) }
                var first: WorkEnding? = nil
                while let next = await group.next() {
                    if let next {
                        first = next
                        break
                    }
                }
                export.cancel()
                group.cancelAll()
                // A lease lost or a hand-back outranks the export's own "cancelled" ending; an archive published
                // before the cancellation arrived outranks both (recording it fails if the lease is gone).
                while let next = await group.next() {
                    guard let next else { continue }
                    if case .published = next {
                        first = next
                    } else if case .failed(let error) = first ?? .handBack, error.code == .cancelled {
                        first = next
                    }
                }
                return first ?? .handBack
            }
        } onCancel: {
            export.cancel()
        }
        // Sizes and digests for delivery, read once from what was published; a published file that cannot be read
        // makes the attempt a failed one (worth a retry), not a completed one.
        var ending = finished
        var files: [ArchiveFile] = []
        if case .published(let path) = ending {
            do {
                files = try ArchiveFile.describe(published: path)
            } catch {
                ending = .failed(
                    error as? HandoverError
                        ?? HandoverError(.outputUnavailable, "cannot read the published archive '\(path)'"))
            }
        }
        let now = Timestamp.now()
        do {
            switch ending {
            case .published(let path):
                try await store.complete(
                    id, worker: configuration.id, archive: path, files: files,
                    retentionSeconds: configuration.retentionSeconds, at: now)
                return event(.completed, id, path)
            case .failed(let error) where error.code == .cancelled && (control.handingBack || Task.isCancelled):
                // Told to hand back, or the task running the worker was cancelled: not a failed attempt.
                try await store.release(id, worker: configuration.id, reason: "the worker stopped", at: now)
                return event(.handedBack, id, "the worker stopped")
            case .failed(let error):
                // Error messages may hold line breaks; the store refuses control characters, so they are escaped.
                let reason = ControlCharacters.escaped(error.code.description + ": " + error.message)
                let state = try await store.fail(
                    id, worker: configuration.id, reason: reason, transient: error.isTransient,
                    retry: configuration.retry, at: now)
                return event(state == .failed ? .failed : .retrying, id, reason)
            case .leaseLost:
                return event(.leaseLost, id, "the lease ran out or the request was cancelled; nothing was recorded")
            case .handBack:
                try await store.release(id, worker: configuration.id, reason: "the worker stopped", at: now)
                return event(.handedBack, id, "the worker stopped")
            }
        } catch let error as HandoverError where error.code == .conflict {
            // The lease ran out between the end of the work and its recording; the next holder adopts the archive.
            return event(.leaseLost, id, error.message)
        } catch {
            return event(.storeUnavailable, id, Self.describe(error))
        }
    }

    /// Renews the lease at a third of its length until cancelled; ends the work when the lease is lost
    /// (the store says so, or the lease has run out by this worker's clock) or when told to hand back.
    private func keepLease(_ claimed: StoredRequest, _ control: WorkerControl) async -> WorkEnding? {
        var leaseUntil = claimed.leaseUntil ?? Timestamp.now()
        let interval = Duration.seconds(Double(configuration.leaseSeconds) / 3)
        let clock = ContinuousClock()
        while !Task.isCancelled {
            // Renew by the clock, not by counting sleeps: on a busy machine a 0.1 s sleep can take far longer,
            // and counting them would renew too late. Wake often enough to notice a hand-back promptly.
            let due = clock.now.advanced(by: interval)
            while clock.now < due && !Task.isCancelled && !control.handingBack {
                // This runs on the worker's own thread: wait on it, then let the worker's other steps run.
                // (Task.sleep's timers fire on shared threads, which a loaded process can hold for seconds.)
                let wait = min(Duration.milliseconds(100), clock.now.duration(to: due))
                let micros = wait.components.seconds * 1_000_000 + wait.components.attoseconds / 1_000_000_000_000
                if micros > 0 { usleep(useconds_t(micros)) }
                await Task.yield()
            }
            if Task.isCancelled { return nil }
            if control.handingBack { return .handBack }
            let now = Timestamp.now()
            do {
                try await store.renew(
                    claimed.request.id, worker: configuration.id, leaseSeconds: configuration.leaseSeconds, at: now)
                leaseUntil = now.adding(seconds: configuration.leaseSeconds)
            } catch let error as HandoverError where error.code == .conflict || error.code == .notFound {
                return .leaseLost
            } catch {
                logger.warning("cannot renew the lease", metadata: ["request": "\(claimed.request.id)"])
                if Timestamp.now() >= leaseUntil { return .leaseLost }
            }
        }
        return nil
    }

    private func pause(seconds: Double, _ control: WorkerControl) async {
        var left = seconds
        while left > 0 && !control.stopping && !Task.isCancelled {
            try? await Task.sleep(for: .seconds(min(left, 0.2)))
            left -= 0.2
        }
    }

    private func event(_ kind: WorkerEvent.Kind, _ id: RequestID?, _ detail: String?) -> WorkerEvent {
        WorkerEvent(kind: kind, request: id, detail: detail, at: .now())
    }

    /// A data-free description of any error.
    static func describe(_ error: any Error) -> String {
        if let error = error as? HandoverError { return error.code.description + ": " + error.message }
        return String(describing: type(of: error))
    }
}

/// How the work on one request ended.
private enum WorkEnding: Sendable {
    case published(String)
    case failed(HandoverError)
    case leaseLost
    case handBack
}
