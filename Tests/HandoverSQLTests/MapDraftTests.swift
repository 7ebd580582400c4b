import Foundation
import HandoverCore
import HandoverDemo
import HandoverSQL
import HandoverSQLite
import Logging
import TestSupport
import Testing

/// A generated SQLite database of a hundred tables: chains of foreign keys from one to ten references deep below
/// `users`, tables no chain leads from (one of them a cycle), secret-looking columns, tables whose rows name other
/// people beside the subject, a composite key and a composite foreign key, a cycle through reachable tables, and
/// names a map cannot hold as they are. Its rows are random (seeded); what reaches whom is read back with SQL.
struct HundredTables {
    /// The chains: their depths, one table per level (`k<chain>_l<level>`).
    static let depths = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10, 9, 3, 4]
    static let users = 12

    /// The chain tables and their levels, from 1.
    static var chainTables: [(name: String, level: Int)] {
        depths.enumerated().flatMap { chain, depth in (1...depth).map { ("k\(chain)_l\($0)", $0) } }
    }

    /// Whether a chain table has its own `tenant_id` (every third level).
    static func hasTenantColumn(level: Int) -> Bool { level % 3 == 0 }

    /// The secret-looking column a chain table carries, if any.
    static func secretColumn(_ index: Int) -> String? {
        switch index % 4 {
        case 0: "reset_token"
        case 1: "otp_secret"
        case 2: "SessionKey"
        default: nil
        }
    }

    /// Tables no chain of foreign keys leads from to `users` (the tenant-only `tenant_settings` aside).
    static let unreachable = [
        "Line Items", "audit_log", "membership_events", "newsletter", "settings", "u_a", "u_b", "u_c", "u_leaf",
    ]

    /// Creates the database at `path`.
    static func create(at path: String) throws {
        var random = SeededGenerator(state: 7)
        func pick(_ count: Int) -> Int { Int(random.next() % UInt64(count)) + 1 }
        var sql = ["PRAGMA foreign_keys = OFF;", "BEGIN;"]
        sql.append("CREATE TABLE tenants (id INTEGER PRIMARY KEY, name TEXT NOT NULL);")
        sql.append(
            """
            CREATE TABLE users (id INTEGER PRIMARY KEY, tenant_id INTEGER NOT NULL REFERENCES tenants(id),
                name TEXT NOT NULL, email TEXT NOT NULL UNIQUE, password_hash TEXT, api_token TEXT,
                manager_id INTEGER REFERENCES users(id));
            """)
        for tenant in 1...3 { sql.append("INSERT INTO tenants VALUES (\(tenant), 'Tenant \(tenant)');") }
        for user in 1...users {
            let manager = user == 1 ? "NULL" : String(pick(user - 1))
            sql.append(
                "INSERT INTO users VALUES (\(user), \((user % 3) + 1), 'User \(user)', 'u\(user)@example.test', "
                    + "'hash', 'tok', \(manager));")
        }
        // Chains: level 1 refers to users, each further level to the one above.
        var rows: [String: Int] = ["users": users]
        for (index, table) in chainTables.enumerated() {
            let chain = table.name.split(separator: "_")[0]
            let parent = table.level == 1 ? "users" : "\(chain)_l\(table.level - 1)"
            let up = table.level == 1 ? "user_id" : "up_id"
            var columns = [
                "id INTEGER PRIMARY KEY", "\(up) INTEGER REFERENCES \(parent)(id)", "label TEXT NOT NULL",
                "amount REAL",
            ]
            if hasTenantColumn(level: table.level) { columns.append("tenant_id INTEGER REFERENCES tenants(id)") }
            if let secret = secretColumn(index) { columns.append("\(secret) TEXT") }
            sql.append("CREATE TABLE \(table.name) (\(columns.joined(separator: ", ")));")
            let count = 6 + pick(6)
            rows[table.name] = count
            for id in 1...count {
                // Now and then a row hangs from nothing.
                let reference = id % 7 == 0 ? "NULL" : String(pick(rows[parent]!))
                var values = ["\(id)", reference, "'row \(id)'", "\(Double(id) * 1.5)"]
                if hasTenantColumn(level: table.level) { values.append(String(pick(3))) }
                if secretColumn(index) != nil { values.append("'s3cr3t'") }
                sql.append("INSERT INTO \(table.name) VALUES (\(values.joined(separator: ", ")));")
            }
        }
        // Rows that name the subject and other people: an author beside the document, a sender and a recipient,
        // a reviewer beside the task.
        sql.append(
            """
            CREATE TABLE notes (id INTEGER PRIMARY KEY, doc_id INTEGER REFERENCES k3_l2(id),
                author_id INTEGER NOT NULL REFERENCES users(id), body TEXT);
            CREATE TABLE messages (id INTEGER PRIMARY KEY, sender_id INTEGER NOT NULL REFERENCES users(id),
                recipient_id INTEGER NOT NULL REFERENCES users(id), body TEXT);
            CREATE TABLE memberships (user_id INTEGER NOT NULL REFERENCES users(id), group_code TEXT NOT NULL,
                role TEXT, PRIMARY KEY (user_id, group_code));
            CREATE TABLE membership_events (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL,
                group_code TEXT NOT NULL, kind TEXT,
                FOREIGN KEY (user_id, group_code) REFERENCES memberships(user_id, group_code));
            CREATE TABLE projects (id INTEGER PRIMARY KEY, owner_id INTEGER NOT NULL REFERENCES users(id),
                pinned_task_id INTEGER REFERENCES tasks(id), name TEXT);
            CREATE TABLE tasks (id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL REFERENCES projects(id),
                title TEXT);
            CREATE TABLE reviews (id INTEGER PRIMARY KEY, reviewer_id INTEGER NOT NULL REFERENCES users(id),
                task_id INTEGER NOT NULL REFERENCES tasks(id), score INTEGER);
            CREATE TABLE odd_columns (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id),
                "unit price" REAL, "2nd" TEXT, "xmlData" TEXT);
            CREATE TABLE audit_log (id INTEGER PRIMARY KEY, action TEXT);
            CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT);
            CREATE TABLE u_a (id INTEGER PRIMARY KEY, b_id INTEGER REFERENCES u_b(id));
            CREATE TABLE u_b (id INTEGER PRIMARY KEY, c_id INTEGER REFERENCES u_c(id));
            CREATE TABLE u_c (id INTEGER PRIMARY KEY, a_id INTEGER REFERENCES u_a(id));
            CREATE TABLE u_leaf (id INTEGER PRIMARY KEY, a_id INTEGER REFERENCES u_a(id));
            CREATE TABLE newsletter (id INTEGER PRIMARY KEY, email TEXT NOT NULL);
            CREATE TABLE tenant_settings (id INTEGER PRIMARY KEY, tenant_id INTEGER NOT NULL REFERENCES tenants(id),
                theme TEXT);
            CREATE TABLE "Line Items" (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id));
            """)
        for id in 1...30 {
            sql.append("INSERT INTO notes VALUES (\(id), \(pick(rows["k3_l2"]!)), \(pick(users)), 'note');")
            sql.append("INSERT INTO messages VALUES (\(id), \(pick(users)), \(pick(users)), 'hi');")
            sql.append("INSERT INTO odd_columns VALUES (\(id), \(pick(users)), 2.5, 'x', '<a/>');")
            sql.append("INSERT INTO newsletter VALUES (\(id), 'u\(pick(users))@example.test');")
            sql.append("INSERT INTO audit_log VALUES (\(id), 'login');")
        }
        for user in 1...users {
            for group in ["red", "blue"] where pick(2) == 1 {
                sql.append("INSERT INTO memberships VALUES (\(user), '\(group)', 'member');")
                sql.append(
                    "INSERT INTO membership_events (user_id, group_code, kind) VALUES (\(user), '\(group)', 'join');")
            }
        }
        // A cycle through reachable tables: a project pins one of its own tasks.
        for project in 1...15 { sql.append("INSERT INTO projects VALUES (\(project), \(pick(users)), NULL, 'p');") }
        for task in 1...40 { sql.append("INSERT INTO tasks VALUES (\(task), \(pick(15)), 't');") }
        sql.append("UPDATE projects SET pinned_task_id = (SELECT min(id) FROM tasks WHERE project_id = projects.id);")
        for review in 1...40 {
            sql.append("INSERT INTO reviews VALUES (\(review), \(pick(users)), \(pick(40)), \(pick(5)));")
        }
        for id in 1...5 {
            sql.append("INSERT INTO u_a VALUES (\(id), \(id));")
            sql.append("INSERT INTO u_b VALUES (\(id), \(id));")
            sql.append("INSERT INTO u_c VALUES (\(id), \(id));")
            sql.append("INSERT INTO u_leaf VALUES (\(id), \(id));")
            sql.append("INSERT INTO tenant_settings VALUES (\(id), \(pick(3)), 'dark');")
        }
        sql.append("COMMIT;")
        try SQLiteConnection.withConnection(path: path, mode: .readWriteCreate) { connection in
            try connection.execute(sql.joined(separator: "\n"))
        }
    }

    /// The database, created once per process.
    static let database: String = {
        let path = NSTemporaryDirectory() + "/handover-map-draft-\(getpid()).sqlite"
        try? FileManager.default.removeItem(atPath: path)
        try! create(at: path)
        // Shared by the suite's tests, so removed when the process ends rather than after a test.
        atexit { unlink(NSTemporaryDirectory() + "/handover-map-draft-\(getpid()).sqlite") }
        return path
    }()
}

/// The rows of every table that reach subject `subject` through single-column foreign keys, found with SQL alone:
/// starting from the subject's row of `subjectTable`, a row is reached when a foreign key of it names a reached row,
/// repeated until nothing changes. Another row of the subject table is not the subject: no chain passes through it.
/// Rows are told by their `rowid`.
func rowsReaching(
    subject: Int64, subjectTable: String, key: String, in path: String
) throws -> [String: Set<Int64>] {
    try SQLiteConnection.withConnection(path: path, mode: .readOnly) { connection in
        func strings(_ sql: String, _ parameters: [SQLiteValue] = []) throws -> [[String]] {
            let statement = try connection.prepare(sql)
            try statement.bind(parameters)
            var rows: [[String]] = []
            while try statement.step() {
                var row: [String] = []
                for index in 0..<statement.columnCount {
                    switch try statement.value(at: index) {
                    case .text(let text): row.append(text)
                    case .integer(let value): row.append(String(value))
                    default: row.append("")
                    }
                }
                rows.append(row)
            }
            return rows
        }
        let tables = try strings("SELECT name FROM sqlite_schema WHERE type = 'table'").map { $0[0] }
        var keys: [(table: String, column: String, target: String, referenced: String)] = []
        for table in tables {
            let list = try strings(
                "SELECT id, \"from\", \"table\", coalesce(\"to\", 'id') FROM pragma_foreign_key_list(?)", [.text(table)]
            )
            let counts = Dictionary(grouping: list, by: { $0[0] })
            for row in list where counts[row[0]]!.count == 1 { keys.append((table, row[1], row[2], row[3])) }
        }
        var reached: [String: Set<Int64>] = [:]
        reached[subjectTable] = Set(
            try strings("SELECT rowid FROM \"\(subjectTable)\" WHERE \"\(key)\" = ?", [.integer(subject)]).map {
                Int64($0[0])!
            })
        var changed = true
        while changed {
            changed = false
            for reference in keys where reference.table != subjectTable {
                let targets = reached[reference.target] ?? []
                guard !targets.isEmpty else { continue }
                let found = try strings(
                    "SELECT t.rowid FROM \"\(reference.table)\" t JOIN \"\(reference.target)\" r "
                        + "ON r.\"\(reference.referenced)\" = t.\"\(reference.column)\" WHERE r.rowid IN ("
                        + targets.map(String.init).joined(separator: ",") + ")")
                for row in found where reached[reference.table, default: []].insert(Int64(row[0])!).inserted {
                    changed = true
                }
            }
        }
        return reached
    }
}

/// The primary-key values of `rowids` of `table`, each row's as one text.
func keyTexts(_ table: String, _ keyColumns: [String], _ rowids: Set<Int64>, in path: String) throws -> Set<String> {
    guard !rowids.isEmpty else { return [] }
    return try SQLiteConnection.withConnection(path: path, mode: .readOnly) { connection in
        let statement = try connection.prepare(
            "SELECT " + keyColumns.map { "\"\($0)\"" }.joined(separator: ", ") + " FROM \"\(table)\" WHERE rowid IN ("
                + rowids.map(String.init).joined(separator: ",") + ")")
        var result = Set<String>()
        while try statement.step() {
            var parts: [String] = []
            for index in 0..<statement.columnCount {
                switch try statement.value(at: index) {
                case .integer(let value): parts.append(String(value))
                case .text(let text): parts.append(text)
                default: parts.append("?")
                }
            }
            result.insert(parts.joined(separator: "|"))
        }
        return result
    }
}

/// The primary-key values of the rows an export emitted for `table`, as ``keyTexts(_:_:_:in:)`` writes them.
func emittedKeys(_ sink: CollectingSink, _ table: String) throws -> Set<String> {
    let schema = try #require(sink.tables.first { $0.name == table })
    let indexes = try schema.primaryKey.map { try #require(schema.index(of: $0)) }
    return Set(
        (sink.rows[table] ?? []).map { row in
            indexes.map { index -> String in
                switch row.values[index] {
                case .integer(let value): String(value)
                case .string(let text): text
                default: "?"
                }
            }.joined(separator: "|")
        })
}

/// `table.column: reason`.
func describe(_ column: MapDraft.ExcludedColumn) -> String {
    "\(column.table).\(column.column): \(column.reason.rawValue)"
}

func draft(_ path: String, tenant: String? = "tenants") async throws -> MapDraft {
    try MapDraft(
        catalog: try await DatasetSources.sqliteCatalog(path: path),
        options: MapDraft.Options(subjectTable: "users", tenantTable: tenant))
}

@Suite struct MapDraftDemoTests {
    @Test func theDemoDraftCoversWhatTheHandWrittenMapCovers() async throws {
        let draft = try await draft(demoDatabase)
        let written = try DatasetMap(yaml: SalesDemo.datasetMap)
        let drafted = try DatasetMap(yaml: draft.yaml)
        #expect(drafted.subject?.table == "users" && drafted.subject?.key == "id")
        #expect(drafted.tenant?.table == "tenants" && drafted.tenant?.key == "id")
        for table in written.tables {
            // A `matches` path compares values instead of following a key: the draft does not infer those.
            if (table.subject?.paths ?? []).contains(where: { $0.matches == nil }) {
                #expect(draft.subjectTables.contains(table.name), "\(table.name) in subject exports")
            } else if table.subject != nil {
                #expect(draft.leftOut.map(\.table).contains(table.name))
            }
            if table.tenant != nil { #expect(draft.tenantTables.contains(table.name), "\(table.name) for tenants") }
        }
        #expect(draft.yaml.contains("subject: {column: email, matches: email}"), "a hint for the contact forms")
        #expect(drafted.table(named: "comments")?.subject?.paths.map(\.via) == [[], ["content_id"]])
        #expect(drafted.table(named: "comments")?.subject?.paths.map(\.column) == ["author_id", "owner_id"])
        #expect(
            Set(draft.pseudonymizedColumns) == ["comments.author_id", "coaching_feedback.coach_id"],
            "the hand-written map pseudonymizes the same columns")
        #expect(draft.excludedColumns.map(describe) == ["users.password_hash: secret-name"])
        #expect(draft.yaml.contains("# password_hash: left out: its name looks like a secret"))
        #expect(draft.yaml.hasPrefix("# DRAFT dataset map"))
        _ = try DatasetMapExporter(map: drafted, databasePath: demoDatabase)
    }

    @Test(arguments: [1, 2, 7, 30])
    func theDemoDraftExportsWhatTheSubjectOwns(userID: Int64) async throws {
        let exporter = try DatasetMapExporter(
            map: try DatasetMap(yaml: try await draft(demoDatabase).yaml), databasePath: demoDatabase)
        let emitted = try await collect(
            exporter, .subject(SubjectSelector(column: "id", value: String(userID)), tenant: nil))
        for (table, sql) in ownedBySubject where table != "contact_form_submissions" {
            let expected = try query(demoDatabase, sql + " ORDER BY 1", [.integer(userID)])
            #expect(emitted.integers(table) == expected, "table \(table) for user \(userID)")
        }
        #expect(emitted.rows["contact_form_submissions"] == nil)
    }

    @Test func aDraftIsTheSameEveryTime() async throws {
        #expect(try await draft(demoDatabase).yaml == (try await draft(demoDatabase).yaml))
    }
}

@Suite struct MapDraftHundredTablesTests {
    let path = HundredTables.database

    @Test func theDraftCompilesAndEachTableHasItsShortestPath() async throws {
        let catalog = try await DatasetSources.sqliteCatalog(path: path)
        #expect(catalog.tables.count == 100)
        let draft = try await draft(path)
        let map = try DatasetMap(yaml: draft.yaml)
        _ = try DatasetMapExporter(map: map, databasePath: path)

        for (name, level) in HundredTables.chainTables {
            let table = map.table(named: name)
            if level <= 9 {
                // Level 1 refers to users: 0 references followed, then user_id; level 9 follows 8.
                let first = try #require(table?.subject?.paths.first, "\(name) reaches users")
                #expect(
                    first.via == Array(repeating: "up_id", count: level - 1) && first.column == "user_id", "\(name)")
                #expect(table?.subject?.paths.count == 1)
            } else {
                #expect(table?.subject == nil, "\(name) is 9 references away")
            }
            // The tenant: the nearest level with tenant_id above (or at) this one, else through users.
            let own = (1...level).reversed().first { HundredTables.hasTenantColumn(level: $0) }
            let expected: (via: [String], column: String)? =
                if let own { (Array(repeating: "up_id", count: level - own), "tenant_id") } else if level <= 8 {
                    (Array(repeating: "up_id", count: level - 1) + ["user_id"], "tenant_id")
                } else { nil }
            #expect(
                table?.tenant?.paths.first?.via == expected?.via
                    && table?.tenant?.paths.first?.column == expected?.column, "\(name)")
        }
        // Ten levels deep with no tenant_id of its own: in tenant exports only (one hop to level 9's tenant_id).
        #expect(draft.tenantTables.contains("k9_l10") && !draft.subjectTables.contains("k9_l10"))
        #expect(draft.yaml.contains("not in subject exports: its shortest chain to users follows 9 references"))

        #expect(Set(draft.leftOut.map(\.table)) == Set(HundredTables.unreachable))
        for table in HundredTables.unreachable {
            #expect(draft.yaml.contains("#   \(table): "), "\(table)")
        }
        #expect(
            draft.leftOut.first { $0.table == "membership_events" }?.reason.contains("composite foreign key") == true)
        #expect(draft.yaml.contains("newsletter: no chain of foreign keys leads to users or tenants; if its email"))
        #expect(draft.tenantTables.contains("tenant_settings") && !draft.subjectTables.contains("tenant_settings"))
    }

    @Test func withoutATenantTheTooDistantTablesAreLeftOut() async throws {
        let draft = try await draft(path, tenant: nil)
        _ = try DatasetMapExporter(map: try DatasetMap(yaml: draft.yaml), databasePath: path)
        let tooFar = HundredTables.chainTables.filter { $0.level > 9 }.map(\.name)
        for table in tooFar {
            let entry = try #require(draft.leftOut.first { $0.table == table })
            #expect(entry.reason.contains("its shortest chain to users follows 9 references, more than a path may"))
        }
        #expect(draft.leftOut.map(\.table).contains("tenant_settings"))
        #expect(draft.tenantTables.isEmpty && !draft.yaml.contains("\ntenant:"))
    }

    @Test func secretsAreLeftOutAndSaySo() async throws {
        let draft = try await draft(path)
        let map = try DatasetMap(yaml: draft.yaml)
        var secrets = 0
        for table in map.tables {
            let catalogTable = try #require(try await DatasetSources.sqliteCatalog(path: path).tables[table.source])
            for column in catalogTable.columns where SecretNames.looksSecret(column.name) {
                secrets += 1
                #expect(table.columns?.contains { $0.source == column.name } == false, "\(table.name).\(column.name)")
                #expect(draft.excludedColumns.map(describe).contains("\(table.name).\(column.name): secret-name"))
                #expect(draft.yaml.contains("# \(column.name): left out: its name looks like a secret"))
            }
        }
        #expect(secrets > 20, "users' password_hash and api_token, and the chains' tokens, secrets and keys")
        #expect(draft.excludedColumns.allSatisfy { $0.reason == .secretName })
    }

    @Test func otherPeopleArePseudonymizedAndOddNamesRenamed() async throws {
        let draft = try await draft(path)
        let map = try DatasetMap(yaml: draft.yaml)
        #expect(
            Set(draft.pseudonymizedColumns) == [
                "users.manager_id", "notes.author_id", "messages.sender_id", "messages.recipient_id",
                "reviews.reviewer_id",
            ])
        #expect(map.table(named: "notes")?.subject?.paths.map(\.via) == [[], ["doc_id", "up_id"]])
        #expect(map.table(named: "reviews")?.subject?.paths.map(\.via) == [[], ["task_id", "project_id"]])
        #expect(map.table(named: "messages")?.subject?.paths.map(\.column) == ["sender_id", "recipient_id"])
        // The cycle: a project's pinned task leads back to the project, which is not a second path.
        #expect(map.table(named: "projects")?.subject?.paths.map(\.column) == ["owner_id"])
        #expect(map.table(named: "tasks")?.subject?.paths.first?.via == ["project_id"])
        // Names a map cannot hold are renamed, keeping the column with `from`.
        let odd = try #require(map.table(named: "odd_columns")?.columns)
        #expect(odd.map(\.name) == ["id", "user_id", "unit_price", "c_2nd", "c_xmlData"])
        #expect(odd.map(\.source) == ["id", "user_id", "unit price", "2nd", "xmlData"])
        #expect(map.table(named: "memberships")?.subject?.paths.map(\.column) == ["user_id"])
    }

    @Test(arguments: [1, 4, 7, 12] as [Int64])
    func anExportHoldsExactlyTheRowsThatReachTheSubject(subject: Int64) async throws {
        let draft = try await draft(path)
        let exporter = try DatasetMapExporter(map: try DatasetMap(yaml: draft.yaml), databasePath: path)
        let emitted = try await collect(
            exporter, .subject(SubjectSelector(column: "id", value: String(subject)), tenant: nil))
        let reached = try rowsReaching(subject: subject, subjectTable: "users", key: "id", in: path)
        var total = 0
        for table in exporter.tables {
            let schema = table
            let keys = schema.primaryKey.isEmpty ? ["rowid"] : schema.primaryKey
            let expected = try keyTexts(table.name, keys, reached[table.name] ?? [], in: path)
            let isSubjectTable = draft.subjectTables.contains(table.name)
            #expect(try emittedKeys(emitted, table.name) == (isSubjectTable ? expected : []), "\(table.name)")
            total += expected.count
        }
        #expect(total > 20, "the subject reaches rows in many tables")
        // Someone else in a message appears as a pseudonym, the subject as themselves.
        let messages = try #require(emitted.tables.first { $0.name == "messages" })
        for row in emitted.rows["messages"] ?? [] {
            for field in ["sender_id", "recipient_id"] {
                guard case .string(let value) = row.values[try #require(messages.index(of: field))] else {
                    Issue.record("\(field) is not text")
                    continue
                }
                #expect(value == String(subject) || value.hasPrefix("p-users-"))
            }
        }
    }

    @Test func theCommandDraftsTheHundredTablesAndMapCheckAcceptsTheDraft() async throws {
        try await withTemporaryDirectory { folder in
            let out = folder + "/hundred.yaml"
            let start = ContinuousClock.now
            let result = try handover(
                "map", "init", "--db", path, "--subject-table", "users", "--tenant-table", "tenants", "--out", out)
            let elapsed = ContinuousClock.now - start
            #expect(result.status == 0, "\(result.stderr)")
            // A figure for the log; the time is measured by hand for the issue's note, not asserted.
            print("map init on \(HundredTables.depths.count) chains, 100 tables: \(elapsed)")
            let check = try handover("map", "check", "--db", path, "--map", out)
            #expect(check.status == 0, "\(check.stderr)")
            #expect(check.stdout.contains("hundred.yaml: exporter hundred, 91 tables"))
        }
    }
}

/// A source that is never read: the catalog is handed over.
struct CatalogOnlySource: DatasetSource {
    var label: String { "catalog" }
    var dialect: SQLDialect { .sqlite }
    func withSession<T: Sendable>(snapshot: Bool, _ body: (any SourceSession) async throws -> T) async throws -> T {
        throw HandoverError(.sourceUnavailable, "not a database")
    }
}

@Suite struct MapDraftCatalogTests {
    /// A catalog with a column of a type the source cannot read, and names that could break out of a YAML line.
    static let catalog = SourceCatalog(
        label: "hand-made",
        tables: [
            CatalogTable(
                name: "people",
                columns: [
                    CatalogColumn(
                        name: "id", declaredType: "bigint", notNull: true, primaryKeyPosition: 1,
                        inferredType: .integer),
                    CatalogColumn(
                        name: "shape", declaredType: "geometry", notNull: false, primaryKeyPosition: 0,
                        inferredType: nil),
                    CatalogColumn(
                        name: "mood", declaredType: "mood", notNull: false, primaryKeyPosition: 0,
                        inferredType: .string,
                        enumeration: ["happy", "sad"]),
                ],
                leadingIndexedColumns: ["id"], foreignKeys: []),
            CatalogTable(
                name: "posts",
                columns: [
                    CatalogColumn(
                        name: "id", declaredType: "bigint", notNull: true, primaryKeyPosition: 1,
                        inferredType: .integer),
                    CatalogColumn(
                        name: "person_id", declaredType: "bigint", notNull: true, primaryKeyPosition: 0,
                        inferredType: .integer),
                    CatalogColumn(
                        name: "title\"\nhandover-map: 2", declaredType: "text", notNull: false, primaryKeyPosition: 0,
                        inferredType: .string),
                    CatalogColumn(
                        name: "yes", declaredType: "text", notNull: false, primaryKeyPosition: 0, inferredType: .string),
                ],
                leadingIndexedColumns: ["id", "person_id"],
                foreignKeys: [CatalogForeignKey(columns: ["person_id"], table: "people", referencedColumns: ["id"])]),
            CatalogTable(
                name: "evil\ntables:", columns: [], leadingIndexedColumns: [], foreignKeys: []),
        ])

    @Test func unreadableColumnsAndStrangeNamesStayComments() throws {
        let draft = try MapDraft(catalog: Self.catalog, options: .init(subjectTable: "people", exporterID: "crm"))
        let map = try DatasetMap(yaml: draft.yaml, source: "draft")
        _ = try DatasetMapExporter(
            map: map, source: CatalogOnlySource(), catalog: Self.catalog, logger: .init(label: "t"))
        #expect(draft.excludedColumns.map(describe) == ["people.shape: unreadable-type"])
        #expect(draft.yaml.contains("# shape: left out: its type geometry is one the source cannot read"))
        #expect(map.table(named: "people")?.columns?.map(\.name) == ["id", "mood"])
        let posts = try #require(map.table(named: "posts")?.columns)
        #expect(posts.map(\.name) == ["id", "person_id", "title__handover_map__2", "yes"])
        #expect(posts[2].source == "title\"\nhandover-map: 2")
        #expect(draft.leftOut.map(\.table) == ["evil\ntables:"])
        #expect(draft.yaml.contains("#   evil\\u{A}tables:: its name is not an identifier"))
        #expect(map.exporter.id == "crm")
    }

    @Test func theSubjectTableMustExist() throws {
        #expect {
            _ = try MapDraft(catalog: Self.catalog, options: .init(subjectTable: "customers"))
        } throws: { ($0 as? HandoverError)?.code == .notFound }
        #expect {
            _ = try MapDraft(catalog: Self.catalog, options: .init(subjectTable: "people", subjectKey: "email"))
        } throws: { ($0 as? HandoverError)?.code == .notFound }
        #expect {
            _ = try MapDraft(catalog: Self.catalog, options: .init(subjectTable: "people", exporterID: "Bad Id"))
        } throws: { ($0 as? HandoverError)?.code == .invalidArgument }
    }

    @Test(arguments: [
        ("/tmp/Shop Map.yaml", "shop-map"), ("crm.map.yaml", "crm"), ("2024.yaml", "draft"),
        ("schemas.yaml", "draft"), ("", "draft"), ("maps/_x.yml", "x"),
    ])
    func exporterIDsComeFromFileNames(path: String, id: String) {
        #expect(MapDraft.exporterID(forFile: path) == id)
    }
}
