public import HandoverCore
internal import Yams

/// A declarative description of how a relational database becomes an exporter.
///
/// It names the tables to export, their columns and types, how each table reaches the data
/// subject and the tenant, and which columns are left out. Its format is documented in the
/// README and its JSON Schema is `Schemas/dataset-map.schema.json`. Parse one with
/// ``DatasetMap/init(yaml:source:)``; check it against a database with ``DatasetMapExporter``.
public struct DatasetMap: Sendable, Hashable {
    /// The only version of the format this code reads.
    public static let formatVersion = 1

    /// Where the map came from (its path), for error messages.
    public var source: String
    /// The exporter this map defines.
    public var exporter: ExporterInfo
    /// The table whose rows are data subjects, and its key; nil when the map has no subjects.
    public var subject: Anchor?
    /// The table whose rows are tenants, and its key; nil when the data is not multi-tenant.
    public var tenant: Anchor?
    /// The tables to export, in order.
    public var tables: [Table]
    /// What to do with a value that cannot be read as its field's type, unless a table or column says otherwise
    /// (`on-invalid`).
    public var onInvalid: InvalidValuePolicy = .fail

    /// What to do with a value that cannot be read as its field's type, or text that is not valid UTF-8.
    public enum InvalidValuePolicy: String, Sendable, Hashable, CaseIterable, Codable {
        /// Stop the export with an error that names the table, row and field (the default).
        case fail
        /// Write the value repaired, count it in the manifest and mark the exporter partial: invalid UTF-8 as
        /// U+FFFD; a value that does not fit its type as null, with its text in a string field declared beside it
        /// (`<field>_invalid`).
        case replace
    }

    /// The exporter's id and version.
    public struct ExporterInfo: Sendable, Hashable {
        /// The exporter id (lowercase letters, digits, `_`, `-`).
        public var id: String
        /// The exporter's version.
        public var version: String
    }

    /// A table and its key column: where subjects or tenants are found.
    public struct Anchor: Sendable, Hashable {
        /// The source table.
        public var table: String
        /// Its key column, which other tables refer to.
        public var key: String
        /// Where this stands in the map.
        public var location: Location
    }

    /// One exported table.
    public struct Table: Sendable, Hashable {
        /// The exported name (file name and schema name).
        public var name: String
        /// The table in the database (defaults to ``name``).
        public var source: String
        /// A short title.
        public var title: String?
        /// A description.
        public var description: String?
        /// The columns, in order; nil means every column of the source table except ``exclude``.
        public var columns: [Column]?
        /// Columns of the source table left out.
        public var exclude: [String]
        /// With ``columns`` nil: columns whose names look like secrets (see ``SecretNames``) that are exported all
        /// the same. Every other such column is left out unless listed.
        public var includeSecrets: [String] = []
        /// The primary key; nil means the source table's own.
        public var primaryKey: [String]?
        /// References from single columns of this table to keys of other mapped tables.
        public var references: [Reference]
        /// Which rows belong to the data subject: every row, or those a path leads from to the subject (a row
        /// belongs to the subject if any path matches). Nil: the table is not part of subject exports.
        public var subject: Scope?
        /// Which rows belong to the tenant: every row, or those its one path leads from to the tenant. Nil: the
        /// table is not part of tenant exports.
        public var tenant: Scope?
        /// The table's `on-invalid`; nil: the map's.
        public var onInvalid: InvalidValuePolicy?
        /// Where this stands in the map.
        public var location: Location
    }

    /// One exported column.
    public struct Column: Sendable, Hashable {
        /// The exported field name.
        public var name: String
        /// The column in the database (defaults to ``name``).
        public var source: String
        /// The declared type; nil means inferred from the database's declared type.
        public var type: FieldType?
        /// Whether nulls are forbidden; nil means inferred from NOT NULL.
        public var required: Bool?
        /// A short title.
        public var title: String?
        /// A description.
        public var description: String?
        /// In subject exports, replace values that point at other people by pseudonyms.
        public var pseudonymize: Bool
        /// Rules the values must follow.
        public var constraints: Constraints
        /// The column's `on-invalid`; nil: the table's or the map's.
        public var onInvalid: InvalidValuePolicy?
        /// For a column that names a file (`file: {root: …}`): the folder its relative paths start from. The file
        /// is carried into the bundle; a path that leaves the folder is refused.
        public var fileRoot: String?
        /// Where this stands in the map.
        public var location: Location
    }

    /// A reference from a column to a key column of another mapped table.
    public struct Reference: Sendable, Hashable {
        /// The referencing column (exported name) of this table.
        public var column: String
        /// The referenced table (exported name).
        public var table: String
        /// The referenced column (exported name).
        public var referencedColumn: String
        /// Where this stands in the map.
        public var location: Location
    }

    /// Which rows of a table belong to the one data subject or tenant an export asks for.
    ///
    /// Written `subject: all` or `tenant: all` for ``all``; otherwise a path or (for subjects) a list of paths. A
    /// column named `all` is written `{column: all}`.
    public enum Scope: Sendable, Hashable {
        /// Every row, whoever the subject or tenant asked for: for a database that holds one subject's or one
        /// tenant's data (a per-user database file, or one loaded from a bundle by `handover import`). The subject
        /// or tenant must still be found in the map's anchor table (`subject: {table:, key:}`), so an unknown one
        /// gets nothing. On a table of many subjects or tenants, it gives every one of them everyone's rows.
        case all
        /// The rows any of these paths leads from to the subject's or tenant's key; never empty, and one path for
        /// a tenant.
        case paths([Path])

        /// The word that stands for ``all`` in a map.
        public static let allKeyword = "all"

        /// The paths; empty for ``all``.
        public var paths: [Path] {
            if case .paths(let paths) = self { return paths }
            return []
        }
    }

    /// A chain of references ending in a column that holds the subject's or tenant's key.
    ///
    /// `via: [invoice_id]`, `column: customer_id` on `invoice_lines` reads: follow
    /// `invoice_lines.invoice_id` to `invoices`, whose `customer_id` holds the subject's key.
    public struct Path: Sendable, Hashable {
        /// The referencing columns to follow, one per hop; each needs a declared reference.
        public var via: [String]
        /// The column of the last table reached that must equal the key.
        public var column: String
        /// For subject paths: compare with this column of the subject's row instead of its key.
        public var matches: String?
        /// Where this stands in the map.
        public var location: Location
    }

    /// A place in the map: a dotted path and, where known, the line and column.
    public struct Location: Sendable, Hashable, CustomStringConvertible {
        /// The dotted path, such as `tables.comments.subject`.
        public var path: String
        /// The line, from 1.
        public var line: Int?
        /// The column, from 1.
        public var column: Int?

        /// `tables.comments.subject (line 30, column 5)`.
        public var description: String {
            guard let line else { return path }
            return "\(path) (line \(line)" + (column.map { ", column \($0)" } ?? "") + ")"
        }
    }

    /// Finds a table by its exported name.
    public func table(named name: String) -> Table? {
        tables.first { $0.name == name }
    }

    /// The map with every relative file root (`file: {root: media}`) taken from `directory`, the folder of the
    /// map's file.
    public func resolvingFileRoots(relativeTo directory: String) -> DatasetMap {
        var map = self
        for table in map.tables.indices {
            for column in map.tables[table].columns?.indices ?? 0..<0 {
                guard let root = map.tables[table].columns?[column].fileRoot, !root.hasPrefix("/") else { continue }
                map.tables[table].columns?[column].fileRoot = (directory.isEmpty ? "." : directory) + "/" + root
            }
        }
        return map
    }
}

extension DatasetMap {
    /// Parses a dataset map from YAML.
    /// - Parameters:
    ///   - yaml: The document.
    ///   - source: A name for the document in error messages, such as its path.
    /// - Throws: ``HandoverError/Code/invalidDatasetMap`` naming the problem and where it stands.
    public init(yaml: String, source: String = "dataset map") throws {
        try self.init(yaml: yaml, source: source, composer: .quick)
    }

    /// Parses a dataset map from YAML, composing it as `composer` says (``init(yaml:source:)`` uses
    /// ``MapComposer/quick``; tests compare it with ``MapComposer/standard``).
    init(yaml: String, source: String, composer: MapComposer) throws {
        let root: Node
        do {
            guard let node = try composer.compose(yaml) else {
                throw HandoverError(.invalidDatasetMap, "\(source): the document is empty")
            }
            root = node
        } catch let error as HandoverError {
            throw error
        } catch let error as YamlError {
            throw HandoverError(.invalidDatasetMap, "\(source): not valid YAML: \(YAMLNode.describe(error))")
        } catch {
            throw HandoverError(.invalidDatasetMap, "\(source): not valid YAML")
        }
        try self.init(root: YAMLNode(node: root, path: "", source: source))
        self.source = source
    }

    init(root: YAMLNode) throws {
        source = root.source
        let top = try root.mapping(allowed: ["handover-map", "exporter", "subject", "tenant", "tables", "on-invalid"])
        guard let versionNode = top["handover-map"] else {
            throw root.error("the map must start with 'handover-map: 1' (the format version)")
        }
        guard try versionNode.integer() == DatasetMap.formatVersion else {
            throw versionNode.error(
                "this version of Handover reads dataset maps of version \(DatasetMap.formatVersion)")
        }
        guard let exporterNode = top["exporter"] else { throw root.error("'exporter' is missing (id and version)") }
        let exporterFields = try exporterNode.mapping(allowed: ["id", "version"])
        guard let idNode = exporterFields["id"] else { throw exporterNode.error("'id' is missing") }
        let id = try idNode.string()
        guard Identifier.isValidExporterID(id) else {
            throw idNode.error("an exporter id is lowercase letters, digits, '_' and '-', starting with a letter")
        }
        guard !ExporterRegistry.reservedIDs.contains(id) else {
            throw idNode.error("the exporter id '\(id)' is reserved for the bundle's own folder")
        }
        let version = try exporterFields["version"]?.string() ?? "1"
        exporter = ExporterInfo(id: id, version: version)
        subject = try top["subject"].map(Self.anchor)
        tenant = try top["tenant"].map(Self.anchor)
        onInvalid = try top["on-invalid"].map(Self.policy) ?? .fail

        guard let tablesNode = top["tables"] else { throw root.error("'tables' is missing") }
        var tables: [Table] = []
        for (name, node) in try tablesNode.orderedMapping() {
            tables.append(try Self.table(name: name, node: node))
        }
        guard !tables.isEmpty else { throw tablesNode.error("the map declares no tables") }
        self.tables = tables
    }

    private static func anchor(_ node: YAMLNode) throws -> Anchor {
        let fields = try node.mapping(allowed: ["table", "key"])
        guard let table = try fields["table"]?.identifier() else { throw node.error("'table' is missing") }
        guard let key = try fields["key"]?.identifier() else { throw node.error("'key' is missing") }
        return Anchor(table: table, key: key, location: node.location)
    }

    private static func table(name: String, node: YAMLNode) throws -> Table {
        guard Identifier.isValid(name) else {
            throw node.error("table name is not a valid identifier (letters, digits and '_', starting with a letter)")
        }
        let fields = try node.mapping(allowed: [
            "from", "title", "description", "columns", "exclude", "include-secrets", "primary-key", "references",
            "subject", "tenant", "on-invalid",
        ])
        var columns: [Column]?
        if let columnsNode = fields["columns"] {
            columns = try columnsNode.orderedMapping().map { try column(name: $0.key, node: $0.value) }
            guard !(columns ?? []).isEmpty else { throw columnsNode.error("no columns listed") }
        }
        let exclude = try fields["exclude"]?.identifierList() ?? []
        if let columns, let listed = exclude.first(where: { name in columns.contains { $0.name == name } }) {
            throw fields["exclude"]!.error("column \(listed) is both listed and excluded")
        }
        let includeSecrets = try fields["include-secrets"]?.identifierList() ?? []
        if let node = fields["include-secrets"] {
            guard columns == nil else {
                throw node.error("'include-secrets' goes with 'exclude' only; with 'columns', list the column there")
            }
            if let both = includeSecrets.first(where: exclude.contains) {
                throw node.error("column \(both) is both excluded and included")
            }
        }
        var references: [Reference] = []
        if let referencesNode = fields["references"] {
            for (column, target) in try referencesNode.orderedMapping() {
                let text = try target.string()
                let parts = text.split(separator: ".", omittingEmptySubsequences: false)
                guard parts.count == 2, Identifier.isValid(parts[0]), Identifier.isValid(parts[1]) else {
                    throw target.error("a reference is written TABLE.COLUMN")
                }
                references.append(
                    Reference(
                        column: column, table: String(parts[0]), referencedColumn: String(parts[1]),
                        location: target.location))
            }
        }
        return Table(
            name: name,
            source: try fields["from"]?.identifier() ?? name,
            title: try fields["title"]?.string(),
            description: try fields["description"]?.string(),
            columns: columns,
            exclude: exclude,
            includeSecrets: includeSecrets,
            primaryKey: try fields["primary-key"]?.identifierList(),
            references: references,
            subject: try fields["subject"].map { try scope($0, subject: true) },
            tenant: try fields["tenant"].map { try scope($0, subject: false) },
            onInvalid: try fields["on-invalid"].map(policy),
            location: node.location)
    }

    private static func column(name: String, node: YAMLNode) throws -> Column {
        guard Identifier.isValid(name) else {
            throw node.error("column name is not a valid identifier (letters, digits and '_', starting with a letter)")
        }
        // Shorthand: `name: integer`.
        if case .scalar = node.node {
            return Column(
                name: name, source: name, type: try fieldType(node), required: nil, title: nil, description: nil,
                pseudonymize: false, constraints: Constraints(), onInvalid: nil, fileRoot: nil, location: node.location)
        }
        let fields = try node.mapping(allowed: [
            "type", "from", "required", "title", "description", "pseudonymize", "enum", "pattern", "minimum",
            "maximum", "min-length", "max-length", "on-invalid", "file",
        ])
        var constraints = Constraints()
        if let node = fields["enum"] {
            constraints.enumeration = try node.sequence().map { try $0.string() }
            guard !(constraints.enumeration ?? []).isEmpty else { throw node.error("an enum lists at least one value") }
        }
        if let node = fields["pattern"] {
            let pattern = try node.string()
            guard Constraints.isPortablePattern(pattern) else {
                throw node.error(
                    "a pattern may not use anchors (the whole value must match), lookaround, back-references or flags")
            }
            if let problem = Constraints.patternProblem(pattern) {
                throw node.error("the pattern cannot be used: \(problem)")
            }
            constraints.pattern = pattern
        }
        constraints.minimum = try fields["minimum"]?.number()
        constraints.maximum = try fields["maximum"]?.number()
        constraints.minLength = try fields["min-length"]?.integer()
        constraints.maxLength = try fields["max-length"]?.integer()
        return Column(
            name: name,
            source: try fields["from"]?.string() ?? name,
            type: try fields["type"].map(fieldType),
            required: try fields["required"]?.boolean(),
            title: try fields["title"]?.string(),
            description: try fields["description"]?.string(),
            pseudonymize: try fields["pseudonymize"]?.boolean() ?? false,
            constraints: constraints,
            onInvalid: try fields["on-invalid"].map(policy),
            fileRoot: try fields["file"].map(fileRoot),
            location: node.location)
    }

    private static func fileRoot(_ node: YAMLNode) throws -> String {
        let fields = try node.mapping(allowed: ["root"])
        guard let root = try fields["root"]?.string(), !root.isEmpty, !root.utf8.contains(0) else {
            throw node.error("'file' needs 'root': the folder the column's paths are relative to")
        }
        return root
    }

    private static func policy(_ node: YAMLNode) throws -> InvalidValuePolicy {
        guard let policy = InvalidValuePolicy(rawValue: try node.string()) else {
            throw node.error("on-invalid is fail or replace")
        }
        return policy
    }

    private static func fieldType(_ node: YAMLNode) throws -> FieldType {
        let text = try node.string()
        guard let type = FieldType(rawValue: text) else {
            throw node.error(
                "unknown type; use one of " + FieldType.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return type
    }

    /// A table's `subject` (a path, a list of paths or `all`) or `tenant` (a path or `all`).
    private static func scope(_ node: YAMLNode, subject: Bool) throws -> Scope {
        if case .scalar = node.node, try node.string() == Scope.allKeyword { return .all }
        guard subject, case .sequence = node.node else { return .paths([try path(node, allowMatches: subject)]) }
        let paths = try node.sequence().map { try path($0, allowMatches: true) }
        guard !paths.isEmpty else { throw node.error("no subject path listed") }
        return .paths(paths)
    }

    private static func path(_ node: YAMLNode, allowMatches: Bool) throws -> Path {
        if case .scalar = node.node {
            // `all` alone is the scope (see `scope`); in a list it would read as a column and give every row.
            guard try node.string() != Scope.allKeyword else {
                throw node.error(
                    "'all' (every row) stands alone, as 'subject: all', never in a list of paths; "
                        + "a column named all is written {column: all}")
            }
            return Path(via: [], column: try node.identifier(), matches: nil, location: node.location)
        }
        let fields = try node.mapping(allowed: allowMatches ? ["via", "column", "matches"] : ["via", "column"])
        guard let column = try fields["column"]?.identifier() else { throw node.error("'column' is missing") }
        return Path(
            via: try fields["via"]?.identifierList() ?? [],
            column: column,
            matches: try fields["matches"]?.identifier(),
            location: node.location)
    }
}

/// A YAML node with its dotted path, for error messages that say where a problem stands.
struct YAMLNode {
    let node: Node
    let path: String
    let source: String

    var location: DatasetMap.Location {
        DatasetMap.Location(path: path.isEmpty ? "(top)" : path, line: node.mark?.line, column: node.mark?.column)
    }

    func error(_ message: String) -> HandoverError {
        HandoverError(.invalidDatasetMap, "\(source): \(location): \(message)")
    }

    func child(_ key: String, _ node: Node) -> YAMLNode {
        YAMLNode(node: node, path: path.isEmpty ? key : path + "." + key, source: source)
    }

    /// The pairs of a mapping, in document order, with string keys; duplicate keys are refused.
    func orderedMapping() throws -> [(key: String, value: YAMLNode)] {
        guard case .mapping(let mapping) = node else { throw error("expected a mapping (key: value lines)") }
        var seen = Set<String>()
        var pairs: [(key: String, value: YAMLNode)] = []
        for (keyNode, value) in mapping {
            guard case .scalar(let key) = keyNode else { throw error("a key must be plain text") }
            guard seen.insert(key.string).inserted else { throw child(key.string, value).error("declared twice") }
            pairs.append((key.string, child(key.string, value)))
        }
        return pairs
    }

    /// A mapping whose keys must all be among `allowed`.
    func mapping(allowed: Set<String>) throws -> [String: YAMLNode] {
        var result: [String: YAMLNode] = [:]
        for (key, value) in try orderedMapping() {
            guard allowed.contains(key) else {
                throw value.error("unknown key; expected one of " + allowed.sorted().joined(separator: ", "))
            }
            result[key] = value
        }
        return result
    }

    func sequence() throws -> [YAMLNode] {
        guard case .sequence(let sequence) = node else { throw error("expected a list") }
        return sequence.enumerated().map { YAMLNode(node: $0.element, path: "\(path)[\($0.offset)]", source: source) }
    }

    func string() throws -> String {
        guard case .scalar(let scalar) = node else { throw error("expected a single value") }
        return scalar.string
    }

    func identifier() throws -> String {
        let text = try string()
        guard Identifier.isValid(text) else {
            throw error("not a valid identifier (letters, digits and '_', starting with a letter)")
        }
        return text
    }

    func integer() throws -> Int {
        guard let value = Int(try string()) else { throw error("expected a whole number") }
        return value
    }

    func number() throws -> Double {
        guard let value = Double(try string()), value.isFinite else { throw error("expected a number") }
        return value
    }

    func boolean() throws -> Bool {
        switch try string() {
        case "true", "yes": return true
        case "false", "no": return false
        default: throw error("expected true or false")
        }
    }

    /// A list of identifiers; a single identifier stands for a list of one.
    func identifierList() throws -> [String] {
        if case .scalar = node { return [try identifier()] }
        return try sequence().map { try $0.identifier() }
    }

    static func describe(_ error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
            .composer(_, let problem, let mark, _):
            return "line \(mark.line), column \(mark.column): \(problem)"
        case .reader(let problem, let offset, _, _):
            return problem + (offset.map { " at byte \($0)" } ?? "")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return "line \(context.mark.line), column \(context.mark.column): a mapping declares a key twice: "
                + duplicates.joined(separator: ", ")
        default:
            return "unreadable document"
        }
    }
}

/// How a map's YAML text becomes a tree of nodes.
///
/// Yams' default resolver compiles seven regular expressions (through ICU, on first use) to give each plain scalar
/// a type: bool, int, float, null, timestamp, merge or value. A map reads every scalar as text and never asks for
/// its type; the only place the type matters is Yams' own check for duplicate keys, for which two keys of the same
/// text but of different types (`1` and `"1"`) are different keys. ``quick`` composes with no rules at all (every
/// plain scalar is a string), and falls back to the default resolver whenever the two could differ, so that the
/// tree, the accepted maps and every error are exactly those of ``standard``.
enum MapComposer {
    /// `Yams.compose(yaml:)` with its default resolver.
    case standard
    /// A first composition without resolver rules, repeated with the default resolver when it fails or when any
    /// mapping has a key that is not a scalar or two keys of the same text.
    case quick

    func compose(_ yaml: String) throws -> Node? {
        if self == .quick, let quick = Self.composeWithoutRules(yaml) {
            // An empty document is empty whatever the resolver.
            guard let root = quick else { return nil }
            if Self.keysDiffer(in: root, budget: Self.budget(yaml)) { return root }
        }
        return try Yams.compose(yaml: yaml)
    }

    /// The document composed without resolver rules: nil when that fails, `.some(nil)` for an empty document.
    private static func composeWithoutRules(_ yaml: String) -> Node?? {
        do {
            // A map never constructs values from its nodes: a constructor without rules, as `Constructor.default`
            // builds its tables at each call.
            return .some(try Yams.compose(yaml: yaml, .basic, Constructor([:], [:], [:])))
        } catch {
            return nil
        }
    }

    /// The most nodes ``quick`` walks in a document: a document without aliases has fewer.
    static func budget(_ yaml: String) -> Int { 2 * yaml.utf8.count + 64 }

    /// Whether ``quick`` keeps its first composition of `yaml` (walking at most `budget` nodes) rather than
    /// composing it again with the default resolver.
    static func keepsQuickComposition(of yaml: String, budget: Int? = nil) -> Bool {
        guard let quick = composeWithoutRules(yaml) else { return false }
        guard let root = quick else { return true }
        return keysDiffer(in: root, budget: budget ?? Self.budget(yaml))
    }

    /// Whether every mapping in the tree under `root` has scalar keys of pairwise different text, so that no
    /// resolver can see two equal keys in it; false also when the tree has more than `budget` nodes (aliases can
    /// make a small document a very large tree) or holds an alias node.
    ///
    /// Yams calls two keys duplicates only when they are equal nodes, and equal scalars have the same text: keys of
    /// different text are never duplicates, whatever types a resolver gives them.
    static func keysDiffer(in root: Node, budget: Int) -> Bool {
        var pending = [root]
        // Nodes seen so far, counted before they are queued so that the queue never outgrows the budget.
        var seen = 1
        while let node = pending.popLast() {
            switch node {
            case .scalar:
                continue
            case .sequence(let sequence):
                seen += sequence.count
                guard seen <= budget else { return false }
                pending.append(contentsOf: sequence)
            case .mapping(let mapping):
                seen += 2 * mapping.count
                guard seen <= budget else { return false }
                var keys = Set<String>()
                for (key, value) in mapping {
                    guard case .scalar(let scalar) = key, keys.insert(scalar.string).inserted else { return false }
                    pending.append(value)
                }
            case .alias:
                return false
            }
        }
        return true
    }
}
