internal import Foundation
internal import HandoverCore
public import HandoverStore
public import Hummingbird
internal import HummingbirdCore
internal import HummingbirdTLS
public import Logging
internal import NIOCore
internal import NIOSSL

/// How `handover serve` listens and what it allows.
public struct DeliveryConfiguration: Sendable {
    /// The address to listen on (loopback by default).
    public var host: String
    /// The port to listen on (0 for any free port).
    public var port: Int
    /// The URL the service is reached at from outside (behind a proxy), for the links it hands out; by default
    /// `http://host:port`.
    public var publicURL: String
    /// How long a delivery link works unless its creator says otherwise: 24 hours.
    public var linkLifetimeSeconds: Int64 = 86_400
    /// The longest a link may be asked to work: 30 days (and never past the archive's retention).
    public var maxLinkLifetimeSeconds: Int64 = 30 * 86_400
    /// How long a tenant page session lasts: 8 hours.
    public var sessionLifetimeSeconds: Int64 = 8 * 3_600
    /// Failed authentications a peer may make per minute before it is refused (429).
    public var failedAuthenticationsPerMinute: Int = 20
    /// A PEM certificate chain and private key to serve TLS with; nil for plain HTTP (loopback, or behind a proxy
    /// that terminates TLS).
    public var tls: (certificateChain: String, privateKey: String)?

    /// Listens on `host:port`; links point at `publicURL`, or at the listening address when it is nil.
    public init(host: String = "127.0.0.1", port: Int = 8080, publicURL: String? = nil) {
        self.host = host
        self.port = port
        let base = publicURL ?? "http://\(host.contains(":") ? "[\(host)]" : host):\(port)"
        self.publicURL = base.hasSuffix("/") ? String(base.dropLast()) : base
    }

    /// Whether cookies are marked `Secure` (served over TLS, or behind a public HTTPS URL).
    var secureCookies: Bool { tls != nil || publicURL.lowercased().hasPrefix("https://") }
}

/// The delivery service: tenants and data subjects download their archives over HTTP.
///
/// It keeps no state of its own apart from the request store and the archives' folder, so several can run
/// behind a load balancer on one PostgreSQL store. The returned application is a swift-service-lifecycle
/// `Service`: run it in a `ServiceGroup` (with workers, if the process runs them too) for graceful shutdown, in
/// which in-flight downloads finish and new connections are refused.
public enum DeliveryServer {
    /// The application serving the API, downloads, the tenant page and the OpenAPI document.
    /// - Parameters:
    ///   - store: The request store (tokens, links, sessions and the audit log live there too).
    ///   - configuration: Where to listen and what to allow.
    ///   - logger: Where the service logs: request method, route and status, never a path, token or body.
    ///   - onServerRunning: Called with the bound port once the server listens.
    /// - Throws: ``HandoverError/Code/invalidArgument`` when the TLS files cannot be read.
    public static func application(
        store: RequestStore, configuration: DeliveryConfiguration, logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let router = Router(context: DeliveryContext.self)
        router.add(middleware: AccessLog(logger: logger))
        router.add(middleware: ProblemMiddleware())
        let limiter = AuthenticationLimiter(failuresPerMinute: configuration.failedAuthenticationsPerMinute)
        router.get("healthz") { _, _ in try jsonResponse(["status": "ok"]) }
        router.get("openapi.json") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-cache"],
                body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.json)))
        }
        DeliveryAPI(store: store, configuration: configuration, logger: logger).addRoutes(to: router, limiter: limiter)
        TenantPage(store: store, configuration: configuration, logger: logger).addRoutes(to: router, limiter: limiter)

        let server: HTTPServerBuilder
        if let files = configuration.tls {
            var tls: TLSConfiguration
            do {
                tls = TLSConfiguration.makeServerConfiguration(
                    certificateChain: try NIOSSLCertificate.fromPEMFile(files.certificateChain).map {
                        .certificate($0)
                    },
                    privateKey: .privateKey(try NIOSSLPrivateKey(file: files.privateKey, format: .pem)))
            } catch {
                throw HandoverError(.invalidArgument, "cannot read the TLS certificate chain or private key")
            }
            tls.minimumTLSVersion = .tlsv12
            server = try .tls(.http1(), tlsConfiguration: tls)
        } else {
            server = .http1()
        }
        var serverLogger = logger
        serverLogger.logLevel = max(logger.logLevel, .notice)
        return Application(
            router: router, server: server,
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
            logger: serverLogger)
    }
}

/// One line per request at info level: method, route template, status and time taken. Never the path (a link's
/// token is in it), a header or a body.
struct AccessLog<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        let start = ContinuousClock.now
        func log(_ status: HTTPResponse.Status) {
            let elapsed = ContinuousClock.now - start
            logger.info(
                "request",
                metadata: [
                    "method": "\(request.method.rawValue)", "route": "\(context.endpointPath ?? "unmatched")",
                    "status": "\(status.code)",
                    "ms":
                        "\(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)",
                ])
        }
        do {
            let response = try await next(request, context)
            log(response.status)
            return response
        } catch let error as any HTTPResponseError {
            log(error.status)
            throw error
        }
    }
}
