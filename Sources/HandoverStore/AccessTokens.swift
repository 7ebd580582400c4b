internal import Crypto
public import HandoverCore

/// Who a bearer token speaks for.
public enum TokenKind: Sendable, Hashable {
    /// The operator: every request, every action.
    case `operator`
    /// One tenant: its own requests only.
    case tenant(String)

    /// The tenant, for a tenant token.
    public var tenant: String? {
        if case .tenant(let tenant) = self { return tenant }
        return nil
    }
}

/// A bearer token as the store keeps it: never its secret, which only its creator saw once.
public struct AccessToken: Sendable, Hashable {
    /// The token's public id (also the second field of the token itself).
    public var id: String
    /// A name for people (`billing-team`, `acme-export-bot`).
    public var name: String
    /// Operator or tenant.
    public var kind: TokenKind
    /// When it was made.
    public var createdAt: Timestamp
    /// When it stops working, if ever.
    public var expiresAt: Timestamp?
    /// When it was revoked, if it was.
    public var revokedAt: Timestamp?

    /// Whether it works at `now`.
    public func isValid(at now: Timestamp) -> Bool {
        revokedAt == nil && (expiresAt.map { now < $0 } ?? true)
    }
}

/// The secrets the delivery service hands out: `hov_<kind>_<id>_<secret>`, where the id finds the stored row and
/// the secret (256 random bits, base64url) is compared with the stored SHA-256 in constant time.
package enum Secrets {
    /// A new id (64 random bits, hexadecimal) and secret (256 random bits, base64url).
    static func make() -> (id: String, secret: String) {
        var generator = SystemRandomNumberGenerator()
        let id = (0..<8).map { _ in UInt8.random(in: 0...255, using: &generator) }.hexString
        let secret = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return (id, base64url(secret))
    }

    /// The whole token: `hov_<kind>_<id>_<secret>`.
    static func token(_ kind: String, _ id: String, _ secret: String) -> String { "hov_\(kind)_\(id)_\(secret)" }

    /// The id and secret of a token of `kind`, or nil when it is not one (wrong shape, wrong kind).
    package static func parse(_ token: String, kind: String) -> (id: String, secret: String)? {
        let fields = token.split(separator: "_", maxSplits: 3, omittingEmptySubsequences: false)
        guard fields.count == 4, fields[0] == "hov", fields[1] == kind, fields[2].count == 16,
            fields[2].allSatisfy({ $0.isHexDigit && !$0.isUppercase }), fields[3].count == 43,
            fields[3].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
        else { return nil }
        return (String(fields[2]), String(fields[3]))
    }

    /// The SHA-256 the store keeps of a secret.
    static func hash(_ secret: String) -> String { SHA256.hash(data: Array(secret.utf8)).hexString }

    /// Whether `secret` hashes to `stored`, compared in constant time.
    static func matches(_ secret: String, _ stored: String) -> Bool { equal(hash(secret), stored) }

    /// Whether two non-empty strings are equal, compared in time that depends on their length only.
    package static func equal(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        guard x.count == y.count, !x.isEmpty else { return false }
        var difference: UInt8 = 0
        for index in x.indices { difference |= x[index] ^ y[index] }
        return difference == 0
    }

    static func base64url(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        var out = ""
        var index = 0
        while index + 3 <= bytes.count {
            let n = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            for shift in [18, 12, 6, 0] { out.append(alphabet[Int((n >> UInt32(shift)) & 63)]) }
            index += 3
        }
        let rest = bytes.count - index
        if rest > 0 {
            var n = UInt32(bytes[index]) << 16
            if rest == 2 { n |= UInt32(bytes[index + 1]) << 8 }
            for shift in [18, 12, 6].prefix(rest + 1) { out.append(alphabet[Int((n >> UInt32(shift)) & 63)]) }
        }
        return out
    }
}

extension RequestStore {
    static let tokenColumns = "id, name, kind, tenant, created_at, expires_at, revoked_at"

    static func decodeToken(_ row: [StoreValue]) throws -> AccessToken {
        let columns = try RowDecoder(
            row, columns: ["id", "name", "kind", "tenant", "created_at", "expires_at", "revoked_at"],
            name: "token row")
        let kind: TokenKind
        switch try columns.text(2) {
        case "operator": kind = .operator
        case "tenant": kind = .tenant(try columns.text(3))
        default: throw columns.refuse(2, "holds an unknown kind of token")
        }
        return AccessToken(
            id: try columns.text(0), name: try columns.text(1), kind: kind, createdAt: try columns.time(4),
            expiresAt: try columns.optionalTime(5), revokedAt: try columns.optionalTime(6))
    }

    /// Makes a bearer token and returns it with the whole token, which is shown once and never stored.
    /// - Throws: ``HandoverError/Code/invalidArgument`` for a name or tenant with control characters or empty.
    public func createToken(name: String, kind: TokenKind, expiresAt: Timestamp?, at now: Timestamp) async throws
        -> (token: AccessToken, secret: String)
    {
        try ControlCharacters.require(name, "token name")
        guard !name.isEmpty else { throw HandoverError(.invalidArgument, "a token needs a name") }
        if let tenant = kind.tenant {
            try ControlCharacters.require(tenant, "tenant")
            guard !SubjectSelector.isBlank(tenant) else {
                throw HandoverError(.invalidArgument, "the tenant id is empty or only white space")
            }
        }
        let (id, secret) = Secrets.make()
        let token = AccessToken(id: id, name: name, kind: kind, createdAt: now, expiresAt: expiresAt, revokedAt: nil)
        try await backEnd.write { tx in
            try await tx.run(
                """
                INSERT INTO api_tokens (id, name, kind, tenant, hash, created_at, expires_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    .text(id), .text(name), .text(kind.tenant == nil ? "operator" : "tenant"), StoreValue(kind.tenant),
                    .text(Secrets.hash(secret)), StoreValue(now), StoreValue(expiresAt),
                ])
        }
        return (token, Secrets.token("t", id, secret))
    }

    /// Every token, newest first (never a secret).
    public func tokens() async throws -> [AccessToken] {
        try await backEnd.read { tx in
            try await tx.rows("SELECT \(Self.tokenColumns) FROM api_tokens ORDER BY created_at DESC, id", [])
                .map(Self.decodeToken)
        }
    }

    /// Revokes a token: it stops working at once, and the sessions opened with it end.
    /// - Throws: ``HandoverError/Code/notFound`` when there is no such token.
    public func revokeToken(_ id: String, at now: Timestamp) async throws {
        try await backEnd.write { tx in
            let rows = try await tx.rows(
                "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ? RETURNING id",
                [StoreValue(now), .text(id)])
            guard !rows.isEmpty else { throw HandoverError(.notFound, "no token \(id)") }
            try await tx.run(
                "UPDATE sessions SET ended_at = ? WHERE token = ? AND ended_at IS NULL", [StoreValue(now), .text(id)])
        }
    }

    /// The valid token `bearer` is, or nil (malformed, unknown, wrong secret, revoked or expired: all alike).
    public func authenticate(bearer: String, at now: Timestamp) async throws -> AccessToken? {
        guard let (id, secret) = Secrets.parse(bearer, kind: "t") else { return nil }
        return try await backEnd.read { tx in
            guard
                let row = try await tx.rows(
                    "SELECT \(Self.tokenColumns), hash FROM api_tokens WHERE id = ?", [.text(id)]
                ).first
            else { return nil }
            guard case .text(let hash) = row[7], Secrets.matches(secret, hash) else { return nil }
            let token = try Self.decodeToken(Array(row.prefix(7)))
            return token.isValid(at: now) ? token : nil
        }
    }

    // MARK: Sessions

    /// Opens a browser session for a valid token: returns the session's cookie value and its CSRF token.
    public func openSession(for token: AccessToken, lifetimeSeconds: Int64, at now: Timestamp) async throws
        -> (cookie: String, csrf: String, expiresAt: Timestamp)
    {
        let (id, secret) = Secrets.make()
        let csrf = Secrets.make().secret
        let expiresAt = now.adding(seconds: lifetimeSeconds)
        try await backEnd.write { tx in
            try await tx.run(
                "INSERT INTO sessions (id, hash, token, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    .text(id), .text(Secrets.hash(secret)), .text(token.id), .text(csrf), StoreValue(now),
                    StoreValue(expiresAt),
                ])
        }
        return (Secrets.token("s", id, secret), csrf, expiresAt)
    }

    /// The token and CSRF token of an open session, or nil (malformed, unknown, ended, expired, or its token no
    /// longer valid).
    public func session(cookie: String, at now: Timestamp) async throws -> (token: AccessToken, csrf: String)? {
        guard let (id, secret) = Secrets.parse(cookie, kind: "s") else { return nil }
        return try await backEnd.read { tx in
            guard
                let row = try await tx.rows(
                    "SELECT hash, token, csrf, expires_at, ended_at FROM sessions WHERE id = ?", [.text(id)]
                ).first,
                case .text(let hash) = row[0], Secrets.matches(secret, hash), case .text(let tokenID) = row[1],
                case .text(let csrf) = row[2], case .integer(let expires) = row[3], row[4] == .null,
                now.millisecondsSince1970 < expires,
                let tokenRow = try await tx.rows(
                    "SELECT \(Self.tokenColumns) FROM api_tokens WHERE id = ?", [.text(tokenID)]
                ).first
            else { return nil }
            let token = try Self.decodeToken(tokenRow)
            return token.isValid(at: now) ? (token, csrf) : nil
        }
    }

    /// Ends a session (signing out); nothing happens for one that is not open.
    public func endSession(cookie: String, at now: Timestamp) async throws {
        guard let (id, secret) = Secrets.parse(cookie, kind: "s") else { return }
        try await backEnd.write { tx in
            guard
                let row = try await tx.rows("SELECT hash FROM sessions WHERE id = ?", [.text(id)]).first,
                case .text(let hash) = row[0], Secrets.matches(secret, hash)
            else { return }
            try await tx.run(
                "UPDATE sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL", [StoreValue(now), .text(id)])
        }
    }
}
