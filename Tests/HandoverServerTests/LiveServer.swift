import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// A response as the tests read it.
struct TestResponse: Sendable {
    var status: HTTPResponse.Status
    var headers: HTTPFields
    var body: ByteBuffer
}

/// An HTTP/1.1 client for the tests (SwiftNIO's own codec, one connection per request): nothing of the server's
/// code, and none of async-http-client's weight in the build.
struct LiveClient: Sendable {
    let port: Int

    struct Closed: Error {}

    /// Sends one request and reads the whole answer.
    func execute(
        uri: String, method: HTTPRequest.Method, headers: HTTPFields = [:], body: ByteBuffer? = nil
    ) async throws -> TestResponse {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(
                        wrappingChannelSynchronously: channel)
                }
            }
        let port = port
        return try await channel.executeThenClose { inbound, outbound in
            var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method.rawValue), uri: uri)
            head.headers.add(name: "Host", value: "127.0.0.1:\(port)")
            for field in headers { head.headers.add(name: field.name.rawName, value: field.value) }
            if body != nil || ![.get, .head, .delete].contains(method) {
                head.headers.replaceOrAdd(name: "Content-Length", value: String(body?.readableBytes ?? 0))
            }
            head.headers.add(name: "Connection", value: "close")
            try await outbound.write(.head(head))
            if let body { try await outbound.write(.body(.byteBuffer(body))) }
            try await outbound.write(.end(nil))
            var response: HTTPResponseHead?
            var collected = ByteBuffer()
            for try await part in inbound {
                switch part {
                case .head(let next) where next.status.code >= 200: response = next
                case .head: continue
                case .body(var chunk): collected.writeBuffer(&chunk)
                case .end:
                    guard let response else { throw Closed() }
                    var fields = HTTPFields()
                    for (name, value) in response.headers {
                        if let field = HTTPField.Name(name) { fields.append(HTTPField(name: field, value: value)) }
                    }
                    return TestResponse(
                        status: HTTPResponse.Status(code: Int(response.status.code)), headers: fields, body: collected)
                }
            }
            throw Closed()
        }
    }
}

/// Runs `makeApplication`'s server on a free loopback port in a service group for the length of `body`, then shuts
/// it down gracefully.
func withLiveServer<T: Sendable, App: ApplicationProtocol>(
    logger: Logger, _ makeApplication: (@escaping @Sendable (Int) async -> Void) throws -> App,
    _ body: (LiveClient) async throws -> T
) async throws -> T {
    let (ports, continuation) = AsyncStream<Int>.makeStream()
    let app = try makeApplication { port in continuation.yield(port) }
    let group = ServiceGroup(
        configuration: ServiceGroupConfiguration(services: [app], gracefulShutdownSignals: [], logger: logger))
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw LiveClient.Closed() }
        let result: Result<T, any Error>
        do {
            result = .success(try await body(LiveClient(port: port)))
        } catch {
            result = .failure(error)
        }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
        return try result.get()
    }
}
