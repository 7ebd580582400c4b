import Testing

@testable import HandoverSQL

/// How a subject's path reads in SQL. PostgreSQL plans `IN (SELECT …)` alternatives joined by `OR` (a comment is the
/// subject's as its author or as a comment on the subject's content) as a scan of the whole table, so its paths
/// compare with `= ANY(ARRAY(SELECT …))`, computed once and used with the column's index. The rows are the same:
/// `SubjectScopeTests` compares every table of many subjects with hand-written SQL on both sources.
@Suite struct SubjectPathSQLTests {
    static let path = ResolvedPath(
        hops: [
            .init(column: "content_id", table: "content_items", key: "id"),
            .init(column: "folder_id", table: "folders", key: "id"),
        ],
        column: "owner_id", matches: nil, parameter: "CAST(? AS bigint)")

    @Test func sqliteReadsEachHopAsAnInSubquery() {
        #expect(
            Self.path.condition()
                == #"t0."content_id" IN (SELECT t1."id" FROM "content_items" AS t1 WHERE t1."folder_id" IN "#
                + #"(SELECT t2."id" FROM "folders" AS t2 WHERE t2."owner_id" = CAST(? AS bigint)))"#)
        #expect(!SQLDialect.sqlite.arraySubqueries)
    }

    @Test func postgresReadsEachHopAsAnArrayComputedOnce() {
        #expect(
            Self.path.condition(arrays: true)
                == #"t0."content_id" = ANY(ARRAY(SELECT t1."id" FROM "content_items" AS t1 WHERE t1."folder_id" = "#
                + #"ANY(ARRAY(SELECT t2."id" FROM "folders" AS t2 WHERE t2."owner_id" = CAST(? AS bigint)))))"#)
        #expect(SQLDialect.postgres.arraySubqueries)
        // A path without hops compares the column itself, either way.
        let direct = ResolvedPath(hops: [], column: "author_id", matches: nil, parameter: "?")
        #expect(direct.condition(arrays: true) == #"t0."author_id" = ?"#)
    }
}
