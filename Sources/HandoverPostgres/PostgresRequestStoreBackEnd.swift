internal import Foundation
public import HandoverCore
internal import HandoverSQL
public import HandoverStore
public import Logging
internal import NIOSSL
internal import PostgresNIO

/// The request store's back end for workers on many machines: a PostgreSQL database (postgres-nio).
///
/// Workers claim with `SELECT … FOR UPDATE SKIP LOCKED`, so that concurrent claims take different
/// requests without waiting on each other; every other change locks its one row `FOR UPDATE`. The tables
/// live in their own schema (``PostgresStoreConfiguration/schema``), and the audit table refuses updates,
/// deletes and truncation (triggers). Open it with ``RequestStore/withPostgres(_:pseudonymizer:logger:_:)``.
public struct PostgresRequestStoreBackEnd: RequestStoreBackEnd {
    let client: PostgresClient
    let configuration: PostgresStoreConfiguration
    let logger: Logger

    /// Row locks for the rest of the transaction.
    public var lockRows: String { " FOR UPDATE" }
    /// Row locks, skipping rows another transaction holds.
    public var lockRowsSkippingLocked: String { " FOR UPDATE SKIP LOCKED" }
    /// The URL without the password.
    public var location: String { configuration.redacted }
    /// A transaction-level advisory lock, one per schema: appends to the audit chain wait for each other (only
    /// at the append, which is each change's last statement), so that no two transactions link to one head.
    public var lockAuditChain: String {
        "SELECT pg_advisory_xact_lock(723901, hashtext('\(configuration.schema)'))"
    }
    /// Looks the table up in `pg_tables`, in the store's schema.
    public var tableExistsQuery: String {
        "SELECT 1 FROM pg_tables WHERE schemaname = '\(configuration.schema)' AND tablename = ?"
    }

    /// Runs `body` in a transaction on a pooled connection.
    public func write<T: Sendable>(_ body: (any StoreTransaction) async throws -> T) async throws -> T {
        try await transaction(body)
    }

    /// Runs `body` in a read-only transaction on a pooled connection, on one snapshot (repeatable read), so
    /// that reads of several tables (the audit check's) agree with each other.
    public func read<T: Sendable>(_ body: (any StoreTransaction) async throws -> T) async throws -> T {
        try await transaction(begin: "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", body)
    }

    private func transaction<T: Sendable>(
        begin: String = "BEGIN", _ body: (any StoreTransaction) async throws -> T
    ) async throws -> T {
        do {
            return try await client.withConnection { connection in
                try await transaction(on: connection, begin: begin, body)
            }
        } catch {
            throw describe(error)
        }
    }

    /// Runs `body` in a transaction on `connection`: committed when it returns, rolled back when it throws.
    /// (Runs on its caller's executor, as postgres-nio's connection closures do.)
    nonisolated(nonsending) private func transaction<T: Sendable>(
        on connection: PostgresConnection, begin: String = "BEGIN", _ body: (any StoreTransaction) async throws -> T
    ) async throws -> T {
        let tx = Transaction(connection: connection, backEnd: self)
        try await tx.run(begin, [])
        do {
            let result = try await body(tx)
            try await tx.run("COMMIT", [])
            return result
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
    }

    /// A ``HandoverError`` for a PostgreSQL error: its SQLSTATE and primary message, with the SQLSTATE as the
    /// error's ``HandoverError/cause`` (or the `errno` of a failed connection, or
    /// ``HandoverError/Cause/connectionLost``), from which ``HandoverError/isTransient`` decides. The server's
    /// `detail` field, which quotes a row's values, is left out; the primary messages the store's statements can
    /// raise (constraints, locks, connections, authentication) name objects, not values, because every
    /// value is bound to a column of its own type.
    func describe(_ error: any Error) -> HandoverError {
        if let error = error as? HandoverError { return error }
        guard let error = error as? PSQLError else {
            return HandoverError(.sourceUnavailable, "PostgreSQL at \(location): \(type(of: error))")
        }
        if let state = error.serverInfo?[.sqlState] {
            let message = error.serverInfo?[.message] ?? ""
            let unavailable = state.hasPrefix("28") || state.hasPrefix("3D") || state.hasPrefix("08")
            return HandoverError(
                unavailable ? .sourceUnavailable : .sourceFailed,
                "PostgreSQL at \(location) refused: \(state) \(message)", cause: .sqlstate(state))
        }
        let text = error.underlying.map { String(describing: $0) } ?? String(describing: error.code)
        return HandoverError(
            .sourceUnavailable, "cannot reach PostgreSQL at \(location): \(text)", cause: Self.cause(of: error))
    }

    /// The cause of an error postgres-nio raised without a SQLSTATE: the `errno` of a failed connection
    /// attempt where NIO kept it, a lost connection, or an authentication the client could not complete.
    static func cause(of error: PSQLError) -> HandoverError.Cause? {
        switch error.code {
        case .connectionError:
            if let io = error.underlying as? IOError { return .errno(io.errnoCode) }
            if let attempts = error.underlying as? NIOConnectionError,
                let io = attempts.connectionErrors.lazy.compactMap({ $0.error as? IOError }).first
            {
                return .errno(io.errnoCode)
            }
            return .connectionLost
        case .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed:
            return .connectionLost
        case .unsupportedAuthMechanism, .authMechanismRequiresPassword, .saslError:
            return .authenticationFailed
        default:
            return nil
        }
    }

    struct Transaction: StoreTransaction {
        let connection: PostgresConnection
        let backEnd: PostgresRequestStoreBackEnd

        func rows(_ sql: String, _ parameters: [StoreValue]) async throws -> [[StoreValue]] {
            var bindings = PostgresBindings(capacity: parameters.count)
            for parameter in parameters {
                switch parameter {
                case .null: bindings.appendNull()
                case .integer(let number): bindings.append(number)
                case .real(let number): bindings.append(number)
                case .text(let text): bindings.append(text)
                case .blob(let bytes): bindings.append(ByteBuffer(bytes: bytes))
                }
            }
            do {
                let result = try await connection.query(
                    PostgresQuery(unsafeSQL: SQLDialect.postgres.finish(sql), binds: bindings), logger: backEnd.logger)
                var rows: [[StoreValue]] = []
                for try await row in result {
                    rows.append(
                        try row.map { cell -> StoreValue in
                            guard cell.bytes != nil else { return .null }
                            switch cell.dataType {
                            case .int8, .int4, .int2: return .integer(try cell.decode(Int64.self))
                            case .float8, .float4: return .real(try cell.decode(Double.self))
                            case .bytea: return .blob(Array(try cell.decode(ByteBuffer.self).readableBytesView))
                            default: return .text(try cell.decode(String.self))
                            }
                        })
                }
                return rows
            } catch {
                throw backEnd.describe(error)
            }
        }
    }

    /// Creates the schema, tables and triggers when missing, on `connection`; one process at a time (an
    /// advisory lock held until the transaction ends). Migrates an audit table made before the hash chain
    /// existed (adds the columns and chains the rows it has, oldest first, with its append-only trigger off for
    /// that one transaction). An audit table that is missing while the requests table exists was dropped: it is
    /// not created again (an empty log would hide the loss); ``RequestStore/checkAudit()`` reports it.
    func setUp(on connection: PostgresConnection) async throws {
        let schema = configuration.schema
        try await transaction(on: connection) { tx in
            try await tx.run("SELECT pg_advisory_xact_lock(7239017414)", [])
            let tables = Set(
                try await tx.rows("SELECT tablename FROM pg_tables WHERE schemaname = ?", [.text(schema)])
                    .compactMap { row -> String? in
                        if case .text(let name) = row.first { name } else { nil }
                    })
            // A store already set up is left alone: DDL takes table locks even when it changes nothing
            // (`CREATE INDEX IF NOT EXISTS` a share lock, `ALTER TABLE … IF NOT EXISTS` an exclusive one, `CREATE OR
            // REPLACE TRIGGER` another), held to the end of this transaction, and a worker starting beside running
            // ones deadlocked with their completions (40P01, seen under load).
            if try await Self.isSetUp(schema, tables: tables, tx) { return }
            for statement in Self.requestsSchema(schema) { try await tx.run(statement, []) }
            try await tx.run(
                "ALTER TABLE \(schema).requests ADD COLUMN IF NOT EXISTS \(DeliverySchema.archiveFilesColumn) TEXT", [])
            for statement in DeliverySchema.statements({ schema + "." + $0 }) { try await tx.run(statement, []) }
            if tables.contains("requests") && !tables.contains("audit") { return }
            let chained = try await tx.rows(
                """
                SELECT 1 FROM information_schema.columns WHERE table_schema = ? AND table_name = 'audit'
                AND column_name = 'hash'
                """, [.text(schema)])
            if tables.contains("audit") && chained.isEmpty {
                try await tx.run("ALTER TABLE \(schema).audit ADD COLUMN chain BIGINT, ADD COLUMN hash TEXT", [])
                try await tx.run("ALTER TABLE \(schema).audit DISABLE TRIGGER audit_append_only", [])
                let rows = try await tx.rows("SELECT \(AuditChain.columns) FROM \(schema).audit ORDER BY seq", [])
                    .map(AuditChain.Row.init)
                for (row, (chain, hash)) in zip(rows, AuditChain.link(rows, after: nil)) {
                    try await tx.run(
                        "UPDATE \(schema).audit SET chain = ?, hash = ? WHERE seq = ?",
                        [.integer(chain), .text(hash), .integer(row.seq)])
                }
                try await tx.run("ALTER TABLE \(schema).audit ENABLE TRIGGER audit_append_only", [])
            }
            for statement in Self.auditSchema(schema) { try await tx.run(statement, []) }
        }
    }

    /// Whether every table, column, index and trigger the store makes is there already (and the audit log is
    /// chained), read from the catalogs without locking any table.
    static func isSetUp(_ schema: String, tables: Set<String>, _ tx: any StoreTransaction) async throws -> Bool {
        let wanted: Set<String> = ["requests", "audit", "api_tokens", "delivery_links", "sessions", "notifications"]
        guard wanted.isSubset(of: tables) else { return false }
        func names(_ sql: String) async throws -> Set<String> {
            Set(
                try await tx.rows(sql, [.text(schema)]).compactMap { row -> String? in
                    if case .text(let name) = row.first { name } else { nil }
                })
        }
        let indexes = try await names("SELECT indexname FROM pg_indexes WHERE schemaname = ?")
        let triggers = try await names(
            """
            SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON t.tgrelid = c.oid
            JOIN pg_namespace n ON c.relnamespace = n.oid WHERE n.nspname = ? AND NOT t.tgisinternal
            """)
        let columns = try await names(
            """
            SELECT table_name || '.' || column_name FROM information_schema.columns WHERE table_schema = ?
            AND ((table_name = 'requests' AND column_name = '\(DeliverySchema.archiveFilesColumn)')
            OR (table_name = 'audit' AND column_name = 'hash'))
            """)
        return ["requests_by_state", "audit_by_request", "audit_by_chain", "notifications_pending"].allSatisfy(
            indexes.contains) && ["audit_append_only", "audit_no_truncate"].allSatisfy(triggers.contains)
            && columns.count == 2
    }

    static func requestsSchema(_ schema: String) -> [String] {
        [
            "CREATE SCHEMA IF NOT EXISTS \(schema)",
            """
            CREATE TABLE IF NOT EXISTS \(schema).requests (
                id TEXT PRIMARY KEY, purpose TEXT NOT NULL, scope_kind TEXT NOT NULL, tenant TEXT,
                subject_column TEXT, subject_value TEXT, subject_key TEXT, received_at BIGINT NOT NULL,
                state TEXT NOT NULL, due BIGINT NOT NULL, extension_reason TEXT, attempts BIGINT NOT NULL DEFAULT 0,
                not_before BIGINT, worker TEXT, lease_until BIGINT, archive TEXT, expires_at BIGINT,
                failure_reason TEXT, archive_files TEXT)
            """,
            "CREATE INDEX IF NOT EXISTS requests_by_state ON \(schema).requests(state, not_before, due)",
        ]
    }

    static func auditSchema(_ schema: String) -> [String] {
        [
            """
            CREATE TABLE IF NOT EXISTS \(schema).audit (
                seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at BIGINT NOT NULL, request TEXT NOT NULL,
                subject_key TEXT, from_state TEXT, to_state TEXT NOT NULL, actor TEXT NOT NULL, detail TEXT,
                chain BIGINT, hash TEXT)
            """,
            "CREATE INDEX IF NOT EXISTS audit_by_request ON \(schema).audit(request, seq)",
            "CREATE UNIQUE INDEX IF NOT EXISTS audit_by_chain ON \(schema).audit(chain)",
            """
            CREATE OR REPLACE FUNCTION \(schema).audit_append_only() RETURNS trigger LANGUAGE plpgsql AS
            'BEGIN RAISE EXCEPTION ''the audit log is append-only''; END'
            """,
            """
            CREATE OR REPLACE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON \(schema).audit
            FOR EACH ROW EXECUTE FUNCTION \(schema).audit_append_only()
            """,
            """
            CREATE OR REPLACE TRIGGER audit_no_truncate BEFORE TRUNCATE ON \(schema).audit
            FOR EACH STATEMENT EXECUTE FUNCTION \(schema).audit_append_only()
            """,
        ]
    }
}

extension RequestStore {
    /// Connects to the PostgreSQL store `configuration` names, sets it up when new, runs `body` with it and
    /// closes the connections when `body` returns or throws.
    /// - Throws: ``HandoverError/Code/sourceUnavailable`` when the server cannot be reached or set up,
    ///   and whatever `body` throws.
    public static func withPostgres<T: Sendable>(
        _ configuration: PostgresStoreConfiguration, pseudonymizer: any Pseudonymizer, logger: Logger,
        _ body: (RequestStore) async throws -> T
    ) async throws -> T {
        // A password never goes where it could travel unencrypted (unless the operator said so): checked before
        // any connection is opened.
        try configuration.checkPasswordProtection()
        let tlsConfiguration = try tlsConfiguration(configuration)
        let tls: PostgresClient.Configuration.TLS =
            switch configuration.tls {
            case .disable: .disable
            case .prefer: .prefer(tlsConfiguration)
            case .require, .verifyCA, .verifyFull: .require(tlsConfiguration)
            }
        var clientConfiguration = PostgresClient.Configuration(
            host: configuration.host, port: configuration.port, username: configuration.username,
            password: configuration.password, database: configuration.database, tls: tls)
        clientConfiguration.options.maximumConnections = configuration.maximumConnections
        clientConfiguration.options.connectTimeout = .seconds(5)
        // Every statement finds the store's tables in its schema.
        clientConfiguration.options.additionalStartupParameters = [("search_path", configuration.schema)]
        // The pool's own chatter (such as a lease asked for in the instant before `run()` starts) stays out
        // of the caller's warnings; failures reach the caller as thrown errors.
        var backgroundLogger = logger
        backgroundLogger.logLevel = max(logger.logLevel, .error)
        let client = PostgresClient(configuration: clientConfiguration, backgroundLogger: backgroundLogger)
        let backEnd = PostgresRequestStoreBackEnd(client: client, configuration: configuration, logger: logger)

        // One direct connection first: it fails at once and says why (refused, wrong password, no such
        // database) where the pool would keep retrying; it also sets the store up.
        let direct = try directConnection(
            configuration, connectTimeout: .seconds(5), startupParameters: [("search_path", configuration.schema)])
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: direct, id: 0, logger: backgroundLogger)
        } catch {
            throw backEnd.describe(error)
        }
        do {
            try await backEnd.setUp(on: connection)
            try? await connection.close()
        } catch {
            try? await connection.close()
            throw backEnd.describe(error)
        }

        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            return try await body(RequestStore(backEnd: backEnd, pseudonymizer: pseudonymizer))
        }
    }

    /// The configuration of one connection (not pooled) to the server `configuration` names, with its sslmode.
    static func directConnection(
        _ configuration: PostgresStoreConfiguration, connectTimeout: TimeAmount,
        startupParameters: [(String, String)]
    ) throws -> PostgresConnection.Configuration {
        var direct = PostgresConnection.Configuration(
            host: configuration.host, port: configuration.port, username: configuration.username,
            password: configuration.password, database: configuration.database,
            tls: try connectionTLS(configuration.tls, try tlsConfiguration(configuration)))
        direct.options.connectTimeout = connectTimeout
        direct.options.additionalStartupParameters = startupParameters
        return direct
    }

    /// NIOSSL's client configuration for `configuration`'s sslmode: no certificate verification for prefer and
    /// require (as libpq), the chain for verify-ca (and for require with a root certificate file), the chain and
    /// the host name for verify-full.
    private static func tlsConfiguration(_ configuration: PostgresStoreConfiguration) throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        switch configuration.tls {
        case .disable, .prefer: tls.certificateVerification = .none
        case .require:
            tls.certificateVerification = configuration.sslRootCert == nil ? .none : .noHostnameVerification
        case .verifyCA: tls.certificateVerification = .noHostnameVerification
        case .verifyFull: tls.certificateVerification = .fullVerification
        }
        if let rootCert = configuration.sslRootCert {
            guard FileManager.default.isReadableFile(atPath: rootCert) else {
                throw HandoverError(.sourceUnavailable, "cannot read the root certificate file '\(rootCert)'")
            }
            tls.trustRoots = .file(rootCert)
        }
        return tls
    }

    private static func connectionTLS(
        _ mode: PostgresStoreConfiguration.TLSMode, _ configuration: TLSConfiguration
    ) throws -> PostgresConnection.Configuration.TLS {
        do {
            switch mode {
            case .disable: return .disable
            case .prefer: return .prefer(try NIOSSLContext(configuration: configuration))
            case .require, .verifyCA, .verifyFull: return .require(try NIOSSLContext(configuration: configuration))
            }
        } catch {
            throw HandoverError(.internalError, "cannot set up TLS for PostgreSQL")
        }
    }
}
