public import HandoverCore

/// How one field's values are stored in the database an import writes.
public enum ColumnStorage: String, Sendable, Hashable, Codable {
    /// Text.
    case text
    /// A 64-bit integer.
    case integer
    /// A double-precision number: every value of the field is a double as Handover writes one.
    case double
    /// An exact decimal (PostgreSQL `numeric`; text in SQLite): every value is a plain decimal.
    case decimal
    /// Numbers of both kinds in one field (exact decimals and doubles in exponent form, which only SQLite's
    /// dynamic types produce): kept as their text.
    case numberText
    /// A boolean.
    case boolean
    /// A calendar date.
    case date
    /// An instant (UTC, to the microsecond).
    case datetime
    /// Bytes.
    case binary

    /// The field type the stored values are exported as again.
    public var fieldType: FieldType {
        switch self {
        case .text: .string
        case .integer: .integer
        case .double, .decimal, .numberText: .number
        case .boolean: .boolean
        case .date: .date
        case .datetime: .datetime
        case .binary: .binary
        }
    }
}

/// A table's name in the database: a schema (PostgreSQL; nil for SQLite's main database) and a name.
public struct TableName: Sendable, Hashable, CustomStringConvertible {
    /// The schema, or nil.
    public var schema: String?
    /// The table's name.
    public var name: String

    /// Creates a name.
    public init(schema: String?, name: String) {
        self.schema = schema
        self.name = name
    }

    /// `schema.name` or `name`, unquoted, for messages.
    public var description: String { schema.map { $0 + "." + name } ?? name }

    /// The name quoted for SQL: `"schema"."name"`.
    public var quoted: String { (schema.map { quote($0) + "." } ?? "") + quote(name) }
}

/// An identifier quoted for SQL, inner quotes doubled.
package func quote(_ identifier: String) -> String {
    "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}

/// One column of a table an import creates.
public struct DestinationColumn: Sendable, Hashable {
    /// Its name (the field's).
    public var name: String
    /// How its values are stored.
    public var storage: ColumnStorage
    /// Whether nulls are refused.
    public var notNull: Bool
}

/// A reference a table an import creates declares, to the primary key of another table of the same import.
public struct DestinationReference: Sendable, Hashable {
    /// The referencing columns.
    public var columns: [String]
    /// The referenced table.
    public var table: TableName
    /// The referenced columns: the referenced table's primary key.
    public var referencedColumns: [String]
}

/// A table as an import creates it.
public struct DestinationTable: Sendable, Hashable {
    /// The referencing columns of each reference that lead no index (the primary key's leading columns do),
    /// for an index of their own.
    public var unindexedReferences: [[String]] {
        var seen: [[String]] = []
        for reference in references
        where Array(primaryKey.prefix(reference.columns.count)) != reference.columns
            && !seen.contains(reference.columns)
        {
            seen.append(reference.columns)
        }
        return seen
    }

    /// Its name.
    public var name: TableName
    /// Its columns, in the order of the bundle's fields.
    public var columns: [DestinationColumn]
    /// Its primary key; empty for none.
    public var primaryKey: [String]
    /// Its references (foreign keys), checked when the import commits.
    public var references: [DestinationReference]
}

/// The shape of a table already in the database: enough to tell whether it is the one an import would create.
public struct ExistingTable: Sendable, Hashable {
    /// Each column's name, the type the database declares (as the destination names it), and whether it is NOT NULL.
    public var columns: [(name: String, type: String, notNull: Bool)]
    /// Its primary key columns, in order.
    public var primaryKey: [String]

    /// Creates a shape.
    public init(columns: [(name: String, type: String, notNull: Bool)], primaryKey: [String]) {
        self.columns = columns
        self.primaryKey = primaryKey
    }

    /// Whether two shapes are the same: column names, types and NOT NULL in order, and the primary key.
    public static func == (lhs: ExistingTable, rhs: ExistingTable) -> Bool {
        lhs.primaryKey == rhs.primaryKey && lhs.columns.count == rhs.columns.count
            && zip(lhs.columns, rhs.columns).allSatisfy {
                $0.name == $1.name && $0.type == $1.type && $0.notNull == $1.notNull
            }
    }

    /// Hashes what ``==`` compares.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(primaryKey)
        for column in columns {
            hasher.combine(column.name)
            hasher.combine(column.type)
            hasher.combine(column.notNull)
        }
    }
}

/// One row of the import ledger (`handover_imports`), which makes an import idempotent.
public struct LedgerEntry: Sendable, Hashable, Codable {
    /// The SHA-256 of the bundle's `manifest.json` (which lists every file's SHA-256): the bundle's identity.
    public var bundle: String
    /// The request the bundle answers.
    public var requestID: String
    /// `subject` or `tenant`.
    public var scope: String
    /// The tenant the bundle names, if any.
    public var tenant: String?
    /// The manifest's format version.
    public var manifestVersion: String
    /// The format the rows were read from.
    public var format: String
    /// When it was imported.
    public var importedAt: Timestamp
    /// Tables created or filled.
    public var tables: Int
    /// Rows loaded.
    public var rows: Int

    /// Creates an entry.
    public init(
        bundle: String, requestID: String, scope: String, tenant: String?, manifestVersion: String, format: String,
        importedAt: Timestamp, tables: Int, rows: Int
    ) {
        self.bundle = bundle
        self.requestID = requestID
        self.scope = scope
        self.tenant = tenant
        self.manifestVersion = manifestVersion
        self.format = format
        self.importedAt = importedAt
        self.tables = tables
        self.rows = rows
    }

    /// The ledger table's name.
    public static let tableName = "handover_imports"
}

/// Pulls the rows of one table file, one at a time; used by one task at a time.
public protocol ImportRowSource: AnyObject {
    /// The next row, in the order of the table's columns; nil at the end. Reading blocks (a file, an archive).
    func next() throws -> Row?
}

/// A database an import writes into.
public protocol ImportDestination: Sendable {
    /// The database, for messages (no password).
    var label: String { get }
    /// Whether tables may be put into a schema per exporter (PostgreSQL) rather than named `<exporter>_<table>`.
    var supportsSchemas: Bool { get }
    /// The schema tables go into when they are named `<exporter>_<table>`; nil for SQLite.
    var defaultSchema: String? { get }
    /// The longest identifier the database keeps, in bytes.
    var maximumIdentifierLength: Int { get }
    /// The type the destination declares for a column of `storage`, as ``ExistingTable`` reports it.
    func declaredType(_ storage: ColumnStorage) -> String

    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    func withTransaction<T: Sendable>(_ body: (any ImportSession) async throws -> T) async throws -> T
}

/// One transaction of an import.
public protocol ImportSession {
    /// The ledger entry of the bundle whose manifest has SHA-256 `bundle`, or nil when it was never imported.
    func ledgerEntry(bundle: String, schema: String?) async throws -> LedgerEntry?
    /// The shape of `table`, or nil when there is no such table.
    func existingTable(_ table: TableName) async throws -> ExistingTable?
    /// Creates a schema, if it does not exist.
    func createSchema(_ name: String) async throws
    /// Creates `tables`; their references take effect by ``finish(created:loaded:)`` at the latest.
    func create(_ tables: [DestinationTable]) async throws
    /// Loads every row `rows` gives into `table`; returns how many.
    func load(_ table: DestinationTable, rows: any ImportRowSource) async throws -> Int
    /// After every row is loaded: makes the references of the tables `created` hold (declaring them, or checking
    /// them in one pass, as a bulk load does rather than row by row) and indexes their referencing columns; checks
    /// the references of the tables `loaded` that stood there before.
    /// - Throws: ``HandoverError/Code/invalidData`` naming the table whose rows refer to rows that are not there.
    func finish(created: [DestinationTable], loaded: [DestinationTable]) async throws
    /// Records the import in the ledger (creating it when needed) in schema `schema`.
    func record(_ entry: LedgerEntry, schema: String?) async throws
}
