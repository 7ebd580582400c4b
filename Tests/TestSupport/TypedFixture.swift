/// A database with a column of every type the PostgreSQL source reads, hostile values in them, written twice: in
/// PostgreSQL with its own types, and in SQLite holding the same data (text in the forms PostgreSQL writes, exact
/// decimals as text). A subject's bundle from either has the same data files.
public enum TypedFixture {
    /// The hostile texts, one per person (names), each of them also in a note.
    public static let names = [
        "Robert'); DROP TABLE people;--", "\u{202E}evil\u{202C} bidi and \u{1F44D}",
        "line\nbreak, \"quoted\", =1+2, <tag> & ]]>", "\\x41 not bytea; \\\\ backslash; 100% _like_",
    ]

    /// A 40-digit numeric, which no double holds.
    public static let exactAmount = "123456789012345678901234567890.0123456789"
    /// A numeric smaller than a double's precision shows.
    public static let tinyAmount = "-0.0000000000000000000000000000010000"

    /// One person: the PostgreSQL literal and the SQLite literal of each column, in order.
    struct Person {
        var values: [(postgres: String, sqlite: String)]
    }

    /// The people columns: name, PostgreSQL type, SQLite declared type, map type.
    static let columns: [(name: String, postgres: String, sqlite: String, map: String)] = [
        ("id", "bigint PRIMARY KEY", "INTEGER PRIMARY KEY", "integer"),
        ("email", "text NOT NULL UNIQUE", "TEXT NOT NULL UNIQUE", "string"),
        ("name", "varchar(200)", "TEXT", "string"),
        ("code", "char(4)", "TEXT", "string"),
        ("active", "boolean", "BOOLEAN", "boolean"),
        ("born", "date", "DATE", "date"),
        ("seen", "timestamptz", "DATETIME", "datetime"),
        ("local_seen", "timestamp", "DATETIME", "datetime"),
        ("wake", "time", "TEXT", "string"),
        ("span", "interval", "TEXT", "string"),
        ("uid", "uuid", "TEXT", "string"),
        ("photo", "bytea", "BLOB", "binary"),
        ("profile", "jsonb", "TEXT", "string"),
        ("settings", "json", "TEXT", "string"),
        ("ip", "inet", "TEXT", "string"),
        ("net", "cidr", "TEXT", "string"),
        ("feeling", "mood", "TEXT", "string"),
        ("tags", "text[]", "TEXT", "string"),
        ("scores", "integer[]", "TEXT", "string"),
        ("amount", "numeric(40,10)", "TEXT", "number"),
        ("big", "numeric", "TEXT", "number"),
        ("ratio", "double precision", "REAL", "number"),
        ("small", "real", "REAL", "number"),
        ("tiny", "smallint", "INTEGER", "integer"),
        ("mid", "integer", "INTEGER", "integer"),
    ]

    static func text(_ value: String) -> String { "'" + value.replacingOccurrences(of: "'", with: "''") + "'" }

    static func person(_ index: Int) -> [(postgres: String, sqlite: String)] {
        let id = index + 1
        let name = names[index % names.count]
        let same = { (value: String) in (value, value) }
        return [
            same(String(id)),
            same(text("person\(id)@example.com")),
            same(text(name)),
            // char(4) pads with spaces, which its text leaves out.
            same(text("a\(id)")),
            (index % 2 == 0 ? "true" : "false", index % 2 == 0 ? "1" : "0"),
            same(text("199\(id)-02-28")),
            (text("2024-02-29 12:34:56.12345\(id)+00"), text("2024-02-29T12:34:56.12345\(id)Z")),
            (text("2024-01-0\(id) 00:00:00.5"), text("2024-01-0\(id)T00:00:00.500Z")),
            same(text("07:30:0\(id).25")),
            (text("-\(id) days +02:03:04.5"), text("P-\(id)DT2H3M4.5S")),
            same(text("a0eebc99-9c0b-4ef8-bb6d-6bb9bd38\(String(format: "%04d", id))")),
            ("'\\x00ff0\(id)'::bytea", "X'00ff0\(id)'"),
            (
                text("{\"b\": [1, 2.50, null], \"a\": \"x'\(id)\"}"),
                text("{\"a\": \"x'\(id)\", \"b\": [1, 2.50, null]}")
            ),
            same(text("{ \"kept\" :  \"as written \(id)\" }")),
            same(text("192.168.0.\(id)")),
            same(text("10.\(id).0.0/16")),
            (
                text(["happy", "sad", "it's complicated"][index % 3]),
                text(["happy", "sad", "it's complicated"][index % 3])
            ),
            ("ARRAY['a,b', 'c\"d', '\(id)']", text("[\"a,b\",\"c\\\"d\",\"\(id)\"]")),
            ("ARRAY[1, -2, \(id)]", text("[1,-2,\(id)]")),
            same(text(index == 0 ? exactAmount : "0.\(id)000000000")),
            same(text(index == 0 ? tinyAmount : String(id))),
            same(index == 0 ? "0.1" : "-1e+20"),
            same(index == 0 ? "1.5" : "-0.25"),
            same(index == 0 ? "-32768" : String(id)),
            same(index == 0 ? "2147483647" : String(-id)),
        ]
    }

    /// How many people the fixture holds.
    public static let people = 4

    /// The PostgreSQL script (in the current schema).
    public static var postgresSQL: String {
        var sql = "CREATE TYPE mood AS ENUM ('happy', 'sad', 'it''s complicated');\n"
        sql += "CREATE TABLE people (" + columns.map { "\($0.name) \($0.postgres)" }.joined(separator: ", ") + ");\n"
        sql += "CREATE TABLE notes (id integer PRIMARY KEY, person_id bigint NOT NULL REFERENCES people(id), "
        sql += "body text NOT NULL, written timestamptz NOT NULL);\nCREATE INDEX ON notes (person_id);\n"
        for index in 0..<people {
            sql += "INSERT INTO people VALUES (" + person(index).map(\.postgres).joined(separator: ", ") + ");\n"
        }
        sql += notes.map { "INSERT INTO notes VALUES (\($0.id), \($0.person), \(text($0.body)), '\($0.written)');\n" }
            .joined()
        return sql
    }

    /// The SQLite script.
    public static var sqliteSQL: String {
        var sql = "CREATE TABLE people (" + columns.map { "\($0.name) \($0.sqlite)" }.joined(separator: ", ") + ");\n"
        sql += "CREATE TABLE notes (id INTEGER PRIMARY KEY, person_id INTEGER NOT NULL REFERENCES people(id), "
        sql += "body TEXT NOT NULL, written DATETIME NOT NULL);\nCREATE INDEX notes_person ON notes (person_id);\n"
        for index in 0..<people {
            sql += "INSERT INTO people VALUES (" + person(index).map(\.sqlite).joined(separator: ", ") + ");\n"
        }
        sql += notes.map {
            "INSERT INTO notes VALUES (\($0.id), \($0.person), \(text($0.body)), '\($0.written.replacingOccurrences(of: " ", with: "T").replacingOccurrences(of: "+00", with: "Z"))');\n"
        }.joined()
        return sql
    }

    /// Three notes per person, each with a hostile text.
    static var notes: [(id: Int, person: Int, body: String, written: String)] {
        (0..<people * 3).map { index in
            (
                index + 1, index % people + 1, names[index % names.count] + " #\(index)",
                "2025-0\(index % 9 + 1)-01 10:00:00.000007+00"
            )
        }
    }

    /// The ids of the notes of person `id`.
    public static func noteIDs(of id: Int) -> [Int64] {
        notes.filter { $0.person == id }.map { Int64($0.id) }
    }

    /// The map, the same for both: types named where SQLite's declared types would suggest others.
    public static var map: String {
        """
        handover-map: 1
        exporter:
          id: typed
          version: "1"
        subject:
          table: people
          key: id
        tables:
          people:
            subject: id
            columns:
        \(columns.map { "      \($0.name): \($0.map)" }.joined(separator: "\n"))
          notes:
            subject: person_id
            references:
              person_id: people.id
        """
    }

    /// A map of a `people` table and their `notes` (`person_id` references `people.id`), every column but
    /// `excluding` of notes exported with the types the catalog suggests.
    public static func notesMap(excluding: String? = nil) -> String {
        """
        handover-map: 1
        exporter: {id: notes}
        subject: {table: people, key: id}
        tables:
          people:
            subject: id
            exclude: []
          notes:
            subject: person_id
            references: {person_id: people.id}
            exclude: [\(excluding ?? "")]
        """
    }

    /// A map that names no type, so that every type is the one the database's catalog suggests.
    public static var inferringMap: String {
        """
        handover-map: 1
        exporter:
          id: typed
          version: "1"
        subject:
          table: people
          key: id
        tables:
          people:
            subject: id
            exclude: []
        """
    }
}
