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
    /// Whether to insist on TLS (`sslmode=require`); otherwise TLS is used when the server offers it,
    /// and not at all with `sslmode=disable`.
    public var tls: TLSMode
    /// The most connections this process opens.
    public var maximumConnections: Int

    /// How the connection uses TLS.
    public enum TLSMode: String, Sendable, Hashable {
        /// Never.
        case disable
        /// When the server offers it.
        case prefer
        /// Always; refuse a server without it.
        case require
    }

    /// A configuration from its parts.
    public init(
        host: String, port: Int = 5432, username: String, password: String? = nil, database: String,
        schema: String = "handover", tls: TLSMode = .prefer, maximumConnections: Int = 4
    ) throws {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.schema = schema
        self.tls = tls
        self.maximumConnections = maximumConnections
        guard Self.isIdentifier(schema) else {
            throw HandoverError(
                .invalidArgument, "a schema name is lower-case letters, digits and underscores, up to 63 characters")
        }
    }

    /// Parses `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?schema=NAME&sslmode=disable|prefer|require]`
    /// (also `postgresql://`); user, password and database may be percent-encoded.
    /// - Throws: ``HandoverError/Code/invalidArgument`` naming what is wrong (never the password).
    public init(url: String) throws {
        func invalid(_ what: String) -> HandoverError {
            HandoverError(
                .invalidArgument, "a PostgreSQL store URL is postgres://USER:PASSWORD@HOST:PORT/DATABASE; \(what)")
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
        var schema = "handover"
        var tls = TLSMode.prefer
        for pair in query.split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            let value = parts.count == 2 ? parts[1] : ""
            switch parts[0] {
            case "schema": schema = value
            case "sslmode":
                guard let mode = TLSMode(rawValue: value) else {
                    throw invalid("sslmode is disable, prefer or require")
                }
                tls = mode
            default: throw invalid("unknown parameter '\(parts[0])' (schema and sslmode are known)")
            }
        }
        try self.init(
            host: host, port: port, username: username, password: password, database: database, schema: schema,
            tls: tls)
    }

    /// The URL without the password, for messages and logs.
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
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                return nil
            }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
