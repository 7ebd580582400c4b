internal import HandoverCore

/// Where a PostgreSQL request store is: server, credentials, database and schema.
public struct PostgresStoreConfiguration: Sendable, Hashable {
    /// The server's host name or address.
    public var host: String
    /// The server's port.
    public var port: Int
    /// The role to log in as.
    public var username: String
    /// The role's password, if it has one.
    public var password: String?
    /// The database.
    public var database: String
    /// The schema holding the store's tables (created when missing); several stores may share one database.
    public var schema: String
    /// How the connection uses TLS (`sslmode`); by default ``TLSMode/prefer`` for a loopback host and
    /// ``TLSMode/require`` for any other.
    public var tls: TLSMode
    /// A PEM file of the certificate authorities to trust (`sslrootcert`) instead of the system's, for
    /// ``TLSMode/verifyCA`` and ``TLSMode/verifyFull``; with ``TLSMode/require`` it makes the connection verify
    /// the chain, as libpq does when a root certificate file is present.
    public var sslRootCert: String?
    /// The most connections this process opens.
    public var maximumConnections: Int
    /// Whether a loopback host (127.0.0.0/8, ::1, `localhost`) counts as safe for a password over a connection
    /// that may be unencrypted. True by default; false makes loopback follow the rule for every other host.
    public var trustsLoopback = true
    /// Whether a password may go to a server over a connection that may be unencrypted (``TLSMode/disable`` or
    /// ``TLSMode/prefer``) when the host is not a trusted loopback (URL: `plaintext_password=allow`). False by
    /// default: such a configuration is refused before connecting, because a server (or anyone in the path)
    /// that declines TLS and asks for a cleartext password would receive it.
    public var allowsPlaintextPassword = false

    /// How the connection uses TLS: libpq's `sslmode` values, with libpq's meanings.
    public enum TLSMode: String, Sendable, Hashable, CaseIterable {
        /// Never: everything, the password included when the server asks for it in clear, travels unencrypted.
        case disable
        /// TLS when the server offers it (certificate not verified), unencrypted when it does not.
        case prefer
        /// Always TLS; a server without it is refused. The certificate is not verified (unless
        /// ``PostgresStoreConfiguration/sslRootCert`` is given): this guards against listening, not against a
        /// server that impersonates the real one.
        case require
        /// Always TLS, with a certificate signed by a trusted authority; the host name is not checked.
        case verifyCA = "verify-ca"
        /// Always TLS, with a certificate signed by a trusted authority and naming the host.
        case verifyFull = "verify-full"

        /// Whether the connection may go without TLS.
        public var mayBeUnencrypted: Bool { self == .disable || self == .prefer }
    }

    /// A configuration from its parts; `tls` nil picks the default for `host` (``TLSMode/prefer`` on
    /// loopback, ``TLSMode/require`` elsewhere).
    public init(
        host: String, port: Int = 5432, username: String, password: String? = nil, database: String,
        schema: String = "handover", tls: TLSMode? = nil, maximumConnections: Int = 4
    ) throws {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.schema = schema
        self.tls = tls ?? (Self.isLoopback(host) ? .prefer : .require)
        self.maximumConnections = maximumConnections
        guard Self.isIdentifier(schema) else {
            throw HandoverError(
                .invalidArgument, "a schema name is lower-case letters, digits and underscores, up to 63 characters")
        }
    }

    /// Whether `host` is a loopback address or name: 127.0.0.0/8, ::1, `localhost`, or a Unix socket path.
    public static func isLoopback(_ host: String) -> Bool {
        let host = host.lowercased()
        if host == "localhost" || host == "::1" || host == "0:0:0:0:0:0:0:1" || host.hasPrefix("/") { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    /// Whether the password may travel unprotected: a password is set, the connection may be unencrypted, the
    /// host is not a trusted loopback, and the operator did not allow it.
    public var exposesPassword: Bool {
        password != nil && tls.mayBeUnencrypted && !(trustsLoopback && Self.isLoopback(host))
            && !allowsPlaintextPassword
    }

    /// Throws when ``exposesPassword``: the check ``RequestStore/withPostgres(_:pseudonymizer:logger:_:)`` makes
    /// before it connects.
    /// - Throws: ``HandoverError/Code/invalidArgument`` saying what to change (never the password).
    public func checkPasswordProtection() throws {
        guard exposesPassword else { return }
        throw HandoverError(
            .invalidArgument,
            "sslmode=\(tls.rawValue) to \(redacted) could send the password unencrypted to a server that declines TLS; "
                + "use sslmode=require, verify-ca or verify-full (or add plaintext_password=allow to accept the risk)")
    }

    /// Parses `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?PARAMETERS]` (also `postgresql://`); user,
    /// password and database may be percent-encoded. Parameters: `schema=NAME`,
    /// `sslmode=disable|prefer|require|verify-ca|verify-full` (default prefer on loopback, require elsewhere),
    /// `sslrootcert=PATH` and `plaintext_password=allow`.
    /// - Parameters:
    ///   - url: The URL.
    ///   - defaultSchema: The schema when the URL names none: `handover` for a request store, `public` for a
    ///     data source.
    /// - Throws: ``HandoverError/Code/invalidArgument`` naming what is wrong (never the password).
    public init(url: String, defaultSchema: String = "handover") throws {
        func invalid(_ what: String) -> HandoverError {
            HandoverError(
                .invalidArgument, "a PostgreSQL URL is postgres://USER:PASSWORD@HOST:PORT/DATABASE; \(what)")
        }
        var rest = Substring(url)
        guard let schemeEnd = rest.range(of: "://"),
            ["postgres", "postgresql"].contains(rest[..<schemeEnd.lowerBound].lowercased())
        else { throw invalid("it must start with postgres://") }
        rest = rest[schemeEnd.upperBound...]
        var query: Substring = ""
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        guard let at = rest.lastIndex(of: "@") else { throw invalid("the user is missing") }
        let credentials = rest[..<at]
        rest = rest[rest.index(after: at)...]
        guard let slash = rest.firstIndex(of: "/") else { throw invalid("the database is missing") }
        let authority = rest[..<slash]
        guard let database = Self.percentDecoded(rest[rest.index(after: slash)...]), !database.isEmpty else {
            throw invalid("the database is missing")
        }
        var host = String(authority)
        var port = 5432
        if let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") {
            guard let number = Int(authority[authority.index(after: colon)...]), (1...65535).contains(number) else {
                throw invalid("the port is not a number from 1 to 65535")
            }
            port = number
            host = String(authority[..<colon])
        }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw invalid("the host is missing") }
        var username: String?
        var password: String?
        if let colon = credentials.firstIndex(of: ":") {
            username = Self.percentDecoded(credentials[..<colon])
            password = Self.percentDecoded(credentials[credentials.index(after: colon)...])
            guard password != nil else { throw invalid("the password's percent-encoding is broken") }
        } else {
            username = Self.percentDecoded(credentials)
        }
        guard let username, !username.isEmpty else { throw invalid("the user is missing") }
        var schema = defaultSchema
        var tls: TLSMode?
        var rootCert: String?
        var plaintextPassword = false
        for pair in query.split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            let value = parts.count == 2 ? parts[1] : ""
            switch parts[0] {
            case "schema": schema = value
            case "sslmode":
                guard let mode = TLSMode(rawValue: value) else {
                    throw invalid("sslmode is disable, prefer, require, verify-ca or verify-full")
                }
                tls = mode
            case "sslrootcert":
                guard let path = Self.percentDecoded(Substring(value)), !path.isEmpty else {
                    throw invalid("sslrootcert names a PEM file")
                }
                rootCert = path
            case "plaintext_password":
                guard value == "allow" else { throw invalid("plaintext_password is allow or absent") }
                plaintextPassword = true
            default:
                throw invalid(
                    "unknown parameter '\(parts[0])' (schema, sslmode, sslrootcert and plaintext_password are known)")
            }
        }
        try self.init(
            host: host, port: port, username: username, password: password, database: database, schema: schema,
            tls: tls)
        sslRootCert = rootCert
        allowsPlaintextPassword = plaintextPassword
    }

    /// The URL without the password (nor any parameter but the schema), for messages and logs.
    public var redacted: String {
        "postgres://\(username)@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)?schema=\(schema)"
    }

    static func isIdentifier(_ text: String) -> Bool {
        guard let first = text.utf8.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first) || first == 95,
            text.utf8.count <= 63
        else { return false }
        return text.utf8.allSatisfy {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                || $0 == 95
        }
    }

    static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(\.hexDigitValue),
                let low = iterator.next().flatMap(\.hexDigitValue)
            else {
                return nil
            }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }
}
