import Foundation
import HandoverSQLite
import TestSupport
import Testing

@testable import HandoverSQL

/// The connection a SQLite source reads its catalog on serves its first session, and only that one: the file the
/// map was checked against is the file the first export reads.
@Suite struct SQLiteSourceTests {
    func count(_ source: SQLiteSource) async throws -> [[SourceValue]] {
        try await source.withSession(snapshot: true) { try await $0.rows("SELECT count(*) FROM t", [], limit: 1) }
    }

    @Test func theCatalogsConnectionServesTheFirstSessionAndTheNextOpenTheFileAgain() async throws {
        try await withTemporaryDirectory { folder in
            let path = folder + "/a.sqlite"
            try SQLiteConnection.withConnection(path: path, mode: .readWriteCreate) { db in
                try db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1), (2);")
            }
            let source = SQLiteSource(path: path)
            #expect(!source.hasSpareConnection)
            #expect(Array(try source.readCatalog().tables.keys) == ["t"])
            #expect(source.hasSpareConnection)

            // The file is replaced by another after the catalog was read: the first session still reads the one
            // the catalog came from; the next reads the file now at the path.
            try FileManager.default.moveItem(atPath: path, toPath: folder + "/old.sqlite")
            try SQLiteConnection.withConnection(path: path, mode: .readWriteCreate) { db in
                try db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1), (2), (3);")
            }
            #expect(try await count(source) == [[.integer(2)]])
            #expect(!source.hasSpareConnection)
            #expect(try await count(source) == [[.integer(3)]])
        }
    }
}
