public import HandoverStore
public import Hummingbird
package import NIOCore

/// The request context of the delivery service: who is asking (a token, a session), and from where.
public struct DeliveryContext: RequestContext, RemoteAddressRequestContext {
    /// Hummingbird's own per-request storage.
    public var coreContext: CoreRequestContextStorage
    /// The peer's address (kept only for rate limiting, never logged).
    public let remoteAddress: SocketAddress?
    /// The token the request authenticated with, once the authentication middleware ran.
    public var token: AccessToken?
    /// The audit log's name for the credential used: `token:<id>`, `session:<token id>`, `link:<id>`.
    public var actor: String?
    /// The connection's event loop: a download waits on it after each block (see `ArchiveDownload.stream`).
    package let eventLoop: any EventLoop

    /// A context for one request on `source`'s channel.
    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
        self.eventLoop = source.channel.eventLoop
    }

    /// Bodies are read only up to a small limit (JSON requests are small).
    public var maxUploadSize: Int { 64 * 1024 }
}
