internal import HandoverCore
internal import NIOCore
internal import NIOHTTP1
internal import NIOPosix
internal import NIOSSL

#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Darwin)
    internal import Darwin
#endif

/// Posts one request to a ``WebhookEndpoint`` over HTTP/1.1 (TLS for `https`) and returns the response's status.
///
/// A deliberately small client: one connection per delivery (`Connection: close`), no redirects followed (a 3xx
/// is a failed delivery: a signed event is never re-sent to a host the operator did not name), the response body
/// not read, the whole exchange bounded by a timeout.
struct WebhookClient: Sendable {
    let endpoint: WebhookEndpoint
    let tls: NIOSSLContext?
    let timeoutSeconds: Double

    init(endpoint: WebhookEndpoint, trustRootsFile: String?, timeoutSeconds: Double) throws {
        self.endpoint = endpoint
        self.timeoutSeconds = timeoutSeconds
        if endpoint.tls {
            var configuration = TLSConfiguration.makeClientConfiguration()
            if let trustRootsFile {
                configuration.trustRoots = .file(trustRootsFile)
            }
            do {
                tls = try NIOSSLContext(configuration: configuration)
            } catch {
                throw HandoverError(.invalidArgument, "the TLS settings for notifications cannot be used")
            }
        } else {
            tls = nil
        }
    }

    /// Why a delivery did not get a status, in words without the URL's path or query.
    struct Failure: Error {
        var reason: String
    }

    /// Sends `body` with `headers`; returns the HTTP status.
    /// - Throws: ``Failure`` for a connection, TLS or protocol failure, or the timeout.
    func post(body: [UInt8], headers: [(String, String)]) async throws(Failure) -> Int {
        do {
            return try await withThrowingTaskGroup(of: Int?.self) { group in
                group.addTask { try await exchange(body: body, headers: headers) }
                group.addTask {
                    try await Task.sleep(for: .seconds(timeoutSeconds))
                    return nil
                }
                let first = try await group.next() ?? nil
                group.cancelAll()
                guard let first else { throw Failure(reason: "no answer within \(Int(timeoutSeconds)) s") }
                return first
            }
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(reason: Self.describe(error))
        }
    }

    private func exchange(body: [UInt8], headers: [(String, String)]) async throws -> Int {
        let endpoint = endpoint
        let tls = tls
        let literal = endpoint.host.contains(":") || endpoint.host.allSatisfy { $0.isNumber || $0 == "." }
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.milliseconds(Int64(timeoutSeconds * 1000)))
            .connect(host: endpoint.host, port: endpoint.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(
                            try NIOSSLClientHandler(context: tls, serverHostname: literal ? nil : endpoint.host))
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(
                        wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: endpoint.target)
            head.headers.add(name: "Host", value: endpoint.hostHeader)
            head.headers.add(name: "Content-Length", value: String(body.count))
            head.headers.add(name: "Connection", value: "close")
            for (name, value) in headers { head.headers.add(name: name, value: value) }
            try await outbound.write(.head(head))
            try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body))))
            try await outbound.write(.end(nil))
            for try await part in inbound {
                // Informational answers (100 Continue) are not the answer.
                if case .head(let response) = part, response.status.code >= 200 {
                    return Int(response.status.code)
                }
            }
            throw Failure(reason: "the connection closed before an answer")
        }
    }

    /// A failure in words: the kind of problem, never the URL's path or query.
    static func describe(_ error: any Error) -> String {
        switch error {
        case let error as IOError:
            return "cannot connect: " + String(cString: strerror(error.errnoCode))
        case let error as NIOConnectionError:
            if let first = error.connectionErrors.first?.error as? IOError {
                return "cannot connect: " + String(cString: strerror(first.errnoCode))
            }
            return error.dnsAAAAError != nil || error.dnsAError != nil
                ? "cannot resolve the host name" : "cannot connect"
        case ChannelError.connectTimeout:
            return "the connection timed out"
        case is NIOSSLError, is BoringSSLError:
            return "TLS failed: \(error)"
        case is HTTPParserError:
            return "the answer is not HTTP"
        case is CancellationError:
            return "cancelled"
        default:
            return "the delivery failed (\(type(of: error)))"
        }
    }
}
