import Foundation
import HandoverCore
import HandoverPostgres
import HandoverSQL
import HandoverSQLite
import TestSupport
import Testing

/// A database of one subject's data, as a per-user file or `handover import` makes: no column of `comments` leads
/// to a key (a comment names its author, who may be someone else, or no one). `notes` carries a tenant column,
/// with a row of a tenant the tenants table does not hold. Rows are inserted out of key order.
enum OneSubject {
    static let sql = """
        CREATE TABLE tenants (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
        CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);
        CREATE TABLE comments (id INTEGER PRIMARY KEY, author_id INTEGER, body TEXT NOT NULL);
        CREATE TABLE notes (id INTEGER PRIMARY KEY, tenant_id INTEGER NOT NULL, body TEXT NOT NULL);
        INSERT INTO tenants VALUES (3, 'Acme');
        INSERT INTO users VALUES (7, 'ann@x.example');
        INSERT INTO comments VALUES (30, 7, 'mine'), (10, 8, 'a reply by someone gone'), (20, NULL, 'anonymous');
        INSERT INTO notes VALUES (2, 3, 'in the tenant'), (1, 4, 'of another tenant'), (3, 3, 'also in it');
        """

    static let map = """
        handover-map: 1
        exporter: {id: mine}
        subject: {table: users, key: id}
        tenant: {table: tenants, key: id}
        tables:
          users:
            subject: all
            tenant: all
          comments:
            columns:
              id: integer
              author_id: {type: integer, pseudonymize: true}
              body: string
            references: {author_id: users.id}
            subject: all
            tenant: all
          notes:
            subject: all
            tenant: tenant_id
          tenants:
            tenant: all
        """

    /// Runs `body` with an exporter of the map over this database in `kind`.
    static func withExporter<T>(_ kind: SourceKind, _ body: (DatasetMapExporter) async throws -> T) async throws -> T {
        try await HandoverSQLTests.withExporter(kind, sql: sql, map: map, body)
    }
}

/// Runs `body` with an exporter of `map` over a database `sql` makes in `kind`: a SQLite file, or a schema on the
/// PostgreSQL test server.
func withExporter<T>(
    _ kind: SourceKind, sql: String, map: String, _ body: (DatasetMapExporter) async throws -> T
) async throws -> T {
    let parsed = try DatasetMap(yaml: map, source: "map.yaml")
    switch kind {
    case .sqlite:
        return try await withTemporaryDirectory { folder in
            let path = folder + "/db.sqlite"
            try SQLiteConnection.withConnection(path: path, mode: .readWriteCreate) { try $0.execute(sql) }
            return try await body(try DatasetMapExporter(map: parsed, databasePath: path))
        }
    case .postgres:
        return try await withPostgresSchema(sql) { url, _ in
            let configuration = try PostgresStoreConfiguration(url: url, defaultSchema: "public")
            return try await body(try await DatasetMapExporter.postgres(map: parsed, configuration: configuration))
        }
    }
}

/// `subject: all` and `tenant: all`: every row of a table, for a subject or tenant found in the anchor table.
@Suite struct EveryRowScopeTests {
    static let ann = SubjectSelector(column: "id", value: "7")

    @Test(arguments: SourceKind.allCases)
    func aSubjectFoundInTheAnchorTableGetsEveryRowInKeyOrder(source: SourceKind) async throws {
        try await OneSubject.withExporter(source) { exporter in
            for selector in [Self.ann, SubjectSelector(column: "email", value: "ann@x.example")] {
                let emitted = try await collect(exporter, .subject(selector, tenant: nil))
                #expect(emitted.integers("users") == [7])
                #expect(emitted.integers("comments") == [10, 20, 30])
                #expect(emitted.integers("notes") == [1, 2, 3])
                #expect(emitted.rows["tenants"] == nil, "a table with no subject scope stays out")
                // Pseudonyms as with paths: the subject's own id in clear, another person's replaced.
                let authors = (emitted.rows["comments"] ?? []).map(\.values[1])
                #expect(authors[1] == .null && authors[2] == .string("7"))
                guard case .string(let other) = authors[0] else {
                    Issue.record("author_id is not a string")
                    continue
                }
                #expect(other.hasPrefix("p-users-"), "another person's id appears in clear")
            }
            let counts = try await exporter.estimatedRows(in: .subject(Self.ann, tenant: nil))
            #expect(counts == [0: 1, 1: 3, 2: 3])
        }
    }

    @Test(arguments: SourceKind.allCases)
    func anUnknownSubjectGetsNoRowsAtAll(source: SourceKind) async throws {
        try await OneSubject.withExporter(source) { exporter in
            for selector in [
                SubjectSelector(column: "id", value: "8"), SubjectSelector(column: "email", value: "nobody@x.example"),
                SubjectSelector(column: "id", value: "7 OR 1=1"),
            ] {
                let emitted = try await collect(exporter, .subject(selector, tenant: nil))
                #expect(emitted.rows.isEmpty, "\(selector.column)")
                let counts = try await exporter.estimatedRows(in: .subject(selector, tenant: nil))
                #expect(counts.values.allSatisfy { $0 == 0 })
            }
        }
    }

    @Test(arguments: SourceKind.allCases)
    func aTenantFoundInTheAnchorTableGetsEveryRowAndAnUnknownOneIsAnError(source: SourceKind) async throws {
        try await OneSubject.withExporter(source) { exporter in
            let emitted = try await collect(exporter, .tenant("3"))
            #expect(emitted.integers("tenants") == [3])
            #expect(emitted.integers("users") == [7])
            #expect(emitted.integers("comments") == [10, 20, 30])
            #expect(emitted.integers("notes") == [2, 3], "a tenant path still selects")
            // A tenant's export keeps people in clear, as with paths.
            #expect((emitted.rows["comments"] ?? []).map(\.values[1]) == [.string("8"), .null, .string("7")])
            // Tenant 4 holds a note, but is not in the tenants table.
            for tenant in ["4", "99", "x", "3 OR 1=1"] {
                await #expect {
                    _ = try await collect(exporter, .tenant(tenant))
                } throws: { error in
                    (error as? HandoverError)?.code == .invalidArgument
                        && (error as? HandoverError)?.message.contains("no tenant with that id in table tenants")
                            == true
                }
            }
        }
    }

    @Test(arguments: SourceKind.allCases)
    func withinATenantSubjectAllKeepsTheTenantsRowsWhereTheTableHasATenantPath(source: SourceKind) async throws {
        try await OneSubject.withExporter(source) { exporter in
            let within = try await collect(exporter, .subject(Self.ann, tenant: "3"))
            #expect(within.integers("users") == [7])
            #expect(within.integers("comments") == [10, 20, 30], "tenant: all")
            #expect(within.integers("notes") == [2, 3], "subject: all, tenant: tenant_id")
            // A tenant the tenants table does not hold holds no subject, though a note names it.
            for tenant in ["4", "99"] {
                let outside = try await collect(exporter, .subject(Self.ann, tenant: tenant))
                #expect(outside.rows.isEmpty, "tenant \(tenant)")
            }
        }
    }

    @Test(arguments: SourceKind.allCases)
    func mapCheckNamesTheAllTablesAndAsksNoIndexForThem(source: SourceKind) async throws {
        try await OneSubject.withExporter(source) { exporter in
            #expect(exporter.everyRowForSubjects == ["users", "comments", "notes"])
            #expect(exporter.everyRowForTenants == ["users", "comments", "tenants"])
            #expect(exporter.unindexedLookups == ["notes.tenant_id"], "only the path is looked up")
            #expect(
                exporter.everyRowNotes == [
                    "every row for every subject (subject: all): users, comments, notes: any subject found in table "
                        + "users receives every row of these tables; right only when the database holds one subject's "
                        + "data",
                    "every row for every tenant (tenant: all): users, comments, tenants: any tenant found in table "
                        + "tenants receives every row of these tables; right only when the database holds one tenant's "
                        + "data",
                ])
        }
    }

    @Test func aMapOfPathsHasNoAllTablesToNote() async throws {
        try await withTemporaryDirectory { folder in
            let exporter = try DatasetMapExporter(
                map: try DatasetMap(yaml: shopMap), databasePath: try makeShop(folder))
            #expect(exporter.everyRowForSubjects.isEmpty && exporter.everyRowForTenants.isEmpty)
            #expect(exporter.everyRowNotes.isEmpty)
        }
    }
}

/// How `all` is written, and what is refused.
@Suite struct EveryRowMapTests {
    func map(
        _ comments: String, anchors: String = "subject: {table: users, key: id}\ntenant: {table: tenants, key: id}"
    )
        -> String
    {
        "handover-map: 1\nexporter: {id: mine}\n\(anchors)\ntables:\n  comments:\n" + comments
    }

    @Test func allParsesForSubjectAndTenant() throws {
        let parsed = try DatasetMap(yaml: OneSubject.map)
        #expect(parsed.table(named: "comments")?.subject == .all)
        #expect(parsed.table(named: "comments")?.tenant == .all)
        #expect(parsed.table(named: "tenants")?.subject == nil)
        #expect(parsed.table(named: "notes")?.tenant?.paths.map(\.column) == ["tenant_id"])
        #expect(DatasetMap.Scope.all.paths.isEmpty)
        let listed = try DatasetMap(yaml: map("    subject: [id, {via: [post_id], column: owner_id}]\n"))
        #expect(listed.tables[0].subject?.paths.map(\.column) == ["id", "owner_id"])
        // A column named all is written as a mapping.
        let column = try DatasetMap(yaml: map("    subject: {column: all}\n    tenant: {column: all}\n"))
        #expect(column.tables[0].subject?.paths.map(\.column) == ["all"])
        #expect(column.tables[0].tenant?.paths.map(\.column) == ["all"])
    }

    /// Tables that are not well formed, and the words their error must contain.
    static let malformed: [(String, [String])] = [
        ("    subject: [all]\n", ["tables.comments.subject[0] (line 7", "stands alone", "{column: all}"]),
        ("    subject: [id, all]\n", ["tables.comments.subject[1] (line 7", "stands alone"]),
        ("    tenant: [all]\n", ["tables.comments.tenant (line 7", "expected a mapping"]),
        ("    subject: {all: true}\n", ["tables.comments.subject.all (line 7", "unknown key"]),
        ("    subject: \"every one\"\n", ["tables.comments.subject (line 7", "not a valid identifier"]),
    ]

    @Test(arguments: malformed)
    func anythingElseIsRefusedNamingWhereItStands(table: String, words: [String]) {
        #expect {
            _ = try DatasetMap(yaml: map(table), source: "mine.yaml")
        } throws: { error in
            let message = (error as? HandoverError)?.message ?? ""
            return (error as? HandoverError)?.code == .invalidDatasetMap && message.hasPrefix("mine.yaml: ")
                && words.allSatisfy { message.contains($0) }
        }
    }

    /// Maps that parse but do not fit the database or their anchors, and the words their error must contain.
    static let mismatched: [(String, [String])] = [
        (
            "    subject: everyone\n",
            ["tables.comments.subject (line 7", "no exported column everyone", "'subject: all' takes every row"]
        ),
        ("    tenant: everyone\n", ["tables.comments.tenant (line 7", "no exported column everyone"]),
        ("    subject: All\n", ["tables.comments.subject (line 7", "no exported column All"]),
        ("    subject: {column: all}\n", ["no exported column all"]),
    ]

    @Test(arguments: mismatched)
    func aWordOtherThanAllIsAColumnTheTableMustHave(table: String, words: [String]) async throws {
        try await withTemporaryDirectory { folder in
            let path = folder + "/mine.sqlite"
            try SQLiteConnection.withConnection(path: path, mode: .readWriteCreate) { try $0.execute(OneSubject.sql) }
            #expect {
                _ = try DatasetMapExporter(
                    map: try DatasetMap(yaml: map(table), source: "mine.yaml"), databasePath: path)
            } throws: { error in
                let message = (error as? HandoverError)?.message ?? ""
                return (error as? HandoverError)?.code == .invalidDatasetMap
                    && words.allSatisfy { message.contains($0) }
            }
        }
    }

    @Test func allStillNeedsTheAnchorTable() async throws {
        try await withTemporaryDirectory { folder in
            let path = folder + "/mine.sqlite"
            try SQLiteConnection.withConnection(path: path, mode: .readWriteCreate) { try $0.execute(OneSubject.sql) }
            for (table, anchors, words) in [
                (
                    "    subject: all\n", "tenant: {table: tenants, key: id}",
                    "'subject: all' but the map declares no 'subject'"
                ),
                (
                    "    tenant: all\n", "subject: {table: users, key: id}",
                    "'tenant: all' but the map declares no 'tenant'"
                ),
            ] {
                #expect {
                    _ = try DatasetMapExporter(
                        map: try DatasetMap(yaml: map(table, anchors: anchors)), databasePath: path)
                } throws: { error in
                    (error as? HandoverError)?.code == .invalidDatasetMap
                        && (error as? HandoverError)?.message.contains(words) == true
                }
            }
        }
    }

    @Test func aDraftWritesAColumnNamedAllAsAMapping() async throws {
        try await withTemporaryDirectory { folder in
            let path = folder + "/votes.sqlite"
            try SQLiteConnection.withConnection(path: path, mode: .readWriteCreate) { db in
                try db.execute(
                    """
                    CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);
                    CREATE TABLE votes (id INTEGER PRIMARY KEY, "all" INTEGER NOT NULL REFERENCES users(id));
                    CREATE INDEX votes_all ON votes("all");
                    INSERT INTO users VALUES (1, 'a@x.example'), (2, 'b@x.example');
                    INSERT INTO votes VALUES (10, 1), (11, 2), (12, 1);
                    """)
            }
            let yaml = try await draft(path, tenant: nil).yaml
            #expect(yaml.contains("subject: {column: all}"), "\(yaml)")
            let exporter = try DatasetMapExporter(map: try DatasetMap(yaml: yaml), databasePath: path)
            #expect(exporter.everyRowForSubjects.isEmpty)
            let emitted = try await collect(exporter, .subject(SubjectSelector(column: "id", value: "1"), tenant: nil))
            #expect(emitted.integers("votes") == [10, 12])
        }
    }
}
