/// A small database with dirty values and its map, for the `on-invalid` tests.
public enum DirtyFixture {
    /// Five people: clean, invalid UTF-8 in a note, text in an integer column, a date that is not one, clean.
    public static let sql = """
        CREATE TABLE tenants (id INTEGER PRIMARY KEY);
        INSERT INTO tenants VALUES (1);
        CREATE TABLE people (id INTEGER PRIMARY KEY, tenant_id INTEGER NOT NULL REFERENCES tenants(id),
          age INTEGER, born DATE, note TEXT);
        CREATE INDEX people_tenant ON people(tenant_id);
        INSERT INTO people VALUES (1, 1, 30, '1994-01-01', 'fine');
        INSERT INTO people VALUES (2, 1, 31, '1993-01-01', CAST(X'ff41c3' AS TEXT));
        INSERT INTO people VALUES (3, 1, 'about forty', '1985-01-01', 'ok');
        INSERT INTO people VALUES (4, 1, 33, 'last tuesday', 'ok');
        INSERT INTO people VALUES (5, 1, 34, '1990-01-01', 'fine');
        """

    /// The map over it, with `on-invalid: policy` for the map and `column` for the note column when given.
    public static func map(_ policy: String?, column: String? = nil) -> String {
        """
        handover-map: 1
        \(policy.map { "on-invalid: \($0)" } ?? "")
        exporter: {id: people}
        tenant: {table: tenants, key: id}
        tables:
          tenants:
            tenant: id
          people:
            tenant: tenant_id
            columns:
              id: integer
              tenant_id: integer
              age: integer
              born: date
              note: \(column.map { "{type: string, on-invalid: \($0)}" } ?? "string")
        """
    }
}
