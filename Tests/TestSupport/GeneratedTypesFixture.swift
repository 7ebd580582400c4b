import HandoverDemo

/// A generated SQLite database with a column of every field type Handover writes, filled (from a seed) with the
/// values that are hardest to carry through a round trip: 64-bit extremes, doubles in exponent form, exact decimals
/// no double holds, a column of both kinds, dates and instants at the edges, empty and arbitrary bytes, and text
/// with control characters, formula triggers, markup, bidirectional marks, empty strings against nulls.
public enum GeneratedTypesFixture {
    /// The tenants (1 and 2); tenant 1's rows are exported.
    public static let tenants = 2

    /// Text values that every format must carry exactly (no NUL: PostgreSQL text cannot hold it).
    public static let hardTexts: [String] = [
        "", " ", "  leading and trailing  ", "=1+2", "+SUM(A1)", "-3", "@cmd", "'=already guarded", "''=twice",
        "\tstarts with a tab", "\rstarts with a return", "line\nbreak", "crlf\r\nbreak",
        "\u{1}\u{2}\u{1F}\u{7F} controls",
        "quote \" and 'apostrophe' and , comma", "<tag attr=\"x\">&amp; ]]> </tag>", "\u{202E}reversed\u{202C} bidi",
        "emoji 👍🏽 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "back\\slash \\N \\x41", "null", "NULL", "true", "1e5", "日本語テキスト",
        String(repeating: "long ", count: 2000), "\u{FEFF}bom inside", "\u{85}next line \u{2028} separator",
    ]

    /// Doubles as Handover writes them, exponent forms included.
    static let doubles: [String] = [
        "0.1", "3.0", "-2.5", "1e+20", "-1e-07", "5e-324", "1.7976931348623157e+308", "-1.7976931348623157e+308",
        "2.2250738585072014e-308", "123456.789", "0.30000000000000004",
    ]

    /// Exact decimals, held as text.
    static let decimals: [String] = [
        "1.50", "100", "-0.0000000000000000000000000000010000", "123456789012345678901234567890.0123456789", "0",
        "-7", "0.1", "99999999999999999999.99",
    ]

    static let dates = ["0001-01-01", "1969-12-31", "2024-02-29", "9999-12-31", "1970-01-01"]
    static let datetimes = [
        "1970-01-01T00:00:00.000Z", "1969-12-31T23:59:59.999999Z", "2024-02-29T12:34:56.123456Z",
        "2000-01-01T00:00:00.001Z", "9999-12-31T23:59:59.999Z", "0001-01-01T00:00:00.000Z",
    ]

    static func text(_ value: String) -> String {
        "CAST(X'"
            + value.utf8.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }
            .joined() + "' AS TEXT)"
    }

    static func blob(_ bytes: [UInt8]) -> String {
        "X'"
            + bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }
            .joined() + "'"
    }

    /// The SQLite script: `tenants`, `items` (a column of each type) and `parts` (referring to items).
    public static func sqliteSQL(rows: Int = 300, seed: UInt64 = 16) -> String {
        var random = SeededGenerator(state: seed)
        var sql = "CREATE TABLE tenants (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n"
        sql += "INSERT INTO tenants VALUES (1, 'one'), (2, 'two');\n"
        sql += """
            CREATE TABLE items (id INTEGER PRIMARY KEY, tenant_id INTEGER NOT NULL REFERENCES tenants(id),
              label TEXT NOT NULL, note TEXT, big INTEGER, ratio REAL, amount TEXT, mixed, flag BOOLEAN, day DATE,
              moment DATETIME, data BLOB, code TEXT);
            CREATE INDEX items_tenant ON items (tenant_id);
            CREATE TABLE parts (item_id INTEGER NOT NULL REFERENCES items(id), position INTEGER NOT NULL,
              tenant_id INTEGER NOT NULL, body TEXT, PRIMARY KEY (item_id, position));
            CREATE INDEX parts_tenant ON parts (tenant_id);

            """
        let integers: [Int64] = [0, 1, -1, Int64.max, Int64.min, 9_007_199_254_740_993, -42]
        for id in 1...rows {
            let tenant = id % tenants + 1
            var values: [String] = [String(id), String(tenant)]
            values.append(text(hardTexts[id % hardTexts.count]))
            values.append(random.chance(25) ? "NULL" : text(random.pick(hardTexts)))
            values.append(random.chance(10) ? "NULL" : String(random.pick(integers)))
            values.append(random.chance(10) ? "NULL" : random.pick(doubles))
            values.append(random.chance(10) ? "NULL" : "'" + random.pick(decimals) + "'")
            // Both kinds in one column without affinity: exact decimals as text, doubles as reals.
            values.append(random.chance(50) ? "'" + random.pick(decimals) + "'" : random.pick(doubles))
            values.append(random.chance(10) ? "NULL" : random.chance(50) ? "1" : "0")
            values.append(random.chance(10) ? "NULL" : "'" + random.pick(dates) + "'")
            values.append(random.chance(10) ? "NULL" : "'" + random.pick(datetimes) + "'")
            let length = Int(random.next() % 40)
            let bytes = id % 7 == 0 ? [] : (0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            values.append(random.chance(10) ? "NULL" : blob(id == 3 ? Array(0...255) : bytes))
            values.append(random.chance(30) ? "NULL" : text(["alpha", "beta", "Gamma", "delta", "épsilon"][id % 5]))
            sql += "INSERT INTO items VALUES (" + values.joined(separator: ", ") + ");\n"
            for position in 0..<(id % 3) {
                sql +=
                    "INSERT INTO parts VALUES (\(id), \(position), \(tenant), "
                    + (position == 1 ? "NULL" : text(random.pick(hardTexts))) + ");\n"
            }
        }
        return sql
    }

    /// The map: every item and part of a tenant.
    public static let map = """
        handover-map: 1
        exporter: {id: generated, version: "1"}
        tenant: {table: tenants, key: id}
        tables:
          tenants:
            tenant: id
          items:
            tenant: tenant_id
            references: {tenant_id: tenants.id}
            columns:
              id: {type: integer, required: true}
              tenant_id: {type: integer, required: true}
              label: {type: string, required: true}
              note: string
              big: integer
              ratio: number
              amount: number
              mixed: number
              flag: boolean
              day: date
              moment: datetime
              data: binary
              code: string
          parts:
            tenant: tenant_id
            references: {item_id: items.id}
        """
}

extension SeededGenerator {
    /// One of `values`, evenly.
    mutating func pick<T>(_ values: [T]) -> T { values[Int(next() % UInt64(values.count))] }
    /// True `percent` times in a hundred.
    mutating func chance(_ percent: UInt64) -> Bool { next() % 100 < percent }
}
