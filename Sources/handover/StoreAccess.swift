import ArgumentParser
import Foundation
import HandoverBundle
import HandoverCore
import HandoverPostgres
import HandoverStore
import Logging

/// Where the request store is, as `--store` names it.
enum StoreLocation {
    /// A SQLite file: `sqlite:PATH`, or a bare path.
    case sqlite(String)
    /// A PostgreSQL database: `postgres://…` or `postgresql://…`.
    case postgres(PostgresStoreConfiguration)

    /// Parses `--store`; a PostgreSQL store's password comes from `passwordFile`, the URL, `PGPASSWORD` or the
    /// `.pgpass` file, in that order.
    init(parsing text: String, passwordFile: String? = nil) throws {
        if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            self = .postgres(
                try PostgresStoreConfiguration(url: text).resolvingPassword(
                    passwordFile: passwordFile, environment: ProcessInfo.processInfo.environment))
            return
        }
        guard passwordFile == nil else {
            throw HandoverError(.invalidArgument, "--store-password-file is for a PostgreSQL store")
        }
        if text.hasPrefix("sqlite:") {
            let path = String(text.dropFirst("sqlite:".count))
            guard !path.isEmpty else { throw HandoverError(.invalidArgument, "give a file after sqlite:") }
            self = .sqlite(path)
        } else if text.contains("://") {
            throw HandoverError(.invalidArgument, "a store is sqlite:PATH or postgres://USER:PASSWORD@HOST/DATABASE")
        } else {
            self = .sqlite(text)
        }
    }

    /// Opens the store for the length of `body`.
    func withStore<T: Sendable>(
        pseudonymizer: any Pseudonymizer, logger: Logger, _ body: (RequestStore) async throws -> T
    ) async throws -> T {
        switch self {
        case .sqlite(let path):
            return try await body(try RequestStore.sqlite(path: path, pseudonymizer: pseudonymizer))
        case .postgres(let configuration):
            return try await RequestStore.withPostgres(
                configuration, pseudonymizer: pseudonymizer, logger: logger, body)
        }
    }
}

/// The `--store` option and what comes with it.
struct StoreOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The request store: sqlite:PATH (created when missing) or postgres://USER:PASSWORD@HOST:PORT/DATABASE.",
            discussion: """
                A PostgreSQL URL may add ?schema=NAME (default handover), \
                sslmode=disable|prefer|require|verify-ca|verify-full (default prefer on loopback, require elsewhere), \
                sslrootcert=PATH and plaintext_password=allow. Keep the password out of the URL (it shows in ps): \
                use --store-password-file, PGPASSWORD or ~/.pgpass.
                """,
            valueName: "store"))
    var store: String

    @Option(
        name: .long,
        help: ArgumentHelp(
            "A file holding the PostgreSQL store's password on its first line (mode 600 or stricter).",
            valueName: "file"))
    var storePasswordFile: String?

    @Option(name: .long, help: "Who is acting, for the audit log.")
    var actor = NSUserName()

    @Option(
        name: .long,
        help: """
            The pseudonym key file (as for export), which makes the subject's key in the audit log; default \
            $HANDOVER_PSEUDONYM_KEY_FILE or ~/.config/handover/pseudonym.key.
            """)
    var pseudonymKeyFile: String?

    /// Opens the store for the length of `body`, with `pseudonymizer` when the caller has loaded it already,
    /// otherwise with the one `--pseudonym-key-file` names.
    func withStore<T: Sendable>(
        pseudonymizer: KeyedPseudonymizer? = nil, logger: Logger, _ body: (RequestStore) async throws -> T
    ) async throws -> T {
        let location = try StoreLocation(parsing: store, passwordFile: storePasswordFile)
        let pseudonymizer = try pseudonymizer ?? loadPseudonymizer(pseudonymKeyFile)
        return try await location.withStore(pseudonymizer: pseudonymizer, logger: logger, body)
    }
}
