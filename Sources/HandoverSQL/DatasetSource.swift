package import HandoverCore

/// A relational database a ``DatasetMapExporter`` reads: SQLite here, PostgreSQL in `HandoverPostgres`.
///
/// A source opens sessions; the exporter plans its queries from the source's ``SourceCatalog`` and runs them in
/// one session, in one snapshot.
package protocol DatasetSource: Sendable {
    /// The source for messages: a file path, or a URL without its password.
    var label: String { get }
    /// How queries for this source are written.
    var dialect: SQLDialect { get }
    /// Runs `body` in a session; with `snapshot`, in one read-only transaction that sees one snapshot.
    /// - Throws: ``HandoverError/Code/sourceUnavailable`` when the source cannot be reached, or what `body`
    ///   throws.
    func withSession<T: Sendable>(snapshot: Bool, _ body: (any SourceSession) async throws -> T) async throws -> T
}

/// A session with a data source: catalog reads, small queries and streamed tables.
package protocol SourceSession {
    /// The tables of the source (its schema, for PostgreSQL), their columns, keys and indexes.
    func catalog() async throws -> SourceCatalog
    /// The rows of a small query (a look-up or a count), as values.
    /// - Parameters:
    ///   - sql: The query with `?` for parameters (``SQLDialect/finish(_:)`` is applied by the session).
    ///   - parameters: One value per `?`.
    ///   - limit: The most rows read.
    func rows(_ sql: String, _ parameters: [SourceValue], limit: Int) async throws -> [[SourceValue]]
    /// Streams the rows of one table's query through `body`, each converted and checked against the plan's fields,
    /// in batches (never empty) of up to about a thousand rows, in the query's order.
    func stream(
        _ query: TablePlan.Query, plan: TablePlan, conversion: RowConversion, _ body: ([Row]) async throws -> Void
    ) async throws
}

/// A value read from or bound into a query, whatever the source.
package enum SourceValue: Sendable, Hashable {
    /// NULL.
    case null
    /// An integer.
    case integer(Int64)
    /// A floating-point number.
    case real(Double)
    /// Text.
    case text(String)
    /// Bytes.
    case blob([UInt8])

    /// The value as text, as it is compared with the text of another (nil for null and bytes).
    package var text: String? {
        switch self {
        case .integer(let value): String(value)
        case .real(let value): String(value)
        case .text(let value): value
        case .null, .blob: nil
        }
    }

    /// Whether this value names no one when compared: null, empty bytes, or text that is empty or only white
    /// space (see ``SubjectSelector/isBlank(_:)``).
    package var isBlank: Bool {
        switch self {
        case .null: true
        case .text(let text): SubjectSelector.isBlank(text)
        case .blob(let bytes): bytes.isEmpty
        case .integer, .real: false
        }
    }
}

/// How queries are written for one kind of database. Plans are written with `?` for each parameter; the
/// dialect says how a parameter is compared with a column, and numbers them where the database wants `$1`.
package struct SQLDialect: Sendable, Hashable {
    /// Whether parameters are numbered (`$1`, `$2`: PostgreSQL) rather than `?` (SQLite).
    package var numberedParameters: Bool
    /// The function that trims a set of characters from both ends (`trim` in SQLite, `btrim` in PostgreSQL).
    package var trimFunction: String
    /// Whether a subject's paths compare with `= ANY(ARRAY(SELECT …))` rather than `IN (SELECT …)`. PostgreSQL
    /// cannot combine `IN` subqueries joined by `OR` (a subject reached two ways) into index scans and reads the
    /// whole table; an `ARRAY` subquery is computed once, and each alternative becomes an index condition.
    package var arraySubqueries: Bool

    /// SQLite's.
    package static let sqlite = SQLDialect(numberedParameters: false, trimFunction: "trim", arraySubqueries: false)
    /// PostgreSQL's.
    package static let postgres = SQLDialect(numberedParameters: true, trimFunction: "btrim", arraySubqueries: true)

    /// A parameter compared with `column`: `?`, or `CAST(? AS type)` where the source binds text to be read as
    /// the column's type.
    package func parameter(for column: CatalogColumn?) -> String {
        guard let type = column?.parameterType else { return "?" }
        return "CAST(? AS " + type + ")"
    }

    /// `expression` as text, for text functions.
    package func text(_ expression: String) -> String {
        numberedParameters ? "CAST(" + expression + " AS text)" : expression
    }

    /// The column `name` of `alias` as the session reads it.
    package func select(_ name: String, form: CatalogColumn.SelectForm, alias: String = "t0") -> String {
        let column = alias + "." + quoted(name)
        switch form {
        case .plain: return column
        case .text: return "CAST(" + column + " AS text)"
        case .json: return "CAST(to_json(" + column + ") AS text)"
        case .output: return "format('%s', " + column + ")"
        }
    }

    /// The SQL as the database reads it: each `?` outside quotes becomes `$1`, `$2`, … where parameters are
    /// numbered.
    package func finish(_ sql: String) -> String {
        guard numberedParameters else { return sql }
        var result = ""
        result.reserveCapacity(sql.utf8.count + 8)
        var number = 0
        var quote: Character?
        for character in sql {
            if let open = quote {
                if character == open { quote = nil }
                result.append(character)
            } else if character == "\"" || character == "'" {
                quote = character
                result.append(character)
            } else if character == "?" {
                number += 1
                result += "$\(number)"
            } else {
                result.append(character)
            }
        }
        return result
    }
}

/// `identifier` in double quotes, with quotes inside doubled: safe in SQLite and PostgreSQL alike.
package func quoted(_ identifier: String) -> String {
    var result = "\""
    for character in identifier {
        if character == "\"" { result += "\"\"" } else { result.append(character) }
    }
    return result + "\""
}

/// What a database's catalog says about its tables, read once before a map is compiled.
package struct SourceCatalog: Sendable, Hashable {
    /// The source, for messages.
    package var label: String
    /// The tables and views, by name.
    package var tables: [String: CatalogTable]

    /// A catalog of `tables`.
    package init(label: String, tables: [CatalogTable]) {
        self.label = label
        self.tables = Dictionary(tables.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The table names, sorted.
    package var tableNames: [String] { tables.keys.sorted() }
}

/// One table (or view) of a catalog.
package struct CatalogTable: Sendable, Hashable {
    /// Its name.
    package var name: String
    /// Its columns, in order.
    package var columns: [CatalogColumn]
    /// The columns that lead an index (or the primary key).
    package var leadingIndexedColumns: Set<String>
    /// Its foreign keys.
    package var foreignKeys: [CatalogForeignKey]

    /// A table.
    package init(
        name: String, columns: [CatalogColumn], leadingIndexedColumns: Set<String>, foreignKeys: [CatalogForeignKey]
    ) {
        self.name = name
        self.columns = columns
        self.leadingIndexedColumns = leadingIndexedColumns
        self.foreignKeys = foreignKeys
    }

    /// The column `name`.
    package func column(_ name: String) -> CatalogColumn? { columns.first { $0.name == name } }
}

/// One column of a catalog table.
package struct CatalogColumn: Sendable, Hashable {
    /// Its name.
    package var name: String
    /// Its type as the database declares it (`TEXT`, `character varying(80)`, `mood`).
    package var declaredType: String
    /// Whether it is declared NOT NULL.
    package var notNull: Bool
    /// Its position in the primary key, from 1; 0 when not part of it.
    package var primaryKeyPosition: Int
    /// The field type its declared type suggests; nil when the source cannot read values of this type, unless the
    /// map declares the column's type `string` (then its text is read).
    package var inferredType: FieldType?
    /// The values an enumerated type allows, in order.
    package var enumeration: [String]?
    /// The type a text parameter is cast to when compared with this column; nil to bind as is.
    package var parameterType: String?
    /// How the column is selected.
    package var selectForm: SelectForm = .plain
    /// What the source calls the kind of value, for the reader (PostgreSQL: `int`, `numeric`, `float`, …).
    package var kind: String = ""

    /// How a column is selected.
    package enum SelectForm: Sendable, Hashable {
        /// As it is.
        case plain
        /// As its text.
        case text
        /// As the text of its JSON value (arrays).
        case json
        /// As the type's own output, where its cast to text differs (`inet`, whose cast adds `/32`).
        case output
    }

    /// A column.
    package init(
        name: String, declaredType: String, notNull: Bool, primaryKeyPosition: Int, inferredType: FieldType?,
        enumeration: [String]? = nil, parameterType: String? = nil
    ) {
        self.name = name
        self.declaredType = declaredType
        self.notNull = notNull
        self.primaryKeyPosition = primaryKeyPosition
        self.inferredType = inferredType
        self.enumeration = enumeration
        self.parameterType = parameterType
    }
}

/// A foreign key of a catalog table.
package struct CatalogForeignKey: Sendable, Hashable {
    /// The referencing columns.
    package var columns: [String]
    /// The referenced table.
    package var table: String
    /// The referenced columns (the referenced table's primary key when the database leaves them out).
    package var referencedColumns: [String]

    /// A foreign key.
    package init(columns: [String], table: String, referencedColumns: [String]) {
        self.columns = columns
        self.table = table
        self.referencedColumns = referencedColumns
    }
}
