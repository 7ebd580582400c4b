import Foundation
import HandoverCore
import HandoverPostgres
import HandoverSQL
import Logging

/// Where `--db` points: a SQLite file, or a PostgreSQL database by URL (`postgres://…`).
enum DataSourceLocation {
    /// A SQLite database file.
    case sqlite(path: String)
    /// A PostgreSQL database; the tables are in the URL's `schema` (`public` by default).
    case postgres(PostgresStoreConfiguration)

    /// Reads `--db`: a `postgres://` or `postgresql://` URL, or a file path. A URL without a password takes it
    /// from `PGPASSWORD` or the password file (`PGPASSFILE`, `~/.pgpass`), as libpq does.
    /// - Throws: ``HandoverError/Code/invalidArgument`` when the URL is malformed (never showing its password).
    init(_ text: String) throws {
        let lower = text.prefix(14).lowercased()
        guard lower.hasPrefix("postgres://") || lower.hasPrefix("postgresql://") else {
            self = .sqlite(path: text)
            return
        }
        let configuration = try PostgresStoreConfiguration(url: text, defaultSchema: "public")
        self = .postgres(
            try configuration.resolvingPassword(passwordFile: nil, environment: ProcessInfo.processInfo.environment))
    }

    /// The location for messages (a URL without its password).
    var label: String {
        switch self {
        case .sqlite(let path): path
        case .postgres(let configuration): configuration.redacted
        }
    }

    /// The PostgreSQL schema holding the tables; nil for SQLite.
    var schema: String? {
        switch self {
        case .sqlite: nil
        case .postgres(let configuration): configuration.schema
        }
    }

    /// Whether the database is there to be read: the SQLite file exists (a PostgreSQL server is tried when used).
    var isPresent: Bool {
        switch self {
        case .sqlite(let path): FileManager.default.fileExists(atPath: path)
        case .postgres: true
        }
    }

    /// The exporter `map` describes over this database.
    func exporter(map: DatasetMap, logger: Logger = DatasetMapExporter.silent) async throws -> DatasetMapExporter {
        switch self {
        case .sqlite(let path): try DatasetMapExporter(map: map, databasePath: path, logger: logger)
        case .postgres(let configuration):
            try await DatasetMapExporter.postgres(map: map, configuration: configuration, logger: logger)
        }
    }

    /// The database's catalog: tables, columns, keys and indexes.
    func catalog() async throws -> SourceCatalog {
        switch self {
        case .sqlite(let path): try await DatasetSources.sqliteCatalog(path: path)
        case .postgres(let configuration): try await DatasetSources.postgresCatalog(configuration)
        }
    }
}
