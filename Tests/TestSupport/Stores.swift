import Crypto
import Foundation
public import HandoverBundle
public import HandoverCore
import HandoverPostgres
public import HandoverStore
import HandoverTesting
import Logging

/// The request store's back ends; store tests run against each.
public enum StoreKind: String, CaseIterable, Sendable, CustomStringConvertible {
    /// A SQLite file in a temporary folder.
    case sqlite
    /// A fresh schema in the PostgreSQL server `scripts/start-postgres.sh` starts on loopback.
    case postgres
    /// HandoverTesting's in-memory back end (no `--store` argument: the CLI cannot reach it).
    case memory

    /// The back ends a `handover` command can open too (they have a `--store` argument).
    public static let allCases: [StoreKind] = [.sqlite, .postgres]
    /// Every back end, for tests that use the store through the library only.
    public static let everyBackEnd: [StoreKind] = [.sqlite, .postgres, .memory]

    /// The case name, for test arguments.
    public var description: String { rawValue }
}

/// The test server: `$HANDOVER_TEST_POSTGRES_URL`, or the role and database `scripts/start-postgres.sh` creates.
public let testPostgresURL =
    ProcessInfo.processInfo.environment["HANDOVER_TEST_POSTGRES_URL"]
    ?? "postgres://handover_test:handover_test@127.0.0.1:5432/handover_test?sslmode=disable"

/// The pseudonymizer the store tests use.
public let testPseudonymizer = try! KeyedPseudonymizer(key: Array(repeating: 7, count: 32))

/// A new, empty store of `kind` for the length of `body`; `body` also gets the store's `--store` argument.
public func withStore<T: Sendable>(
    _ kind: StoreKind, _ body: (RequestStore, String) async throws -> T
) async throws -> T {
    switch kind {
    case .sqlite:
        return try await withTemporaryDirectory { folder in
            let path = folder + "/requests.sqlite"
            return try await body(
                try RequestStore.sqlite(path: path, pseudonymizer: testPseudonymizer), "sqlite:" + path)
        }
    case .memory:
        return try await body(try RequestStore.inMemory(pseudonymizer: testPseudonymizer), "memory")
    case .postgres:
        return try await withPostgresStore(serverURL: testPostgresURL, body)
    }
}

/// A new, empty store in a fresh schema of the server at `serverURL`, dropped afterwards.
/// - Throws: ``PostgresServerMissing`` when no server answers there.
public func withPostgresStore<T: Sendable>(
    serverURL: String, _ body: (RequestStore, String) async throws -> T
) async throws -> T {
    let schema = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(20)
    let url = serverURL + (serverURL.contains("?") ? "&" : "?") + "schema=" + schema
    let configuration = try PostgresStoreConfiguration(url: url)
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    var connected = false
    do {
        let result = try await RequestStore.withPostgres(
            configuration, pseudonymizer: testPseudonymizer, logger: logger
        ) { store in
            connected = true
            return try await body(store, url)
        }
        try await dropSchema(configuration, logger)
        return result
    } catch let error as HandoverError
        where !connected && error.code == .sourceUnavailable && error.cause?.sqlstate == nil
    {
        // No server answered (refused, unreachable, timed out): say what these tests need.
        throw PostgresServerMissing(reason: error.localizedMessage)
    } catch {
        try? await dropSchema(configuration, logger)
        throw error
    }
}

/// The error a PostgreSQL-backed test fails with when no server answers: what the tests need and the
/// variables they read.
public struct PostgresServerMissing: Error, CustomStringConvertible {
    /// Why the connection failed.
    public var reason: String

    /// What the tests need, the variables they read, and why the connection failed.
    public var description: String {
        """
        the PostgreSQL-backed tests need a server, and none answered (\(reason)). They connect to \
        $HANDOVER_TEST_POSTGRES_URL, by default postgres://handover_test:handover_test@127.0.0.1:5432/handover_test\
        ?sslmode=disable. `make test` installs and starts one on loopback with scripts/start-postgres.sh (which \
        reads $HANDOVER_TEST_POSTGRES_PORT, default 5432); run that script, or point the variable at a server where \
        the role may create schemas.
        """
    }
}

private func dropSchema(_ configuration: PostgresStoreConfiguration, _ logger: Logger) async throws {
    try await RequestStore.withPostgres(configuration, pseudonymizer: testPseudonymizer, logger: logger) { store in
        try await store.backEnd.write { try await $0.run("DROP SCHEMA \(configuration.schema) CASCADE", []) }
    }
}

/// Submits `requests` (as `submitter`), records their verification by `verifier` and queues them, each at its
/// own receipt time.
public func submitVerifyAndQueue(
    _ store: RequestStore, _ requests: [ExportRequest], submitter: String = "portal", verifier: String = "agent-7"
) async throws {
    for request in requests {
        let time = request.receivedAt
        try await store.submit(request, actor: submitter, at: time)
        try await store.verify(request.id, by: verifier, at: time)
        try await store.enqueue(request.id, actor: verifier, at: time)
    }
}

/// Queues a request for each (id, scope): portability for a subject, controller transfer for a tenant.
public func queue(_ store: RequestStore, _ scopes: [(String, ExportScope)]) async throws {
    // Received one millisecond apart, in the order given, so that workers claim them in that order.
    let start = Timestamp.now()
    let requests = try scopes.enumerated().map { index, entry in
        ExportRequest(
            id: try RequestID(entry.0), purpose: entry.1.isSubject ? .portability : .controllerTransfer,
            scope: entry.1, receivedAt: Timestamp(millisecondsSince1970: start.millisecondsSince1970 + Int64(index)))
    }
    try await submitVerifyAndQueue(store, requests)
}

/// Records `request` as completed by worker `w`, with an archive of `bytes` written to
/// `folder/handover-<id>.zip` and described (size, SHA-256) as a worker describes what it publishes.
public func completeWithArchive(
    _ store: RequestStore, _ request: ExportRequest, bytes: [UInt8], folder: String, at now: Timestamp
) async throws {
    try await submitVerifyAndQueue(store, [request], submitter: "test", verifier: "test")
    guard try await store.claim(worker: "w", leaseSeconds: 600, at: now)?.request.id == request.id else {
        throw HandoverError(.conflict, "another request was claimed before \(request.id)")
    }
    let name = "handover-\(request.id.rawValue).zip"
    let path = folder + "/" + name
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    let file = ArchiveFile(name: name, bytes: Int64(bytes.count), sha256: SHA256.hash(data: bytes).hexString)
    try await store.complete(
        request.id, worker: "w", archive: path, files: [file], retentionSeconds: 7 * 86_400, at: now)
}
