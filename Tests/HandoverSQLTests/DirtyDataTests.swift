import Foundation
import HandoverCore
import HandoverPostgres
import HandoverSQL
import TestSupport
import Testing

/// `on-invalid`: dirty data fails the export by default, naming table, row and field; `replace` repairs it,
/// counts it and keeps every row; `scan` lists it beforehand, never the values.
@Suite struct DirtyDataTests {
    func withDirtyDatabase<T>(_ body: (String) async throws -> T) async throws -> T {
        try await withTemporaryDirectory { folder in
            let path = folder + "/dirty.sqlite"
            #expect(try run("/usr/bin/sqlite3", [path, DirtyFixture.sql]).status == 0)
            return try await body(path)
        }
    }

    @Test func byDefaultTheFirstUnfitValueFailsTheExportNamingTableRowAndField() async throws {
        try await withDirtyDatabase { path in
            let exporter = try DatasetMapExporter(map: try DatasetMap(yaml: DirtyFixture.map(nil)), databasePath: path)
            await #expect {
                _ = try await collect(exporter, .tenant("1"))
            } throws: { error in
                (error as? HandoverError)?.message == "table people, row id=2, field note: text is not valid UTF-8"
            }
            // A column's own policy repairs its values only: the next one still fails.
            let noteOnly = try DatasetMapExporter(
                map: try DatasetMap(yaml: DirtyFixture.map(nil, column: "replace")), databasePath: path)
            await #expect {
                _ = try await collect(noteOnly, .tenant("1"))
            } throws: { error in
                let message = (error as? HandoverError)?.message ?? ""
                return message.hasPrefix("table people, row id=3, field age: expected an integer")
                    && !message.contains("forty")
            }
        }
    }

    @Test func replaceKeepsEveryRowRepairsAndCountsEachValue() async throws {
        try await withDirtyDatabase { path in
            let exporter = try DatasetMapExporter(
                map: try DatasetMap(yaml: DirtyFixture.map("replace")), databasePath: path)
            let people = try #require(exporter.tables.first { $0.name == "people" })
            #expect(
                people.fields.map(\.name) == ["id", "tenant_id", "age", "born", "note", "age_invalid", "born_invalid"],
                "a string field beside each typed field (not the keys, not the strings)")
            #expect(people.fields.first { $0.name == "age" }?.required == false)
            let log = RepairLog()
            var sink = CollectingSink(tables: exporter.tables)
            try await exporter.export(
                .tenant("1"), into: &sink,
                context: ExportContext(logger: testContext.logger, pseudonymizer: FixedPseudonyms(), repairs: log))
            let rows = try #require(sink.rows["people"])
            #expect(rows.count == 5, "no row lost")
            #expect(rows[1].values[4] == .string("\u{FFFD}A\u{FFFD}"))
            #expect(rows[2].values[2] == .null)
            #expect(rows[2].values[5] == .string("about forty"))
            #expect(rows[3].values[3] == .null)
            #expect(rows[3].values[6] == .string("last tuesday"))
            #expect(rows[0].values[5] == .null && rows[0].values[6] == .null, "clean rows: companions null")
            #expect(
                log.repairs == [
                    Repair(table: "people", field: "age", kind: .unfitValue, count: 1, textField: "age_invalid"),
                    Repair(table: "people", field: "born", kind: .unfitValue, count: 1, textField: "born_invalid"),
                    Repair(table: "people", field: "note", kind: .invalidText, count: 1),
                ])
        }
    }

    @Test func scanListsEveryUnfitValueByTableFieldAndRowWithoutTheValue() async throws {
        try await withDirtyDatabase { path in
            for policy in ["fail", "replace"] {
                let exporter = try DatasetMapExporter(
                    map: try DatasetMap(yaml: DirtyFixture.map(policy)), databasePath: path)
                let scan = try await exporter.scan()
                #expect(scan.rowsRead == 6, "every row of every table")
                #expect(
                    scan.findings.map { "\($0.table) \($0.row) \($0.field) \($0.kind.rawValue)" } == [
                        "people id=2 note invalid-text", "people id=3 age unfit-value", "people id=4 born unfit-value",
                    ])
                #expect(scan.wouldFail == (policy == "fail"))
                let text = "\(scan)"
                #expect(!text.contains("forty") && !text.contains("tuesday"))
            }
        }
    }

    @Test func replaceOnPostgreSQLWritesTheTextBesideTheField() async throws {
        let sql = """
            CREATE TABLE readings (id integer PRIMARY KEY, level text, taken text);
            INSERT INTO readings VALUES (1, '12', '2024-01-01'), (2, 'high', 'soon'), (3, '99999999999999999999', NULL);
            """
        let map = """
            handover-map: 1
            exporter: {id: readings}
            tenant: {table: readings, key: id}
            tables:
              readings:
                tenant: id
                on-invalid: replace
                columns: {id: integer, level: integer, taken: date}
            """
        try await withPostgresSchema(sql) { url, _ in
            let exporter = try await DatasetMapExporter.postgres(
                map: try DatasetMap(yaml: map),
                configuration: try PostgresStoreConfiguration(url: url, defaultSchema: "public"))
            var results: [[Value]] = []
            for id in 1...3 {
                var sink = CollectingSink(tables: exporter.tables)
                try await exporter.export(.tenant(String(id)), into: &sink, context: testContext)
                results.append(try #require(sink.rows["readings"]?.first?.values))
            }
            #expect(results[0] == [.integer(1), .integer(12), .date("2024-01-01"), .null, .null])
            #expect(results[1] == [.integer(2), .null, .null, .string("high"), .string("soon")])
            #expect(results[2] == [.integer(3), .null, .null, .string("99999999999999999999"), .null])
            let scan = try await exporter.scan()
            #expect(scan.fields.map { "\($0.field) \($0.values)" } == ["level 2", "taken 1"])
            #expect(!scan.wouldFail)
        }
    }
}
