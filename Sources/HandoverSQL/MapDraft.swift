internal import HandoverCore

/// A dataset map drafted from a database's own foreign keys: what `handover map init` writes.
///
/// Every table from which a chain of single-column foreign keys leads to the subject table (or the tenant table)
/// is mapped with the columns it can export, the references it follows and its paths:
/// - **Subject paths**: for each foreign-key column of the table that leads to the subject, the shortest chain
///   starting with that column, the shortest of all first. A row goes to every subject one of them reaches, so a
///   comment reached both by its author and by the recording it is written on goes to both people.
/// - **Tenant path**: the shortest chain only (a map gives a table one tenant path).
/// - **Pseudonyms**: in a table with several subject paths, and in the subject table itself, a column that refers
///   to the subject table may name someone other than the subject: it gets `pseudonymize: true`.
/// - **Left out**: columns whose names look like secrets (``SecretNames``) and columns of a type the source cannot
///   read, each with a comment saying why; tables that reach neither table, listed in a comment at the end.
///
/// Chains follow at most 8 references (the map's limit), never a composite foreign key (a map's references are
/// single columns), and never pass twice through one table. `matches` paths, which compare a value such as an
/// email instead of following a key, are not inferred. Drafting reads nothing but the catalog, and the draft is
/// compiled against that catalog before it is returned.
package struct MapDraft: Sendable, Hashable {
    /// What to draft.
    package struct Options: Sendable, Hashable {
        /// The table whose rows are data subjects.
        package var subjectTable: String
        /// Its key column; nil: its single-column primary key.
        package var subjectKey: String?
        /// The table whose rows are tenants; nil when the data is not multi-tenant.
        package var tenantTable: String?
        /// Its key column; nil: its single-column primary key.
        package var tenantKey: String?
        /// The exporter id the map declares.
        package var exporterID: String
        /// The exporter version the map declares.
        package var exporterVersion: String

        /// Options for a draft.
        /// - Parameters:
        ///   - subjectTable: The table whose rows are data subjects.
        ///   - subjectKey: Its key column; nil for its single-column primary key.
        ///   - tenantTable: The table whose rows are tenants, if any.
        ///   - tenantKey: Its key column; nil for its single-column primary key.
        ///   - exporterID: The exporter id.
        ///   - exporterVersion: The exporter version.
        package init(
            subjectTable: String, subjectKey: String? = nil, tenantTable: String? = nil, tenantKey: String? = nil,
            exporterID: String = "draft", exporterVersion: String = "1"
        ) {
            self.subjectTable = subjectTable
            self.subjectKey = subjectKey
            self.tenantTable = tenantTable
            self.tenantKey = tenantKey
            self.exporterID = exporterID
            self.exporterVersion = exporterVersion
        }
    }

    /// A path as the draft writes it: referencing columns to follow, then the column compared with the key.
    package struct Path: Sendable, Hashable, Encodable {
        /// The referencing columns followed, one per hop (exported names).
        package var via: [String]
        /// The column of the last table reached that holds the key.
        package var column: String
    }

    /// One mapped table.
    package struct Table: Sendable, Hashable, Encodable {
        /// Its name (in the database and in the map).
        package var name: String
        /// Its exported columns, in the database's order.
        package var columns: [Column]
        /// Its declared references: column → `table.column`, in column order.
        package var references: [Reference]
        /// Its subject paths, the shortest first; empty when it is left out of subject exports.
        package var subjectPaths: [Path]
        /// Its tenant path; nil when it is left out of tenant exports.
        package var tenantPath: Path?
    }

    /// One exported column of a mapped table.
    package struct Column: Sendable, Hashable, Encodable {
        /// The exported name.
        package var name: String
        /// The column in the database, when it differs from ``name``.
        package var source: String?
        /// Its type.
        package var type: String
        /// Whether it refers to the subject table and may name someone else in a subject export.
        package var pseudonymize: Bool
    }

    /// A reference from a column to a column of another mapped table.
    package struct Reference: Sendable, Hashable, Encodable {
        /// The referencing column (exported name).
        package var column: String
        /// The referenced table.
        package var table: String
        /// The referenced column (exported name).
        package var referencedColumn: String
    }

    /// A column of a mapped table that the draft leaves out.
    package struct ExcludedColumn: Sendable, Hashable, Encodable {
        /// The table.
        package var table: String
        /// The column, as the database names it.
        package var column: String
        /// Why it is left out.
        package var reason: ExclusionReason
    }

    /// Why a column is left out.
    package enum ExclusionReason: String, Sendable, Hashable, Encodable {
        /// Its name looks like a secret (``SecretNames/looksSecret(_:)``).
        case secretName = "secret-name"
        /// The source cannot read values of its type.
        case unreadableType = "unreadable-type"
    }

    /// A table the draft does not map, and why.
    package struct LeftOutTable: Sendable, Hashable, Encodable {
        /// The table, as the database names it.
        package var table: String
        /// Why, in a few words.
        package var reason: String
    }

    /// The options the draft was made with.
    package let options: Options
    /// The subject table's key column.
    package let subjectKey: String
    /// The tenant table's key column, when there is a tenant table.
    package let tenantKey: String?
    /// The mapped tables, in the map's order: the subject table, the tenant table, then the others by name.
    package let tables: [Table]
    /// The tables left out, by name.
    package let leftOut: [LeftOutTable]
    /// The columns of mapped tables left out, in the map's order.
    package let excludedColumns: [ExcludedColumn]
    /// The map, as YAML with comments for its reviewer.
    package let yaml: String

    /// The most references a path follows (the dataset map's limit).
    package static let maximumHops = 8

    /// Drafts a map of the database `catalog` describes.
    /// - Parameters:
    ///   - catalog: The database's catalog.
    ///   - options: The subject and tenant tables, and the exporter.
    /// - Throws: ``HandoverError/Code/notFound`` when the subject or tenant table, or a key column, is not in the
    ///   database or a key cannot be told; ``HandoverError/Code/invalidDatasetMap`` when one of them has a name a map
    ///   cannot hold; ``HandoverError/Code/invalidArgument`` for an exporter id a map does not allow.
    package init(catalog: SourceCatalog, options: Options) throws {
        guard Identifier.isValidExporterID(options.exporterID),
            !ExporterRegistry.reservedIDs.contains(options.exporterID)
        else {
            throw HandoverError(
                .invalidArgument,
                "'\(options.exporterID.prefix(64))' is not an exporter id (lowercase letters, digits, '_' and '-', "
                    + "starting with a letter; not 'schemas')")
        }
        var builder = try DraftBuilder(catalog: catalog, options: options)
        builder.build()
        self.options = options
        self.subjectKey = builder.subject.key
        self.tenantKey = builder.tenant?.key
        self.tables = builder.tables
        self.leftOut = builder.leftOut
        self.excludedColumns = builder.excluded
        self.yaml = builder.render()
        // The draft must hold as written: compile it against the catalog it came from.
        do {
            _ = try MapCompiler(map: try DatasetMap(yaml: yaml, source: "draft"), catalog: catalog, dialect: .sqlite)
                .compile()
        } catch let error as HandoverError {
            throw HandoverError(.internalError, "the drafted map does not hold: \(error.message)")
        }
    }

    /// The mapped tables with a subject path, in the map's order.
    package var subjectTables: [String] { tables.filter { !$0.subjectPaths.isEmpty }.map(\.name) }
    /// The mapped tables with a tenant path, in the map's order.
    package var tenantTables: [String] { tables.filter { $0.tenantPath != nil }.map(\.name) }
    /// The pseudonymized columns, as `table.column`.
    package var pseudonymizedColumns: [String] {
        tables.flatMap { table in table.columns.filter(\.pseudonymize).map { "\(table.name).\($0.name)" } }
    }

    /// An exporter id made from a file name: its name up to the first dot, lower-cased, with `-` for what an id
    /// cannot hold; `draft` when nothing usable is left.
    /// - Parameter path: A file path, such as the map's `--out`.
    /// - Returns: A valid exporter id.
    package static func exporterID(forFile path: String) -> String {
        let name = path.split(separator: "/").last.map(String.init) ?? ""
        let stem = name.split(separator: ".", omittingEmptySubsequences: false).first.map(String.init) ?? ""
        var id = ""
        for scalar in stem.lowercased().unicodeScalars {
            let allowed = ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "_" || scalar == "-"
            id.unicodeScalars.append(allowed ? scalar : "-")
        }
        while let first = id.unicodeScalars.first, !("a"..."z").contains(first) { id.removeFirst() }
        id = String(id.prefix(64))
        guard Identifier.isValidExporterID(id), !ExporterRegistry.reservedIDs.contains(id) else { return "draft" }
        return id
    }
}

/// The work of ``MapDraft``: columns, the graph of usable references, shortest paths, then the YAML.
private struct DraftBuilder {
    /// The subject or tenant table and its key.
    struct Anchor {
        var table: String
        var key: String
    }

    /// A usable reference: a single-column foreign key from an exported column to an exported column of a table
    /// a map can name.
    struct Edge: Hashable {
        var table: String
        var column: String
        var target: String
        var referenced: String
        /// The column's position in its table, for a stable order.
        var position: Int
    }

    /// A chain to an anchor: references followed, then the column holding the key.
    struct Route {
        var via: [Edge]
        var column: String

        /// The tables passed through, after the first.
        var tables: [String] { via.map(\.target) }
    }

    /// What the draft knows of one table of the database.
    struct TableInfo {
        var table: CatalogTable
        /// Whether a map can name it.
        var nameable: Bool
        /// Exported columns: database name → exported name.
        var exported: [String: String] = [:]
        var excluded: [(column: String, reason: MapDraft.ExclusionReason, detail: String)] = []
        /// Usable references, one per column, in column order.
        var edges: [Edge] = []
        var hasCompositeKey = false
    }

    let catalog: SourceCatalog
    let options: MapDraft.Options
    let subject: Anchor
    let tenant: Anchor?
    /// The tables considered, sorted by name (SQLite's own `sqlite_` tables are not).
    let names: [String]
    var info: [String: TableInfo] = [:]

    var tables: [MapDraft.Table] = []
    var leftOut: [MapDraft.LeftOutTable] = []
    var excluded: [MapDraft.ExcludedColumn] = []
    /// Comments for the reviewer, per mapped table.
    var notes: [String: [String]] = [:]
    var columnNotes: [String: [String: String]] = [:]
    var leftOutHints: [String: String] = [:]

    init(catalog: SourceCatalog, options: MapDraft.Options) throws {
        self.catalog = catalog
        self.options = options
        names = catalog.tableNames.filter { !$0.lowercased().hasPrefix("sqlite_") }
        subject = try Self.anchor(
            catalog: catalog, table: options.subjectTable, key: options.subjectKey, role: "subject")
        tenant = try options.tenantTable.map {
            try Self.anchor(catalog: catalog, table: $0, key: options.tenantKey, role: "tenant")
        }
    }

    /// The anchor table `table` and its key: the one given, or the single-column primary key, or the one column
    /// that other tables' foreign keys refer to.
    static func anchor(catalog: SourceCatalog, table: String, key: String?, role: String) throws -> Anchor {
        guard let found = catalog.tables[table] else {
            throw HandoverError(.notFound, "the \(role) table '\(table)' is not in database '\(catalog.label)'")
        }
        guard Identifier.isValid(table) else {
            throw HandoverError(
                .invalidDatasetMap,
                "the \(role) table's name is not an identifier (letters, digits and '_'), and a map names it as it is")
        }
        if let key {
            guard found.column(key) != nil else {
                throw HandoverError(.notFound, "the \(role) table \(table) has no column '\(key)'")
            }
            guard Identifier.isValid(key) else {
                throw HandoverError(
                    .invalidDatasetMap,
                    "the \(role) key's name is not an identifier (letters, digits and '_'), and a map names it as it is"
                )
            }
            return Anchor(table: table, key: key)
        }
        let primaryKey = found.columns.filter { $0.primaryKeyPosition > 0 }
        if primaryKey.count == 1, Identifier.isValid(primaryKey[0].name) {
            return Anchor(table: table, key: primaryKey[0].name)
        }
        let referenced = Set(
            catalog.tables.values.flatMap(\.foreignKeys).filter {
                $0.table == table && $0.referencedColumns.count == 1
            }.map { $0.referencedColumns[0] })
        if referenced.count == 1, let only = referenced.first, found.column(only) != nil, Identifier.isValid(only) {
            return Anchor(table: table, key: only)
        }
        throw HandoverError(
            .notFound,
            "the \(role) table \(table) has no single-column primary key: name its key column (--\(role)-key)")
    }

    // MARK: Building

    mutating func build() {
        for name in names { info[name] = describe(catalog.tables[name]!) }
        for name in names { info[name]!.edges = edges(of: name) }

        let subjectRoutes = routes(to: subject)
        let tenantRoutes = tenant.map { routes(to: $0) }
        var mapped: [String] = []
        var paths: [String: [(route: Route, first: Int)]] = [:]
        for name in names {
            var subjectPaths: [(route: Route, first: Int)] = []
            if let route = subjectRoutes.routes[name] {
                subjectPaths = alternatives(of: name, primary: route, subjectRoutes)
            }
            let isAnchor = name == subject.table || name == tenant?.table
            guard isAnchor || !subjectPaths.isEmpty || tenantRoutes?.routes[name] != nil else { continue }
            paths[name] = subjectPaths
            mapped.append(name)
        }
        let mappedSet = Set(mapped)
        let order =
            [subject.table] + (tenant.map { $0.table == subject.table ? [] : [$0.table] } ?? [])
            + mapped.filter { $0 != subject.table && $0 != tenant?.table }

        for name in order {
            let table = info[name]!
            let subjectPaths = paths[name] ?? []
            let tenantRoute = tenantRoutes?.routes[name]
            // Someone other than the subject may stand in a column that refers to the subject table.
            let mayNameOthers = name == subject.table || subjectPaths.count > 1
            let toSubject = Set(table.edges.filter { $0.target == subject.table }.map(\.column))
            var columns: [MapDraft.Column] = []
            for column in table.table.columns {
                guard let exported = table.exported[column.name] else { continue }
                let pseudonymize = mayNameOthers && toSubject.contains(column.name)
                if pseudonymize {
                    columnNotes[name, default: [:]][exported] = "may name someone else: a pseudonym in subject exports"
                }
                columns.append(
                    MapDraft.Column(
                        name: exported, source: exported == column.name ? nil : column.name,
                        type: (column.inferredType ?? .string).rawValue, pseudonymize: pseudonymize))
            }
            let references = table.edges.filter { mappedSet.contains($0.target) }.map {
                MapDraft.Reference(
                    column: table.exported[$0.column]!, table: $0.target,
                    referencedColumn: info[$0.target]!.exported[$0.referenced]!)
            }
            tables.append(
                MapDraft.Table(
                    name: name, columns: columns, references: references,
                    subjectPaths: subjectPaths.map { path($0.route, from: name) },
                    tenantPath: tenantRoute.map { path($0, from: name) }))
            for item in table.excluded {
                excluded.append(MapDraft.ExcludedColumn(table: name, column: item.column, reason: item.reason))
            }
            var tableNotes: [String] = []
            if subjectPaths.isEmpty {
                tableNotes.append(
                    "not in subject exports: " + unreachedReason(name, subjectRoutes, anchor: subject.table))
            } else if subjectPaths.count > 1 {
                tableNotes.append(
                    "\(subjectPaths.count) subject paths: a row goes to every subject one of them reaches; "
                        + "keep those that make a row the subject's")
            }
            if let tenantRoutes, tenantRoute == nil {
                tableNotes.append(
                    "not in tenant exports: " + unreachedReason(name, tenantRoutes, anchor: tenant!.table))
            }
            notes[name] = tableNotes
        }

        for name in names where !mappedSet.contains(name) {
            leftOut.append(MapDraft.LeftOutTable(table: name, reason: leftOutReason(name, subjectRoutes, tenantRoutes)))
            if let hint = matchesHint(name) { leftOutHints[name] = hint }
        }
    }

    /// The columns a map can export, and why the others are left out.
    func describe(_ table: CatalogTable) -> TableInfo {
        var result = TableInfo(table: table, nameable: Identifier.isValid(table.name))
        result.hasCompositeKey = table.foreignKeys.contains { $0.columns.count > 1 }
        guard result.nameable else { return result }
        let anchorKeys = Set(
            [subject, tenant].compactMap { $0 }.filter { $0.table == table.name }.map(\.key))
        var kept: [String] = []
        for column in table.columns {
            if anchorKeys.contains(column.name) {
                kept.append(column.name)
            } else if SecretNames.looksSecret(column.name) {
                result.excluded.append((column.name, .secretName, "its name looks like a secret"))
            } else if column.inferredType == nil {
                result.excluded.append(
                    (
                        column.name, .unreadableType,
                        "its type \(commentText(column.declaredType)) is one the source cannot read "
                            + "(list it with type: string to export its text)"
                    ))
            } else {
                kept.append(column.name)
            }
        }
        // Names a map can hold are kept as they are; the others get a new one (and `from`).
        var used = Set(kept.filter { Identifier.isValid($0) }.map { $0.lowercased() })
        for name in kept {
            if Identifier.isValid(name) {
                result.exported[name] = name
                continue
            }
            let base = Self.identifier(from: name)
            var candidate = base
            var number = 2
            while used.contains(candidate.lowercased()) {
                let suffix = "_\(number)"
                candidate = String(base.prefix(64 - suffix.count)) + suffix
                number += 1
            }
            used.insert(candidate.lowercased())
            result.exported[name] = candidate
        }
        return result
    }

    /// An identifier made from a column name: `_` for each character an identifier cannot hold, `c_` in front
    /// where it would start with a digit or `xml`.
    static func identifier(from name: String) -> String {
        var text = ""
        for scalar in name.unicodeScalars {
            let allowed =
                ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
                || scalar == "_"
            text.unicodeScalars.append(allowed ? scalar : "_")
        }
        if text.isEmpty || text.first!.isNumber || text.lowercased().hasPrefix("xml") { text = "c_" + text }
        return String(text.prefix(64))
    }

    /// The usable references of `name`: one per exported column (its first single-column foreign key to an
    /// exported column of a table a map can name), in column order.
    func edges(of name: String) -> [Edge] {
        let table = info[name]!
        guard table.nameable else { return [] }
        var result: [Edge] = []
        for (position, column) in table.table.columns.enumerated() where table.exported[column.name] != nil {
            for key in table.table.foreignKeys where key.columns == [column.name] && key.referencedColumns.count == 1 {
                guard let target = resolveTable(key.table), let targetInfo = info[target], targetInfo.nameable,
                    let referenced = resolveColumn(key.referencedColumns[0], of: targetInfo.table),
                    targetInfo.exported[referenced] != nil
                else { continue }
                result.append(
                    Edge(table: name, column: column.name, target: target, referenced: referenced, position: position))
                break
            }
        }
        return result
    }

    /// A table's name as the catalog holds it (SQLite compares names without regard to case).
    func resolveTable(_ name: String) -> String? {
        if catalog.tables[name] != nil { return name }
        let matches = names.filter { $0.lowercased() == name.lowercased() }
        return matches.count == 1 ? matches[0] : nil
    }

    func resolveColumn(_ name: String, of table: CatalogTable) -> String? {
        if table.column(name) != nil { return name }
        let matches = table.columns.filter { $0.name.lowercased() == name.lowercased() }
        return matches.count == 1 ? matches[0].name : nil
    }

    /// Shortest chains to `anchor`, of at most 8 references, and the length of the shortest chain of any length.
    struct Routes {
        var anchor: Anchor
        var routes: [String: Route]
        /// References followed by the shortest chain of each table that reaches the anchor, however long.
        var hops: [String: Int]
    }

    /// Breadth first from the anchor along references read backwards. A table whose column refers to the
    /// anchor's key reaches it in 0 hops (the column holds the key); any other reference costs one hop.
    func routes(to anchor: Anchor) -> Routes {
        var incoming: [String: [Edge]] = [:]
        for name in names {
            for edge in info[name]!.edges { incoming[edge.target, default: []].append(edge) }
        }
        var hops: [String: Int] = [anchor.table: 0]
        var queue: [String] = [anchor.table]
        for name in names where name != anchor.table {
            if info[name]!.edges.contains(where: { isDirect($0, anchor) }) {
                hops[name] = 0
                queue.append(name)
            }
        }
        var index = 0
        while index < queue.count {
            let current = queue[index]
            index += 1
            for edge in incoming[current] ?? [] where hops[edge.table] == nil {
                hops[edge.table] = hops[current]! + 1
                queue.append(edge.table)
            }
        }
        var routes: [String: Route] = [anchor.table: Route(via: [], column: anchor.key)]
        func route(_ name: String) -> Route? {
            if let known = routes[name] { return known }
            guard let level = hops[name], level <= MapDraft.maximumHops else { return nil }
            // The first column, in the table's order, that starts a shortest chain.
            for edge in info[name]!.edges {
                if level == 0, isDirect(edge, anchor) {
                    routes[name] = Route(via: [], column: edge.column)
                    return routes[name]
                }
                if let next = hops[edge.target], next + 1 == level, let rest = route(edge.target) {
                    routes[name] = Route(via: [edge] + rest.via, column: rest.column)
                    return routes[name]
                }
            }
            return nil
        }
        for name in names { _ = route(name) }
        return Routes(anchor: anchor, routes: routes, hops: hops)
    }

    func isDirect(_ edge: Edge, _ anchor: Anchor) -> Bool {
        edge.target == anchor.table && edge.referenced == anchor.key && edge.table != anchor.table
    }

    /// The subject paths of `name`: for each column that starts a chain to the subject, the shortest such chain
    /// that passes through no table twice, the shortest first. The subject table's own is its key.
    func alternatives(of name: String, primary: Route, _ found: Routes) -> [(route: Route, first: Int)] {
        guard name != found.anchor.table else { return [(primary, -1)] }
        var result: [(route: Route, first: Int)] = []
        for edge in info[name]!.edges {
            let candidate: Route
            if isDirect(edge, found.anchor) {
                candidate = Route(via: [], column: edge.column)
            } else if edge.target != name, let rest = found.routes[edge.target],
                rest.via.count < MapDraft.maximumHops, !rest.tables.contains(name)
            {
                candidate = Route(via: [edge] + rest.via, column: rest.column)
            } else {
                continue
            }
            result.append((candidate, edge.position))
        }
        // Shortest first; among equals, the table's column order (the primary path comes first).
        return result.sorted { ($0.route.via.count, $0.first) < ($1.route.via.count, $1.first) }
    }

    /// The path of `route`, which starts at table `name`, in exported names.
    func path(_ route: Route, from name: String) -> MapDraft.Path {
        let via = route.via.map { info[$0.table]!.exported[$0.column]! }
        let last = route.via.last?.target ?? name
        return MapDraft.Path(via: via, column: info[last]!.exported[route.column]!)
    }

    func unreachedReason(_ name: String, _ found: Routes, anchor: String) -> String {
        if let hops = found.hops[name], hops > MapDraft.maximumHops {
            return "its shortest chain to \(anchor) follows \(hops) references, more than a path may (8)"
        }
        return "no chain of foreign keys leads to \(anchor)"
    }

    func leftOutReason(_ name: String, _ subjectRoutes: Routes, _ tenantRoutes: Routes?) -> String {
        let table = info[name]!
        guard table.nameable else {
            return "its name is not an identifier (letters, digits and '_'), and a map names tables as they are"
        }
        if table.exported.isEmpty { return "none of its columns can be exported" }
        var far: [String] = []
        if let hops = subjectRoutes.hops[name] { far.append("to \(subject.table) follows \(hops) references") }
        if let tenantRoutes, let tenant, let hops = tenantRoutes.hops[name] {
            far.append("to \(tenant.table) follows \(hops) references")
        }
        var reason =
            far.isEmpty
            ? "no chain of foreign keys leads to \(subject.table)" + (tenant.map { " or \($0.table)" } ?? "")
            : "its shortest chain " + far.joined(separator: " and ") + ", more than a path may follow (8)"
        if table.hasCompositeKey { reason += " (a composite foreign key, which a map cannot follow, is not counted)" }
        return reason
    }

    /// A hint for a left-out table holding a column named like an indexed column of the subject table (other than
    /// its key), such as `email`: a `matches` path may be what it needs.
    func matchesHint(_ name: String) -> String? {
        guard let subjectTable = catalog.tables[subject.table], let table = info[name], table.nameable else {
            return nil
        }
        for column in table.table.columns {
            guard let exported = table.exported[column.name], exported == column.name else { continue }
            for candidate in subjectTable.columns
            where candidate.name == column.name && candidate.name != subject.key
                && subjectTable.leadingIndexedColumns.contains(candidate.name)
                && !SecretNames.looksSecret(candidate.name) && Identifier.isValid(candidate.name)
            {
                return "if its \(column.name) names the subject, map it with "
                    + "subject: {column: \(column.name), matches: \(candidate.name)}"
            }
        }
        return nil
    }

    // MARK: Writing

    func render() -> String {
        var lines: [String] = []
        let tenantName = tenant.map { " or \($0.table)" } ?? ""
        lines += [
            "# DRAFT dataset map, written by `handover map init` from the database's foreign keys.",
            "# Review it before exporting anything with it (format: README, \"The dataset map\"):",
            "# - Paths: each table reaches \(subject.table)\(tenantName) through the foreign keys under its",
            "#   `references`. A table with several subject paths goes to every subject one of them reaches:",
            "#   keep only the paths that make a row the subject's.",
            "# - Pseudonyms: columns marked `pseudonymize: true` refer to \(subject.table) and may name other people",
            "#   (an author, a coach, an assignee); check that every column naming someone else is marked.",
            "# - Secrets: columns whose names look like secrets are left out (see the comments); list one under",
            "#   `columns` only if it must reach the person. Columns of types the source cannot read are left out too.",
            "# - Left out: tables no chain of foreign keys leads from are listed at the end, with the reason.",
            "# - Not inferred: `matches` paths (rows that name the subject by a value such as an email, not a key),",
            "#   titles, descriptions and constraints.",
            "handover-map: \(DatasetMap.formatVersion)",
            "exporter:",
            "  id: \(Self.scalar(options.exporterID))",
            "  version: \(Self.quoted(options.exporterVersion))",
            "subject:",
            "  table: \(Self.scalar(subject.table))",
            "  key: \(Self.scalar(subject.key))",
        ]
        if let tenant {
            lines += ["tenant:", "  table: \(Self.scalar(tenant.table))", "  key: \(Self.scalar(tenant.key))"]
        }
        lines.append("tables:")
        for table in tables {
            lines.append("  \(Self.scalar(table.name)):")
            for note in notes[table.name] ?? [] { lines.append("    # " + note) }
            lines.append("    columns:")
            let reasons = Dictionary(
                info[table.name]!.excluded.map { ($0.column, $0.detail) }, uniquingKeysWith: { first, _ in first })
            for column in info[table.name]!.table.columns {
                if let reason = reasons[column.name] {
                    lines.append("      # \(commentText(column.name)): left out: \(reason)")
                    continue
                }
                guard let exported = info[table.name]!.exported[column.name],
                    let drafted = table.columns.first(where: { $0.name == exported })
                else { continue }
                var line = "      \(Self.scalar(drafted.name)): "
                if drafted.source == nil && !drafted.pseudonymize {
                    line += drafted.type
                } else {
                    var fields = ["type: \(drafted.type)"]
                    if let source = drafted.source { fields.append("from: \(Self.quoted(source))") }
                    if drafted.pseudonymize { fields.append("pseudonymize: true") }
                    line += "{" + fields.joined(separator: ", ") + "}"
                }
                if let note = columnNotes[table.name]?[drafted.name] { line += "  # " + note }
                lines.append(line)
            }
            if !table.references.isEmpty {
                lines.append("    references:")
                for reference in table.references {
                    lines.append(
                        "      \(Self.scalar(reference.column)): \(reference.table).\(reference.referencedColumn)")
                }
            }
            switch table.subjectPaths.count {
            case 0: break
            case 1: lines.append("    subject: " + Self.path(table.subjectPaths[0]))
            default:
                lines.append("    subject:")
                for path in table.subjectPaths { lines.append("      - " + Self.path(path)) }
            }
            if let path = table.tenantPath { lines.append("    tenant: " + Self.path(path)) }
        }
        if leftOut.isEmpty {
            lines.append("# Left out: no table.")
        } else {
            lines.append("# Left out (\(leftOut.count) \(leftOut.count == 1 ? "table" : "tables")):")
            for table in leftOut {
                var line = "#   \(commentText(table.table)): \(table.reason)"
                if let hint = leftOutHints[table.table] { line += "; " + hint }
                lines.append(line)
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func path(_ path: MapDraft.Path) -> String {
        // A column named `all` alone would read as `subject: all` (every row).
        guard !path.via.isEmpty else {
            return path.column == DatasetMap.Scope.allKeyword ? "{column: all}" : scalar(path.column)
        }
        return "{via: [" + path.via.map(scalar).joined(separator: ", ") + "], column: \(scalar(path.column))}"
    }

    /// Plain words YAML 1.1 would read as booleans or null, quoted to stay names.
    static let ambiguousWords: Set<String> = [
        "y", "n", "yes", "no", "on", "off", "true", "false", "null",
    ]

    /// An identifier as a YAML scalar: plain, unless YAML could read it as something else.
    static func scalar(_ identifier: String) -> String {
        ambiguousWords.contains(identifier.lowercased()) ? quoted(identifier) : identifier
    }

    /// Any text as a double-quoted YAML scalar: everything outside printable ASCII escaped.
    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case " "..."~": result.unicodeScalars.append(scalar)
            default:
                let hex = String(scalar.value, radix: 16, uppercase: true)
                result +=
                    scalar.value > 0xFFFF
                    ? "\\U" + String(repeating: "0", count: 8 - hex.count) + hex
                    : "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            }
        }
        return result + "\""
    }
}

/// Text safe inside a YAML comment line: printable ASCII as it is, anything else (a line break above all) as
/// `\u{…}`, at most 200 characters.
private func commentText(_ text: String) -> String {
    var result = ""
    for scalar in text.unicodeScalars.prefix(200) {
        if (" "..."~").contains(scalar) {
            result.unicodeScalars.append(scalar)
        } else {
            result += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
        }
    }
    return result
}
