internal import HandoverCore
internal import HandoverStore
internal import Hummingbird
internal import Logging

/// The tenant page: sign in with a tenant token, see the tenant's exports, request one, download, sign out.
struct TenantPage: Sendable {
    let store: RequestStore
    let configuration: DeliveryConfiguration
    let logger: Logger

    func addRoutes(to router: Router<DeliveryContext>, limiter: AuthenticationLimiter) {}
}
