import Foundation
import HandoverCore
import HandoverSQL
import HandoverSQLite
import TestSupport
import Testing

/// A tiny shop: customers, invoices, invoice lines (reaching the customer through the invoice).
func makeShop(_ folder: String, extra: String = "") throws -> String {
    let path = folder + "/shop.sqlite"
    try SQLiteConnection.withConnection(path: path, mode: .readWriteCreate) { db in
        try db.execute(
            """
            CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT, secret TEXT, born DATE, joined DATETIME, vip BOOLEAN);
            CREATE TABLE invoices (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, total REAL);
            CREATE TABLE invoice_lines (id INTEGER PRIMARY KEY, invoice_id INTEGER NOT NULL, item TEXT, photo BLOB);
            CREATE INDEX invoices_customer ON invoices(customer_id);
            INSERT INTO customers VALUES (1, 'a@x.example', 'Ann', 's1', '1990-05-17', '2024-01-02 03:04:05', 1),
                                         (2, 'b@x.example', 'Bob', 's2', NULL, 1700000000, 0);
            INSERT INTO invoices VALUES (10, 1, 9.5), (11, 2, 3.25), (12, 1, 0);
            INSERT INTO invoice_lines VALUES (100, 10, 'pen', X'00FF'), (101, 11, 'ink', NULL), (102, 12, 'pad', X''), (103, 12, 'cap', NULL);
            \(extra)
            """)
    }
    return path
}

let shopMap = """
    handover-map: 1
    exporter: {id: shop, version: "2"}
    subject: {table: customers, key: id}
    tables:
      customers:
        exclude: [secret]
        subject: id
      invoices:
        references: {customer_id: customers.id}
        subject: customer_id
      invoice_lines:
        references: {invoice_id: invoices.id}
        subject: {via: [invoice_id], column: customer_id}
    """

@Suite struct DatasetMapTests {
    @Test func followsAChainOfReferencesAndInfersTypes() async throws {
        try await withTemporaryDirectory { folder in
            let exporter = try DatasetMapExporter(
                map: try DatasetMap(yaml: shopMap), databasePath: try makeShop(folder))
            #expect(exporter.id == "shop")
            #expect(exporter.version == "2")
            let customers = try #require(exporter.tables.first)
            #expect(customers.fields.map(\.name) == ["id", "email", "name", "born", "joined", "vip"])
            #expect(customers.fields.map(\.type) == [.integer, .string, .string, .date, .datetime, .boolean])
            #expect(customers.primaryKey == ["id"])
            #expect(customers.fields[1].required)
            let lines = try #require(exporter.tables.last)
            #expect(
                lines.foreignKeys == [ForeignKey(fields: ["invoice_id"], table: "invoices", referencedFields: ["id"])])

            let emitted = try await collect(
                exporter, .subject(SubjectSelector(column: "email", value: "a@x.example"), tenant: nil))
            #expect(emitted.integers("customers") == [1])
            #expect(emitted.integers("invoices") == [10, 12])
            #expect(emitted.integers("invoice_lines") == [100, 102, 103])
            let ann = try #require(emitted.rows["customers"]?.first)
            #expect(ann.values[3] == .date("1990-05-17"))
            #expect(ann.values[4] == .datetime(Timestamp(iso8601: "2024-01-02T03:04:05Z")!))
            #expect(ann.values[5] == .boolean(true))
            #expect(emitted.rows["invoice_lines"]?.first?.values[3] == .binary([0, 255]))

            let bob = try await collect(exporter, .subject(SubjectSelector(column: "id", value: "2"), tenant: nil))
            #expect(bob.rows["customers"]?.first?.values[4] == .datetime(Timestamp(secondsSince1970: 1_700_000_000)))
            #expect(bob.integers("invoice_lines") == [101])
        }
    }

    @Test func listsLookupsThatNoIndexServes() async throws {
        try await withTemporaryDirectory { folder in
            let exporter = try DatasetMapExporter(
                map: try DatasetMap(yaml: shopMap), databasePath: try makeShop(folder))
            #expect(exporter.unindexedLookups == ["invoice_lines.invoice_id"])
        }
    }

    /// Maps that are not well formed, and the words their error must contain.
    static let malformed: [(String, [String])] = [
        ("", ["empty"]),
        ("tables: [a, b", ["not valid YAML", "line"]),
        ("exporter: {id: shop}\ntables: {}", ["handover-map: 1"]),
        ("handover-map: 2\nexporter: {id: shop}\ntables: {}", ["handover-map", "version 1"]),
        ("handover-map: 1\nexporter: {id: Shop!}\ntables: {customers: {}}", ["exporter.id", "line 2"]),
        (
            "handover-map: 1\nexporter: {id: shop}\ntables: {customers: {colums: {id: integer}}}",
            ["tables.customers.colums", "unknown key"]
        ),
        (
            "handover-map: 1\nexporter: {id: shop}\ntables:\n  customers:\n    columns:\n      id: int\n",
            ["tables.customers.columns.id", "line 6", "unknown type"]
        ),
        (
            "handover-map: 1\nexporter: {id: shop}\ntables:\n  customers: {}\n  customers: {}\n",
            ["customers", "twice", "line 4"]
        ),
        ("handover-map: 1\nexporter: {id: shop}\ntables: {\"drop table\": {}}", ["not a valid identifier"]),
        ("handover-map: 1\nexporter: {id: shop}\ntables: {customers: {references: {x: customers}}}", ["TABLE.COLUMN"]),
        (
            "handover-map: 1\nexporter: {id: shop}\ntables: {customers: {columns: {id: integer}, exclude: [id]}}",
            ["both listed and excluded"]
        ),
        ("handover-map: 1\nexporter: {id: shop}\ntables: {}", ["no tables"]),
        (
            "handover-map: 1\nexporter: {id: shop}\ntables:\n  customers:\n    columns:\n"
                + "      name: {type: string, pattern: \"(a{1000}){1000}\"}\n",
            ["columns.name", "line 6", "pattern cannot be used", "too complex"]
        ),
        (
            "handover-map: 1\nexporter: {id: shop}\ntables:\n  customers:\n    columns:\n"
                + "      name: {type: string, pattern: \"[z-a]+\"}\n",
            ["columns.name", "line 6", "out of order"]
        ),
        ("- a\n- b", ["expected a mapping"]),
    ]

    @Test(arguments: malformed)
    func refusesMalformedMapsSayingWhereAndWhat(yaml: String, words: [String]) {
        do {
            _ = try DatasetMap(yaml: yaml, source: "map.yaml")
            Issue.record("accepted a malformed map")
        } catch let error as HandoverError {
            #expect(error.code == .invalidDatasetMap)
            for word in words { #expect(error.message.contains(word), "\(error.message)") }
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    /// Well-formed maps that do not match the shop database, and the words their error must contain.
    static let mismatched: [(String, [String])] = [
        ("tables: {clients: {subject: id}}", ["tables.clients", "unknown table 'clients'"]),
        (
            "tables: {customers: {columns: {id: integer, mail: string}, subject: id}}",
            ["tables.customers.columns.mail", "unknown column 'mail'"]
        ),
        ("tables: {customers: {exclude: [password], subject: id}}", ["excluded column password"]),
        (
            "tables: {invoices: {references: {customer_id: clients.id}, subject: customer_id}}",
            ["unknown table clients"]
        ),
        (
            "tables: {invoices: {references: {customer_id: invoices.nope}, subject: customer_id}}",
            ["no exported column nope"]
        ),
        (
            "tables: {customers: {subject: id}, invoice_lines: {subject: {via: [invoice_id], column: customer_id}}}",
            ["invoice_lines.invoice_id has no declared reference"]
        ),
        ("tables: {customers: {subject: {column: id, matches: phone}}}", ["'matches' names phone"]),
        ("tables: {customers: {subject: nope}}", ["no exported column nope"]),
        ("tables: {customers: {primary-key: [email, nope]}}", ["primary key column nope"]),
        ("tables: {customers: {tenant: id}}", ["declares no 'tenant' table"]),
    ]

    @Test(arguments: mismatched)
    func refusesMapsThatDoNotMatchTheDatabase(body: String, words: [String]) async throws {
        try await withTemporaryDirectory { folder in
            let database = try makeShop(folder)
            let yaml = "handover-map: 1\nexporter: {id: shop}\nsubject: {table: customers, key: id}\n" + body
            do {
                _ = try DatasetMapExporter(map: try DatasetMap(yaml: yaml), databasePath: database)
                Issue.record("accepted a map that does not match")
            } catch let error as HandoverError {
                #expect(error.code == .invalidDatasetMap)
                for word in words { #expect(error.message.contains(word), "\(error.message)") }
                #expect(error.message.contains("line"), "\(error.message)")
            }
        }
    }

    @Test func aMissingOrForeignDatabaseIsAClearError() async throws {
        try await withTemporaryDirectory { folder in
            let map = try DatasetMap(yaml: shopMap)
            #expect {
                _ = try DatasetMapExporter(map: map, databasePath: folder + "/missing.sqlite")
            } throws: { error in
                let error = error as? HandoverError
                return error?.code == .sourceUnavailable && error!.message.contains("does not exist")
            }
            try Data("this is not a database, just text that is long enough".utf8).write(
                to: URL(fileURLWithPath: folder + "/text.sqlite"))
            #expect {
                _ = try DatasetMapExporter(map: map, databasePath: folder + "/text.sqlite")
            } throws: { ($0 as? HandoverError)?.code == .sourceUnavailable }
            #expect(
                !FileManager.default.fileExists(atPath: folder + "/missing.sqlite"), "a read must not create the file")
        }
    }
}

@Suite struct BadDataTests {
    func exportError(_ extra: String, subject: String = "1") async throws -> HandoverError? {
        try await withTemporaryDirectory { folder in
            let exporter = try DatasetMapExporter(
                map: try DatasetMap(yaml: shopMap), databasePath: try makeShop(folder, extra: extra))
            do {
                _ = try await collect(exporter, .subject(SubjectSelector(column: "id", value: subject), tenant: nil))
                return nil
            } catch let error as HandoverError {
                return error
            }
        }
    }

    @Test func invalidUTF8IsRefusedNamingTableRowAndFieldButNotTheValue() async throws {
        // CESU-8 lone surrogate (ED A0 80) between ASCII letters.
        let error = try #require(
            try await exportError("UPDATE customers SET name = CAST(X'41EDA08042' AS TEXT) WHERE id = 1;"))
        #expect(error.code == .invalidData)
        #expect(error.message.contains("table customers"))
        #expect(error.message.contains("row id=1"))
        #expect(error.message.contains("field name"))
        #expect(error.message.contains("UTF-8"))
    }

    @Test(arguments: [
        ("UPDATE customers SET born = 'May 17th' WHERE id = 1;", "field born"),
        ("UPDATE customers SET joined = 'soon' WHERE id = 1;", "field joined"),
        ("UPDATE customers SET vip = 7 WHERE id = 1;", "field vip"),
        ("UPDATE invoices SET total = 'lots' WHERE id = 10;", "field total"),
        ("UPDATE invoice_lines SET item = X'0102' WHERE id = 100;", "field item"),
    ])
    func valuesThatDoNotFitTheirTypeAreRefused(sql: String, field: String) async throws {
        let error = try #require(try await exportError(sql))
        #expect(error.code == .invalidData)
        #expect(error.message.contains(field), "\(error.message)")
        for value in ["May 17th", "soon", "lots", "x@y"] { #expect(!error.localizedMessage.contains(value)) }
    }
}
