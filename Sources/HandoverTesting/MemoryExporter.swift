public import HandoverCore

/// An exporter over rows held in memory, for testing code around exporters (a fulfiller, a pipeline, a
/// dashboard) without a database, and for writing the expectations of an exporter of one's own.
///
/// Rows are given per table; ``belongs`` decides which rows a scope covers, as a real exporter's queries do.
/// A row outside the scope is never emitted.
public struct MemoryExporter: Exporter {
    /// The exporter's id.
    public var id: String
    /// The exporter's version.
    public var version: String
    /// The declared tables.
    public var tables: [TableSchema]
    /// The rows of each table, by table name, in the order they are emitted.
    public var rows: [String: [Row]]
    /// Whether a row of a table (by name) belongs to a scope.
    public var belongs: @Sendable (ExportScope, String, Row) -> Bool

    /// An exporter emitting `rows` of `tables` for the scopes `belongs` says they belong to.
    /// - Parameters:
    ///   - id: The exporter's id (see ``Identifier/isValidExporterID(_:)``).
    ///   - version: The exporter's version.
    ///   - tables: The declared tables.
    ///   - rows: The rows of each table, by table name.
    ///   - belongs: Whether a row of a table belongs to a scope; by default every row belongs to every scope.
    public init(
        id: String, version: String = "1", tables: [TableSchema], rows: [String: [Row]],
        belongs: @escaping @Sendable (ExportScope, String, Row) -> Bool = { _, _, _ in true }
    ) {
        self.id = id
        self.version = version
        self.tables = tables
        self.rows = rows
        self.belongs = belongs
    }

    /// Emits, table by table, the rows that belong to `scope`.
    /// - Throws: What the sink throws.
    public func export(_ scope: ExportScope, into sink: inout some RowSink, context: ExportContext) async throws {
        for (index, table) in tables.enumerated() {
            for row in rows[table.name] ?? [] where belongs(scope, table.name, row) {
                try await sink.write(row, table: index)
            }
        }
    }

    /// How many rows of each table belong to `scope`.
    public func estimatedRows(in scope: ExportScope) async throws -> [Int: Int] {
        var counts: [Int: Int] = [:]
        for (index, table) in tables.enumerated() {
            counts[index] = (rows[table.name] ?? []).filter { belongs(scope, table.name, $0) }.count
        }
        return counts
    }
}
