import Foundation
import HandoverCore
import HandoverPostgres
import HandoverStore
import Logging
import TestSupport
import Testing

@Suite struct PostgresConfigurationTests {
    @Test func aStoreURLIsParsedIntoItsParts() throws {
        let full = try PostgresStoreConfiguration(
            url: "postgresql://w%40rker:p%3Ass@db.example:6543/hand%20over?schema=requests_eu&sslmode=require")
        #expect(full.username == "w@rker")
        #expect(full.password == "p:ss")
        #expect(full.host == "db.example")
        #expect(full.port == 6543)
        #expect(full.database == "hand over")
        #expect(full.schema == "requests_eu")
        #expect(full.tls == .require)
        #expect(!full.redacted.contains("p:ss") && !full.redacted.contains("p%3Ass"))

        let plain = try PostgresStoreConfiguration(url: "postgres://worker@[::1]/handover")
        #expect(plain.host == "::1" && plain.port == 5432 && plain.password == nil)
        #expect(plain.schema == "handover" && plain.tls == .prefer)
    }

    @Test(arguments: [
        "mysql://u@h/d", "postgres://h/d", "postgres://u@h", "postgres://u@h:99999/d",
        "postgres://u@h/d?schema=Bad-Name",
        "postgres://u@h/d?sslmode=maybe", "postgres://u@h/d?color=blue", "postgres://u:%zz@h/d",
    ])
    func aBadStoreURLIsRefusedWithoutEchoingThePassword(_ url: String) {
        let error = #expect(throws: HandoverError.self) { try PostgresStoreConfiguration(url: url) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("%zz") == false)
    }
}

@Suite struct PostgresConnectionTests {
    var logger: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }

    /// The pool alone would retry for a minute and then report only "ConnectionPoolError".
    @Test func anUnreachableServerFailsAndSaysWhy() async throws {
        let error = await #expect(throws: HandoverError.self) {
            try await RequestStore.withPostgres(
                try PostgresStoreConfiguration(url: "postgres://u:secret@127.0.0.1:1/none?sslmode=disable"),
                pseudonymizer: testPseudonymizer, logger: logger
            ) { _ in }
        }
        #expect(error?.code == .sourceUnavailable)
        #expect(error?.message.contains("cannot reach PostgreSQL at postgres://u@127.0.0.1:1/none") == true)
        #expect(error?.message.contains("Connection refused") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("secret") == false)
    }

    @Test func aWrongPasswordIsNamedAsSuch() async throws {
        var configuration = try PostgresStoreConfiguration(url: testPostgresURL)
        configuration.password = "not-the-password"
        let error = await #expect(throws: HandoverError.self) {
            try await RequestStore.withPostgres(configuration, pseudonymizer: testPseudonymizer, logger: logger) { _ in
            }
        }
        #expect(error?.message.contains("28P01") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("not-the-password") == false)
    }

    @Test func storesInTwoSchemasOfOneDatabaseAreSeparate() async throws {
        try await withStore(.postgres) { first, _ in
            try await withStore(.postgres) { second, _ in
                let request = ExportRequest(
                    id: try RequestID("req-one"), purpose: .controllerTransfer, scope: .tenant("7"), receivedAt: .now())
                try await first.submit(request, actor: "desk", at: .now())
                #expect(try await first.request(request.id) != nil)
                #expect(try await second.request(request.id) == nil)
                try await second.submit(request, actor: "desk", at: .now())
            }
        }
    }
}

/// Without a server, the PostgreSQL-backed tests say what they need instead of a bare connection error.
@Suite struct MissingServerTests {
    @Test func aMissingServerNamesTheVariablesTheTestsReadAndNoPassword() async throws {
        do {
            try await withPostgresStore(serverURL: "postgres://someone:hunter2-secret@127.0.0.1:1/none?sslmode=disable")
            {
                _, _ in
            }
            Issue.record("a store opened where no server listens")
        } catch let error as PostgresServerMissing {
            let text = error.description
            #expect(text.contains("HANDOVER_TEST_POSTGRES_URL") && text.contains("HANDOVER_TEST_POSTGRES_PORT"))
            #expect(text.contains("scripts/start-postgres.sh"))
            #expect(!text.contains("hunter2"), "\(text)")
        }
    }
}
