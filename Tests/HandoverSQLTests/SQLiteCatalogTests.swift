import Foundation
import HandoverSQLite
import TestSupport
import Testing

/// The catalog read in three queries for all tables gives what the per-table queries give, for names and keys of
/// every shape; and a catalog of many tables is read whole.
@Suite struct SQLiteCatalogTests {
    @Test func everyTableReadInThreeQueriesIsWhatThePerTableQueriesGive() throws {
        try withTemporaryDirectorySync { folder in
            try SQLiteConnection.withConnection(path: folder + "/catalog.sqlite", mode: .readWriteCreate) { db in
                try db.execute(
                    """
                    CREATE TABLE "odd ""name"" ✓" (id INTEGER PRIMARY KEY, "a b" TEXT NOT NULL, c);
                    CREATE TABLE parent (x INTEGER, y TEXT, z BLOB, PRIMARY KEY (x, y)) WITHOUT ROWID;
                    CREATE TABLE child (
                        id INTEGER PRIMARY KEY, px INTEGER, py TEXT, other INTEGER, loose INTEGER,
                        FOREIGN KEY (px, py) REFERENCES parent (x, y),
                        FOREIGN KEY (other) REFERENCES "odd ""name"" ✓" (id),
                        FOREIGN KEY (loose) REFERENCES parent);
                    CREATE INDEX child_other ON child (other, px);
                    CREATE INDEX child_expression ON child (lower(py));
                    CREATE UNIQUE INDEX parent_z ON parent (z);
                    CREATE TABLE empty_keys (a, b);
                    CREATE VIEW "a view" AS SELECT id, px FROM child;
                    """)
                let tables = try db.tables()
                #expect(tables.map(\.name) == (try db.tableNames()))
                #expect(tables.count == 5)
                for table in tables {
                    #expect(table.columns == (try db.columns(of: table.name) ?? []), "\(table.name)")
                    #expect(table.foreignKeys == (try db.foreignKeys(of: table.name)), "\(table.name)")
                    #expect(
                        table.leadingIndexedColumns == (try db.leadingIndexedColumns(of: table.name)), "\(table.name)")
                }
                let child = try #require(tables.first { $0.name == "child" })
                #expect(child.foreignKeys.count == 3)
                #expect(child.leadingIndexedColumns == ["id", "other"])
                #expect(tables.first { $0.name == "parent" }?.leadingIndexedColumns == ["x", "z"])
            }
        }
    }

    @Test func aCatalogOfManyTablesIsReadWhole() throws {
        try withTemporaryDirectorySync { folder in
            try SQLiteConnection.withConnection(path: folder + "/many.sqlite", mode: .readWriteCreate) { db in
                var script = ""
                for number in 0..<300 {
                    script +=
                        "CREATE TABLE t\(number) (id INTEGER PRIMARY KEY, up INTEGER REFERENCES t\(max(number - 1, 0)) (id), v TEXT);"
                    script += "CREATE INDEX t\(number)_v ON t\(number) (v);"
                }
                try db.execute(script)
                let tables = try db.tables()
                #expect(tables.count == 300)
                #expect(tables.allSatisfy { $0.columns.count == 3 && $0.foreignKeys.count == 1 })
                #expect(tables.allSatisfy { $0.leadingIndexedColumns == ["id", "v"] })
            }
        }
    }
}
