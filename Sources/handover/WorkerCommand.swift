import ArgumentParser
import Foundation
import HandoverArchive
import HandoverBundle
import HandoverCore
import HandoverSQL
import HandoverStore
import HandoverWorker
import ServiceLifecycle
import UnixSignals

/// `handover worker`: fulfils queued requests from a store until stopped.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Fulfil queued requests: claim, export, publish and record, until stopped.",
        discussion: """
            Runs any number of times, on one machine (--store sqlite:PATH) or many (--store postgres://…). \
            Each claim is a lease the worker renews while it exports; a worker that dies loses its lease and \
            another takes the request over. SIGINT or SIGTERM: claim nothing more, finish the export in hand, \
            record it and exit 0; a second signal (or the first, with --hand-back-on-stop) stops the export, \
            hands the request back to the queue and exits 0. Events go to standard error, one line each, or \
            to standard output as JSON lines with --json (the first is "started", once signals are handled).
            """
    )

    @OptionGroup var store: StoreOptions

    @Option(name: .long, help: "The database to export from: a SQLite file or a postgres:// URL.")
    var db: String

    @Option(name: .long, help: "The dataset map (YAML) that describes the database.")
    var map: String

    @Option(name: .long, help: "The folder archives are published in (created when missing).")
    var out: String

    @Option(name: .long, help: "The formats to write, as a comma-separated list such as json,csv.")
    var formats = FormatList.all

    @Option(name: .long, help: "The archive format: zip, or a pax tar with gzip, xz or Zstandard.")
    var archive = ArchiveFormat.zip

    @Option(name: .long, help: "Split large bundles into parts no larger than SIZE (such as 2G).")
    var splitSize: String?

    @Option(name: .long, help: "The organisation sending the bundles, for bag-info.txt.")
    var organization = "Handover"

    @Option(name: .long, help: "This worker's name in the store and audit log; default HOST:PID.")
    var workerID: String?

    @Option(name: .long, help: "How long a claim lasts unless renewed (renewed at a third of it).")
    var lease = "60s"

    @Option(name: .long, help: "Attempts per request before it fails for good.")
    var maxAttempts = 5

    @Option(name: .long, help: "The wait after a failed attempt; it doubles after each further one (at most 1h).")
    var backoff = "30s"

    @Option(name: .long, help: "How long a completed archive is kept before `handover purge` deletes it.")
    var retention = "7d"

    @Option(name: .long, help: "How long to wait before looking again when no request is ready.")
    var idle = "1s"

    @Flag(name: .long, help: "Exit when no request is ready, instead of waiting for more.")
    var untilIdle = false

    @Flag(name: .long, help: "On SIGINT or SIGTERM, stop the export in hand and hand it back at once.")
    var handBackOnStop = false

    @OptionGroup var content: ContentOptions

    @OptionGroup(title: "Encrypting and signing archives") var sealing: SealingOptions

    @OptionGroup var notify: NotifyOptions

    @OptionGroup var common: CommonOptions

    func run() async throws {
        let logger = common.makeLogger()
        let summary = try await reportingErrors {
            let retry = RetryPolicy(maxAttempts: maxAttempts, backoffSeconds: try parseDuration(backoff))
            let configuration = WorkerConfiguration(
                id: workerID ?? (ProcessInfo.processInfo.hostName + ":" + String(getpid())),
                leaseSeconds: try parseDuration(lease), retry: retry, retentionSeconds: try parseDuration(retention),
                idleSeconds: try parseInterval(idle))
            try ControlCharacters.require(configuration.id, "worker id")
            let datasetMap = try readMap(map)
            let database = try DataSourceLocation(db)
            guard database.isPresent else {
                throw HandoverError(.sourceUnavailable, "no database at '\(database.label)'")
            }
            // The store records where each archive is; an absolute path lets `purge` run from anywhere.
            let out = URL(fileURLWithPath: out).standardizedFileURL.path
            let pseudonymizer = try loadPseudonymizer(store.pseudonymKeyFile)
            var options = try bundleOptions(
                out: out, formats: formats, archive: archive, splitSize: splitSize, organization: organization,
                pseudonymizer: pseudonymizer)
            content.apply(to: &options)
            try sealing.apply(to: &options)
            try AtomicFile.createPrivateFolder(at: out)
            AtomicFile.removeLeftovers(in: out)
            let fulfiller = BundleFulfiller(options: options, logger: logger) { _ in
                try ExporterRegistry([try await database.exporter(map: datasetMap, logger: logger)])
            }
            let control = WorkerControl()
            // Our own listener is in place before "started" is printed: the first SIGINT or SIGTERM stops after
            // the request in hand (or hands it back, with --hand-back-on-stop), a second hands it back.
            let signals = await StopSignals(control: control, handBackAtOnce: handBackOnStop)
            defer { signals.cancel() }
            let json = common.json
            let quiet = common.quiet
            let notify = notify
            return try await store.withStore(pseudonymizer: pseudonymizer, logger: logger) { requests in
                let worker = RequestWorker(
                    store: requests, fulfiller: fulfiller, configuration: configuration, logger: logger)
                if json {
                    try? printJSON(
                        WorkerEventJSON(
                            event: "started", request: nil,
                            detail: "worker \(configuration.id) on \(requests.backEnd.location), publishing in \(out)",
                            at: Timestamp.now().iso8601))
                } else if !quiet {
                    printNote("worker \(configuration.id) on \(requests.backEnd.location), publishing in \(out)")
                }
                let counter = EventCounter()
                let service = WorkerService(
                    worker: worker, control: control, untilIdle: untilIdle, handBackOnShutdown: handBackOnStop
                ) { event in
                    counter.add(event.kind)
                    if json {
                        try? printJSON(WorkerEventJSON(event))
                    } else if !quiet {
                        printNote(
                            "\(event.at.iso8601) \(event.kind.rawValue) \(event.request?.rawValue ?? "-")"
                                + (event.detail.map { ": " + safe($0) } ?? ""))
                    }
                }
                // The worker runs in a service group, as the HTTP service will beside it; the group's graceful
                // shutdown on SIGINT or SIGTERM asks the worker what the first signal asks.
                var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
                // Shut down in reverse order: the worker first (it records the request in hand), then the
                // notifier, which sends what that left due.
                if let notifier = try notify.makeNotifier(
                    store: requests, id: configuration.id + "/notify", logger: logger,
                    observe: { event in
                        if json {
                            try? printJSON(
                                WorkerEventJSON(
                                    event: notificationEventName(event), request: event.notification.request.rawValue,
                                    detail: describe(event), at: Timestamp.now().iso8601))
                        } else if !quiet {
                            printNote(describe(event))
                        }
                    })
                {
                    services.append(.init(service: notifier))
                }
                services.append(.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup))
                let group = ServiceGroup(
                    configuration: ServiceGroupConfiguration(
                        services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
                try await group.run()
                return WorkerSummaryJSON(
                    worker: configuration.id, completed: counter.counts[WorkerEvent.Kind.completed.rawValue] ?? 0,
                    counts: counter.counts, stoppedBy: signals.received)
            }
        }
        if common.json {
            try printJSON(summary)
        } else if !common.quiet {
            let counts: [String] = summary.counts.keys.sorted().map { "\(summary.counts[$0]!) \($0)" }
            let signal: String = summary.stoppedBy.map { " on " + $0 } ?? ""
            printNote("worker \(summary.worker) stopped\(signal): " + counts.joined(separator: ", "))
        }
    }
}

/// SIGINT and SIGTERM, turned into requests to a ``WorkerControl``: the first stops after the current
/// request (or hands it back at once), the second hands it back.
final class StopSignals: @unchecked Sendable {
    private let lock = NSLock()
    private var names: [String] = []
    private var listener: Task<Void, Never>?

    /// Starts listening; returns once the signals are trapped.
    init(control: WorkerControl, handBackAtOnce: Bool) async {
        let signals = await UnixSignalsSequence(trapping: .sigint, .sigterm)
        listener = Task { [weak self] in
            for await signal in signals {
                guard let self else { return }
                let name = signal == .sigint ? "SIGINT" : "SIGTERM"
                let first = self.lock.withLock {
                    self.names.append(name)
                    return self.names.count == 1
                }
                if first && !handBackAtOnce {
                    printNote("\(name): finishing the request in hand, then stopping (signal again to hand it back)")
                    control.stopAfterCurrent()
                } else {
                    printNote("\(name): handing the request in hand back and stopping")
                    control.handBack()
                }
            }
        }
    }

    /// The first signal received, if any.
    var received: String? { lock.withLock { names.first } }

    func cancel() {
        listener?.cancel()
    }
}

/// Counts worker events by kind.
final class EventCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [String: Int] = [:]

    func add(_ kind: WorkerEvent.Kind) { lock.withLock { storage[kind.rawValue, default: 0] += 1 } }

    var counts: [String: Int] { lock.withLock { storage } }
}

/// One worker event as a JSON line.
struct WorkerEventJSON: Encodable {
    var event: String
    var request: String?
    var detail: String?
    var at: String

    init(event: String, request: String?, detail: String?, at: String) {
        self.event = event
        self.request = request
        self.detail = detail
        self.at = at
    }

    init(_ event: WorkerEvent) {
        self.event = event.kind.rawValue
        request = event.request?.rawValue
        detail = event.detail
        at = event.at.iso8601
    }
}

/// What a worker did, printed when it stops.
struct WorkerSummaryJSON: Encodable, Sendable {
    var worker: String
    var completed: Int
    var counts: [String: Int]
    var stoppedBy: String?
}

/// Writes a line to standard error.
func printNote(_ text: String) {
    FileHandle.standardError.write(Data(("handover: " + text + "\n").utf8))
}
