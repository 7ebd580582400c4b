/// The tables delivery over HTTP keeps in the request store, in SQL that SQLite and PostgreSQL both accept
/// (`BIGINT` is an integer column in both).
///
/// Secrets are never stored: a token, a link or a session is kept as its id (public, in logs and the audit log)
/// and the SHA-256 of its secret part.
package enum DeliverySchema {
    /// The statements that create the tables when missing, each table name passed through `qualify` (a
    /// PostgreSQL back end puts its schema's name in front).
    package static func statements(_ qualify: (String) -> String) -> [String] {
        [
            """
            CREATE TABLE IF NOT EXISTS \(qualify("api_tokens")) (
                id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, tenant TEXT, hash TEXT NOT NULL,
                created_at BIGINT NOT NULL, expires_at BIGINT, revoked_at BIGINT)
            """,
            """
            CREATE TABLE IF NOT EXISTS \(qualify("delivery_links")) (
                id TEXT PRIMARY KEY, request TEXT NOT NULL, hash TEXT NOT NULL, created_by TEXT NOT NULL,
                created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, max_downloads BIGINT,
                downloads BIGINT NOT NULL DEFAULT 0, bytes_served BIGINT NOT NULL DEFAULT 0, revoked_at BIGINT)
            """,
            """
            CREATE TABLE IF NOT EXISTS \(qualify("sessions")) (
                id TEXT PRIMARY KEY, hash TEXT NOT NULL, token TEXT NOT NULL, csrf TEXT NOT NULL,
                created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, ended_at BIGINT)
            """,
            // The outbox of notifications: written in the transaction that makes the event happen, sent by
            // notifiers under a lease. One event per request, kind and deadline.
            """
            CREATE TABLE IF NOT EXISTS \(qualify("notifications")) (
                id TEXT PRIMARY KEY, request TEXT NOT NULL, event TEXT NOT NULL, due BIGINT NOT NULL,
                body TEXT NOT NULL, created_at BIGINT NOT NULL, attempts BIGINT NOT NULL DEFAULT 0,
                next_attempt_at BIGINT NOT NULL, lease_holder TEXT, lease_until BIGINT, delivered_at BIGINT,
                abandoned_at BIGINT, last_result TEXT, UNIQUE (request, event, due))
            """,
            """
            CREATE INDEX IF NOT EXISTS notifications_pending ON \(qualify("notifications")) (next_attempt_at)
            WHERE delivered_at IS NULL AND abandoned_at IS NULL
            """,
        ]
    }

    /// The column completed requests describe their archive files in (added to stores made before it).
    package static let archiveFilesColumn = "archive_files"
}
