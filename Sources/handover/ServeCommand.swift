import ArgumentParser
import Foundation
import HandoverArchive
import HandoverBundle
import HandoverCore
import HandoverSQL
import HandoverServer
import HandoverStore
import HandoverWorker
import Logging
import ServiceLifecycle

/// `handover serve`: the delivery service, and optionally workers in the same process.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the delivery API, downloads and links over HTTP (and run workers, with --workers N).",
        discussion: """
            Stateless apart from the store and the archives' folder: several can run behind a load balancer on one \
            PostgreSQL store. Listens on loopback without TLS by default; --tls-cert and --tls-key serve TLS, or \
            put it behind a reverse proxy and give --public-url. Prints "listening on URL" on standard error once \
            it accepts connections. SIGINT or SIGTERM: stop accepting connections, let downloads in flight finish, \
            let workers finish the export in hand, exit 0. The API is described by GET /openapi.json.
            """
    )

    @OptionGroup var store: StoreOptions

    @Option(name: .long, help: "Where to listen: HOST:PORT (port 0 picks a free one).")
    var listen = "127.0.0.1:8080"

    @Option(name: .long, help: "The URL clients reach the service at (behind a proxy), for the links it makes.")
    var publicURL: String?

    @Option(name: .long, help: "A PEM certificate chain to serve TLS with (with --tls-key).")
    var tlsCert: String?

    @Option(name: .long, help: "The PEM private key of --tls-cert.")
    var tlsKey: String?

    @Option(name: .long, help: "How long a delivery link works unless its creator says otherwise.")
    var linkLifetime = "24h"

    @Option(name: .long, help: "Failed authentications a client address may make per minute before it is refused.")
    var authFailuresPerMinute = 20

    @Option(name: .long, help: "Workers to run in this process (they need --db, --map and --out).")
    var workers = 0

    @Option(name: .long, help: "For workers: the database to export from: a SQLite file or a postgres:// URL.")
    var db: String?

    @Option(name: .long, help: "For workers: the dataset map (YAML) that describes the database.")
    var map: String?

    @Option(name: .long, help: "For workers: the folder archives are published in.")
    var out: String?

    @Option(name: .long, help: "For workers: the formats to write, such as json,csv.")
    var formats = FormatList.all

    @Option(name: .long, help: "For workers: the archive format.")
    var archive = ArchiveFormat.zip

    @Option(name: .long, help: "For workers: how long a completed archive is kept.")
    var retention = "7d"

    @OptionGroup var content: ContentOptions

    @OptionGroup(title: "For workers: encrypting and signing archives") var sealing: SealingOptions

    @OptionGroup var notify: NotifyOptions

    @OptionGroup var common: CommonOptions

    func validate() throws {
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("Give --tls-cert and --tls-key together.") }
        if workers < 0 || workers > 64 { throw ValidationError("--workers must be between 0 and 64.") }
        if workers > 0 && (db == nil || map == nil || out == nil) {
            throw ValidationError("Workers need --db, --map and --out.")
        }
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]),
            (0...65535).contains(port), colon != listen.startIndex
        else { throw ValidationError("--listen takes HOST:PORT, such as 127.0.0.1:8080.") }
    }

    func run() async throws {
        let logger = common.makeLogger()
        try await reportingErrors {
            let colon = listen.lastIndex(of: ":")!
            var host = String(listen[..<colon])
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            var configuration = DeliveryConfiguration(
                host: host, port: Int(listen[listen.index(after: colon)...])!, publicURL: publicURL)
            configuration.linkLifetimeSeconds = try parseDuration(linkLifetime)
            configuration.failedAuthenticationsPerMinute = authFailuresPerMinute
            if let tlsCert, let tlsKey { configuration.tls = (tlsCert, tlsKey) }
            let pseudonymizer = try loadPseudonymizer(store.pseudonymKeyFile)
            let fulfiller = try workers > 0 ? makeFulfiller(pseudonymizer, logger) : nil
            let quiet = common.quiet
            let notify = notify
            let scheme = configuration.tls == nil ? "http" : "https"
            try await store.withStore(pseudonymizer: pseudonymizer, logger: logger) { requests in
                let app = try DeliveryServer.application(
                    store: requests, configuration: configuration, logger: logger
                ) { port in
                    if !quiet { printNote("listening on \(scheme)://\(listen[..<colon]):\(port)") }
                }
                // Shut down in reverse order: workers (they record the request in hand), the server (downloads in
                // flight finish), then the notifier (it sends what the workers left due).
                var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
                if let notifier = try notify.makeNotifier(
                    store: requests, id: ProcessInfo.processInfo.hostName + ":" + String(getpid()) + "/notify",
                    logger: logger, observe: { event in if !quiet { printNote(describe(event)) } })
                {
                    services.append(.init(service: notifier))
                }
                services.append(.init(service: app))
                if let fulfiller {
                    let retention = try parseDuration(retention)
                    for number in 1...workers {
                        let worker = RequestWorker(
                            store: requests, fulfiller: fulfiller,
                            configuration: WorkerConfiguration(
                                id: ProcessInfo.processInfo.hostName + ":" + String(getpid()) + "/\(number)",
                                retentionSeconds: retention),
                            logger: logger)
                        services.append(.init(service: WorkerService(worker: worker)))
                    }
                }
                let group = ServiceGroup(
                    configuration: ServiceGroupConfiguration(
                        services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
                try await group.run()
            }
        }
    }

    func makeFulfiller(_ pseudonymizer: KeyedPseudonymizer, _ logger: Logger) throws -> BundleFulfiller {
        guard let db, let map, let out else { throw HandoverError(.invalidArgument, "workers need --db, --map, --out") }
        let database = try DataSourceLocation(db)
        guard database.isPresent else {
            throw HandoverError(.sourceUnavailable, "no database at '\(database.label)'")
        }
        let datasetMap = try readMap(map)
        let folder = URL(fileURLWithPath: out).standardizedFileURL.path
        var options = try bundleOptions(
            out: folder, formats: formats, archive: archive, splitSize: nil, organization: "Handover",
            pseudonymizer: pseudonymizer)
        content.apply(to: &options)
        try sealing.apply(to: &options)
        try AtomicFile.createPrivateFolder(at: folder)
        AtomicFile.removeLeftovers(in: folder)
        return BundleFulfiller(options: options, logger: logger) { _ in
            try ExporterRegistry([try await database.exporter(map: datasetMap, logger: logger)])
        }
    }
}
