/// Handover's `manifest.json`: what a bundle holds and how to check it.
///
/// Its JSON Schema is `Schemas/manifest.schema.json`. It never says complete when something failed.
public struct Manifest: Sendable, Codable, Hashable {
    /// The version of this document's format.
    public static let formatVersion = "1.2"

    /// The format version this manifest follows.
    public var manifestVersion: String
    /// The request the bundle answers.
    public var request: RequestRecord
    /// When the bundle was generated.
    public var generatedAt: Timestamp
    /// What generated it.
    public var generator: Generator
    /// Complete only when every exporter completed.
    public var status: ExportStatus
    /// The number of records over all tables, each table counted once whatever its formats.
    public var records: Int
    /// Every exporter that ran.
    public var exporters: [ExporterRecord]
    /// Every payload file.
    public var files: [FileRecord]
    /// Every schema file, which the payload files name.
    public var schemas: [SchemaRecord]
    /// Other payload files: the human-readable `data/index.html`.
    public var documents: [DocumentRecord]
    /// The files rows name (recordings, documents), carried into the bundle; nil when none.
    public var contents: [ContentRecord]?
    /// How many archive parts the bundle was written in, when it was split.
    public var parts: Int?
    /// Whether the CSV files' string cells are guarded against spreadsheet formulas (a leading `'` on cells that
    /// begin with `=`, `+`, `-`, `@`, a tab or a carriage return); nil in a bundle without CSV files.
    public var csvFormulaGuard: Bool?

    /// Creates a manifest.
    public init(
        request: RequestRecord, generatedAt: Timestamp, generator: Generator, exporters: [ExporterRecord],
        files: [FileRecord], schemas: [SchemaRecord] = [], documents: [DocumentRecord] = [], parts: Int? = nil
    ) {
        self.documents = documents
        self.parts = parts
        self.manifestVersion = Manifest.formatVersion
        self.request = request
        self.generatedAt = generatedAt
        self.generator = generator
        self.exporters = exporters
        self.files = files
        self.schemas = schemas
        self.status = ExportStatus.combined(exporters.map(\.status))
        self.records = exporters.reduce(0) { $0 + $1.tables.reduce(0) { $0 + $1.records } }
    }

    /// The request as the manifest records it: the subject only as a pseudonym.
    public struct RequestRecord: Sendable, Codable, Hashable {
        /// The request id.
        public var id: RequestID
        /// The legal ground.
        public var purpose: Purpose
        /// When it was received.
        public var receivedAt: Timestamp
        /// Whose data.
        public var scope: ScopeRecord

        /// Creates a record.
        public init(id: RequestID, purpose: Purpose, receivedAt: Timestamp, scope: ScopeRecord) {
            self.id = id
            self.purpose = purpose
            self.receivedAt = receivedAt
            self.scope = scope
        }
    }

    /// The scope as recorded: the subject's key is pseudonymised, never in clear.
    public struct ScopeRecord: Sendable, Codable, Hashable {
        /// `subject` or `tenant`.
        public var kind: String
        /// The tenant, if the scope names one.
        public var tenant: String?
        /// For a subject: the column the subject was selected by.
        public var subjectColumn: String?
        /// For a subject: a keyed pseudonym of the selecting value.
        public var subjectPseudonym: String?

        /// Creates a record.
        public init(kind: String, tenant: String?, subjectColumn: String?, subjectPseudonym: String?) {
            self.kind = kind
            self.tenant = tenant
            self.subjectColumn = subjectColumn
            self.subjectPseudonym = subjectPseudonym
        }
    }

    /// The program that generated the bundle.
    public struct Generator: Sendable, Codable, Hashable {
        /// Its name.
        public var name: String
        /// Its version.
        public var version: String

        /// Creates a record.
        public init(name: String, version: String) {
            self.name = name
            self.version = version
        }
    }

    /// One exporter's outcome.
    public struct ExporterRecord: Sendable, Codable, Hashable {
        /// The exporter's id.
        public var id: String
        /// The exporter's version.
        public var version: String
        /// How it ended.
        public var status: ExportStatus
        /// Why it did not complete, without data values.
        public var reason: String?
        /// The values it repaired instead of failing (a dataset map's `on-invalid: replace`); nil when none.
        public var repairs: [Repair]?
        /// The files its rows name that are not in the bundle (`--missing-files record`); nil when none.
        public var missingFiles: [MissingFile]?
        /// The tables it wrote and how many records each holds.
        public var tables: [TableRecord]

        /// Creates a record.
        public init(id: String, version: String, status: ExportStatus, reason: String? = nil, tables: [TableRecord]) {
            self.id = id
            self.version = version
            self.status = status
            self.reason = reason
            self.tables = tables
        }
    }

    /// One table's record count.
    public struct TableRecord: Sendable, Codable, Hashable {
        /// The table's name.
        public var name: String
        /// The rows written.
        public var records: Int

        /// Creates a record.
        public init(name: String, records: Int) {
            self.name = name
            self.records = records
        }
    }

    /// One payload file.
    public struct FileRecord: Sendable, Codable, Hashable {
        /// Its path inside the bundle, relative to the bundle's root folder.
        public var path: String
        /// Its media type, such as `text/csv`.
        public var mediaType: String
        /// `json`, `csv` or `xml`.
        public var format: String
        /// The exporter that wrote it.
        public var exporter: String
        /// The table it holds.
        public var table: String
        /// How many rows it holds.
        public var records: Int
        /// Its size in bytes.
        public var bytes: Int64
        /// Its SHA-256 in lowercase hexadecimal.
        public var sha256: String
        /// The path of the schema it validates against.
        public var schema: String?
        /// The archive part that holds it, from 1, when the bundle was split.
        public var part: Int?

        /// Creates a record.
        public init(
            path: String, mediaType: String, format: String, exporter: String, table: String, records: Int,
            bytes: Int64, sha256: String, schema: String? = nil
        ) {
            self.schema = schema
            self.path = path
            self.mediaType = mediaType
            self.format = format
            self.exporter = exporter
            self.table = table
            self.records = records
            self.bytes = bytes
            self.sha256 = sha256
        }
    }
}

extension Manifest {
    /// One schema file.
    public struct SchemaRecord: Sendable, Codable, Hashable {
        /// Its path inside the bundle.
        public var path: String
        /// Its media type.
        public var mediaType: String
        /// `json-schema`, `xsd` or `table-schema`.
        public var kind: String
        /// The exporter whose table it describes.
        public var exporter: String
        /// The table it describes.
        public var table: String
        /// Its size in bytes.
        public var bytes: Int64
        /// Its SHA-256 in lowercase hexadecimal.
        public var sha256: String
        /// The archive part that holds it, from 1, when the bundle was split.
        public var part: Int?

        /// Creates a record.
        public init(
            path: String, mediaType: String, kind: String, exporter: String, table: String, bytes: Int64, sha256: String
        ) {
            self.path = path
            self.mediaType = mediaType
            self.kind = kind
            self.exporter = exporter
            self.table = table
            self.bytes = bytes
            self.sha256 = sha256
        }
    }
}

extension Manifest {
    /// A payload file that is neither a table nor a schema, such as `data/index.html`.
    public struct DocumentRecord: Sendable, Codable, Hashable {
        /// Its path inside the bundle.
        public var path: String
        /// Its media type.
        public var mediaType: String
        /// Its size in bytes.
        public var bytes: Int64
        /// Its SHA-256 in lowercase hexadecimal.
        public var sha256: String
        /// The archive part that holds it, from 1, when the bundle was split.
        public var part: Int?

        /// Creates a record.
        public init(path: String, mediaType: String, bytes: Int64, sha256: String, part: Int? = nil) {
            self.path = path
            self.mediaType = mediaType
            self.bytes = bytes
            self.sha256 = sha256
            self.part = part
        }
    }

    /// One file a row names, carried into the bundle under `data/files/<exporter>/<table>/`.
    public struct ContentRecord: Sendable, Codable, Hashable {
        /// Its path inside the bundle.
        public var path: String
        /// Its media type, from its name's extension.
        public var mediaType: String
        /// Its size in bytes.
        public var bytes: Int64
        /// Its SHA-256 in lowercase hexadecimal.
        public var sha256: String
        /// The exporter whose row names it.
        public var exporter: String
        /// The table.
        public var table: String
        /// The field that names it.
        public var field: String
        /// The key of the (first) row that names it, integer keys in clear (see ``Row/keyDescription(in:)``).
        public var row: String
        /// The archive part that holds it, from 1, when the bundle was split.
        public var part: Int?

        /// Creates a record.
        public init(
            path: String, mediaType: String, bytes: Int64, sha256: String, exporter: String, table: String,
            field: String, row: String, part: Int? = nil
        ) {
            self.path = path
            self.mediaType = mediaType
            self.bytes = bytes
            self.sha256 = sha256
            self.exporter = exporter
            self.table = table
            self.field = field
            self.row = row
            self.part = part
        }
    }

    /// A file a row names that is not in the bundle (`--missing-files record`), and why.
    public struct MissingFile: Sendable, Codable, Hashable {
        /// The table.
        public var table: String
        /// The field that names it.
        public var field: String
        /// The row's key (integer keys in clear).
        public var row: String
        /// Why it is missing, without the path (which may be personal data).
        public var reason: String

        /// Creates a record.
        public init(table: String, field: String, row: String, reason: String) {
            self.table = table
            self.field = field
            self.row = row
            self.reason = reason
        }
    }

    /// Every payload file (tables, schemas, documents, contents) as path, size and SHA-256.
    public var payload: [(path: String, bytes: Int64, sha256: String, part: Int?)] {
        files.map { ($0.path, $0.bytes, $0.sha256, $0.part) } + schemas.map { ($0.path, $0.bytes, $0.sha256, $0.part) }
            + documents.map { ($0.path, $0.bytes, $0.sha256, $0.part) }
            + (contents ?? []).map { ($0.path, $0.bytes, $0.sha256, $0.part) }
    }
}

/// How an exporter, or a whole export, ended.
public enum ExportStatus: String, Sendable, Codable, Hashable {
    /// Every row was written.
    case complete
    /// Some rows were written, not all.
    case partial
    /// Nothing usable was written.
    case failed

    /// The status of a whole made of parts: complete only when every part is.
    public static func combined(_ parts: [ExportStatus]) -> ExportStatus {
        if parts.allSatisfy({ $0 == .complete }) { return .complete }
        if parts.allSatisfy({ $0 == .failed }) { return .failed }
        return .partial
    }
}
