public import HandoverCore

/// A delivery link: a capability to download one request's archive without a token, for a data subject or a
/// receiving controller.
public struct DeliveryLink: Sendable, Hashable {
    /// The link's public id (used to revoke it, and named in the audit log).
    public var id: String
    /// The request whose archive it delivers.
    public var request: RequestID
    /// Who made it: `token:<id>`.
    public var createdBy: String
    /// When it was made.
    public var createdAt: Timestamp
    /// When it stops working.
    public var expiresAt: Timestamp
    /// How many downloads it allows, if limited.
    public var maxDownloads: Int64?
    /// How many downloads it has served.
    public var downloads: Int64
    /// When it was revoked, if it was.
    public var revokedAt: Timestamp?
}

/// What a link's secret leads to.
public enum LinkLookup: Sendable, Hashable {
    /// A valid link.
    case valid(DeliveryLink)
    /// A link that existed and has expired or used up its downloads: the archive is gone for it (410).
    case gone(DeliveryLink)
    /// Nothing: malformed, unknown, tampered or revoked (404).
    case notFound
}

extension RequestStore {
    static let linkColumns = "id, request, created_by, created_at, expires_at, max_downloads, downloads, revoked_at"

    static func decodeLink(_ row: [StoreValue]) throws -> DeliveryLink {
        let columns = try RowDecoder(
            row,
            columns: [
                "id", "request", "created_by", "created_at", "expires_at", "max_downloads", "downloads", "revoked_at",
            ], name: "link row")
        return DeliveryLink(
            id: try columns.text(0), request: try RequestID(try columns.text(1)), createdBy: try columns.text(2),
            createdAt: try columns.time(3), expiresAt: try columns.time(4),
            maxDownloads: try columns.optionalInteger(5),
            downloads: try columns.integer(6), revokedAt: try columns.optionalTime(7))
    }

    /// Makes a delivery link for a completed request and returns it with its secret token (shown once).
    ///
    /// The link expires at `expiresAt`, or when the archive's retention ends if that is sooner.
    /// - Throws: ``HandoverError/Code/notFound`` for an unknown request, ``HandoverError/Code/conflict`` when
    ///   it has no archive to deliver, ``HandoverError/Code/invalidArgument`` for a limit below 1 or a time
    ///   not in the future.
    public func createLink(
        for id: RequestID, by actor: String, expiresAt: Timestamp, maxDownloads: Int64?, at now: Timestamp
    ) async throws -> (link: DeliveryLink, secret: String) {
        try ControlCharacters.require(actor, "actor")
        if let maxDownloads, maxDownloads < 1 {
            throw HandoverError(.invalidArgument, "a link's download limit must be at least 1")
        }
        guard now < expiresAt else { throw HandoverError(.invalidArgument, "a link must expire in the future") }
        let (linkID, secret) = Secrets.make()
        let link = try await backEnd.write { tx -> DeliveryLink in
            guard
                let row = try await tx.rows("SELECT \(Self.columns) FROM requests WHERE id = ?", [.text(id.rawValue)])
                    .first
            else { throw HandoverError(.notFound, "no request \(id)") }
            let stored = try Self.decode(row)
            guard stored.state == .completed, let retention = stored.expiresAt, now < retention else {
                throw HandoverError(
                    .conflict, "request \(id) is \(stored.state.rawValue): it has no archive to deliver")
            }
            let link = DeliveryLink(
                id: linkID, request: id, createdBy: actor, createdAt: now, expiresAt: min(expiresAt, retention),
                maxDownloads: maxDownloads, downloads: 0, revokedAt: nil)
            try await tx.run(
                """
                INSERT INTO delivery_links (id, request, hash, created_by, created_at, expires_at, max_downloads)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    .text(linkID), .text(id.rawValue), .text(Secrets.hash(secret)), .text(actor), StoreValue(now),
                    StoreValue(link.expiresAt), maxDownloads.map { .integer($0) } ?? .null,
                ])
            try await recordAudit(
                tx, id, stored.subjectKey, state: stored.state, actor,
                "link \(linkID) created, expires \(link.expiresAt.iso8601)"
                    + (maxDownloads.map { ", at most \($0) downloads" } ?? ""), now)
            return link
        }
        return (link, Secrets.token("l", linkID, secret))
    }

    /// The link with `id`, or nil.
    public func link(_ id: String) async throws -> DeliveryLink? {
        try await backEnd.read { tx in
            try await tx.rows("SELECT \(Self.linkColumns) FROM delivery_links WHERE id = ?", [.text(id)]).first
                .map(Self.decodeLink)
        }
    }

    /// Revokes a link; it answers as an unknown one from now on.
    /// - Throws: ``HandoverError/Code/notFound`` when there is no such link.
    public func revokeLink(_ id: String, by actor: String, at now: Timestamp) async throws {
        try ControlCharacters.require(actor, "actor")
        try await backEnd.write { tx in
            let rows = try await tx.rows(
                "UPDATE delivery_links SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ? RETURNING request",
                [StoreValue(now), .text(id)])
            guard case .text(let request)? = rows.first?.first else { throw HandoverError(.notFound, "no link \(id)") }
            let requestID = try RequestID(request)
            let stored = try await tx.rows("SELECT \(Self.columns) FROM requests WHERE id = ?", [.text(request)])
                .first.map(Self.decode)
            try await recordAudit(
                tx, requestID, stored?.subjectKey, state: stored?.state ?? .completed, actor, "link \(id) revoked", now)
        }
    }

    /// What the link token `secret` leads to at `now`.
    public func lookUpLink(_ token: String, at now: Timestamp) async throws -> LinkLookup {
        guard let (id, secret) = Secrets.parse(token, kind: "l") else { return .notFound }
        return try await backEnd.read { tx in
            guard
                let row = try await tx.rows(
                    "SELECT \(Self.linkColumns), hash FROM delivery_links WHERE id = ?", [.text(id)]
                ).first,
                case .text(let hash) = row[8], Secrets.matches(secret, hash)
            else { return .notFound }
            let link = try Self.decodeLink(Array(row.prefix(8)))
            if link.revokedAt != nil { return .notFound }
            if now >= link.expiresAt { return .gone(link) }
            return .valid(link)
        }
    }

    /// Reserves `bytes` of a link's allowance before they are sent, atomically: false when the link is used up.
    ///
    /// A limit of N downloads allows N times the archive's size (`archiveBytes`, every part together) however a
    /// client splits it into ranges, so resuming an interrupted download costs only what is sent again, and
    /// ranges cannot be used to download without end. A response that starts at the first byte counts as a
    /// download (for the record).
    public func useLink(_ id: String, bytes: Int64, archiveBytes: Int64, startsDownload: Bool) async throws -> Bool {
        try await backEnd.write { tx in
            !(try await tx.rows(
                """
                UPDATE delivery_links SET bytes_served = bytes_served + ?, downloads = downloads + ?
                WHERE id = ? AND revoked_at IS NULL
                AND (max_downloads IS NULL OR bytes_served + ? <= max_downloads * ?)
                RETURNING downloads
                """,
                [.integer(bytes), .integer(startsDownload ? 1 : 0), .text(id), .integer(bytes), .integer(archiveBytes)]))
                .isEmpty
        }
    }

    /// Records a download in the request's audit log: who (a token or link id, never its secret), the range,
    /// the bytes sent and whether it completed. The request's state does not change.
    public func recordDownload(
        _ id: RequestID, by actor: String, file: String, range: String?, bytesSent: Int64, completed: Bool,
        at now: Timestamp
    ) async throws {
        try ControlCharacters.require(actor, "actor")
        try ControlCharacters.require(file, "file name")
        try await backEnd.write { tx in
            let stored = try await tx.rows("SELECT \(Self.columns) FROM requests WHERE id = ?", [.text(id.rawValue)])
                .first.map(Self.decode)
            let detail =
                "download of \(file)" + (range.map { " range \($0)" } ?? "") + ": \(bytesSent) bytes sent, "
                + (completed ? "completed" : "interrupted")
            try await recordAudit(tx, id, stored?.subjectKey, state: stored?.state ?? .completed, actor, detail, now)
        }
    }
}
