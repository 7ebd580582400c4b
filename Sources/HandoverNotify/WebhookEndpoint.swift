public import HandoverCore

/// Where notifications go: an `http` or `https` URL, parsed once and checked.
///
/// Its ``description`` (for logs, errors and the audit log) is the scheme, host and port only: a path or query
/// may hold a receiver's secret (many webhook receivers take a token in the URL), and user information is refused.
public struct WebhookEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// Whether the connection uses TLS.
    public var tls: Bool
    /// The host name or address (without brackets for IPv6).
    public var host: String
    /// The port.
    public var port: Int
    /// The path and query sent in the request line (`/` when the URL has none).
    public var target: String

    /// Parses `url`.
    /// - Throws: ``HandoverError/Code/invalidArgument`` naming the problem (never the URL's path or query).
    public init(_ url: String) throws {
        func refuse(_ problem: String) -> HandoverError {
            HandoverError(.invalidArgument, "the notification URL \(problem)")
        }
        guard url.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
            throw refuse("must be printable ASCII without spaces")
        }
        let lower = url.lowercased()
        if lower.hasPrefix("https://") {
            tls = true
        } else if lower.hasPrefix("http://") {
            tls = false
        } else {
            throw refuse("must start with http:// or https://")
        }
        let rest = url.dropFirst(tls ? 8 : 7)
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var path = String(rest[authorityEnd...])
        if let fragment = path.firstIndex(of: "#") { path = String(path[..<fragment]) }
        if path.isEmpty || path.hasPrefix("?") { path = "/" + path }
        guard !authority.contains("@") else { throw refuse("must not hold a user name or password") }
        var hostPart = Substring(authority)
        var portPart: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw refuse("has an unclosed IPv6 address") }
            hostPart = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") {
                portPart = after.dropFirst()
            } else if !after.isEmpty {
                throw refuse("has something after its IPv6 address")
            }
        } else if let colon = authority.lastIndex(of: ":") {
            hostPart = authority[..<colon]
            portPart = authority[authority.index(after: colon)...]
        }
        guard !hostPart.isEmpty else { throw refuse("has no host") }
        host = String(hostPart)
        if let portPart {
            guard let number = Int(portPart), (1...65535).contains(number) else { throw refuse("has a bad port") }
            port = number
        } else {
            port = tls ? 443 : 80
        }
        target = path
    }

    /// `scheme://host:port`, without path or query.
    public var description: String {
        (tls ? "https://" : "http://") + (host.contains(":") ? "[\(host)]" : host) + ":\(port)"
    }

    /// The `Host` header's value.
    var hostHeader: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return port == (tls ? 443 : 80) ? name : "\(name):\(port)"
    }
}
