import HandoverCore
import HandoverDemo
import HandoverSQL
import Logging
import TestSupport
import Testing

@Suite struct SubjectScopeTests {
    @Test(arguments: SourceKind.allCases, [1, 2, 3, 7, 14, 30, 59, 60])
    func exportsExactlyTheRowsTheSubjectOwns(source: SourceKind, userID: Int) async throws {
        let exporter = try await demoExporter(source)
        let email = try #require(
            try await demoTruth(source, "SELECT 1 FROM users WHERE id = ?", .integer(Int64(userID))).first)
        #expect(email == 1)
        let selector = SubjectSelector(column: "id", value: String(userID))
        let emitted = try await collect(exporter, .subject(selector, tenant: nil))
        #expect(emitted.rows["tenants"] == nil, "a subject export leaves out the tenants table")
        var total = 0
        for (table, sql) in ownedBySubject {
            let expected = try await demoTruth(source, sql + " ORDER BY 1", .integer(Int64(userID)))
            #expect(emitted.integers(table) == expected, "table \(table) for user \(userID)")
            total += expected.count
        }
        #expect(total > 0)
    }

    @Test(arguments: SourceKind.allCases)
    func selectsBySubjectEmailAndMatchesContactFormsByEmail(source: SourceKind) async throws {
        let emitted = try await collect(try await demoExporter(source), .subject(SalesDemo.demoSubject, tenant: nil))
        #expect(emitted.integers("users") == [1])
        let forms = try await demoTruth(
            source, "SELECT id FROM contact_form_submissions WHERE email = ? ORDER BY id",
            .text(SalesDemo.demoSubject.value))
        #expect(!forms.isEmpty)
        #expect(emitted.integers("contact_form_submissions") == forms)
    }

    @Test(arguments: SourceKind.allCases)
    func othersAppearOnlyAsPseudonyms(source: SourceKind) async throws {
        let emitted = try await collect(try await demoExporter(source), .subject(SalesDemo.demoSubject, tenant: nil))
        let schema = try #require(emitted.tables.first { $0.name == "comments" })
        let author = try #require(schema.index(of: "author_id"))
        #expect(schema.fields[author].type == .string)
        var others = 0
        for row in emitted.rows["comments"] ?? [] {
            guard case .string(let value) = row.values[author] else {
                Issue.record("author_id is not a string")
                continue
            }
            if value != "1" {
                others += 1
                #expect(value.hasPrefix("p-users-"), "another person's id appears in clear")
            }
        }
        #expect(others >= 12, "the demo subject has comments by others on their recordings")
    }

    @Test(arguments: SourceKind.allCases)
    func anUnknownSubjectGetsNoRows(source: SourceKind) async throws {
        for selector in [
            SubjectSelector(column: "email", value: "nobody@nowhere.example"),
            SubjectSelector(column: "email", value: "' OR 1=1 --"),
            SubjectSelector(column: "id", value: "1 OR 1=1"),
            SubjectSelector(column: "id", value: "99999999999999999999"),
            SubjectSelector(column: "created_at", value: "not a time"),
        ] {
            let emitted = try await collect(try await demoExporter(source), .subject(selector, tenant: nil))
            #expect(emitted.rows.isEmpty)
        }
    }

    @Test(arguments: SourceKind.allCases)
    func aSubjectOutsideTheNamedTenantIsNotFound(source: SourceKind) async throws {
        // The demo subject belongs to tenant 1: within tenant 2 only the website's forms, which no
        // tenant controls and which match by email alone, still belong to the person.
        let exporter = try await demoExporter(source)
        let emitted = try await collect(exporter, .subject(SalesDemo.demoSubject, tenant: "2"))
        #expect(Set(emitted.rows.keys) == ["contact_form_submissions"])
        let within = try await collect(exporter, .subject(SalesDemo.demoSubject, tenant: "1"))
        #expect(within.integers("users") == [1])
    }

    @Test(arguments: SourceKind.allCases)
    func anAmbiguousSelectorIsRefused(source: SourceKind) async throws {
        let exporter = try await demoExporter(source)
        await #expect {
            _ = try await collect(exporter, .subject(SubjectSelector(column: "role", value: "rep"), tenant: nil))
        } throws: { ($0 as? HandoverError)?.code == .ambiguousSubject }
    }

    @Test func aSelectorColumnTheSubjectTableLacksIsRefused() async throws {
        await #expect {
            _ = try await collect(
                try demoExporter(), .subject(SubjectSelector(column: "shoe_size", value: "9"), tenant: nil))
        } throws: { ($0 as? HandoverError)?.code == .invalidArgument }
    }
}

@Suite struct TenantScopeTests {
    @Test(arguments: SourceKind.allCases, [1, 2, 3])
    func exportsEveryRowOfTheTenantAndNoneOfAnother(source: SourceKind, tenant: Int) async throws {
        let emitted = try await collect(try await demoExporter(source), .tenant(String(tenant)))
        #expect(emitted.integers("tenants") == [Int64(tenant)])
        for table in ["users", "contacts", "content_items", "comments", "coaching_feedback", "activity_events"] {
            let expected = try await demoTruth(
                source, "SELECT id FROM \(table) WHERE tenant_id = ? ORDER BY id", .integer(Int64(tenant)))
            #expect(!expected.isEmpty)
            #expect(emitted.integers(table) == expected, "table \(table)")
            #expect(emitted.integers(table, "tenant_id").allSatisfy { $0 == Int64(tenant) })
        }
        #expect(emitted.rows["contact_form_submissions"] == nil, "the operator's own forms go to no tenant")
    }

    @Test(arguments: SourceKind.allCases)
    func aTenantExportKeepsReferencesToPeopleInClear(source: SourceKind) async throws {
        let emitted = try await collect(try await demoExporter(source), .tenant("1"))
        for (table, field) in [("comments", "author_id"), ("coaching_feedback", "coach_id")] {
            let schema = try #require(emitted.tables.first { $0.name == table })
            let index = try #require(schema.index(of: field))
            let values = (emitted.rows[table] ?? []).map { row -> String in
                if case .string(let text) = row.values[index] { return text }
                return "not a string"
            }
            let expected = try await demoTruth(source, "SELECT \(field) FROM \(table) WHERE tenant_id = 1 ORDER BY id")
            #expect(!values.isEmpty)
            #expect(values == expected.map(String.init), "\(table).\(field) must be the ids in clear")
        }
    }

    @Test(arguments: SourceKind.allCases)
    func anUnknownTenantIsAnError(source: SourceKind) async throws {
        let exporter = try await demoExporter(source)
        for tenant in ["99", "not-a-number", "1 OR 1=1"] {
            await #expect {
                _ = try await collect(exporter, .tenant(tenant))
            } throws: { ($0 as? HandoverError)?.code == .invalidArgument }
        }
    }

    @Test(arguments: SourceKind.allCases)
    func theDemoMapNeedsNoMissingIndex(source: SourceKind) async throws {
        #expect(try await demoExporter(source).unindexedLookups == [])
    }
}

/// The exporter logs to the logger its caller gives, never to one of its own, and names no subject in it.
@Suite struct ExporterLoggingTests {
    @Test func estimatesLogToTheCallersLoggerWithoutTheSubjectsValue() async throws {
        let capture = LogCapture()
        let exporter = try DatasetMapExporter(
            map: try DatasetMap(yaml: SalesDemo.datasetMap), databasePath: demoDatabase,
            logger: capture.logger(level: .debug))
        let counts = try await exporter.estimatedRows(
            in: .subject(SubjectSelector(column: "email", value: "nobody@nowhere.example"), tenant: nil))
        #expect(counts.values.allSatisfy { $0 == 0 })
        let entries = capture.entries
        #expect(entries.contains { $0.message == "subject not found" }, "\(entries.map(\.message))")
        #expect(!entries.contains { "\($0.message) \($0.metadata)".contains("nobody") })
    }

    @Test func byDefaultNothingIsLogged() {
        #expect(DatasetMapExporter.silent.handler is SwiftLogNoOpLogHandler)
    }
}
