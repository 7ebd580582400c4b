import Crypto
import Foundation
import HTTPTypes
import HandoverCore
import HandoverServer
import HandoverStore
import Hummingbird
import Logging
import NIOCore
import TestSupport
import Testing

/// A store with two tenants' completed requests (each with an archive of `size` random bytes), an operator's
/// subject request, and a token for each; everything a test of the service needs.
struct Fixture {
    let store: RequestStore
    let folder: String
    let operatorToken: String
    let tenantA: String
    let tenantB: String
    /// acme's completed tenant export, its archive's bytes.
    let acmeRequest: HandoverCore.RequestID
    let acmeBytes: [UInt8]
    /// globex's completed tenant export.
    let globexRequest: HandoverCore.RequestID
    /// The operator's subject request (no tenant).
    let subjectRequest: HandoverCore.RequestID
    let capture: LogCapture

    static func sha256(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    static func make(_ store: RequestStore, folder: String, size: Int = 1_000_003) async throws -> Fixture {
        let now = Timestamp.now()
        var generator = SystemRandomNumberGenerator()
        let acmeBytes = (0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let acme = ExportRequest(
            id: try .init("acme-1"), purpose: .controllerTransfer, scope: .tenant("acme"), receivedAt: now)
        let globex = ExportRequest(
            id: try .init("globex-1"), purpose: .controllerTransfer, scope: .tenant("globex"), receivedAt: now)
        try await completeWithArchive(store, acme, bytes: acmeBytes, folder: folder, at: now)
        try await completeWithArchive(store, globex, bytes: Array("globex's archive".utf8), folder: folder, at: now)
        let subject = ExportRequest(
            id: try .init("subject-1"), purpose: .access,
            scope: .subject(SubjectSelector(column: "email", value: "ana@example.com"), tenant: nil), receivedAt: now)
        try await store.submit(subject, actor: "test", at: now)
        let operatorToken = try await store.createToken(name: "ops", kind: .operator, expiresAt: nil, at: now).secret
        let tenantA = try await store.createToken(name: "acme", kind: .tenant("acme"), expiresAt: nil, at: now).secret
        let tenantB = try await store.createToken(name: "globex", kind: .tenant("globex"), expiresAt: nil, at: now)
            .secret
        return Fixture(
            store: store, folder: folder, operatorToken: operatorToken, tenantA: tenantA, tenantB: tenantB,
            acmeRequest: acme.id, acmeBytes: acmeBytes, globexRequest: globex.id, subjectRequest: subject.id,
            capture: LogCapture())
    }

    /// Runs `body` against a live server on loopback over this fixture.
    func withServer<T: Sendable>(
        failuresPerMinute: Int = 10_000, _ body: (LiveClient) async throws -> T
    ) async throws -> T {
        var configuration = DeliveryConfiguration(host: "127.0.0.1", port: 0, publicURL: "http://delivery.example")
        configuration.failedAuthenticationsPerMinute = failuresPerMinute
        let logger = capture.logger(level: .trace)
        return try await withLiveServer(
            logger: logger,
            { running in
                try DeliveryServer.application(
                    store: store, configuration: configuration, logger: logger, onServerRunning: running)
            }, body)
    }
}

func bearer(_ token: String) -> HTTPFields { [.authorization: "Bearer " + token] }

func withFixture<T: Sendable>(_ body: (Fixture) async throws -> T) async throws -> T {
    try await withTemporaryDirectory { folder in
        try await withStore(.sqlite) { store, _ in try await body(try await Fixture.make(store, folder: folder)) }
    }
}

@Suite struct RangeTests {
    @Test func rangesAreServedByteForByte() async throws {
        try await withFixture { fixture in
            let bytes = fixture.acmeBytes
            let size = bytes.count
            let uri = "/v1/requests/acme-1/archive"
            let token = fixture.tenantA
            try await fixture.withServer { client in
                let whole = try await client.execute(uri: uri, method: .get, headers: bearer(token))
                #expect(whole.status == .ok)
                #expect(Array(whole.body.readableBytesView) == bytes)
                #expect(whole.headers[.contentLength] == String(size))
                #expect(whole.headers[.eTag] == "\"\(Fixture.sha256(bytes))\"")
                #expect(whole.headers[.acceptRanges] == "bytes")
                #expect(whole.headers[.cacheControl] == "no-store")
                #expect(whole.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
                #expect(whole.headers[.lastModified]?.hasSuffix(" GMT") == true)
                #expect(
                    whole.headers[.contentDisposition]
                        == "attachment; filename=\"handover-acme-1.zip\"; filename*=UTF-8''handover-acme-1.zip")
                let etag = try #require(whole.headers[.eTag])

                let cases: [(String, Range<Int>)] = [
                    ("bytes=0-99", 0..<100), ("bytes=400000-400999", 400_000..<401_000),
                    ("bytes=\(size - 10)-\(size - 1)", (size - 10)..<size), ("bytes=-500", (size - 500)..<size),
                    ("bytes=1000-", 1000..<size), ("bytes=\(size - 5)-\(size + 100)", (size - 5)..<size),
                    ("bytes=-\(size + 10)", 0..<size),
                ]
                for (range, expected) in cases {
                    var headers = bearer(token)
                    headers[.range] = range
                    let part = try await client.execute(uri: uri, method: .get, headers: headers)
                    #expect(part.status == .partialContent, "\(range)")
                    #expect(Array(part.body.readableBytesView) == Array(bytes[expected]), "\(range)")
                    #expect(
                        part.headers[.contentRange]
                            == "bytes \(expected.lowerBound)-\(expected.upperBound - 1)/\(size)", "\(range)")
                    #expect(part.headers[.contentLength] == String(expected.count), "\(range)")
                }
                for range in ["bytes=\(size)-", "bytes=\(size + 5)-\(size + 9)", "bytes=-0"] {
                    var headers = bearer(token)
                    headers[.range] = range
                    let refused = try await client.execute(uri: uri, method: .get, headers: headers)
                    #expect(refused.status == .rangeNotSatisfiable, "\(range)")
                    #expect(refused.headers[.contentRange] == "bytes */\(size)", "\(range)")
                    #expect(refused.headers[.contentType] == "application/problem+json")
                }
                // Ranges to ignore: another unit, several ranges, nonsense: the whole file.
                for range in ["items=0-5", "bytes=0-5,10-20", "bytes=abc", "bytes=9-3"] {
                    var headers = bearer(token)
                    headers[.range] = range
                    let ignored = try await client.execute(uri: uri, method: .get, headers: headers)
                    #expect(ignored.status == .ok, "\(range)")
                    #expect(ignored.body.readableBytes == size, "\(range)")
                }
                // If-Range: the current ETag honours the range, a stale one gets the whole new file.
                var fresh = bearer(token)
                fresh[.range] = "bytes=10-19"
                fresh[.ifRange] = etag
                let resumed = try await client.execute(uri: uri, method: .get, headers: fresh)
                #expect(resumed.status == .partialContent)
                #expect(Array(resumed.body.readableBytesView) == Array(bytes[10..<20]))
                var stale = fresh
                stale[.ifRange] = "\"" + String(repeating: "0", count: 64) + "\""
                let restarted = try await client.execute(uri: uri, method: .get, headers: stale)
                #expect(restarted.status == .ok)
                #expect(restarted.body.readableBytes == size)
                // If-None-Match with the ETag: 304 and no body.
                var cached = bearer(token)
                cached[.ifNoneMatch] = etag
                let notModified = try await client.execute(uri: uri, method: .get, headers: cached)
                #expect(notModified.status == .notModified)
                #expect(notModified.body.readableBytes == 0)
                // HEAD: the headers, no body.
                let head = try await client.execute(uri: uri, method: .head, headers: bearer(token))
                #expect(head.status == .ok)
                #expect(head.headers[.contentLength] == String(size))
                #expect(head.body.readableBytes == 0)
            }
            let downloads = try await fixture.store.audit(of: fixture.acmeRequest).compactMap(\.detail)
                .filter { $0.hasPrefix("download of") }
            #expect(downloads.contains("download of handover-acme-1.zip: \(size) bytes sent, completed"))
            #expect(downloads.contains("download of handover-acme-1.zip range bytes=0-99: 100 bytes sent, completed"))
        }
    }

    @Test func aPurgedArchiveIsGone() async throws {
        try await withFixture { fixture in
            try FileManager.default.removeItem(atPath: fixture.folder + "/handover-acme-1.zip")
            try await fixture.withServer { client in
                let response = try await client.execute(
                    uri: "/v1/requests/acme-1/archive", method: .get, headers: bearer(fixture.tenantA))
                #expect(response.status == .gone)
            }
        }
    }

    @Test func lastModifiedIsAnHTTPDateAsFoundationWritesOne() {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        var generator = SystemRandomNumberGenerator()
        let samples: [Int64] =
            [0, 1, 86_399, 86_400, 951_782_400, 1_709_208_000, 4_102_444_799]
            + (0..<200).map { _ in Int64.random(in: 0...4_102_444_799, using: &generator) }
        for seconds in samples {
            #expect(
                ArchiveDownloadNames.httpDate(secondsSince1970: seconds)
                    == formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds))), "\(seconds)")
        }
    }

    @Test func contentDispositionKeepsAnUnusualNameSafe() {
        #expect(
            ArchiveDownloadNames.disposition("handover-résumé \"x\".zip")
                == "attachment; filename=\"handover-r_sum_ _x_.zip\"; filename*=UTF-8''handover-r%C3%A9sum%C3%A9%20%22x%22.zip"
        )
    }
}

/// Every endpoint, as another tenant, with malformed ids, without a token, with a revoked or expired one.
@Suite struct TenantIsolationTests {
    static let endpoints: [(HTTPRequest.Method, String)] = [
        (.get, "/v1/requests/ID"), (.post, "/v1/requests/ID/verify"), (.post, "/v1/requests/ID/cancel"),
        (.get, "/v1/requests/ID/archive"), (.head, "/v1/requests/ID/archive"), (.get, "/v1/requests/ID/parts/1"),
        (.post, "/v1/requests/ID/links"),
    ]

    @Test func anotherTenantsRequestAnswersExactlyAsAnUnknownOne() async throws {
        try await withFixture { fixture in
            try await fixture.withServer { client in
                for (method, template) in Self.endpoints {
                    var bodies: [String: String] = [:]
                    for id in [
                        "globex-1", "subject-1", "no-such-request", "..", "%2e%2e", "a%00b",
                        String(repeating: "x", count: 300),
                    ] {
                        let response = try await client.execute(
                            uri: template.replacingOccurrences(of: "ID", with: id), method: method,
                            headers: bearer(fixture.tenantA))
                        #expect(response.status == .notFound, "\(method) \(template) \(id)")
                        bodies[id] = String(buffer: response.body)
                    }
                    if method != .head {
                        #expect(bodies["globex-1"] == bodies["no-such-request"], "\(method) \(template)")
                        #expect(bodies["subject-1"] == bodies["no-such-request"], "\(method) \(template)")
                    }
                }
                // The tenant's list holds its own requests only.
                let list = try await client.execute(uri: "/v1/requests", method: .get, headers: bearer(fixture.tenantA))
                let text = String(buffer: list.body)
                #expect(text.contains("acme-1") && !text.contains("globex-1") && !text.contains("subject-1"))
                // The operator sees all; no subject value is shown.
                let all = try await client.execute(
                    uri: "/v1/requests", method: .get, headers: bearer(fixture.operatorToken))
                let allText = String(buffer: all.body)
                #expect(allText.contains("globex-1") && allText.contains("subject-1"))
                #expect(!allText.contains("ana@example.com"))
            }
        }
    }

    /// Another tenant's request takes as long to refuse as an unknown one: both are one look-up in the store, then
    /// the same 404. Measured interleaved (so that load on the machine falls on both alike), compared by median.
    @Test func anotherTenantsRequestTakesAsLongToRefuseAsAnUnknownOne() async throws {
        try await withFixture { fixture in
            try await fixture.withServer { client in
                let clock = ContinuousClock()
                var times: [String: [Duration]] = [:]
                let ids = ["globex-1", "no-such-request", "subject-1"]
                for round in 0..<160 {
                    for index in ids.indices {
                        let id = ids[(index + round) % ids.count]
                        let start = clock.now
                        let response = try await client.execute(
                            uri: "/v1/requests/\(id)", method: .get, headers: bearer(fixture.tenantA))
                        let time = start.duration(to: clock.now)
                        #expect(response.status == .notFound)
                        if round >= 10 { times[id, default: []].append(time) }
                    }
                }
                func median(_ id: String) -> Double {
                    let sorted = (times[id] ?? []).sorted()
                    let middle = sorted[sorted.count / 2].components
                    return Double(middle.seconds) + Double(middle.attoseconds) / 1e18
                }
                let unknown = median("no-such-request")
                for id in ["globex-1", "subject-1"] {
                    let ratio = median(id) / unknown
                    #expect(ratio > 0.5 && ratio < 2, "\(id): median \(median(id)) s against \(unknown) s")
                }
            }
        }
    }

    @Test func noTokenAMalformedOneARevokedOneAndAnExpiredOneAreRefused() async throws {
        try await withFixture { fixture in
            let now = Timestamp.now()
            let revoked = try await fixture.store.createToken(name: "r", kind: .tenant("acme"), expiresAt: nil, at: now)
            try await fixture.store.revokeToken(revoked.token.id, at: now)
            let expired = try await fixture.store.createToken(
                name: "e", kind: .tenant("acme"), expiresAt: now.adding(seconds: -1), at: now.adding(seconds: -10))
            var characters = Array(fixture.tenantA)
            characters[characters.count - 1] = characters.last == "A" ? "B" : "A"
            let tampered = String(characters)
            try await fixture.withServer { client in
                for headers: HTTPFields in [
                    [:], bearer("nonsense"), bearer(revoked.secret), bearer(expired.secret), bearer(tampered),
                    [.authorization: "Basic " + fixture.tenantA],
                ] {
                    for (method, template) in Self.endpoints + [(.get, "/v1/requests"), (.post, "/v1/requests")] {
                        let response = try await client.execute(
                            uri: template.replacingOccurrences(of: "ID", with: "acme-1"), method: method,
                            headers: headers)
                        #expect(response.status == .unauthorized, "\(method) \(template)")
                    }
                }
            }
        }
    }

    @Test func aTenantMayAskOnlyForItsOwnExportAndMayNotVerify() async throws {
        try await withFixture { fixture in
            try await fixture.withServer { client in
                func post(_ body: String, _ token: String, _ uri: String = "/v1/requests") async throws -> TestResponse
                {
                    var headers = bearer(token)
                    headers[.contentType] = "application/json"
                    return try await client.execute(
                        uri: uri, method: .post, headers: headers, body: ByteBuffer(string: body))
                }
                #expect(try await post(#"{"scope": {"tenant": "globex"}}"#, fixture.tenantA).status == .forbidden)
                #expect(
                    try await post(#"{"scope": {"subject": {"column": "email", "value": "x@y"}}}"#, fixture.tenantA)
                        .status == .forbidden)
                #expect(try await post(#"{"purpose": "access"}"#, fixture.tenantA).status == .forbidden)
                // Naming the request could probe another tenant's ids (a conflict would say it exists).
                #expect(try await post(#"{"id": "globex-1"}"#, fixture.tenantA).status == .badRequest)
                let own = try await post("{}", fixture.tenantA)
                #expect(own.status == .created, "\(String(buffer: own.body))")
                #expect(String(buffer: own.body).contains(#""state":"queued""#))
                let location = try #require(own.headers[.location])
                #expect(location.hasPrefix("/v1/requests/req-"))
                let verify = try await post("", fixture.tenantA, location + "/verify")
                #expect(verify.status == .forbidden)
                let cancel = try await post("", fixture.tenantA, location + "/cancel")
                #expect(cancel.status == .ok)
            }
        }
    }

    @Test func badBodiesAreClientErrorsWithProblemDetails() async throws {
        try await withFixture { fixture in
            try await fixture.withServer { client in
                func post(_ body: String, type: String? = "application/json") async throws -> TestResponse {
                    var headers = bearer(fixture.operatorToken)
                    if let type { headers[.contentType] = type }
                    return try await client.execute(
                        uri: "/v1/requests", method: .post, headers: headers, body: ByteBuffer(string: body))
                }
                let cases: [(String, String?, HTTPResponse.Status)] = [
                    ("{", "application/json", .badRequest), ("[1]", "application/json", .badRequest),
                    (#"{"scope": {"tenant": "a"}, "extra": 1}"#, "application/json", .badRequest),
                    (#"{"scope": {"tenant": 5}}"#, "application/json", .badRequest),
                    (#"{"scope": {"tenant": "a"}, "purpose": "sell"}"#, "application/json", .badRequest),
                    (#"{"scope": {"tenant": "a"}, "id": "../x"}"#, "application/json", .badRequest),
                    (#"{"scope": {"tenant": ""}}"#, "application/json", .badRequest),
                    (#"{"scope": {"tenant": "a\u0000b"}}"#, "application/json", .badRequest),
                    (#"{"scope": {"subject": {"column": "e mail", "value": "x@y"}}}"#, "application/json", .badRequest),
                    (#"{"scope": {"subject": {"column": "email", "value": "x\ny"}}}"#, "application/json", .badRequest),
                    (#"{"scope": {"subject": {"column": "email"}}}"#, "application/json", .badRequest),
                    (#"{"scope": {}}"#, "application/json", .badRequest),
                    (#"{"scope": {"tenant": "a"}}"#, "text/plain", .unsupportedMediaType),
                    (#"{"scope": {"tenant": "a"}}"#, nil, .unsupportedMediaType),
                    (
                        "{\"scope\": {\"tenant\": \"" + String(repeating: "a", count: 70_000) + "\"}}",
                        "application/json",
                        .contentTooLarge
                    ),
                ]
                for (body, type, status) in cases {
                    let response = try await post(body, type: type)
                    #expect(response.status == status, "\(body.prefix(60))")
                    #expect(response.headers[.contentType] == "application/problem+json")
                    let problem = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                    #expect(problem?["status"] as? Int == Int(status.code))
                }
            }
        }
    }

    @Test func failedAuthenticationsAreRateLimitedPerPeer() async throws {
        try await withFixture { fixture in
            try await fixture.withServer(failuresPerMinute: 3) { client in
                for _ in 0..<3 {
                    let response = try await client.execute(
                        uri: "/v1/requests", method: .get, headers: bearer("hov_t_0000000000000000_guess"))
                    #expect(response.status == .unauthorized)
                }
                let limited = try await client.execute(
                    uri: "/v1/requests", method: .get, headers: bearer(fixture.operatorToken))
                #expect(limited.status == .tooManyRequests)
                #expect(Int(limited.headers[.retryAfter] ?? "") ?? 0 > 0)
            }
        }
    }
}

@Suite struct LinkTests {
    /// Creates a link for acme-1 as tenant A and returns (id, path).
    static func link(_ client: LiveClient, _ fixture: Fixture, body: String = "") async throws
        -> (id: String, path: String, url: String)
    {
        var headers = bearer(fixture.tenantA)
        if !body.isEmpty { headers[.contentType] = "application/json" }
        let response = try await client.execute(
            uri: "/v1/requests/acme-1/links", method: .post, headers: headers, body: ByteBuffer(string: body))
        #expect(response.status == .created, "\(String(buffer: response.body))")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
        let url = try #require(object["url"] as? String)
        #expect(url.hasPrefix("http://delivery.example/v1/downloads/"))
        return (try #require(object["id"] as? String), String(url.dropFirst("http://delivery.example".count)), url)
    }

    @Test func aLinkDownloadsWithoutACredentialAndStopsWhenRevoked() async throws {
        try await withFixture { fixture in
            let (linkID, secret) = try await fixture.withServer { client in
                let (id, path, _) = try await Self.link(client, fixture)
                let download = try await client.execute(uri: path, method: .get)
                #expect(download.status == .ok)
                #expect(Array(download.body.readableBytesView) == fixture.acmeBytes)
                // Tampered: one character of the secret changed.
                var tampered = Array(path)
                tampered[tampered.count - 3] = tampered[tampered.count - 3] == "a" ? "b" : "a"
                #expect(try await client.execute(uri: String(tampered), method: .get).status == .notFound)
                #expect(try await client.execute(uri: "/v1/downloads/nonsense", method: .get).status == .notFound)
                // Another tenant may not revoke it; its owner may.
                #expect(
                    try await client.execute(uri: "/v1/links/\(id)", method: .delete, headers: bearer(fixture.tenantB))
                        .status == .notFound)
                #expect(
                    try await client.execute(uri: "/v1/links/\(id)", method: .delete, headers: bearer(fixture.tenantA))
                        .status == .noContent)
                #expect(try await client.execute(uri: path, method: .get).status == .notFound)
                return (id, String(path.split(separator: "/").last!))
            }
            let audit = try await fixture.store.audit(of: fixture.acmeRequest)
            #expect(
                audit.contains { $0.actor.hasPrefix("token:") && $0.detail?.contains("link \(linkID) created") == true }
            )
            #expect(audit.contains { $0.actor == "link:" + linkID && $0.detail?.hasSuffix("completed") == true })
            #expect(audit.contains { $0.detail == "link \(linkID) revoked" })
            #expect(!audit.contains { ($0.detail ?? "").contains(secret) || $0.actor.contains(secret) })
            // No secret in the service's logs either.
            let logged = fixture.capture.entries.map { "\($0.message) \($0.metadata)" }.joined(separator: "\n")
            #expect(!logged.contains(secret) && !logged.contains(fixture.tenantA) && !logged.contains("hov_"))
            #expect(fixture.capture.entries.contains { $0.message == "request" })
        }
    }

    @Test func aLimitedLinkAllowsItsDownloadsInBytesHoweverTheyAreSplit() async throws {
        try await withFixture { fixture in
            try await fixture.withServer { client in
                let (_, path, _) = try await Self.link(client, fixture, body: #"{"maxDownloads": 1}"#)
                let first = try await client.execute(uri: path, method: .get, headers: [.range: "bytes=0-99"])
                #expect(first.status == .partialContent)
                let resumed = try await client.execute(uri: path, method: .get, headers: [.range: "bytes=100-"])
                #expect(resumed.status == .partialContent)
                #expect(Array(resumed.body.readableBytesView) == Array(fixture.acmeBytes[100...]))
                // A HEAD sends nothing and costs nothing; the one download's bytes are spent, so a second is gone.
                #expect(try await client.execute(uri: path, method: .head).status == .ok)
                #expect(try await client.execute(uri: path, method: .get).status == .gone)
                #expect(
                    try await client.execute(uri: path, method: .get, headers: [.range: "bytes=5-9"]).status == .gone)
                let gone = try await client.execute(uri: path, method: .head, headers: [.range: "bytes=-1"])
                #expect(gone.status == .partialContent, "HEAD never spends the allowance")
            }
        }
    }

    @Test func anExpiredLinkIsGoneAndLinksNeverOutliveTheArchive() async throws {
        try await withFixture { fixture in
            let now = Timestamp.now()
            let (_, secret) = try await fixture.store.createLink(
                for: fixture.acmeRequest, by: "test", expiresAt: now.adding(seconds: 1), maxDownloads: nil, at: now)
            let long = try await fixture.store.createLink(
                for: fixture.acmeRequest, by: "test", expiresAt: now.adding(seconds: 365 * 86_400), maxDownloads: nil,
                at: now)
            let stored = try #require(try await fixture.store.request(fixture.acmeRequest))
            #expect(long.link.expiresAt == stored.expiresAt, "capped at the archive's retention")
            try await Task.sleep(for: .milliseconds(1_100))
            try await fixture.withServer { client in
                #expect(try await client.execute(uri: "/v1/downloads/" + secret, method: .get).status == .gone)
                let tooLong = try await client.execute(
                    uri: "/v1/requests/acme-1/links", method: .post,
                    headers: bearer(fixture.tenantA).merging([.contentType: "application/json"]),
                    body: ByteBuffer(string: #"{"expiresInSeconds": 99999999}"#))
                #expect(tooLong.status == .badRequest)
                let notReady = try await client.execute(
                    uri: "/v1/requests/subject-1/links", method: .post, headers: bearer(fixture.operatorToken))
                #expect(notReady.status == .conflict)
            }
        }
    }
}

extension HTTPFields {
    func merging(_ other: HTTPFields) -> HTTPFields {
        var merged = self
        for field in other { merged[field.name] = field.value }
        return merged
    }
}

@Suite struct OpenAPIDocumentTests {
    @Test func theServedDocumentIsTheOneInSchemas() async throws {
        let file = try String(contentsOfFile: packageRoot + "/Schemas/openapi.json", encoding: .utf8)
        #expect(OpenAPIDocument.json + "\n" == file, "copy Schemas/openapi.json into OpenAPIDocument.swift")
        try await withFixture { fixture in
            try await fixture.withServer { client in
                let served = try await client.execute(uri: "/openapi.json", method: .get)
                #expect(served.status == .ok)
                #expect(String(buffer: served.body) == OpenAPIDocument.json)
                let health = try await client.execute(uri: "/healthz", method: .get)
                #expect(String(buffer: health.body) == #"{"status":"ok"}"#)
            }
        }
    }
}

@Suite struct TenantPageTests {
    static func form(_ fields: [String: String]) -> (HTTPFields, ByteBuffer) {
        let body = fields.map { key, value in
            key + "=" + (value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")
        }.joined(separator: "&")
        return ([.contentType: "application/x-www-form-urlencoded"], ByteBuffer(string: body))
    }

    static func cookie(_ response: TestResponse) -> String? {
        response.headers[.setCookie]?.split(separator: ";").first.map(String.init)
    }

    @Test func signInListDownloadAndSignOutWithCSRFAndIsolation() async throws {
        try await withFixture { fixture in
            try await fixture.withServer { client in
                let signInPage = try await client.execute(uri: "/ui", method: .get)
                let html = String(buffer: signInPage.body)
                #expect(signInPage.headers[.contentSecurityPolicy]?.contains("default-src 'none'") == true)
                #expect(!html.contains("<script") && !html.contains("style=") && !html.contains("<style"))
                #expect(html.contains("<label for=\"token\">"))

                // A wrong token and an operator token do not sign in.
                for token in ["hov_t_0000000000000000_" + String(repeating: "A", count: 43), fixture.operatorToken] {
                    let (headers, body) = Self.form(["token": token])
                    let refused = try await client.execute(
                        uri: "/ui/sign-in", method: .post, headers: headers, body: body)
                    #expect(refused.status == .unauthorized)
                    #expect(String(buffer: refused.body).contains("role=\"alert\""))
                    #expect(refused.headers[.setCookie] == nil)
                }
                let (headers, body) = Self.form(["token": fixture.tenantA])
                let signedIn = try await client.execute(uri: "/ui/sign-in", method: .post, headers: headers, body: body)
                #expect(signedIn.status == .seeOther)
                let setCookie = try #require(signedIn.headers[.setCookie])
                #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict"))
                let cookie = try #require(Self.cookie(signedIn))
                let list = try await client.execute(uri: "/ui/exports", method: .get, headers: [.cookie: cookie])
                let page = String(buffer: list.body)
                #expect(page.contains("data-request=\"acme-1\"") && !page.contains("globex"))
                let csrf = try #require(
                    page.range(of: #"name="csrf" value="[^"]+""#, options: .regularExpression).map {
                        String(page[$0].dropFirst(#"name="csrf" value=""#.count).dropLast())
                    })

                // Downloads: its own export by session; another tenant's answers as unknown.
                let own = try await client.execute(
                    uri: "/ui/exports/acme-1/archive", method: .get, headers: [.cookie: cookie])
                #expect(own.status == .ok && Array(own.body.readableBytesView) == fixture.acmeBytes)
                let other = try await client.execute(
                    uri: "/ui/exports/globex-1/archive", method: .get, headers: [.cookie: cookie])
                #expect(other.status == .notFound)

                // A form without the CSRF token, or with another, is refused; with it, an export is requested.
                var (formHeaders, formBody) = Self.form([:])
                formHeaders[.cookie] = cookie
                #expect(
                    try await client.execute(uri: "/ui/exports", method: .post, headers: formHeaders, body: formBody)
                        .status == .forbidden)
                (formHeaders, formBody) = Self.form(["csrf": csrf])
                formHeaders[.cookie] = cookie
                let requested = try await client.execute(
                    uri: "/ui/exports", method: .post, headers: formHeaders, body: formBody)
                #expect(requested.status == .seeOther)
                let queued = try await fixture.store.list(state: .queued, tenant: "acme")
                #expect(queued.count == 1)

                // Signing out ends the session: the cookie no longer opens the list.
                (formHeaders, formBody) = Self.form(["csrf": csrf])
                formHeaders[.cookie] = cookie
                let out = try await client.execute(
                    uri: "/ui/sign-out", method: .post, headers: formHeaders, body: formBody)
                #expect(out.status == .seeOther && out.headers[.setCookie]?.contains("Max-Age=0") == true)
                let after = try await client.execute(uri: "/ui/exports", method: .get, headers: [.cookie: cookie])
                #expect(after.status == .seeOther && after.headers[.location] == "/ui")
            }
        }
    }
}
