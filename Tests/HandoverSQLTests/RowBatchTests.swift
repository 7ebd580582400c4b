import Foundation
import HandoverCore
import HandoverSQL
import HandoverSQLite
import TestSupport
import Testing

/// Records every call an exporter makes on its sink, in order.
struct RecordingSink: RowSink {
    enum Call: Equatable {
        case row(table: Int, id: Int64)
        case rows(table: Int, ids: [Int64])
        case attach(table: Int, path: String)
        case finish(table: Int)
    }

    var calls: [Call] = []

    static func id(_ row: Row) -> Int64 {
        if case .integer(let id) = row.values[0] { return id }
        return -1
    }

    mutating func write(_ row: Row, table: Int) async throws {
        calls.append(.row(table: table, id: Self.id(row)))
    }

    mutating func write(rows: [Row], table: Int) async throws {
        calls.append(.rows(table: table, ids: rows.map(Self.id)))
    }

    mutating func attach(_ file: ExportFile, table: Int) async throws {
        calls.append(.attach(table: table, path: file.path))
    }

    mutating func finish(table: Int) async throws {
        calls.append(.finish(table: table))
    }
}

/// Rows reach the sink in batches where nothing else must come between them, and one at a time where a file follows
/// its row.
@Suite struct RowBatchTests {
    /// A dataset map of exporter `id` whose tenants are the rows of `tenants`, with the tables of `tables` (YAML lines
    /// of the `tables` mapping, indented by two spaces) after the tenant table.
    static func tenantMap(_ id: String, _ tables: String) -> String {
        """
        handover-map: 1
        exporter: {id: \(id)}
        tenant: {table: tenants, key: id}
        tables:
          tenants: {tenant: id}
        \(tables)
        """
    }

    /// A tenant table and two of its tables: `events` (`count` rows) and `docs` (rows naming files).
    func withDatabase<T>(events count: Int, _ body: (String, String) async throws -> T) async throws -> T {
        try await withTemporaryDirectory { folder in
            let path = folder + "/batches.sqlite"
            try SQLiteConnection.withConnection(path: path, mode: .readWriteCreate) { db in
                try db.execute(
                    """
                    CREATE TABLE tenants (id INTEGER PRIMARY KEY);
                    CREATE TABLE events (id INTEGER PRIMARY KEY, tenant_id INTEGER NOT NULL REFERENCES tenants(id));
                    CREATE TABLE docs (id INTEGER PRIMARY KEY, tenant_id INTEGER NOT NULL REFERENCES tenants(id),
                      path TEXT);
                    INSERT INTO tenants VALUES (1), (2);
                    WITH RECURSIVE n(i) AS (SELECT 1 WHERE \(count) > 0 UNION ALL SELECT i + 1 FROM n WHERE i < \(2 * count))
                      INSERT INTO events SELECT i, 2 - (i % 2) FROM n;
                    INSERT INTO docs VALUES (1, 1, 'a.txt'), (2, 1, NULL), (3, 2, 'b.txt'), (4, 1, 'c.txt');
                    """)
            }
            try FileManager.default.createDirectory(atPath: folder + "/root", withIntermediateDirectories: true)
            let map = Self.tenantMap(
                "batches",
                """
                  events: {tenant: tenant_id, references: {tenant_id: tenants.id}}
                  docs:
                    tenant: tenant_id
                    references: {tenant_id: tenants.id}
                    columns: {id: integer, tenant_id: integer, path: {type: string, file: {root: \(folder)/root}}}
                """)
            return try await body(path, map)
        }
    }

    @Test(arguments: [0, 1, 1023, 1024, 1025, 2500])
    func aTableWithoutFilesArrivesInWholeBatchesInKeyOrder(count: Int) async throws {
        try await withDatabase(events: count) { database, map in
            let exporter = try DatasetMapExporter(map: try DatasetMap(yaml: map), databasePath: database)
            var sink = RecordingSink()
            try await exporter.export(.tenant("1"), into: &sink, context: testContext)
            let events = try #require(exporter.tables.firstIndex { $0.name == "events" })
            let batches = sink.calls.compactMap { call -> [Int64]? in
                if case .rows(events, let ids) = call { return ids }
                return nil
            }
            // Tenant 1 holds the odd ids: every one, once, in order, in batches of 1024 and what is left.
            let odd: [Int64] = (0..<count).map { Int64(2 * $0 + 1) }
            let written: [Int64] = batches.flatMap { $0 }
            #expect(written == odd)
            let whole = Array(repeating: 1024, count: count / 1024)
            #expect(batches.map(\.count) == whole + (count % 1024 == 0 ? [] : [count % 1024]))
            #expect(!sink.calls.contains { if case .row(events, _) = $0 { true } else { false } })
            let finished = try #require(sink.calls.firstIndex(of: .finish(table: events)))
            #expect(!sink.calls[finished...].contains { if case .rows(events, _) = $0 { true } else { false } })
        }
    }

    @Test func aTableWithFilesArrivesRowByRowEachFileAfterItsRow() async throws {
        try await withDatabase(events: 3) { database, map in
            let exporter = try DatasetMapExporter(map: try DatasetMap(yaml: map), databasePath: database)
            var sink = RecordingSink()
            try await exporter.export(.tenant("1"), into: &sink, context: testContext)
            let docs = try #require(exporter.tables.firstIndex { $0.name == "docs" })
            let calls = sink.calls.filter {
                switch $0 {
                case .row(docs, _), .rows(docs, _), .attach(docs, _), .finish(docs): true
                default: false
                }
            }
            #expect(
                calls == [
                    .row(table: docs, id: 1), .attach(table: docs, path: "a.txt"), .row(table: docs, id: 2),
                    .row(table: docs, id: 4), .attach(table: docs, path: "c.txt"), .finish(table: docs),
                ])
        }
    }

    /// Large values stop a batch early (at 4 MiB of text and blobs): 40 rows of 300,000 bytes of text arrive 14,
    /// 14 and 12 at a time, every one whole and in order.
    @Test func largeValuesMakeSmallerBatches() async throws {
        try await withTemporaryDirectory { folder in
            let path = folder + "/large.sqlite"
            try SQLiteConnection.withConnection(path: path, mode: .readWriteCreate) { db in
                try db.execute(
                    """
                    CREATE TABLE tenants (id INTEGER PRIMARY KEY);
                    CREATE TABLE notes (id INTEGER PRIMARY KEY, tenant_id INTEGER NOT NULL REFERENCES tenants(id),
                      body TEXT NOT NULL);
                    INSERT INTO tenants VALUES (1);
                    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40)
                      INSERT INTO notes SELECT i, 1, printf('%d:', i) || substr(hex(zeroblob(150000)), 1, 300000 - length(printf('%d:', i))) FROM n;
                    """)
            }
            let map = Self.tenantMap("large", "  notes: {tenant: tenant_id, references: {tenant_id: tenants.id}}")
            let exporter = try DatasetMapExporter(map: try DatasetMap(yaml: map), databasePath: path)
            struct Bodies: RowSink {
                var batches: [[String]] = []
                mutating func write(_ row: Row, table: Int) async throws { try await write(rows: [row], table: table) }
                mutating func write(rows: [Row], table: Int) async throws {
                    guard rows.first?.values.count == 3 else { return }
                    batches.append(rows.map { row in if case .string(let body) = row.values[2] { body } else { "" } })
                }
            }
            var sink = Bodies()
            try await exporter.export(.tenant("1"), into: &sink, context: testContext)
            #expect(sink.batches.map(\.count) == [14, 14, 12])
            let bodies = sink.batches.flatMap { $0 }
            #expect(bodies.map { $0.prefix { $0 != ":" } } == (1...40).map { Substring(String($0)) })
            #expect(bodies.allSatisfy { $0.utf8.count == 300_000 })
        }
    }

    /// A sink that only writes a row at a time still gets every row, through the default batch write.
    @Test func aSinkWithoutABatchWriteGetsEveryRowInOrder() async throws {
        struct RowsOnly: RowSink {
            var ids: [Int64] = []
            mutating func write(_ row: Row, table: Int) async throws { ids.append(RecordingSink.id(row)) }
        }
        var sink = RowsOnly()
        let rows = (1...300).map { Row([.integer(Int64($0))]) }
        try await sink.write(rows: Array(rows[..<256]), table: 0)
        try await sink.write(rows: Array(rows[256...]), table: 0)
        try await sink.write(rows: [], table: 0)
        #expect(sink.ids == (1...300).map(Int64.init))
    }
}
