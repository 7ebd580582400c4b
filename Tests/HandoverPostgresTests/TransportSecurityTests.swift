import Foundation
import HandoverCore
import HandoverPostgres
import HandoverStore
import Logging
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A loopback listener that speaks just enough of PostgreSQL's protocol to play a server that declines TLS and
/// asks for a cleartext password (AuthenticationCleartextPassword, `R` with code 3). It records every byte it
/// receives, so a test can tell whether the password was sent.
final class CleartextPasswordServer: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let lock = NSLock()
    private var bytes: [UInt8] = []
    private var accepted = 0
    private let handled = DispatchSemaphore(value: 0)

    init() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(listener, pointer, length) == 0 && listen(listener, 8) == 0
                    && getsockname(listener, pointer, &length) == 0
            }
        }
        guard bound else {
            close(listener)
            throw HandoverError(.internalError, "cannot listen on loopback")
        }
        self.listener = listener
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in serve() }
    }

    deinit { close(listener) }

    /// Everything received so far, over all connections.
    var received: [UInt8] { lock.withLock { bytes } }
    /// How many connections were accepted.
    var connections: Int { lock.withLock { accepted } }

    /// Waits (at most 10 s) until the `count`-th connection has been handled.
    func waitForConnections(_ count: Int) {
        for _ in 0..<count { _ = handled.wait(timeout: .now() + 10) }
    }

    private func serve() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            lock.withLock { accepted += 1 }
            // A client that stalls cannot hang the test: reads give up after 5 s.
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            handle(client)
            close(client)
            handled.signal()
        }
    }

    private func handle(_ client: Int32) {
        // Startup-phase messages: a 4-byte length, then the body; 80877103 asks for TLS.
        while let header = read(client, 4) {
            let length = Int(header.withUnsafeBytes { UInt32(bigEndian: $0.loadUnaligned(as: UInt32.self)) })
            guard length >= 8, length < 10_000, let body = read(client, length - 4) else { return }
            let code = body.prefix(4).withUnsafeBytes { UInt32(bigEndian: $0.loadUnaligned(as: UInt32.self)) }
            if code == 80_877_103 {
                write(client, Array("N".utf8))  // no TLS here
                continue
            }
            // The startup message: ask for the password in clear, then take whatever comes.
            write(client, [UInt8(ascii: "R"), 0, 0, 0, 8, 0, 0, 0, 3])
            guard let type = read(client, 1), let size = read(client, 4) else { return }
            let count = Int(size.withUnsafeBytes { UInt32(bigEndian: $0.loadUnaligned(as: UInt32.self)) })
            _ = type
            if count >= 4 && count < 10_000 { _ = read(client, count - 4) }
            var error: [UInt8] = []
            for field in ["SFATAL", "C28P01", "Mpassword authentication failed"] {
                error += Array(field.utf8) + [0]
            }
            error.append(0)
            let total = UInt32(error.count + 4).bigEndian
            write(client, [UInt8(ascii: "E")] + withUnsafeBytes(of: total) { Array($0) } + error)
            return
        }
    }

    private func read(_ client: Int32, _ count: Int) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress! + got, count - got, 0) }
            guard n > 0 else { return nil }
            got += n
        }
        lock.withLock { bytes += buffer }
        return buffer
    }

    private func write(_ client: Int32, _ data: [UInt8]) {
        _ = data.withUnsafeBytes { send(client, $0.baseAddress!, data.count, Int32(MSG_NOSIGNAL)) }
    }
}

extension Array where Element == UInt8 {
    func contains(_ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, count >= needle.count else { return false }
        return (0...(count - needle.count)).contains { Array(self[$0..<$0 + needle.count]) == needle }
    }
}

@Suite struct TransportSecurityTests {
    var logger: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }

    static let password = "pw-that-must-not-leak"

    /// sslmode × host: the default, and whether a password would be refused before connecting.
    @Test(arguments: [
        // (URL, expected mode, exposes the password)
        ("postgres://u:p@10.1.2.3/d", "require", false),
        ("postgres://u:p@db.example/d", "require", false),
        ("postgres://u:p@127.0.0.1.evil.example/d", "require", false),
        ("postgres://u:p@127.0.0.1/d", "prefer", false),
        ("postgres://u:p@127.9.8.7/d", "prefer", false),
        ("postgres://u:p@localhost/d", "prefer", false),
        ("postgres://u:p@[::1]/d", "prefer", false),
        ("postgres://u:p@10.1.2.3/d?sslmode=prefer", "prefer", true),
        ("postgres://u:p@10.1.2.3/d?sslmode=disable", "disable", true),
        ("postgres://u@10.1.2.3/d?sslmode=disable", "disable", false),
        ("postgres://u:p@10.1.2.3/d?sslmode=prefer&plaintext_password=allow", "prefer", false),
        ("postgres://u:p@10.1.2.3/d?sslmode=verify-ca", "verify-ca", false),
        ("postgres://u:p@10.1.2.3/d?sslmode=verify-full", "verify-full", false),
        ("postgres://u:p@127.0.0.1/d?sslmode=disable", "disable", false),
    ])
    func theDefaultModeAndThePasswordRuleFollowTheHost(_ url: String, _ mode: String, _ exposes: Bool) throws {
        let configuration = try PostgresStoreConfiguration(url: url)
        #expect(configuration.tls.rawValue == mode)
        #expect(configuration.exposesPassword == exposes)
        if exposes {
            let error = #expect(throws: HandoverError.self) { try configuration.checkPasswordProtection() }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains("u:p") == false)
        }
    }

    @Test func loopbackIsTrustedOnlyWhileTrustsLoopbackSaysSo() throws {
        var configuration = try PostgresStoreConfiguration(url: "postgres://u:p@127.0.0.1/d")
        #expect(!configuration.exposesPassword)
        configuration.trustsLoopback = false
        #expect(configuration.exposesPassword)
        configuration.tls = .require
        #expect(!configuration.exposesPassword)
    }

    /// The control: with loopback trusted and sslmode=prefer, the fake server does receive the password — so the
    /// listener can see a password when one is sent, and the tests below that find none mean something.
    @Test func theFakeServerSeesAPasswordSentInClear() async throws {
        let server = try CleartextPasswordServer()
        var configuration = try PostgresStoreConfiguration(url: "postgres://u@127.0.0.1:\(server.port)/d")
        configuration.password = Self.password
        #expect(configuration.tls == .prefer)
        await #expect(throws: HandoverError.self) {
            try await RequestStore.withPostgres(configuration, pseudonymizer: testPseudonymizer, logger: logger) { _ in
            }
        }
        server.waitForConnections(1)
        #expect(server.received.contains(Array(Self.password.utf8)))
    }

    /// An explicit sslmode=require refuses a server that declines TLS, on loopback too: the password never leaves.
    @Test func requireRefusesAServerWithoutTLSBeforeAnyPassword() async throws {
        let server = try CleartextPasswordServer()
        var configuration = try PostgresStoreConfiguration(
            url: "postgres://u@127.0.0.1:\(server.port)/d?sslmode=require")
        configuration.password = Self.password
        let error = await #expect(throws: HandoverError.self) {
            try await RequestStore.withPostgres(configuration, pseudonymizer: testPseudonymizer, logger: logger) { _ in
            }
        }
        server.waitForConnections(1)
        #expect(server.connections >= 1, "the client did reach the fake server")
        #expect(!server.received.contains(Array(Self.password.utf8)))
        #expect(error?.message.contains(Self.password) == false)
        // It sent the 8-byte TLS request and nothing else: no startup message, no password message.
        #expect(server.received.count == 8, "\(server.received.count) bytes")
    }

    /// Loopback not trusted, sslmode=prefer, a password: refused before connecting, as for a remote host.
    @Test func preferWithAPasswordToAnUntrustedHostIsRefusedBeforeConnecting() async throws {
        let server = try CleartextPasswordServer()
        var configuration = try PostgresStoreConfiguration(
            url: "postgres://u@127.0.0.1:\(server.port)/d?sslmode=prefer")
        configuration.password = Self.password
        configuration.trustsLoopback = false
        let error = await #expect(throws: HandoverError.self) {
            try await RequestStore.withPostgres(configuration, pseudonymizer: testPseudonymizer, logger: logger) { _ in
            }
        }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("sslmode=prefer") == true)
        #expect(server.connections == 0 && server.received.isEmpty)
    }

    @Test func aRemoteHostWithPreferAndAPasswordIsRefusedWithoutTryingTheNetwork() async throws {
        let error = await #expect(throws: HandoverError.self) {
            try await RequestStore.withPostgres(
                try PostgresStoreConfiguration(url: "postgres://u:\(Self.password)@10.255.255.1/d?sslmode=prefer"),
                pseudonymizer: testPseudonymizer, logger: logger
            ) { _ in }
        }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains(Self.password) == false)
    }
}

@Suite struct PasswordSourceTests {
    func write(_ text: String, to path: String, mode: Int) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    }

    @Test func aPasswordFileGivesThePasswordAndMustBePrivate() async throws {
        try await withTemporaryDirectory { folder in
            let file = folder + "/pw"
            try write("s3cret:with:colons\nignored\n", to: file, mode: 0o600)
            let base = try PostgresStoreConfiguration(url: "postgres://u@db.example/d")
            #expect(try base.resolvingPassword(passwordFile: file, environment: [:]).password == "s3cret:with:colons")

            try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: file)
            let loose = #expect(throws: HandoverError.self) {
                try base.resolvingPassword(passwordFile: file, environment: [:])
            }
            #expect(loose?.message.contains("chmod 600") == true)
            #expect(loose?.message.contains("s3cret") == false)

            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)
            let twice = #expect(throws: HandoverError.self) {
                try PostgresStoreConfiguration(url: "postgres://u:inurl@db.example/d")
                    .resolvingPassword(passwordFile: file, environment: [:])
            }
            #expect(twice?.code == .invalidArgument)
            #expect(twice?.message.contains("inurl") == false)
        }
    }

    @Test func pgpasswordAndPgpassAreReadWhenTheURLHasNoPassword() async throws {
        try await withTemporaryDirectory { folder in
            let base = try PostgresStoreConfiguration(url: "postgres://worker@db.example:6543/handover")
            #expect(
                try base.resolvingPassword(passwordFile: nil, environment: ["PGPASSWORD": "fromenv"]).password
                    == "fromenv")
            let inURL = try PostgresStoreConfiguration(url: "postgres://worker:url@db.example:6543/handover")
            #expect(try inURL.resolvingPassword(passwordFile: nil, environment: ["PGPASSWORD": "e"]).password == "url")

            let pgpass = folder + "/pgpass"
            try write(
                """
                # comment
                other.example:*:*:worker:wrong
                db.example:5432:*:worker:wrong-port
                db.example:6543:handover:worker:pa\\:ss\\\\word
                *:*:*:*:fallback

                """, to: pgpass, mode: 0o600)
            #expect(
                try base.resolvingPassword(passwordFile: nil, environment: ["PGPASSFILE": pgpass]).password
                    == "pa:ss\\word")
            let other = try PostgresStoreConfiguration(url: "postgres://someone@elsewhere/x")
            #expect(
                try other.resolvingPassword(passwordFile: nil, environment: ["PGPASSFILE": pgpass]).password
                    == "fallback")
            // ~/.pgpass by HOME; absent file: no password.
            try write("*:*:*:*:home\n", to: folder + "/.pgpass", mode: 0o600)
            #expect(try base.resolvingPassword(passwordFile: nil, environment: ["HOME": folder]).password == "home")
            #expect(
                try base.resolvingPassword(passwordFile: nil, environment: ["HOME": folder + "/none"]).password == nil)

            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: pgpass)
            let error = #expect(throws: HandoverError.self) {
                try base.resolvingPassword(passwordFile: nil, environment: ["PGPASSFILE": pgpass])
            }
            #expect(error?.code == .sourceUnavailable)
            #expect(error?.message.contains("pa:ss") == false)
        }
    }
}
