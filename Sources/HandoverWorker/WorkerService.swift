public import ServiceLifecycle

/// A ``RequestWorker`` as a swift-service-lifecycle `Service`, to run in a `ServiceGroup` beside the other
/// long-running parts of a process (an HTTP server, a metrics exporter), as Hummingbird's `Application` and
/// postgres-nio's `PostgresClient` are.
///
/// On the group's graceful shutdown the worker claims nothing more and finishes the request in hand (or, with
/// ``handBackOnShutdown``, hands it back at once); ``control`` can also hand the request back later, from a second
/// signal for instance. The service returns when the worker stops.
public struct WorkerService: Service {
    /// The worker.
    public var worker: RequestWorker
    /// Stops the worker or makes it hand its request back; shared with whoever else may ask.
    public var control: WorkerControl
    /// Stop when no request is ready instead of waiting for more.
    public var untilIdle: Bool
    /// On graceful shutdown, hand the request in hand back at once instead of finishing it.
    public var handBackOnShutdown: Bool
    /// Told of every event, as ``RequestWorker/run(control:untilIdle:observe:)`` tells them.
    public var observe: @Sendable (WorkerEvent) -> Void

    /// A service running `worker`.
    public init(
        worker: RequestWorker, control: WorkerControl = WorkerControl(), untilIdle: Bool = false,
        handBackOnShutdown: Bool = false, observe: @escaping @Sendable (WorkerEvent) -> Void = { _ in }
    ) {
        self.worker = worker
        self.control = control
        self.untilIdle = untilIdle
        self.handBackOnShutdown = handBackOnShutdown
        self.observe = observe
    }

    /// Runs the worker until it stops: on graceful shutdown, when told to, or (with ``untilIdle``) when idle.
    public func run() async throws {
        let control = control
        let handBack = handBackOnShutdown
        await withGracefulShutdownHandler {
            _ = await worker.run(control: control, untilIdle: untilIdle, observe: observe)
        } onGracefulShutdown: {
            if handBack { control.handBack() } else { control.stopAfterCurrent() }
        }
    }
}
