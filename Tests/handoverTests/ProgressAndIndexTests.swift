import Foundation
import HandoverDemo
import TestSupport
import Testing

@Suite struct ProgressAndIndexTests {
    @Test func progressIsPlainLinesOffATerminalAndQuietSilencesIt() async throws {
        try await withTemporaryDirectory { folder in
            let (db, map) = try makeDemo(in: folder)
            let loud = try handover("export", "--db", db, "--map", map, "--tenant", "1", "--out", folder + "/a")
            #expect(loud.status == 0)
            let expected = try query(db, "SELECT count(*) FROM activity_events WHERE tenant_id = 1")[0]
            #expect(loud.stderr.contains("sales/activity_events: \(expected) rows in "), "\(loud.stderr)")
            #expect(loud.stderr.contains("validating the sales files against their schemas"))
            #expect(loud.stderr.contains("writing the archive"))
            #expect(!loud.stderr.contains("\u{1B}") && !loud.stderr.contains("\r"), "control characters off a terminal")
            let quiet = try handover(
                "export", "--db", db, "--map", map, "--tenant", "1", "--out", folder + "/b", "--quiet")
            #expect(quiet.status == 0)
            #expect(quiet.stderr.isEmpty, "\(quiet.stderr)")
        }
    }

    @Test func missingIndexesAreListedByMapCheckAndWarnedOnceByExport() async throws {
        try await withTemporaryDirectory { folder in
            let (db, map) = try makeDemo(in: folder)
            let clean = try handover("map", "check", "--db", db, "--map", map)
            #expect(clean.status == 0)
            #expect(clean.stdout.contains("every subject and tenant lookup is served by an index"))

            let dropped = try run("/usr/bin/sqlite3", [db, "DROP INDEX comments_content; DROP INDEX events_user;"])
            #expect(dropped.status == 0, "\(dropped.stderr)")
            let check = try handover("map", "check", "--db", db, "--map", map, "--json")
            #expect(check.status == 0)
            let unindexed = try #require(try jsonObject(check.stdout)["unindexed"] as? [String])
            #expect(Set(unindexed) == ["comments.content_id", "activity_events.user_id"])

            let export = try handover(
                "export", "--db", db, "--map", map, "--subject", "email=\(SalesDemo.demoSubject.value)", "--out",
                folder + "/out")
            #expect(export.status == 0)
            for lookup in ["comments.content_id", "activity_events.user_id"] {
                #expect(
                    export.stderr.components(separatedBy: "no index serves \(lookup)").count == 2, "\(export.stderr)")
            }
            #expect(export.stderr.contains("CREATE INDEX"))
            let quietWarning = try handover(
                "export", "--db", db, "--map", map, "--subject", "name=Nobody At All", "--out", folder + "/quiet",
                "--quiet")
            #expect(quietWarning.status == 0)
            #expect(quietWarning.stderr.isEmpty, "--quiet silences the index warning: \(quietWarning.stderr)")
            let selector = try handover(
                "export", "--db", db, "--map", map, "--subject", "name=Nobody", "--out", folder + "/byname")
            #expect(selector.stderr.contains("no index serves users.name"), "\(selector.stderr)")
            let broken = try handover("map", "check", "--db", db, "--map", db)
            #expect(broken.status == 65)
        }
    }
}
