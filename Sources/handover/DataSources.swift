import HandoverCore
import HandoverSQL
import Logging

/// Where `--db` points: a SQLite file, or a PostgreSQL database by URL (`postgres://…`).
enum DataSourceLocation {
    /// A SQLite database file.
    case sqlite(path: String)

    /// Reads `--db`.
    init(_ text: String) throws {
        self = .sqlite(path: text)
    }

    /// The location for messages (a URL without its password).
    var label: String {
        switch self {
        case .sqlite(let path): path
        }
    }

    /// The exporter `map` describes over this database.
    func exporter(map: DatasetMap, logger: Logger = DatasetMapExporter.silent) async throws -> DatasetMapExporter {
        switch self {
        case .sqlite(let path): try DatasetMapExporter(map: map, databasePath: path, logger: logger)
        }
    }

    /// The database's catalog: tables, columns, keys and indexes.
    func catalog() async throws -> SourceCatalog {
        switch self {
        case .sqlite(let path): try await DatasetSources.sqliteCatalog(path: path)
        }
    }
}
