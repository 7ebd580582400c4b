import Foundation
import HandoverDemo
import HandoverSQL
import TestSupport
import Testing

@Suite struct MapInitCommandTests {
    @Test func aDraftOfTheDemoPassesMapCheck() async throws {
        try await withTemporaryDirectory { folder in
            let (db, _) = try makeDemo(in: folder)
            let out = folder + "/sales-draft.yaml"
            let drafted = try handover(
                "map", "init", "--db", db, "--subject-table", "users", "--tenant-table", "tenants", "--out", out)
            #expect(drafted.status == 0, "\(drafted.stderr)")
            #expect(drafted.stdout.contains("a draft of 7 tables (6 in subject exports, 7 in tenant exports)"))
            let text = try String(contentsOfFile: out, encoding: .utf8)
            #expect(text.hasPrefix("# DRAFT dataset map"))
            #expect(try DatasetMap(yaml: text).exporter.id == "sales-draft", "the id comes from the file's name")
            let check = try handover("map", "check", "--db", db, "--map", out)
            #expect(check.status == 0, "\(check.stderr)")
            #expect(check.stdout.contains("exporter sales-draft, 7 tables"))
            #expect(!check.stdout.contains("exported without being named"), "the draft lists its columns")

            // The draft exports the demo subject as it is.
            let export = try handover(
                "export", "--db", db, "--map", out, "--subject", "email=\(SalesDemo.demoSubject.value)", "--out",
                folder + "/bundle", "--json")
            #expect(export.status == 0, "\(export.stderr)")
            let tables = try #require(try jsonObject(export.stdout)["tables"] as? [String: Int])
            #expect(tables["sales-draft.comments"] ?? 0 > 0)
            #expect(tables["sales-draft.tenants"] == nil)
        }
    }

    @Test func theDraftGoesToStandardOutputOrAsJSON() async throws {
        try await withTemporaryDirectory { folder in
            let (db, _) = try makeDemo(in: folder)
            let plain = try handover("map", "init", "--db", db, "--subject-table", "users")
            #expect(plain.status == 0, "\(plain.stderr)")
            let map = try DatasetMap(yaml: plain.stdout)
            #expect(map.exporter.id == "draft" && map.tenant == nil)
            #expect(plain.stdout.contains("#   contact_form_submissions: no chain of foreign keys leads to users"))

            let json = try jsonObject(
                try handover(
                    "map", "init", "--db", db, "--subject-table", "users", "--tenant-table", "tenants",
                    "--exporter-id", "crm", "--json"
                ).stdout)
            #expect(json["exporter"] as? String == "crm")
            #expect(json["subject"] as? String == "users.id")
            #expect(try DatasetMap(yaml: try #require(json["map"] as? String)).exporter.id == "crm")
            #expect((json["subjectTables"] as? [String])?.contains("comments") == true)
            #expect(
                Set(json["pseudonymized"] as? [String] ?? []) == ["comments.author_id", "coaching_feedback.coach_id"])
            let leftOut = try #require(json["leftOut"] as? [[String: String]])
            #expect(leftOut.map { $0["table"] } == ["contact_form_submissions"])
            let excluded = try #require(json["excludedColumns"] as? [[String: String]])
            #expect(excluded == [["table": "users", "column": "password_hash", "reason": "secret-name"]])
        }
    }

    @Test func anExistingFileIsNeverReplaced() async throws {
        try await withTemporaryDirectory { folder in
            let (db, _) = try makeDemo(in: folder)
            let out = folder + "/map.yaml"
            try Data("mine\n".utf8).write(to: URL(fileURLWithPath: out))
            let refused = try handover("map", "init", "--db", db, "--subject-table", "users", "--out", out)
            #expect(refused.status == 73)
            #expect(refused.stderr.contains("already exists"))
            #expect(try String(contentsOfFile: out, encoding: .utf8) == "mine\n")
            #expect(listFolder(folder).filter { $0.hasPrefix(".handover-partial-") }.isEmpty)
        }
    }

    @Test func anUnknownSubjectTableIsBadInput() async throws {
        try await withTemporaryDirectory { folder in
            let (db, _) = try makeDemo(in: folder)
            let out = folder + "/map.yaml"
            let result = try handover("map", "init", "--db", db, "--subject-table", "customers", "--out", out)
            #expect(result.status == 65)
            #expect(result.stderr.contains("the subject table 'customers' is not in database"))
            #expect(!FileManager.default.fileExists(atPath: out))
            let tenant = try handover(
                "map", "init", "--db", db, "--subject-table", "users", "--tenant-table", "companies")
            #expect(tenant.status == 65)
            #expect(tenant.stderr.contains("the tenant table 'companies' is not in database"))
            let key = try handover("map", "init", "--db", db, "--subject-table", "users", "--subject-key", "uuid")
            #expect(key.status == 65)
            let id = try handover("map", "init", "--db", db, "--subject-table", "users", "--exporter-id", "Bad")
            #expect(id.status == 64)
        }
    }
}
