public import HandoverCore

/// What an import did: `handover import --json` prints it.
public struct ImportReport: Sendable, Codable {
    /// The SHA-256 of the bundle's `manifest.json`, which names the bundle in the ledger.
    public var bundle: String
    /// The request the bundle answers.
    public var request: String
    /// The database (no password).
    public var destination: String
    /// The format rows were read from.
    public var format: String
    /// The bundle's own status: a partial bundle imports as what it holds, and says so here.
    public var status: ExportStatus
    /// Whether the bundle had been imported before, so that nothing was added.
    public var alreadyImported = false
    /// When it was imported first, when ``alreadyImported``.
    public var importedAt: Timestamp?
    /// Each exporter's version, by id, from the manifest.
    public var exporterVersions: [String: String] = [:]
    /// Each table.
    public var tables: [TableReport] = []
    /// Rows loaded.
    public var rows = 0
    /// Bytes of table files read.
    public var bytes: Int64 = 0
    /// Files written (those rows name).
    public var files = 0
    /// Their bytes.
    public var fileBytes: Int64 = 0
    /// Seconds the import took, verification included.
    public var seconds = 0.0
    /// What the import could not carry over as it is (references not declared, …), in words.
    public var notes: [String] = []

    init(bundle: String, request: String, destination: String, format: String, status: ExportStatus) {
        self.bundle = bundle
        self.request = request
        self.destination = destination
        self.format = format
        self.status = status
    }
}

/// One table of an import.
public struct TableReport: Sendable, Codable, Hashable {
    /// The exporter.
    public var exporter: String
    /// The table's name in the bundle.
    public var table: String
    /// Its schema in the database, if any.
    public var schema: String?
    /// Its name in the database.
    public var name: String
    /// Rows loaded.
    public var rows: Int
    /// Its columns.
    public var columns: [Column]
    /// Its primary key.
    public var primaryKey: [String]
    /// Its references to other tables of the import, as `column -> table.column`.
    public var references: [String]

    /// One column.
    public struct Column: Sendable, Codable, Hashable {
        /// Its name.
        public var name: String
        /// How its values are stored.
        public var storage: ColumnStorage
        /// Whether it is NOT NULL.
        public var required: Bool
        /// Whether it names files carried in the bundle (written under the files folder).
        public var namesFiles: Bool
    }

    init(table: PlannedTable, rows: Int) {
        exporter = table.exporter
        self.table = table.schema.name
        schema = table.name.schema
        name = table.name.name
        self.rows = rows
        columns = table.schema.fields.indices.map {
            Column(
                name: table.schema.fields[$0].name, storage: table.storage[$0],
                required: table.schema.fields[$0].required,
                namesFiles: table.fileFields.contains($0))
        }
        primaryKey = table.schema.primaryKey
        references = table.references.map {
            $0.columns.joined(separator: ",") + " -> " + $0.table.description + "."
                + $0.referencedColumns.joined(separator: ",")
        }
    }
}
