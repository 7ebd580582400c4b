internal import Foundation
internal import HandoverCore
internal import HandoverStore
internal import Hummingbird
internal import Logging

/// The JSON API under `/v1`: requests, archives and parts, delivery links, and link downloads.
struct DeliveryAPI: Sendable {
    let store: RequestStore
    let configuration: DeliveryConfiguration
    let logger: Logger

    func addRoutes(to router: Router<DeliveryContext>, limiter: AuthenticationLimiter) {
        let api = router.group("v1").add(middleware: BearerAuthentication(store: store, limiter: limiter))
        api.post("requests") { request, context in try await submit(request, context) }
        api.get("requests") { request, context in try await list(request, context) }
        api.get("requests/:id") { _, context in try jsonResponse(RequestJSON(try await visible(context))) }
        api.post("requests/:id/verify") { _, context in try await verify(context) }
        api.post("requests/:id/cancel") { _, context in try await cancel(context) }
        api.get("requests/:id/archive") { request, context in try await archive(request, context, part: false) }
        api.head("requests/:id/archive") { request, context in try await archive(request, context, part: false) }
        api.get("requests/:id/parts/:n") { request, context in try await archive(request, context, part: true) }
        api.head("requests/:id/parts/:n") { request, context in try await archive(request, context, part: true) }
        api.post("requests/:id/links") { request, context in try await createLink(request, context) }
        api.delete("links/:link") { _, context in try await revokeLink(context) }

        let downloads = router.group("v1/downloads")
        downloads.get(":token") { request, context in try await linkDownload(request, context, part: false) }
        downloads.head(":token") { request, context in try await linkDownload(request, context, part: false) }
        downloads.get(":token/parts/:n") { request, context in try await linkDownload(request, context, part: true) }
        downloads.head(":token/parts/:n") { request, context in try await linkDownload(request, context, part: true) }
    }

    // MARK: Requests

    /// The request named in the path, when the caller may see it; otherwise 404, the same for a request that
    /// does not exist and one of another tenant.
    func visible(_ context: DeliveryContext) async throws -> StoredRequest {
        guard let token = context.token, let raw = context.parameters.get("id"),
            let id = try? HandoverCore.RequestID(raw),
            let stored = try await storeCall({ try await store.request(id) }), token.maySee(stored)
        else { throw Problem.notFound }
        return stored
    }

    func submit(_ request: Request, _ context: DeliveryContext) async throws -> Response {
        guard let token = context.token, let actor = context.actor else { throw Problem.unauthorized }
        let body = try await JSONBody.read(request, context: context, allowed: ["id", "purpose", "scope"])
        let scopeBody = try body.object("scope", allowed: ["tenant", "subject"])
        let subjectBody = try scopeBody?.object("subject", allowed: ["column", "value"])
        let tenant = try scopeBody?.string("tenant")
        var purpose: Purpose?
        if let text = try body.string("purpose") {
            guard let known = Purpose(rawValue: text) else {
                throw Problem(.badRequest, "'purpose' must be access, portability or controller-transfer")
            }
            purpose = known
        }
        if let tenant {
            guard ControlCharacters.isSafe(tenant), !SubjectSelector.isBlank(tenant), tenant.utf8.count <= 200 else {
                throw Problem(.badRequest, "'scope.tenant' must be a non-blank tenant id without control characters")
            }
        }
        let id: HandoverCore.RequestID
        do {
            id = try body.string("id").map { try HandoverCore.RequestID($0) } ?? .random()
        } catch {
            throw Problem(.badRequest, "'id' is not a valid request id")
        }
        let scope: ExportScope
        switch token.kind {
        case .tenant(let own):
            // A tenant may not name the request: an id that another tenant's request holds would answer
            // "conflict" and tell it that the request exists.
            guard body.object["id"] == nil else {
                throw Problem(.badRequest, "a tenant's requests get their ids from the service; leave out 'id'")
            }
            // A tenant asks for its own data back, and nothing else.
            guard subjectBody == nil, tenant == nil || tenant == own else {
                throw Problem.forbidden("a tenant token may request only its own tenant's export")
            }
            guard purpose == nil || purpose == .controllerTransfer else {
                throw Problem.forbidden("a tenant token may request only a controller-transfer export")
            }
            scope = .tenant(own)
        case .operator:
            if let subjectBody {
                guard let column = try subjectBody.string("column"), let value = try subjectBody.string("value")
                else { throw Problem(.badRequest, "'scope.subject' needs 'column' and 'value'") }
                guard Identifier.isValid(column) else {
                    throw Problem(.badRequest, "'scope.subject.column' must be a column name")
                }
                guard ControlCharacters.isSafe(value), !SubjectSelector.isBlank(value), value.utf8.count <= 1000 else {
                    throw Problem(.badRequest, "'scope.subject.value' must be non-blank and without control characters")
                }
                scope = .subject(SubjectSelector(column: column, value: value), tenant: tenant)
            } else if let tenant {
                scope = .tenant(tenant)
            } else {
                throw Problem(.badRequest, "'scope' needs 'tenant', 'subject', or both")
            }
        }
        let now = Timestamp.now()
        let exportRequest = ExportRequest(
            id: id, purpose: purpose ?? (scope.isSubject ? .access : .controllerTransfer), scope: scope,
            receivedAt: now)
        try await storeCall {
            // The tenant's token is its identity: verified, and queued at once (one transaction).
            try await store.submit(exportRequest, actor: actor, verifiedBy: token.isOperator ? nil : actor, at: now)
        }
        guard let stored = try await storeCall({ try await store.request(id) }) else { throw Problem.notFound }
        var response = try jsonResponse(RequestJSON(stored), status: .created)
        response.headers[.location] = "/v1/requests/\(id.rawValue)"
        return response
    }

    func list(_ request: Request, _ context: DeliveryContext) async throws -> Response {
        guard let token = context.token else { throw Problem.unauthorized }
        let query = request.uri.queryParameters
        for (key, _) in query where !["state", "dueBefore"].contains(String(key)) {
            throw Problem(.badRequest, "unknown query parameter '\(JSONBody.printable(String(key)))'")
        }
        let state = try query.get("state").map { text -> RequestState in
            guard let state = RequestState(rawValue: String(text)) else {
                throw Problem(.badRequest, "'state' is not a request state")
            }
            return state
        }
        let dueBefore = try query.get("dueBefore").map { text -> Timestamp in
            guard let time = Timestamp(iso8601: text) else {
                throw Problem(.badRequest, "'dueBefore' is not an ISO 8601 date-time")
            }
            return time
        }
        let requests = try await storeCall {
            try await store.list(state: state, dueBefore: dueBefore, tenant: token.kind.tenant)
        }
        struct Listing: Encodable { var requests: [RequestJSON] }
        return try jsonResponse(Listing(requests: requests.map(RequestJSON.init)))
    }

    func verify(_ context: DeliveryContext) async throws -> Response {
        let stored = try await visible(context)
        guard context.token?.isOperator == true, let actor = context.actor else {
            throw Problem.forbidden("only the operator verifies a requester's identity")
        }
        let id = stored.request.id
        try await storeCall {
            try await store.verifyAndQueue(id, by: actor, at: .now())
        }
        return try jsonResponse(RequestJSON(try await visible(context)))
    }

    func cancel(_ context: DeliveryContext) async throws -> Response {
        let stored = try await visible(context)
        guard let actor = context.actor else { throw Problem.unauthorized }
        try await storeCall { try await store.cancel(stored.request.id, actor: actor, reason: nil, at: .now()) }
        return try jsonResponse(RequestJSON(try await visible(context)))
    }

    // MARK: Archives

    /// The file of `stored` to serve: the archive (`part` nil) or part number `part` (from 1).
    static func file(of stored: StoredRequest, part: String?) throws -> (path: String, file: ArchiveFile) {
        if stored.state == .expired {
            throw Problem(.gone, "the archive has been deleted at the end of its retention period")
        }
        guard stored.state == .completed, let archive = stored.archive, !stored.archiveFiles.isEmpty else {
            throw Problem(.conflict, "the request has no archive yet (it is \(stored.state.rawValue))")
        }
        let split = archive.hasSuffix(".parts")
        switch (part, split) {
        case (nil, false):
            return (archive, stored.archiveFiles[0])
        case (nil, true):
            throw Problem(.conflict, "the bundle is split into parts: download each from …/parts/{n}")
        case (let number?, true):
            guard let index = Int(number), index >= 1, index <= stored.archiveFiles.count,
                String(index) == number
            else { throw Problem.notFound }
            let file = stored.archiveFiles[index - 1]
            return (archive + "/" + file.name, file)
        case (_?, false):
            throw Problem.notFound
        }
    }

    func archive(_ request: Request, _ context: DeliveryContext, part: Bool) async throws -> Response {
        let stored = try await visible(context)
        let (path, file) = try Self.file(of: stored, part: part ? context.parameters.get("n") ?? "" : nil)
        let audit = context.actor.map { DownloadAudit(request: stored.request.id, actor: $0, store: store) }
        return try await ArchiveDownload.respond(
            to: request, path: path, file: file, audit: audit, eventLoop: context.eventLoop, logger: logger)
    }

    // MARK: Links

    func createLink(_ request: Request, _ context: DeliveryContext) async throws -> Response {
        let stored = try await visible(context)
        guard let actor = context.actor else { throw Problem.unauthorized }
        let body = try await JSONBody.read(
            request, context: context, allowed: ["expiresInSeconds", "maxDownloads"], optional: true)
        let lifetime =
            try body.integer("expiresInSeconds", in: 60...configuration.maxLinkLifetimeSeconds)
            ?? configuration.linkLifetimeSeconds
        let limit = try body.integer("maxDownloads", in: 1...1_000_000)
        let now = Timestamp.now()
        let (link, secret) = try await storeCall {
            try await store.createLink(
                for: stored.request.id, by: actor, expiresAt: now.adding(seconds: lifetime), maxDownloads: limit,
                at: now)
        }
        struct Created: Encodable {
            var id: String
            var request: String
            var url: String
            var expiresAt: String
            var maxDownloads: Int64?
        }
        return try jsonResponse(
            Created(
                id: link.id, request: link.request.rawValue,
                url: configuration.publicURL + "/v1/downloads/" + secret, expiresAt: link.expiresAt.iso8601,
                maxDownloads: link.maxDownloads), status: .created)
    }

    func revokeLink(_ context: DeliveryContext) async throws -> Response {
        guard let token = context.token, let actor = context.actor, let id = context.parameters.get("link"),
            id.count == 16, id.allSatisfy(\.isHexDigit),
            let link = try await storeCall({ try await store.link(id) }),
            let stored = try await storeCall({ try await store.request(link.request) }), token.maySee(stored)
        else { throw Problem.notFound }
        try await storeCall { try await store.revokeLink(id, by: actor, at: .now()) }
        return Response(status: .noContent, headers: [.cacheControl: "no-store"])
    }

    /// A download by link: no other credential. Unknown, tampered or revoked: 404; expired or used up: 410.
    func linkDownload(_ request: Request, _ context: DeliveryContext, part: Bool) async throws -> Response {
        guard let token = context.parameters.get("token") else { throw Problem.notFound }
        let link: DeliveryLink
        switch try await storeCall({ try await store.lookUpLink(token, at: .now()) }) {
        case .notFound: throw Problem.notFound
        case .gone: throw Problem(.gone, "this link has expired or has been used up")
        case .valid(let valid): link = valid
        }
        guard let stored = try await storeCall({ try await store.request(link.request) }) else {
            throw Problem.notFound
        }
        let (path, file) = try Self.file(of: stored, part: part ? context.parameters.get("n") ?? "" : nil)
        // What this response will send is reserved against the link's allowance first (see `useLink`).
        if request.method == .get {
            let sending: (bytes: Int64, fromStart: Bool) =
                switch RangeRequest.parse(request.headers[.range], size: file.bytes) {
                case .range(let byteRange) where request.headers[.ifRange] == nil:
                    (byteRange.count, byteRange.first == 0)
                case .unsatisfiable: (0, false)
                default: (file.bytes, true)
                }
            let total = stored.archiveFiles.reduce(0) { $0 + $1.bytes }
            let allowed = try await storeCall {
                try await store.useLink(
                    link.id, bytes: sending.bytes, archiveBytes: total, startsDownload: sending.fromStart)
            }
            guard allowed else { throw Problem(.gone, "this link has expired or has been used up") }
        }
        let audit = DownloadAudit(request: stored.request.id, actor: "link:" + link.id, store: store)
        return try await ArchiveDownload.respond(
            to: request, path: path, file: file, audit: audit, eventLoop: context.eventLoop, logger: logger)
    }

    /// Runs a store call, turning its errors into problems: a conflict 409, an unknown id 404, a bad argument
    /// 400, a store that cannot be reached 503; the message names no value.
    func storeCall<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as HandoverError {
            switch error.code {
            case .conflict: throw Problem(.conflict, error.message)
            case .notFound: throw Problem.notFound
            case .invalidArgument: throw Problem(.badRequest, error.message)
            case .sourceUnavailable: throw Problem(.serviceUnavailable, "the request store is unavailable")
            default:
                logger.error("store call failed", metadata: ["code": "\(error.code)"])
                throw Problem(.internalServerError, "the request store failed")
            }
        }
    }
}
