public import HandoverCore
public import Logging

/// An exporter described by a ``DatasetMap`` over one database: a SQLite file here, PostgreSQL through
/// `HandoverPostgres`.
///
/// Creating one checks the map against the database's catalog: every table, column, reference and path must
/// exist. An export reads every table in one read-only transaction, so the bundle is one consistent snapshot,
/// and binds every value as a query parameter.
public struct DatasetMapExporter: Exporter {
    /// The exporter's id, from the map.
    public var id: String { map.exporter.id }
    /// The exporter's version, from the map.
    public var version: String { map.exporter.version }
    /// The declared tables.
    public let tables: [TableSchema]

    /// The map this exporter follows.
    public let map: DatasetMap
    /// The database, for messages: a file path, or a URL without its password.
    public var sourceLabel: String { source.label }
    let source: any DatasetSource
    let plans: [TablePlan]
    let subjectPlan: SubjectPlan?
    let tenantPlan: TenantPlan?
    /// Columns that a subject or tenant lookup needs but that lead no index, as `table.column`.
    public let unindexedLookups: [String]
    let unindexedForSubjects: [String]
    let unindexedForTenants: [String]
    /// For every mapped table, in the map's order: the columns it exports without naming them, and the columns
    /// whose names look like secrets, withheld or named.
    public let columnFindings: [ColumnFindings]
    /// References the map declares that no foreign key of the database backs, as `table.column → table.column`
    /// (source names): the database does not keep them consistent, so a path through them may reach rows of no one.
    public let referencesWithoutForeignKey: [String]
    /// Where the exporter's own debug messages go outside an export (row estimates); during an export they go
    /// to the export context's logger.
    public let logger: Logger

    /// Checks `map` against the SQLite database at `databasePath` and prepares the queries.
    /// - Throws: ``HandoverError/Code/sourceUnavailable`` when the database cannot be opened,
    ///   ``HandoverError/Code/invalidDatasetMap`` naming what does not match and where it stands in the map.
    /// - Parameters:
    ///   - map: The dataset map.
    ///   - databasePath: The SQLite database the map describes.
    ///   - logger: Where debug messages outside an export go; by default nowhere.
    public init(map: DatasetMap, databasePath: String, logger: Logger = DatasetMapExporter.silent) throws {
        let source = SQLiteSource(path: databasePath)
        try self.init(map: map, source: source, catalog: try source.readCatalog(), logger: logger)
    }

    /// Checks `map` against `catalog`, read from `source`, and prepares the queries.
    /// - Throws: ``HandoverError/Code/invalidDatasetMap`` naming what does not match and where it stands.
    package init(map: DatasetMap, source: any DatasetSource, catalog: SourceCatalog, logger: Logger) throws {
        self.map = map
        self.logger = logger
        self.source = source
        let compiled = try MapCompiler(map: map, catalog: catalog, dialect: source.dialect).compile()
        self.plans = compiled.plans
        self.tables = compiled.plans.map(\.schema)
        self.subjectPlan = compiled.subject
        self.tenantPlan = compiled.tenant
        self.unindexedLookups = compiled.unindexed
        self.unindexedForSubjects = compiled.unindexedForSubjects
        self.unindexedForTenants = compiled.unindexedForTenants
        self.columnFindings = compiled.columnFindings
        self.referencesWithoutForeignKey = compiled.referencesWithoutForeignKey
    }

    /// The `matches` comparisons where many rows share one value, so that whoever holds that value receives them
    /// all: in the compared column of the table (at least `threshold` rows with one value), and in the subject
    /// table's column (one value held by more than one subject). Blank values are counted apart: they match no one.
    ///
    /// Reads whole columns (`GROUP BY`); meant for `handover map check`, not for every export.
    /// - Parameter threshold: How many rows sharing one value count as many.
    /// - Throws: ``HandoverError/Code/sourceUnavailable`` or ``HandoverError/Code/sourceFailed``.
    public func sharedMatchValues(threshold: Int = 10) async throws -> [SharedMatchValue] {
        guard let subjectPlan else { return [] }
        // The same scalars SubjectSelector.isBlank allows, so that what is counted blank is what matches no one.
        var blankCharacters = ""
        for value in SubjectSelector.blankScalars.sorted() {
            if let scalar = Unicode.Scalar(value) { blankCharacters.unicodeScalars.append(scalar) }
        }
        let dialect = source.dialect
        let plans = self.plans
        return try await source.withSession(snapshot: true) { session in
            /// The largest group of rows sharing one non-blank value, and the blank rows, of `table.column`.
            func counts(_ table: String, _ column: String) async throws -> (largest: Int, blank: Int) {
                let value = "t0." + quoted(column)
                let blankTest = dialect.trimFunction + "(" + dialect.text(value) + ", ?) = ''"
                let largestSQL =
                    "SELECT count(*) AS n FROM " + quoted(table) + " AS t0 WHERE " + value + " IS NOT NULL AND NOT ("
                    + blankTest + ") GROUP BY " + value + " ORDER BY n DESC LIMIT 1"
                let largest = try await session.rows(largestSQL, [.text(blankCharacters)], limit: 1)
                let blank = try await session.rows(
                    "SELECT count(*) FROM " + quoted(table) + " AS t0 WHERE " + blankTest, [.text(blankCharacters)],
                    limit: 1)
                return (largest.first?.first?.integerValue ?? 0, blank.first?.first?.integerValue ?? 0)
            }
            var result: [SharedMatchValue] = []
            var seen = Set<String>()
            for plan in plans {
                for path in plan.subjectPaths {
                    guard let attribute = path.matches else { continue }
                    let table = path.hops.last?.table ?? plan.source
                    guard seen.insert("\(plan.schema.name).\(table).\(path.column).\(attribute)").inserted else {
                        continue
                    }
                    let rows = try await counts(table, path.column)
                    let subjects = try await counts(subjectPlan.source, subjectPlan.columns[attribute] ?? attribute)
                    guard rows.largest >= threshold || rows.blank > 0 || subjects.largest > 1 || subjects.blank > 0
                    else { continue }
                    result.append(
                        SharedMatchValue(
                            table: plan.schema.name, column: "\(table).\(path.column)",
                            subjectColumn: "\(subjectPlan.table).\(attribute)", largestGroup: rows.largest,
                            blankRows: rows.blank, largestSubjectGroup: subjects.largest,
                            blankSubjects: subjects.blank, threshold: threshold))
                }
            }
            return result
        }
    }

    /// Reads every row of every mapped table, in one snapshot, and lists the values an export would fail on or
    /// repair (`on-invalid`): text that is not valid UTF-8 and values that do not fit their field's type, by table,
    /// field and row key, never the values themselves. Meant for `handover map check --scan`, before a deadline.
    /// - Parameter limitPerField: How many findings are listed per table and field (all are counted).
    /// - Throws: ``HandoverError/Code/sourceUnavailable`` or ``HandoverError/Code/sourceFailed``.
    public func scan(limitPerField: Int = 20) async throws -> DataScan {
        let log = ScanLog(limit: max(1, limitPerField))
        let plans = self.plans
        let rows = try await source.withSession(snapshot: true) { session in
            var rows = 0
            for plan in plans {
                var sql =
                    "SELECT " + plan.selections.joined(separator: ", ") + " FROM " + quoted(plan.source) + " AS t0"
                if !plan.orderBy.isEmpty {
                    sql += " ORDER BY " + plan.orderBy.map { "t0." + quoted($0) }.joined(separator: ", ")
                }
                let conversion = RowConversion(
                    plan: plan, subjectKey: nil, pseudonymizer: ScanPseudonyms(), pseudonymize: false,
                    repairs: RepairLog(), scan: log)
                try await session.stream(.init(sql: sql, parameters: []), plan: plan, conversion: conversion) {
                    rows += $0.count
                }
            }
            return rows
        }
        return DataScan(rowsRead: rows, findings: log.findings, fields: log.fields)
    }

    /// The lookups an export of `scope` makes that no index serves, as `table.column`: each one makes the
    /// export read a whole table. For a subject, this includes the column that selects them.
    public func unindexedLookups(for scope: ExportScope) -> [String] {
        switch scope {
        case .tenant:
            return unindexedForTenants
        case .subject(let selector, let tenant):
            var result: [String] = []
            if let subjectPlan, !subjectPlan.indexedColumns.contains(selector.column) {
                result.append("\(subjectPlan.table).\(selector.column)")
            }
            result += unindexedForSubjects
            if tenant != nil { result += unindexedForTenants.filter { !result.contains($0) } }
            return result
        }
    }

    /// The tables mapped `subject: all`, by exported name in the map's order: a subject's export takes every row
    /// of each (within the tenant asked for, where the table has a tenant path), whoever the subject is.
    public var everyRowForSubjects: [String] { plans.filter(\.everyRowForSubjects).map(\.schema.name) }

    /// The tables mapped `tenant: all`, by exported name in the map's order: a tenant's export takes every row of
    /// each, whichever the tenant.
    public var everyRowForTenants: [String] { plans.filter(\.everyRowForTenants).map(\.schema.name) }

    /// What `handover map check` says of ``everyRowForSubjects`` and ``everyRowForTenants``, one sentence for each
    /// that is not empty: right for a database of one subject's or one tenant's data, a leak on any other.
    public var everyRowNotes: [String] {
        var notes: [String] = []
        for (kind, tables, anchor) in [
            ("subject", everyRowForSubjects, subjectPlan?.table), ("tenant", everyRowForTenants, tenantPlan?.table),
        ] where !tables.isEmpty {
            notes.append(
                "every row for every \(kind) (\(kind): all): \(tables.joined(separator: ", ")): any \(kind) found in "
                    + "table \(anchor ?? "?") receives every row of these tables; right only when the database holds "
                    + "one \(kind)'s data")
        }
        return notes
    }

    /// A logger that drops everything: the default, so that the exporter never writes to the process's logging
    /// system unless its caller hands it a logger.
    public static let silent = Logger(label: "handover.sql", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Whether table number `table` is part of exports of `scope`.
    public func includes(table: Int, in scope: ExportScope) -> Bool {
        switch scope {
        case .subject: (!plans[table].subjectPaths.isEmpty || plans[table].everyRowForSubjects) && subjectPlan != nil
        case .tenant: (plans[table].tenantPath != nil || plans[table].everyRowForTenants) && tenantPlan != nil
        }
    }

    /// The row count of every table in `scope`, by `SELECT count(*)` with the export's own conditions.
    public func estimatedRows(in scope: ExportScope) async throws -> [Int: Int] {
        try await source.withSession(snapshot: true) { session in
            let bindings = try await resolve(scope, session: session, logger: logger)
            var counts: [Int: Int] = [:]
            for (index, plan) in plans.enumerated() where includes(table: index, in: scope) {
                guard let query = plan.query(for: scope, bindings: bindings) else {
                    counts[index] = 0
                    continue
                }
                let rows = try await session.rows(
                    "SELECT count(*) FROM (" + query.sql + ") AS counted", query.parameters, limit: 1)
                if let count = rows.first?.first?.integerValue { counts[index] = count }
            }
            return counts
        }
    }

    /// Streams every row within `scope`, table by table, in primary-key order.
    /// - Throws: ``HandoverError`` when the database fails, a value does not fit its column,
    ///   the scope names something the map cannot select, or the sink throws.
    public func export(_ scope: ExportScope, into sink: inout some RowSink, context: ExportContext) async throws {
        try await source.withSession(snapshot: true) { session in
            let bindings = try await resolve(scope, session: session, logger: context.logger)
            for (index, plan) in plans.enumerated() where includes(table: index, in: scope) {
                guard let query = plan.query(for: scope, bindings: bindings) else { continue }
                context.logger.debug(
                    "exporting table", metadata: ["exporter": "\(id)", "table": "\(plan.schema.name)"])
                let conversion = RowConversion(
                    plan: plan, subjectKey: bindings.subjectKey?.text, pseudonymizer: context.pseudonymizer,
                    pseudonymize: scope.isSubject, repairs: context.repairs)
                let files = plan.fileRoots.enumerated().compactMap { field, root in
                    root.map { (field: field, root: FileRoot(path: $0)) }
                }
                try await session.stream(query, plan: plan, conversion: conversion) { rows in
                    // A file is attached after the row that names it, so a table with files goes a row at a time.
                    guard !files.isEmpty else { return try await sink.write(rows: rows, table: index) }
                    for row in rows {
                        try await sink.write(row, table: index)
                        for (field, root) in files {
                            guard case .string(let path) = row.values[field], !path.isEmpty else { continue }
                            let file = ExportFile(
                                field: plan.schema.fields[field].name, path: path,
                                row: row.keyDescription(in: plan.schema), source: root.source(of: path))
                            try await sink.attach(file, table: index)
                        }
                    }
                }
                try await sink.finish(table: index)
            }
        }
    }

    /// Finds the subject's key and the values its paths compare with, or checks the tenant exists.
    func resolve(_ scope: ExportScope, session: any SourceSession, logger: Logger) async throws -> Bindings {
        var bindings = Bindings()
        if let tenant = scope.tenant {
            guard !SubjectSelector.isBlank(tenant) else {
                throw HandoverError(
                    .invalidArgument, "the tenant id is empty or only white space, which names no tenant")
            }
            guard let tenantPlan else {
                throw HandoverError(.invalidArgument, "the dataset map of exporter \(id) declares no tenant table")
            }
            let value = tenantPlan.value(for: tenant)
            bindings.tenant = value
            func exists() async throws -> Bool {
                guard let value else { return false }
                return try await !session.rows(tenantPlan.existsSQL, [value], limit: 1).isEmpty
            }
            if case .tenant = scope {
                guard try await exists() else {
                    throw HandoverError(.invalidArgument, "no tenant with that id in table \(tenantPlan.table)")
                }
            } else if plans.indices.contains(where: { includes(table: $0, in: scope) && plans[$0].everyRowForTenants })
            {
                // A table mapped `tenant: all` gives its every row to the tenant asked for, so in a subject's export
                // too the tenant must exist; an unknown one holds no subject (as the subject's lookup finds when the
                // subject table has a tenant path).
                guard try await exists() else {
                    logger.debug("tenant not found", metadata: ["exporter": "\(id)"])
                    return Bindings()
                }
            }
        }
        guard case .subject(let selector, _) = scope else { return bindings }
        try selector.checkNotBlank()
        guard let subjectPlan else {
            throw HandoverError(.invalidArgument, "the dataset map of exporter \(id) declares no subject table")
        }
        guard let selectorColumn = subjectPlan.columns[selector.column] else {
            throw HandoverError(
                .invalidArgument, "the subject table \(subjectPlan.table) has no mapped column \(selector.column)")
        }
        guard let selectorValue = subjectPlan.value(selector.value, forColumn: selector.column),
            scope.tenant == nil || bindings.tenant != nil
        else {
            // A value that cannot be of the column's type (text for an integer key) selects no one.
            logger.debug("subject not found", metadata: ["exporter": "\(id)"])
            return bindings
        }
        bindings.attributes[selector.column] = selectorValue
        var sql = subjectPlan.lookupSQL(by: selectorColumn)
        var parameters = [selectorValue]
        if let tenantCondition = subjectPlan.tenantCondition, let tenant = bindings.tenant {
            sql += " AND " + tenantCondition
            parameters.append(tenant)
        }
        let rows: [[SourceValue]]
        do {
            rows = try await session.rows(sql + " LIMIT 2", parameters, limit: 2)
        } catch let error as HandoverError where error.cause?.sqlstate?.hasPrefix("22") == true {
            // PostgreSQL could not read the value as the column's type (text for a timestamp): it names no one,
            // and nothing else is asked in this transaction (the error ended it).
            logger.debug("subject not found", metadata: ["exporter": "\(id)"])
            return Bindings()
        }
        if let row = rows.first {
            guard rows.count == 1 else {
                throw HandoverError(
                    .ambiguousSubject,
                    "the selector column \(selector.column) matches more than one row of \(subjectPlan.table); use a unique column"
                )
            }
            bindings.subjectKey = row[0]
            for (offset, column) in subjectPlan.attributeColumns.enumerated() {
                bindings.attributes[column] = row[offset + 1]
            }
        } else {
            logger.debug("subject not found", metadata: ["exporter": "\(id)"])
        }
        return bindings
    }
}

/// What ``DatasetMapExporter/scan(limitPerField:)`` found.
public struct DataScan: Sendable, Hashable, Codable {
    /// The rows read.
    public var rowsRead: Int
    /// The findings listed (up to the limit per field).
    public var findings: [ScanFinding]
    /// Every field with findings, and how many.
    public var fields: [FieldCount]

    /// How many values of one field were found.
    public struct FieldCount: Sendable, Hashable, Codable {
        /// The table.
        public var table: String
        /// The field.
        public var field: String
        /// How many values.
        public var values: Int
        /// What an export does with them.
        public var policy: DatasetMap.InvalidValuePolicy
    }

    /// Whether an export would fail on some value (a field whose values are not repaired).
    public var wouldFail: Bool { fields.contains { $0.policy == .fail } }
}

/// A scan writes nothing, so makes no pseudonyms.
struct ScanPseudonyms: Pseudonymizer {
    func pseudonym(for value: String, domain: String) -> String { "" }
}

/// What `map check` reports about one mapped table's columns.
public struct ColumnFindings: Sendable, Hashable, Codable {
    /// The table's exported name.
    public var table: String
    /// Columns exported because the map neither lists nor excludes them (tables mapped with `exclude`).
    public var implicit: [String] = []
    /// Columns whose names look like secrets, left out because the map does not name them.
    public var withheldSecrets: [String] = []
    /// Columns whose names look like secrets, exported because the map names them (`columns` or `include-secrets`).
    public var namedSecrets: [String] = []

    /// Findings for `table`, none yet.
    public init(table: String) {
        self.table = table
    }
}

/// A `matches` comparison where one value is shared by many rows or by several subjects.
public struct SharedMatchValue: Sendable, Hashable, Codable {
    /// The mapped table whose subject path compares.
    public var table: String
    /// The compared column, as `source_table.column`.
    public var column: String
    /// The subject table's column it is compared with, as `table.column`.
    public var subjectColumn: String
    /// The most rows of ``column`` that share one non-blank value.
    public var largestGroup: Int
    /// Rows of ``column`` whose value is blank (they match no one).
    public var blankRows: Int
    /// The most subjects that share one non-blank value of ``subjectColumn``.
    public var largestSubjectGroup: Int
    /// Subjects whose value of ``subjectColumn`` is blank (they receive none of these rows).
    public var blankSubjects: Int
    /// How many rows sharing one value count as many.
    public var threshold: Int

    /// What is wrong, in a sentence without any value.
    public var message: String {
        var parts: [String] = []
        if largestGroup >= threshold {
            parts.append("\(largestGroup) rows of \(column) share one value, and whoever holds it receives them all")
        }
        if largestSubjectGroup > 1 {
            parts.append(
                "\(largestSubjectGroup) subjects share one value of \(subjectColumn), and each receives the rows of the others"
            )
        }
        if blankRows > 0 { parts.append("\(blankRows) rows of \(column) are blank and match no one") }
        if blankSubjects > 0 {
            parts.append("\(blankSubjects) subjects have a blank \(subjectColumn) and receive none of these rows")
        }
        return "table \(table) matches \(column) with \(subjectColumn): " + parts.joined(separator: "; ")
    }
}

/// The values a scope binds into the queries.
struct Bindings {
    var tenant: SourceValue?
    var subjectKey: SourceValue?
    /// Columns of the subject's row (exported names) that paths compare with.
    var attributes: [String: SourceValue] = [:]
}

extension SourceValue {
    /// The value as an integer, when it is one (or text of one): counts.
    var integerValue: Int? {
        switch self {
        case .integer(let value): Int(value)
        case .text(let text): Int(text)
        default: nil
        }
    }
}

/// How to find subjects.
struct SubjectPlan: Sendable {
    var table: String
    var source: String
    var keySource: String
    /// Exported column name → source column name, for every mapped column of the subject table.
    var columns: [String: String]
    /// Exported column name → whether it holds integers.
    var integerColumns: Set<String>
    /// Columns whose values `matches` paths need (exported names).
    var attributeColumns: [String]
    /// A condition on the subject table (alias t0) with one parameter, the tenant; nil when the subject table has no tenant path.
    var tenantCondition: String?
    var dialect: SQLDialect
    /// The subject table's columns in the catalog, by name.
    var catalogColumns: [String: CatalogColumn]
    /// The subject table's columns that lead an index.
    var indexedColumns: Set<String> = []

    func lookupSQL(by sourceColumn: String) -> String {
        // The key and the attributes are compared with other columns as text parameters: selected as text where
        // the source casts its parameters.
        let form: CatalogColumn.SelectForm = dialect.numberedParameters ? .text : .plain
        let selected = ([keySource] + attributeColumns.map { columns[$0]! }).map { dialect.select($0, form: form) }
        return "SELECT " + selected.joined(separator: ", ") + " FROM " + quoted(source) + " AS t0 WHERE t0."
            + quoted(sourceColumn) + " = " + dialect.parameter(for: catalogColumns[sourceColumn])
    }

    /// The selector's value as it is bound; nil when it cannot be a value of the column (text for an integer
    /// column where the source casts its parameters), so that it selects no one.
    func value(_ text: String, forColumn column: String) -> SourceValue? {
        if integerColumns.contains(column) {
            if let number = Int64(text) { return .integer(number) }
            if dialect.numberedParameters { return nil }
        }
        return .text(text)
    }
}

/// How to find a tenant.
struct TenantPlan: Sendable {
    var table: String
    var existsSQL: String
    var integerKey: Bool
    /// Whether the source casts its parameters (then text for an integer key names no tenant).
    var numbered: Bool

    func value(for text: String) -> SourceValue? {
        if integerKey {
            if let number = Int64(text) { return .integer(number) }
            if numbered { return nil }
        }
        return .text(text)
    }
}

/// A path with every hop resolved to source names.
struct ResolvedPath: Sendable, Hashable {
    struct Hop: Sendable, Hashable {
        var column: String  // source column in the current table
        var table: String  // source table reached
        var key: String  // source column of that table
    }
    var hops: [Hop]
    var column: String  // source column of the last table
    /// The exported name of the subject column to compare with; nil for the key.
    var matches: String?
    /// The parameter as the column is compared with it (``SQLDialect/parameter(for:)``).
    var parameter: String = "?"

    /// The condition on the table aliased `t<depth>`, with one parameter; with `arrays`, each hop as
    /// `= ANY(ARRAY(SELECT …))` (PostgreSQL, ``SQLDialect/arraySubqueries``) rather than `IN (SELECT …)`.
    func condition(depth: Int = 0, arrays: Bool = false) -> String {
        let alias = "t\(depth)"
        guard let first = hops.first else { return alias + "." + quoted(column) + " = " + parameter }
        let inner = ResolvedPath(
            hops: Array(hops.dropFirst()), column: column, matches: nil, parameter: parameter)
        let next = "t\(depth + 1)"
        let subquery =
            "SELECT " + next + "." + quoted(first.key) + " FROM " + quoted(first.table) + " AS " + next + " WHERE "
            + inner.condition(depth: depth + 1, arrays: arrays)
        return alias + "." + quoted(first.column)
            + (arrays ? " = ANY(ARRAY(" + subquery + "))" : " IN (" + subquery + ")")
    }
}

/// One table's query and conversions.
package struct TablePlan: Sendable {
    /// The exported table.
    package var schema: TableSchema
    /// The source table.
    package var source: String
    var sourceColumns: [String]
    /// The SQL that selects each field's column.
    var selections: [String]
    /// What the source calls each column's kind of value (``CatalogColumn/kind``).
    package var kinds: [String]
    var dialect: SQLDialect
    /// For each read field: its `on-invalid`.
    package var policies: [DatasetMap.InvalidValuePolicy]
    /// For each read field: the position of the string field beside it that holds the text of unfit values.
    package var companions: [Int?]
    /// For each read field: the root of the files it names (`file: {root: …}`), if it names files.
    var fileRoots: [String?]
    /// The fields read from the database (the first ones); the companions follow them.
    package var sourceCount: Int { sourceColumns.count }
    var orderBy: [String]
    var subjectPaths: [ResolvedPath]
    var tenantPath: ResolvedPath?
    /// `subject: all`: every row belongs to the subject found (within the tenant asked for, by ``tenantPath``).
    var everyRowForSubjects = false
    /// `tenant: all`: every row belongs to the tenant found.
    var everyRowForTenants = false
    /// For each field: pseudonymise in subject exports, and the pseudonym's domain.
    package var pseudonymDomains: [String?]
    /// For each field: whether its values reference the subject table's key (own values stay clear).
    package var referencesSubject: [Bool]

    /// A query and its parameters.
    package struct Query: Sendable {
        /// The SQL, with `?` for each parameter.
        package var sql: String
        /// One value per `?`.
        package var parameters: [SourceValue]
    }

    /// The query for `scope`, or nil when no path can match (an unknown subject).
    func query(for scope: ExportScope, bindings: Bindings) -> Query? {
        var conditions: [String] = []
        var parameters: [SourceValue] = []
        switch scope {
        case .tenant:
            // The tenant was found in its table (``DatasetMapExporter/resolve``), or there is no binding.
            guard let tenant = bindings.tenant else { return nil }
            if !everyRowForTenants {
                guard let tenantPath else { return nil }
                conditions.append(tenantPath.condition())
                parameters.append(tenant)
            }
        case .subject:
            if everyRowForSubjects {
                // Every row, for a subject found in the subject table; an unknown subject gets nothing.
                guard bindings.subjectKey != nil else { return nil }
            } else {
                var alternatives: [String] = []
                for path in subjectPaths {
                    let value = path.matches.map { bindings.attributes[$0] } ?? bindings.subjectKey
                    // A blank value (null, '', white space only) names no one: it matches nothing, never everyone
                    // whose value is blank too.
                    guard let value, !value.isBlank else { continue }
                    alternatives.append(path.condition(arrays: dialect.arraySubqueries))
                    parameters.append(value)
                }
                guard !alternatives.isEmpty else { return nil }
                conditions.append("(" + alternatives.joined(separator: " OR ") + ")")
            }
            if let tenantPath, let tenant = bindings.tenant {
                conditions.append(tenantPath.condition())
                parameters.append(tenant)
            }
        }
        var sql = "SELECT " + selections.joined(separator: ", ") + " FROM " + quoted(source) + " AS t0"
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        if !orderBy.isEmpty { sql += " ORDER BY " + orderBy.map { "t0." + quoted($0) }.joined(separator: ", ") }
        return Query(sql: sql, parameters: parameters)
    }
}
