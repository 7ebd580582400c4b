internal import Foundation
public import Hummingbird

/// An error answered as RFC 9457 problem details (`application/problem+json`): a status, a title and a detail
/// that never holds personal data, a token or a secret.
public struct Problem: HTTPResponseError, Sendable {
    /// The HTTP status.
    public var status: HTTPResponse.Status
    /// What went wrong, for a person (no data values, no secrets).
    public var detail: String
    /// Extra headers (such as `Content-Range` for 416, `Retry-After` for 429).
    public var headers: HTTPFields

    /// A problem with `status` and `detail`.
    public init(_ status: HTTPResponse.Status, _ detail: String, headers: HTTPFields = [:]) {
        self.status = status
        self.detail = detail
        self.headers = headers
    }

    /// The response: the problem as JSON.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let object: [String: Any] = [
            "type": "about:blank", "title": status.reasonPhrase, "status": status.code, "detail": detail,
        ]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        var headers = self.headers
        headers[.contentType] = "application/problem+json"
        headers[.cacheControl] = "no-store"
        headers[.init("X-Content-Type-Options")!] = "nosniff"
        // A HEAD response has the headers a GET would have and no body.
        guard request.method != .head else {
            headers[.contentLength] = String(data.count)
            return Response(status: status, headers: headers)
        }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// 404 for a request, part or link that does not exist, or that the caller may not see: the same answer for
    /// both, so that a tenant cannot learn that another tenant's request exists.
    static let notFound = Problem(.notFound, "there is no such resource")
    /// 401: no valid credential.
    static let unauthorized = Problem(
        .unauthorized, "a valid bearer token is needed", headers: [.wwwAuthenticate: "Bearer realm=\"handover\""])
    /// 403: a valid credential that may not do this.
    static func forbidden(_ detail: String) -> Problem { Problem(.forbidden, detail) }
}

/// Turns every error a handler throws into problem details: an ``Problem`` as it is, Hummingbird's own errors
/// (a body too large, a bad URI) with their status, anything else as a 500 whose detail says nothing of it.
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        do {
            return try await next(request, context)
        } catch let problem as Problem {
            throw problem
        } catch let error as any HTTPResponseError {
            let detail =
                switch error.status {
                case .contentTooLarge: "the request body is too large"
                case .notFound: "there is no such resource"
                case .methodNotAllowed: "this method is not allowed here"
                default: error.status.reasonPhrase
                }
            throw Problem(error.status, detail)
        } catch {
            context.logger.error("request failed", metadata: ["error.type": "\(type(of: error))"])
            throw Problem(.internalServerError, "the server could not answer this request")
        }
    }
}
