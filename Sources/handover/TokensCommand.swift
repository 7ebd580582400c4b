import ArgumentParser
import Foundation
import HandoverCore
import HandoverStore

/// `handover tokens`: bearer tokens for `handover serve`.
struct TokensCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokens",
        abstract: "Create, list and revoke the bearer tokens of `handover serve`.",
        discussion: """
            An operator token can do everything; a tenant token sees and acts on its own tenant's requests only. \
            The store keeps only a token's SHA-256: the token itself is printed once, when it is created.
            """,
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create",
            abstract: "Make a token and print it once (on standard output; with --json, as a JSON object).")

        @OptionGroup var store: StoreOptions

        @Flag(name: .long, help: "An operator token (every request, every action).")
        var `operator` = false

        @Option(name: .long, help: "A tenant token: this tenant's requests only.")
        var tenant: String?

        @Option(name: .long, help: "A name for people, such as acme-export-bot.")
        var name: String

        @Option(name: .long, help: "How long the token works, such as 90d; by default until revoked.")
        var expires: String?

        @OptionGroup var common: CommonOptions

        func validate() throws {
            guard `operator` != (tenant != nil) else {
                throw ValidationError("Give either --operator or --tenant ID.")
            }
        }

        func run() async throws {
            let logger = common.makeLogger()
            let created = try await reportingErrors {
                let now = Timestamp.now()
                let expiresAt = try expires.map { now.adding(seconds: try parseDuration($0)) }
                return try await store.withStore(logger: logger) { requests in
                    try await requests.createToken(
                        name: name, kind: tenant.map { .tenant($0) } ?? .operator, expiresAt: expiresAt, at: now)
                }
            }
            if common.json {
                try printJSON(TokenJSON(created.token, secret: created.secret))
            } else {
                print(created.secret)
                if !common.quiet {
                    printNote("token \(created.token.id) (\(safe(created.token.name))): shown once, keep it safe")
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List the tokens (never a token itself).")

        @OptionGroup var store: StoreOptions
        @OptionGroup var common: CommonOptions

        func run() async throws {
            let logger = common.makeLogger()
            let tokens = try await reportingErrors {
                try await store.withStore(logger: logger) { try await $0.tokens() }
            }
            if common.json {
                try printJSON(tokens.map { TokenJSON($0, secret: nil) })
                return
            }
            for token in tokens {
                let kind = token.kind.tenant.map { "tenant " + safe($0) } ?? "operator"
                let state =
                    token.revokedAt != nil
                    ? "revoked" : token.isValid(at: .now()) ? "valid" : "expired"
                print(
                    "\(token.id)  \(safe(token.name))  \(kind)  \(state)  created \(token.createdAt.iso8601)"
                        + (token.expiresAt.map { "  expires \($0.iso8601)" } ?? ""))
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "revoke",
            abstract: "Revoke a token by id: it stops working at once, and its page sessions end.")

        @OptionGroup var store: StoreOptions

        @Argument(help: "The token's id (as `tokens list` shows it).")
        var id: String

        @OptionGroup var common: CommonOptions

        func run() async throws {
            let logger = common.makeLogger()
            try await reportingErrors {
                try await store.withStore(logger: logger) { try await $0.revokeToken(id, at: .now()) }
            }
            if !common.quiet { printNote("token \(safe(id)) revoked") }
        }
    }
}

/// A token as `tokens --json` prints it; `token` only when it has just been created.
struct TokenJSON: Encodable {
    var id: String
    var name: String
    var kind: String
    var tenant: String?
    var createdAt: String
    var expiresAt: String?
    var revokedAt: String?
    var token: String?

    init(_ token: AccessToken, secret: String?) {
        id = token.id
        name = token.name
        kind = token.kind.tenant == nil ? "operator" : "tenant"
        tenant = token.kind.tenant
        createdAt = token.createdAt.iso8601
        expiresAt = token.expiresAt?.iso8601
        revokedAt = token.revokedAt?.iso8601
        self.token = secret
    }
}
