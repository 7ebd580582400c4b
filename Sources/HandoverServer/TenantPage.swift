internal import Foundation
internal import HandoverCore
internal import HandoverStore
internal import Hummingbird
internal import Logging

/// The tenant page: sign in by pasting a tenant token (exchanged for an `HttpOnly`, `SameSite=Strict` session
/// cookie), see the tenant's exports, request a new full export, download, sign out.
///
/// Server-rendered HTML with no script, no inline style and no external resource, under a strict
/// `Content-Security-Policy`; every form carries the session's CSRF token. While an export is in progress the
/// page refreshes itself (a `<meta http-equiv="refresh">`, which needs no script).
struct TenantPage: Sendable {
    let store: RequestStore
    let configuration: DeliveryConfiguration
    let logger: Logger

    static let cookieName = "handover_session"

    func addRoutes(to router: Router<DeliveryContext>, limiter: AuthenticationLimiter) {
        router.get("ui") { request, _ in
            if try await session(request) != nil { return Self.redirect("/ui/exports") }
            return Self.page(title: "Sign in", body: Self.signInForm(error: nil))
        }
        router.get("ui/style.css") { _, _ in
            Response(
                status: .ok,
                headers: [
                    .contentType: "text/css; charset=utf-8", .cacheControl: "no-cache",
                    .init("X-Content-Type-Options")!: "nosniff",
                ], body: .init(byteBuffer: ByteBuffer(string: Self.css)))
        }
        router.post("ui/sign-in") { request, context in try await signIn(request, context, limiter) }
        router.get("ui/exports") { request, _ in
            guard let (token, csrf) = try await session(request) else { return Self.redirect("/ui") }
            return try await exports(token, csrf)
        }
        router.post("ui/exports") { request, context in
            guard let (token, csrf) = try await session(request) else { return Self.redirect("/ui") }
            let form = try await Self.form(request, context)
            guard Secrets.equal(form["csrf"] ?? "", csrf) else {
                throw Problem(.forbidden, "the form is stale or forged; reload the page")
            }
            guard let tenant = token.kind.tenant else { throw Problem.forbidden("only a tenant signs in here") }
            let now = Timestamp.now()
            let id = HandoverCore.RequestID.random()
            let actor = "session:" + token.id
            try await storeCall {
                try await store.submit(
                    ExportRequest(id: id, purpose: .controllerTransfer, scope: .tenant(tenant), receivedAt: now),
                    actor: actor, verifiedBy: actor, at: now)
            }
            return Self.redirect("/ui/exports")
        }
        router.post("ui/sign-out") { request, context in
            if let cookie = Self.cookie(request), let (_, csrf) = try await session(request) {
                let form = try await Self.form(request, context)
                guard Secrets.equal(form["csrf"] ?? "", csrf) else {
                    throw Problem(.forbidden, "the form is stale or forged; reload the page")
                }
                try await storeCall { try await store.endSession(cookie: cookie, at: .now()) }
            }
            var response = Self.redirect("/ui")
            response.headers[.setCookie] = Self.cookieHeader("", maxAge: 0, secure: configuration.secureCookies)
            return response
        }
        router.get("ui/exports/:id/archive") { request, context in try await download(request, context, part: false) }
        router.get("ui/exports/:id/parts/:n") { request, context in try await download(request, context, part: true) }
    }

    // MARK: Handlers

    func signIn(_ request: Request, _ context: DeliveryContext, _ limiter: AuthenticationLimiter) async throws
        -> Response
    {
        let peer = context.remoteAddress?.ipAddress ?? "unknown"
        if let wait = await limiter.blocked(peer) {
            throw Problem(
                .tooManyRequests, "too many failed sign-ins; try again later", headers: [.retryAfter: String(wait)])
        }
        let form = try await Self.form(request, context)
        let given = (form["token"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let token = try await storeCall { try await store.authenticate(bearer: given, at: .now()) }
        guard let token, token.kind.tenant != nil else {
            await limiter.failed(peer)
            var response = Self.page(
                title: "Sign in", body: Self.signInForm(error: "That is not a valid tenant token."))
            response.status = .unauthorized
            return response
        }
        let session = try await storeCall {
            try await store.openSession(
                for: token, lifetimeSeconds: configuration.sessionLifetimeSeconds, at: .now())
        }
        var response = Self.redirect("/ui/exports")
        response.headers[.setCookie] = Self.cookieHeader(
            session.cookie, maxAge: configuration.sessionLifetimeSeconds, secure: configuration.secureCookies)
        return response
    }

    func exports(_ token: AccessToken, _ csrf: String) async throws -> Response {
        let tenant = token.kind.tenant ?? ""
        let requests = try await storeCall { try await store.list(tenant: tenant) }
            .sorted { $0.request.receivedAt > $1.request.receivedAt }
        let escape = { (text: String) in Self.escape(text) }
        var rows = ""
        for stored in requests {
            let id = stored.request.id.rawValue
            var download = "—"
            if stored.state == .completed, !stored.archiveFiles.isEmpty, let archive = stored.archive {
                if archive.hasSuffix(".parts") {
                    download = stored.archiveFiles.indices.map {
                        "<a class=\"download\" href=\"/ui/exports/\(escape(id))/parts/\($0 + 1)\">Part \($0 + 1)</a>"
                    }.joined(separator: " ")
                } else {
                    download =
                        "<a class=\"download\" href=\"/ui/exports/\(escape(id))/archive\">Download "
                        + "<span class=\"visually-hidden\">export \(escape(id))</span></a>"
                }
            }
            let size = stored.archiveFiles.isEmpty ? "—" : Self.size(stored.archiveFiles.reduce(0) { $0 + $1.bytes })
            rows += """
                <tr data-request="\(escape(id))" data-state="\(stored.state.rawValue)">
                <th scope="row"><code>\(escape(id))</code></th><td>\(stored.purposeLabel)</td>
                <td>\(stored.state.rawValue)</td><td>\(Self.day(stored.due))</td><td>\(size)</td>
                <td>\(stored.expiresAt.map(Self.day) ?? "—")</td><td>\(download)</td></tr>

                """
        }
        let busy = requests.contains { !$0.state.isFinal }
        let table =
            requests.isEmpty
            ? "<p id=\"no-exports\">No exports yet.</p>"
            : """
            <table id="exports">
            <caption>Your organisation's exports, newest first</caption>
            <thead><tr><th scope="col">Export</th><th scope="col">Kind</th><th scope="col">State</th>
            <th scope="col">Due</th><th scope="col">Size</th><th scope="col">Available until</th>
            <th scope="col">Archive</th></tr></thead>
            <tbody>
            \(rows)</tbody>
            </table>
            """
        let body = """
            <header><h1>Exports of tenant \(escape(tenant))</h1>
            <form method="post" action="/ui/sign-out"><input type="hidden" name="csrf" value="\(escape(csrf))">
            <button type="submit" id="sign-out">Sign out</button></form></header>
            <main>
            \(table)
            <h2>A new export</h2>
            <p>A full export holds all of your organisation's data. It is prepared in the background; this page
            shows when it is ready.</p>
            <form method="post" action="/ui/exports"><input type="hidden" name="csrf" value="\(escape(csrf))">
            <button type="submit" id="request-export">Request a new full export</button></form>
            </main>
            """
        return Self.page(title: "Exports", body: body, refresh: busy ? 3 : nil)
    }

    func download(_ request: Request, _ context: DeliveryContext, part: Bool) async throws -> Response {
        guard let (token, _) = try await session(request) else { throw Problem.unauthorized }
        guard let raw = context.parameters.get("id"), let id = try? HandoverCore.RequestID(raw),
            let stored = try await storeCall({ try await store.request(id) }), token.maySee(stored)
        else { throw Problem.notFound }
        let (path, file) = try DeliveryAPI.file(of: stored, part: part ? context.parameters.get("n") ?? "" : nil)
        let audit = DownloadAudit(request: id, actor: "session:" + token.id, store: store)
        return try await ArchiveDownload.respond(
            to: request, path: path, file: file, audit: audit, eventLoop: context.eventLoop, logger: logger)
    }

    // MARK: Sessions and forms

    static func cookie(_ request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let parts = pair.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0] == cookieName { return String(parts[1]) }
            }
        }
        return nil
    }

    func session(_ request: Request) async throws -> (AccessToken, String)? {
        guard let cookie = Self.cookie(request) else { return nil }
        return try await storeCall { try await store.session(cookie: cookie, at: .now()) }
    }

    static func cookieHeader(_ value: String, maxAge: Int64, secure: Bool) -> String {
        "\(cookieName)=\(value); Path=/ui; Max-Age=\(maxAge); HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }

    /// The fields of an `application/x-www-form-urlencoded` body (at most the context's upload size).
    static func form(_ request: Request, _ context: DeliveryContext) async throws -> [String: String] {
        var request = request
        let type = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces)
            .lowercased()
        guard type == "application/x-www-form-urlencoded" else {
            throw Problem(.unsupportedMediaType, "the form must be application/x-www-form-urlencoded")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: context.maxUploadSize)
        } catch {
            throw Problem(.contentTooLarge, "the form is too large")
        }
        var fields: [String: String] = [:]
        for pair in String(buffer: buffer).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (text: Substring) in
                text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            fields[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return fields
    }

    func storeCall<T>(_ body: () async throws -> T) async throws -> T {
        try await DeliveryAPI(store: store, configuration: configuration, logger: logger).storeCall(body)
    }

    // MARK: HTML

    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }

    static let securityHeaders: HTTPFields = [
        .contentSecurityPolicy:
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
            + "base-uri 'none'",
        .init("X-Frame-Options")!: "DENY", .init("Referrer-Policy")!: "no-referrer",
        .init("X-Content-Type-Options")!: "nosniff", .cacheControl: "no-store",
    ]

    static func page(title: String, body: String, refresh: Int? = nil) -> Response {
        let html = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            \(refresh.map { "<meta http-equiv=\"refresh\" content=\"\($0)\">" } ?? "")
            <title>\(escape(title)) · Handover</title>
            <link rel="stylesheet" href="/ui/style.css">
            </head>
            <body>
            \(body)
            </body>
            </html>

            """
        var headers = securityHeaders
        headers[.contentType] = "text/html; charset=utf-8"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    static func signInForm(error: String?) -> String {
        """
        <main>
        <h1>Sign in to your organisation's exports</h1>
        \(error.map { "<p role=\"alert\" id=\"error\">\(escape($0))</p>" } ?? "")
        <form method="post" action="/ui/sign-in">
        <label for="token">Tenant token</label>
        <input id="token" name="token" type="password" autocomplete="off" required>
        <button id="sign-in" type="submit">Sign in</button>
        </form>
        <p>Your administrator gives you a tenant token. It is sent once to open a session and is not kept in the
        browser.</p>
        </main>
        """
    }

    /// Text for HTML: markup characters escaped, control characters replaced (HandoverCore's one escaping).
    static func escape(_ text: String) -> String { MarkupText.escape(text, replacingControlCharacters: true) }

    static func day(_ time: Timestamp) -> String { String(time.iso8601.prefix(10)) }

    static func size(_ bytes: Int64) -> String {
        if bytes < 1024 { return "\(bytes) B" }
        let units = ["KB", "MB", "GB", "TB"]
        var value = Double(bytes) / 1024
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return String(format: "%.1f %@", value, units[unit])
    }

    static let css = """
        body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;line-height:1.5;color:#1b1b1b}
        header{display:flex;justify-content:space-between;align-items:center;gap:1rem;flex-wrap:wrap}
        table{border-collapse:collapse;width:100%;margin:1rem 0}
        caption{text-align:left;font-weight:600;padding:0.5rem 0}
        th,td{border-bottom:1px solid #ccc;padding:0.4rem;text-align:left}
        button{font:inherit;padding:0.4rem 0.9rem;border:1px solid #1b4f8a;background:#1b4f8a;color:#fff;border-radius:4px}
        button:focus,a:focus,input:focus{outline:3px solid #f5a623;outline-offset:2px}
        input{font:inherit;padding:0.4rem;width:100%;max-width:40rem;display:block;margin:0.25rem 0 1rem}
        label{font-weight:600}
        [role=alert]{background:#fde8e8;border:1px solid #c0392b;padding:0.5rem}
        .visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}

        """
}

extension StoredRequest {
    fileprivate var purposeLabel: String {
        switch request.purpose {
        case .access: "access"
        case .portability: "portability"
        case .controllerTransfer: "full export"
        }
    }
}
