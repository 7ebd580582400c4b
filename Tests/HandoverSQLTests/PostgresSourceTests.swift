import Foundation
import HandoverCore
import HandoverPostgres
import HandoverSQL
import TestSupport
import Testing

/// The PostgreSQL source on its own: types read from the catalog, types it refuses, values that do not fit,
/// and one snapshot per export.
@Suite struct PostgresSourceTests {
    func exporter(_ yaml: String, _ url: String) async throws -> DatasetMapExporter {
        let configuration = try PostgresStoreConfiguration(url: url, defaultSchema: "public")
        return try await DatasetMapExporter.postgres(map: try DatasetMap(yaml: yaml), configuration: configuration)
    }

    @Test func everyTypeIsReadAsTheFieldTypeItsCatalogSays() async throws {
        try await withPostgresSchema(TypedFixture.postgresSQL) { url, _ in
            let people = try #require(try await exporter(TypedFixture.inferringMap, url).tables.first)
            let types = Dictionary(uniqueKeysWithValues: people.fields.map { ($0.name, $0.type) })
            let expected: [String: FieldType] = [
                "id": .integer, "email": .string, "name": .string, "code": .string, "active": .boolean, "born": .date,
                "seen": .datetime, "local_seen": .datetime, "wake": .string, "span": .string, "uid": .string,
                "photo": .binary, "profile": .string, "settings": .string, "ip": .string, "net": .string,
                "feeling": .string, "tags": .string, "scores": .string, "amount": .number, "big": .number,
                "ratio": .number, "small": .number, "tiny": .integer, "mid": .integer,
            ]
            #expect(types == expected)
            #expect(people.primaryKey == ["id"])
            #expect(people.fields.filter(\.required).map(\.name) == ["id", "email"])
            let feeling = try #require(people.fields.first { $0.name == "feeling" })
            #expect(feeling.constraints.enumeration == ["happy", "sad", "it's complicated"], "an enum's labels")
            // And the values come out by those types.
            var sink = CollectingSink(tables: try await exporter(TypedFixture.inferringMap, url).tables)
            try await exporter(TypedFixture.inferringMap, url).export(
                .subject(SubjectSelector(column: "id", value: "1"), tenant: nil), into: &sink, context: testContext)
            let row = try #require(sink.rows["people"]?.first)
            let value = { (name: String) in row.values[people.index(of: name)!] }
            #expect(value("amount") == .decimal(TypedFixture.exactAmount))
            #expect(value("big") == .decimal(TypedFixture.tinyAmount))
            #expect(value("ratio") == .number(0.1))
            #expect(value("photo") == .binary([0, 255, 1]))
            #expect(value("seen") == .datetime(Timestamp(iso8601: "2024-02-29T12:34:56.123451Z")!))
            #expect(value("tiny") == .integer(-32768))
            #expect(value("feeling") == .string("happy"))
        }
    }

    @Test func aTypeNotReadIsRefusedNamingTheColumnUnlessTheMapAsksForItsText() async throws {
        let sql = """
            CREATE TABLE places (id integer PRIMARY KEY, spot point, label text);
            INSERT INTO places VALUES (1, point(1.5, -2), 'home');
            """
        let inferring = """
            handover-map: 1
            exporter: {id: places}
            tenant: {table: places, key: id}
            tables:
              places:
                tenant: id
                exclude: []
            """
        try await withPostgresSchema(sql) { url, _ in
            await #expect {
                _ = try await exporter(inferring, url)
            } throws: { error in
                let message = (error as? HandoverError)?.message ?? ""
                return (error as? HandoverError)?.code == .invalidDatasetMap && message.contains("places.spot")
                    && message.contains("point") && message.contains("type: string")
            }
            let asText = exporter
            let declared = inferring.replacingOccurrences(
                of: "exclude: []", with: "columns: {id: integer, spot: string, label: string}")
            let mapped = try await asText(declared, url)
            var sink = CollectingSink(tables: mapped.tables)
            try await mapped.export(.tenant("1"), into: &sink, context: testContext)
            #expect(sink.rows["places"]?.first?.values == [.integer(1), .string("(1.5,-2)"), .string("home")])
        }
    }

    @Test func notANumberAndValuesOutOfRangeStopTheExportNamingTableRowAndFieldNotTheValue() async throws {
        let sql = """
            CREATE TABLE readings (id integer PRIMARY KEY, value double precision, count numeric, day date);
            INSERT INTO readings VALUES (1, 'NaN', 5, '2024-01-01'), (2, 'Infinity', 5, '2024-01-01'),
              (3, 1.5, 98765432109876543210, '2024-01-01'), (4, 1.5, 5, 'infinity'), (5, 1.5, 5, '0044-03-15 BC');
            """
        func map(_ id: Int, value: String = "number", count: String = "integer") -> String {
            """
            handover-map: 1
            exporter: {id: readings}
            tenant: {table: readings, key: id}
            tables:
              readings:
                tenant: id
                columns: {id: integer, value: \(value), count: \(count), day: date}
            """
        }
        try await withPostgresSchema(sql) { url, _ in
            for (id, field, words) in [
                (1, "value", "NaN and infinities"), (2, "value", "NaN and infinities"), (3, "count", "integer"),
                (4, "day", "date"), (5, "day", "date"),
            ] {
                let mapped = try await exporter(map(id), url)
                var sink = CollectingSink(tables: mapped.tables)
                await #expect {
                    try await mapped.export(.tenant(String(id)), into: &sink, context: testContext)
                } throws: { error in
                    let message = (error as? HandoverError)?.message ?? ""
                    return (error as? HandoverError)?.code == .invalidData
                        && message.contains("table readings, row id=\(id), field \(field)") && message.contains(words)
                        && !message.contains("98765") && !message.contains("BC") && !message.contains("nfinity'")
                }
            }
            // Asked for as text, NaN and infinity come out as PostgreSQL writes them.
            let asText = try await exporter(map(1, value: "string"), url)
            for (id, text) in [(1, "NaN"), (2, "Infinity")] {
                var sink = CollectingSink(tables: asText.tables)
                try await asText.export(.tenant(String(id)), into: &sink, context: testContext)
                #expect(sink.rows["readings"]?.first?.values[1] == .string(text))
            }
        }
    }

    @Test func anExportReadsOneSnapshotThoughRowsAreAddedWhileItRuns() async throws {
        try await withPostgresSchema(TypedFixture.postgresSQL) { url, schema in
            let mapped = try await exporter(TypedFixture.map, url)
            /// Adds a note for person 1 (committed) when the first people row arrives.
            struct InsertingSink: RowSink {
                var inner: CollectingSink
                let schema: String
                var inserted = false
                mutating func write(_ row: Row, table: Int) async throws {
                    if !inserted {
                        inserted = true
                        try await psql("INSERT INTO notes VALUES (999, 1, 'late', now());", schema: schema)
                    }
                    try await inner.write(row, table: table)
                }
            }
            var sink = InsertingSink(inner: CollectingSink(tables: mapped.tables), schema: schema)
            let scope = ExportScope.subject(SubjectSelector(column: "id", value: "1"), tenant: nil)
            try await mapped.export(scope, into: &sink, context: testContext)
            #expect(sink.inserted)
            #expect(sink.inner.integers("notes") == TypedFixture.noteIDs(of: 1), "the late note is not in this export")
            var again = CollectingSink(tables: mapped.tables)
            try await mapped.export(scope, into: &again, context: testContext)
            #expect(again.integers("notes") == TypedFixture.noteIDs(of: 1) + [999], "the next export sees it")
        }
    }

    @Test func aServerThatIsNotThereOrARefusedPasswordIsSaidWithoutThePassword() async throws {
        let map = try DatasetMap(yaml: TypedFixture.inferringMap)
        for url in [
            "postgres://handover_test:s3cret-pw@127.0.0.1:1/handover_test?sslmode=disable",
            postgresSourceURL(schema: "public").replacingOccurrences(of: ":handover_test@", with: ":s3cret-pw@"),
        ] {
            await #expect {
                _ = try await DatasetMapExporter.postgres(
                    map: map, configuration: try PostgresStoreConfiguration(url: url, defaultSchema: "public"))
            } throws: { error in
                let error = error as? HandoverError
                return error?.code == .sourceUnavailable && !(error?.message.contains("s3cret") ?? true)
                    && error?.message.contains("127.0.0.1") == true
            }
        }
    }
}

/// A reference the map declares is checked against the database's foreign keys, on both sources.
@Suite struct ForeignKeyCheckTests {
    static let map = TypedFixture.notesMap()

    @Test(arguments: SourceKind.allCases)
    func aReferenceNoForeignKeyBacksIsListed(source: SourceKind) async throws {
        for backed in [true, false] {
            let key = backed ? " REFERENCES people(id)" : ""
            let sql = """
                CREATE TABLE people (id integer PRIMARY KEY, email text);
                CREATE TABLE notes (id integer PRIMARY KEY, person_id integer\(key));
                CREATE INDEX notes_person ON notes (person_id);
                """
            let found: [String]
            switch source {
            case .sqlite:
                found = try await withTemporaryDirectory { folder in
                    #expect(try run("/usr/bin/sqlite3", [folder + "/db.sqlite", sql]).status == 0)
                    return try DatasetMapExporter(
                        map: try DatasetMap(yaml: Self.map), databasePath: folder + "/db.sqlite"
                    )
                    .referencesWithoutForeignKey
                }
            case .postgres:
                found = try await withPostgresSchema(sql) { url, _ in
                    try await DatasetMapExporter.postgres(
                        map: try DatasetMap(yaml: Self.map),
                        configuration: try PostgresStoreConfiguration(url: url, defaultSchema: "public")
                    ).referencesWithoutForeignKey
                }
            }
            #expect(found == (backed ? [] : ["notes.person_id → people.id"]), "\(source), backed: \(backed)")
        }
    }
}
