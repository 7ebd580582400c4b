import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A webhook receiver on loopback for the tests: records every request and answers each with the next status of
/// its script (204 once the script is used up; 0 = never answer).
final class Receiver: Sendable {
    struct Delivery: Sendable {
        var target: String
        var headers: [String: String]
        var body: [UInt8]
    }

    final class State: Sendable {
        let lock: Mutex<(deliveries: [Delivery], script: [Int])>
        init(_ script: [Int]) { lock = Mutex(([], script)) }
        func withLock<T: Sendable>(_ body: (inout sending (deliveries: [Delivery], script: [Int])) -> sending T) -> T {
            lock.withLock(body)
        }
    }

    private let state: State
    private let channel: any Channel
    let port: Int

    init(script: [Int] = []) async throws {
        let state = State(script)
        self.state = state
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(state: state))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        self.channel = channel
        port = channel.localAddress?.port ?? 0
    }

    var url: String { "http://127.0.0.1:\(port)/hooks/handover?token=receiver-secret" }

    var deliveries: [Delivery] { state.withLock { $0.deliveries } }

    func close() async { try? await channel.close() }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let state: State
        var head: HTTPRequestHead?
        var body: [UInt8] = []

        init(state: State) { self.state = state }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body = []
            case .body(var buffer):
                body += buffer.readBytes(length: buffer.readableBytes) ?? []
            case .end:
                guard let head else { return }
                var headers: [String: String] = [:]
                for (name, value) in head.headers { headers[name.lowercased()] = value }
                let delivery = Delivery(target: head.uri, headers: headers, body: body)
                let status = state.withLock { state in
                    state.deliveries.append(delivery)
                    return state.script.isEmpty ? 204 : state.script.removeFirst()
                }
                if status == 0 { return }
                var response = HTTPResponseHead(version: .http1_1, status: .init(statusCode: status))
                response.headers.add(name: "Content-Length", value: "0")
                if status == 302 { response.headers.add(name: "Location", value: "http://127.0.0.1:1/elsewhere") }
                context.write(wrapOutboundOut(.head(response)), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}
