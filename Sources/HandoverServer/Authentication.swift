internal import Foundation
internal import HandoverCore
internal import HandoverStore
internal import Hummingbird
internal import Logging
internal import NIOCore

/// Counts failed authentications per peer address and refuses a peer that failed too often in the last minute
/// (429 with `Retry-After`), so that tokens cannot be guessed at speed. Kept in memory: each server counts its own.
actor AuthenticationLimiter {
    let limit: Int
    let window: Double
    private var failures: [String: [Double]] = [:]

    init(failuresPerMinute: Int) {
        self.limit = failuresPerMinute
        self.window = 60
    }

    private static func now() -> Double { Double(Timestamp.now().millisecondsSince1970) / 1000 }

    /// Seconds until `peer` may try again, or nil when it may now.
    func blocked(_ peer: String) -> Int? {
        let now = Self.now()
        let recent = (failures[peer] ?? []).filter { now - $0 < window }
        failures[peer] = recent.isEmpty ? nil : recent
        guard recent.count >= limit, let oldest = recent.first else { return nil }
        return max(1, Int((window - (now - oldest)).rounded(.up)))
    }

    /// Records a failed attempt from `peer`.
    func failed(_ peer: String) {
        failures[peer, default: []].append(Self.now())
        if failures.count > 100_000 { failures.removeAll() }  // a flood of addresses cannot grow memory for ever
    }
}

/// Authenticates `/v1` requests by bearer token: a missing or bad token is a 401 (and counts against the peer),
/// a peer over its limit a 429. The token's secret is never logged; the audit names it by id.
struct BearerAuthentication: RouterMiddleware {
    typealias Context = DeliveryContext
    let store: RequestStore
    let limiter: AuthenticationLimiter

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        let peer = context.remoteAddress?.ipAddress ?? "unknown"
        if let wait = await limiter.blocked(peer) {
            throw Problem(
                .tooManyRequests, "too many failed authentications; try again later",
                headers: [.retryAfter: String(wait)])
        }
        var token: AccessToken?
        if let header = request.headers[.authorization], header.count > 7, header.prefix(7).lowercased() == "bearer " {
            do {
                token = try await store.authenticate(
                    bearer: header.dropFirst(7).trimmingCharacters(in: .whitespaces), at: .now())
            } catch {
                throw Problem(.serviceUnavailable, "the request store is unavailable")
            }
        }
        guard let token else {
            await limiter.failed(peer)
            throw Problem.unauthorized
        }
        var context = context
        context.token = token
        context.actor = "token:" + token.id
        return try await next(request, context)
    }
}

extension AccessToken {
    /// Whether this token may see `stored`: the operator sees every request, a tenant its own tenant's only.
    func maySee(_ stored: StoredRequest) -> Bool {
        switch kind {
        case .operator: true
        case .tenant(let tenant): stored.request.scope.tenant == tenant
        }
    }

    var isOperator: Bool { kind == .operator }
}
