public import Logging

/// Receives the rows an exporter produces.
///
/// The bundle writer implements this; an exporter calls ``write(_:table:)`` once per row, or
/// ``write(rows:table:)`` with several rows of one table, in any order of tables, and may call it from one task at
/// a time only.
public protocol RowSink {
    /// Writes one row.
    /// - Parameters:
    ///   - row: The values, one per field of the table, in field order.
    ///   - table: The table's position in the exporter's ``Exporter/tables``.
    /// - Throws: When the row does not fit its table or cannot be written; the exporter should stop.
    mutating func write(_ row: Row, table: Int) async throws

    /// Writes rows of one table, in order: the same as writing each with ``write(_:table:)``, in one call, so that
    /// a sink that does its work synchronously pays for one suspension point a batch instead of one a row. An
    /// exporter may call either, and mix them. By default, each row is written with ``write(_:table:)``.
    /// - Parameters:
    ///   - rows: The rows, each with a value per field of the table, in field order.
    ///   - table: The table's position in the exporter's ``Exporter/tables``.
    /// - Throws: When a row does not fit its table or cannot be written; the rows before it are written, and the
    ///   exporter should stop.
    mutating func write(rows: [Row], table: Int) async throws

    /// Carries a file that the row last written to `table` names into the bundle (a dataset map's
    /// `file: {root: …}` column). By default a sink takes no files and throws.
    mutating func attach(_ file: ExportFile, table: Int) async throws

    /// Says that every row of `table` has been written, so that its files can be completed (and checked, and
    /// packed) while the exporter goes on with the next table. Optional: a sink completes every table when the
    /// exporter returns. A row for a finished table is refused.
    mutating func finish(table: Int) async throws
}

extension RowSink {
    /// Writes each row with ``write(_:table:)``, in order.
    public mutating func write(rows: [Row], table: Int) async throws {
        for row in rows { try await write(row, table: table) }
    }

    /// Does nothing: the sink completes its tables when the exporter returns.
    public mutating func finish(table: Int) async throws {}

    /// Throws: this sink takes no files.
    public mutating func attach(_ file: ExportFile, table: Int) async throws {
        throw HandoverError(.internalError, "this row sink takes no files (field \(file.field))")
    }
}

/// A file a row names, for the bundle to carry: where it is, or why it cannot be read.
public struct ExportFile: Sendable, Hashable {
    /// The field that names it.
    public var field: String
    /// Its path relative to its root, as the row names it; it becomes its path under
    /// `data/files/<exporter>/<table>/` in the bundle.
    public var path: String
    /// The row's key for messages and the manifest (integer keys in clear, see ``Row/keyDescription(in:)``).
    public var row: String
    /// Where to read it, or why not.
    public var source: Source

    /// Where a file is read from.
    public enum Source: Sendable, Hashable {
        /// A regular file at this absolute path, inside its root, with no symbolic link leading out of it; the file
        /// opened must be this one (device and inode as found), so that a path changed after the check is refused.
        case file(String, device: UInt64, inode: UInt64)
        /// It cannot be read: why, without the path (missing, outside the root, not a regular file, …).
        case unavailable(String)
    }

    /// A file record.
    public init(field: String, path: String, row: String, source: Source) {
        self.field = field
        self.path = path
        self.row = row
        self.source = source
    }
}

/// Turns values that name other people into stable pseudonyms.
///
/// An exporter uses it for columns such as a comment's author, where the subject may see that
/// someone wrote but not who. The same value in the same domain always gives the same pseudonym
/// within one bundle.
public protocol Pseudonymizer: Sendable {
    /// The pseudonym of `value` within `domain` (such as `users`).
    func pseudonym(for value: String, domain: String) -> String
}

/// What an exporter gets besides the scope.
public struct ExportContext: Sendable {
    /// Where the exporter logs (at debug or trace level, never data values).
    public var logger: Logger
    /// Pseudonymises references to other people.
    public var pseudonymizer: any Pseudonymizer
    /// Where the exporter counts the values it repaired instead of failing; the bundle records them and marks the
    /// exporter partial.
    public var repairs: RepairLog

    /// Creates a context with an empty repair log.
    public init(logger: Logger, pseudonymizer: any Pseudonymizer, repairs: RepairLog = RepairLog()) {
        self.logger = logger
        self.pseudonymizer = pseudonymizer
        self.repairs = repairs
    }
}

/// A plug-in that serialises one part of a product's data.
///
/// An exporter declares its tables once and streams, for a scope, the rows that belong to it.
/// It must never emit a row outside the scope: a subject's bundle holds no one else's rows.
public protocol Exporter: Sendable {
    /// A stable identifier, used as the folder name of its files (see ``Identifier/isValidExporterID(_:)``).
    var id: String { get }
    /// The exporter's version, recorded in the manifest.
    var version: String { get }
    /// The tables this exporter writes.
    var tables: [TableSchema] { get }

    /// Streams every row within `scope` into `sink`.
    /// - Parameters:
    ///   - scope: Whose data.
    ///   - sink: Where the rows go.
    ///   - context: Logger and pseudonymizer.
    /// - Throws: ``HandoverError`` when the source fails or holds data that breaks a declaration.
    func export(_ scope: ExportScope, into sink: inout some RowSink, context: ExportContext) async throws

    /// Whether table number `table` belongs in exports of `scope`.
    ///
    /// A table that is not included gets no file: a tenant export leaves out tables the tenant
    /// does not control, a subject export tables that hold nothing about any one person.
    func includes(table: Int, in scope: ExportScope) -> Bool

    /// How many rows each table (by position) will hold for `scope`, where that is cheap to know; for progress.
    func estimatedRows(in scope: ExportScope) async throws -> [Int: Int]
}

extension Exporter {
    /// Every table belongs in every scope unless the exporter says otherwise.
    public func includes(table: Int, in scope: ExportScope) -> Bool { true }

    /// No estimates unless the exporter gives them.
    public func estimatedRows(in scope: ExportScope) async throws -> [Int: Int] { [:] }
}

/// How far an export has come; reported to ``ExportProgressObserver``s.
public struct ExportProgress: Sendable {
    /// What the export is doing.
    public enum Phase: String, Sendable {
        /// Reading rows from an exporter and writing them.
        case exporting
        /// Checking a written file against its schema.
        case validating
        /// Writing the archive.
        case packing
        /// Done.
        case finished
    }

    /// What the export is doing.
    public var phase: Phase
    /// The exporter concerned.
    public var exporter: String
    /// The table or file concerned.
    public var item: String
    /// Rows written so far for this table.
    public var rows: Int
    /// The rows this table will hold, when known.
    public var total: Int?

    /// Creates a report.
    public init(phase: Phase, exporter: String, item: String, rows: Int, total: Int?) {
        self.phase = phase
        self.exporter = exporter
        self.item = item
        self.rows = rows
        self.total = total
    }
}

/// Receives progress reports; called often, from the exporting task, so it must return quickly.
public typealias ExportProgressObserver = @Sendable (ExportProgress) -> Void

/// The exporters that one export runs, in the order they were registered.
public struct ExporterRegistry: Sendable {
    /// The registered exporters.
    public private(set) var exporters: [any Exporter] = []

    /// Ids no exporter may take, because the bundle's own folders use them (`data/schemas/`).
    public static let reservedIDs: Set<String> = ["schemas"]

    /// Creates an empty registry.
    public init() {}

    /// Creates a registry holding `exporters`.
    /// - Throws: As ``register(_:)``.
    public init(_ exporters: [any Exporter]) throws {
        for exporter in exporters { try register(exporter) }
    }

    /// Adds an exporter after checking its id and table declarations.
    /// - Throws: ``HandoverError/Code/invalidSchema`` for a bad or duplicate id or table.
    public mutating func register(_ exporter: any Exporter) throws {
        guard Identifier.isValidExporterID(exporter.id) else {
            throw HandoverError(
                .invalidSchema, "exporter id '\(exporter.id.prefix(64))' is not valid: use a-z, 0-9, '_' and '-'")
        }
        guard !ExporterRegistry.reservedIDs.contains(exporter.id) else {
            throw HandoverError(
                .invalidSchema, "exporter id \(exporter.id) is reserved: the bundle uses data/\(exporter.id)/ itself")
        }
        guard !exporters.contains(where: { $0.id == exporter.id }) else {
            throw HandoverError(.invalidSchema, "exporter \(exporter.id) is registered twice")
        }
        var names = Set<String>()
        for table in exporter.tables {
            try table.validate()
            guard names.insert(table.name).inserted else {
                throw HandoverError(.invalidSchema, "exporter \(exporter.id) declares table \(table.name) twice")
            }
        }
        exporters.append(exporter)
    }
}
