import Foundation
import HandoverCore
import HandoverSQL
import TestSupport
import Testing

/// Reading ahead on a thread of its own: every row, in order, across batch boundaries; the reader's error after the
/// rows before it; a consumer's error stops and joins the reading thread; the read-ahead stays bounded.
@Suite struct RowPrefetchTests {
    /// What a counting producer saw, shared with the test. (`NSLock` rather than `Mutex`: ThreadSanitizer sees the
    /// one's ordering and not the other's.)
    final class Log: @unchecked Sendable {
        private let lock = NSLock()
        private var state = (produced: 0, afterReturn: 0, returned: false)
        func produce() {
            lock.withLock {
                state.produced += 1
                if state.returned { state.afterReturn += 1 }
            }
        }
        func markReturned() { lock.withLock { state.returned = true } }
        var produced: Int { lock.withLock { state.produced } }
        var afterReturn: Int { lock.withLock { state.afterReturn } }
    }

    struct Failure: Error, Equatable { let at: Int }

    /// Rows `0..<count` (one integer each), throwing ``Failure`` instead of row `failAt`.
    struct Counting: RowProducing {
        let count: Int
        var failAt: Int?
        let log: Log
        var position = 0

        mutating func next() throws -> Row? {
            guard position < count else { return nil }
            if position == failAt { throw Failure(at: position) }
            log.produce()
            position += 1
            return Row([.integer(Int64(position - 1))])
        }
    }

    static func integers(_ rows: [Row]) -> [Int64] {
        rows.map { row in
            guard case .integer(let value) = row.values[0] else { return -1 }
            return value
        }
    }

    @Test(arguments: [0, 1, 7, 8, 9, 31, 32, 33, 1000])
    func everyRowArrivesOnceInOrder(count: Int) async throws {
        var seen: [Row] = []
        var sizes: [Int] = []
        try await RowPrefetch.stream(Counting(count: count, log: Log()), batchSize: 8, depth: 2) {
            seen += $0
            sizes.append($0.count)
        }
        #expect(Self.integers(seen) == (0..<count).map(Int64.init))
        // Whole batches, then what is left; never an empty one.
        #expect(sizes == Array(repeating: 8, count: count / 8) + (count % 8 == 0 ? [] : [count % 8]))
    }

    /// Batches go back to the reading thread to be filled again: one the consumer keeps is left as it was.
    @Test func aBatchTheConsumerKeepsIsNotReused() async throws {
        var kept: [[Row]] = []
        try await RowPrefetch.stream(Counting(count: 500, log: Log()), batchSize: 8, depth: 2) { rows in
            kept.append(rows)
        }
        #expect(Self.integers(kept.flatMap { $0 }) == (0..<500).map(Int64.init))
        #expect(kept.allSatisfy { $0.count == 8 || $0.count == 500 % 8 })
    }

    @Test(arguments: [0, 5, 8, 9, 300])
    func theReadersErrorArrivesAfterEveryRowBeforeIt(failAt: Int) async throws {
        var seen: [Row] = []
        await #expect(throws: Failure(at: failAt)) {
            try await RowPrefetch.stream(Counting(count: 1000, failAt: failAt, log: Log()), batchSize: 8, depth: 2) {
                #expect(!$0.isEmpty)
                seen += $0
            }
        }
        #expect(Self.integers(seen) == (0..<failAt).map(Int64.init))
    }

    @Test(arguments: [3, 8, 20, 500])
    func aConsumersErrorStopsTheReaderBeforeStreamReturns(stopAt: Int) async throws {
        let log = Log()
        var seen = 0
        await #expect(throws: Failure(at: stopAt)) {
            try await RowPrefetch.stream(Counting(count: 100_000, log: log), batchSize: 8, depth: 2) { rows in
                for _ in rows {
                    if seen == stopAt { throw Failure(at: stopAt) }
                    seen += 1
                }
            }
        }
        log.markReturned()
        // A reading thread still running would go on producing: give it the time to show.
        try await Task.sleep(for: .milliseconds(50))
        #expect(log.afterReturn == 0, "no row read after stream returned")
        // Read ahead: the batch being taken, `depth` waiting and the one the thread was filling, at most.
        #expect(log.produced <= stopAt + 8 * (2 + 2) + 8, "read-ahead is bounded, not the whole table")
    }

    /// Numbers read as they are, a batch at a time: batches of integers that the caller's thread makes into rows.
    struct Numbers: BatchProducing {
        let count: Int
        var position = 0

        func makeBatch(capacity: Int) -> [Int] { [] }
        static func count(of batch: [Int]) -> Int { batch.count }
        static func empty(_ batch: inout [Int]) { batch.removeAll(keepingCapacity: true) }
        mutating func read(into batch: inout [Int], limit: Int) throws -> Bool {
            while batch.count < limit {
                guard position < count else { return true }
                batch.append(position)
                position += 1
            }
            return false
        }
    }

    /// A batch is made into rows on the caller's thread; an error in one reaches the caller after the rows before it,
    /// in the first batch (read on the caller's thread) as in later ones (read ahead).
    @Test(arguments: [0, 3, 8, 13, 299, nil])
    func decodingMakesRowsAndItsErrorComesAfterTheRowsBeforeIt(failAt: Int?) async throws {
        var seen: [Row] = []
        var sizes: [Int] = []
        var batches = 0
        let stream = {
            try await RowPrefetch.stream(
                Numbers(count: 300), batchSize: 8, depth: 2,
                decode: { batch, rows in
                    batches += 1
                    for number in batch {
                        if number == failAt { throw Failure(at: number) }
                        rows.append(Row([.integer(Int64(number))]))
                    }
                }
            ) {
                sizes.append($0.count)
                seen += $0
            }
        }
        if let failAt {
            await #expect(throws: Failure(at: failAt)) { try await stream() }
            #expect(Self.integers(seen) == (0..<failAt).map(Int64.init))
            #expect(batches == failAt / 8 + 1, "no batch decoded after the error")
        } else {
            try await stream()
            #expect(Self.integers(seen) == (0..<300).map(Int64.init))
            #expect(sizes == Array(repeating: 8, count: 37) + [4])
        }
        #expect(!sizes.contains(0), "never an empty batch")
    }

    @Test func aSlowConsumerBoundsTheReadAhead() async throws {
        let log = Log()
        var seen = 0
        var mostAhead = 0
        try await RowPrefetch.stream(Counting(count: 2000, log: log), batchSize: 16, depth: 3) { rows in
            seen += rows.count
            if seen % 97 < 16 { try await Task.sleep(for: .milliseconds(1)) }
            mostAhead = max(mostAhead, log.produced - seen)
        }
        #expect(seen == 2000)
        #expect(mostAhead <= 16 * (3 + 2), "never more than a few batches ahead")
    }
}

/// The SQLite source reads large tables ahead on a thread: rows, errors and repairs are as when read on one thread.
@Suite struct SQLiteReadAheadTests {
    /// A `people` table of `count` rows, the note of row `badRow` invalid UTF-8.
    func withLargeDirtyDatabase<T>(count: Int, badRow: Int, _ body: (String) async throws -> T) async throws -> T {
        try await withTemporaryDirectory { folder in
            let path = folder + "/large.sqlite"
            let sql = """
                CREATE TABLE tenants (id INTEGER PRIMARY KEY);
                INSERT INTO tenants VALUES (1), (2);
                CREATE TABLE people (id INTEGER PRIMARY KEY, tenant_id INTEGER NOT NULL REFERENCES tenants(id),
                  age INTEGER, born DATE, note TEXT);
                CREATE INDEX people_tenant ON people(tenant_id);
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < \(count))
                INSERT INTO people SELECT i, 1 + (i % 5 = 0), i % 90, '2000-01-01', 'note ' || i FROM n;
                UPDATE people SET note = CAST(X'41FF42' AS TEXT) WHERE id = \(badRow);
                """
            #expect(try run("/usr/bin/sqlite3", [path, sql]).status == 0)
            return try await body(path)
        }
    }

    @Test func aLargeTablesRowsAllArriveInKeyOrderAndTheFirstUnfitValueNamesItsRow() async throws {
        try await withLargeDirtyDatabase(count: 3000, badRow: 2001) { path in
            let strict = try DatasetMapExporter(map: try DatasetMap(yaml: DirtyFixture.map(nil)), databasePath: path)
            await #expect {
                _ = try await collect(strict, .tenant("1"))
            } throws: { error in
                (error as? HandoverError)?.message == "table people, row id=2001, field note: text is not valid UTF-8"
            }
            let lenient = try DatasetMapExporter(
                map: try DatasetMap(yaml: DirtyFixture.map("replace")), databasePath: path)
            let sink = try await collect(lenient, .tenant("1"))
            let expected = (1...3000).filter { $0 % 5 != 0 }.map(Int64.init)
            #expect(sink.integers("people") == expected, "every row of the tenant, once, in key order")
            let rows = try #require(sink.rows["people"])
            let repaired = rows.filter { $0.values[4] == .string("A\u{FFFD}B") }
            #expect(repaired.count == 1 && repaired.first?.values[0] == .integer(2001))
        }
    }
}
