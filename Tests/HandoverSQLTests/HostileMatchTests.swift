import Foundation
import HandoverCore
import HandoverDemo
import HandoverSQL
import HandoverSQLite
import TestSupport
import Testing

/// A copy of the demo database, changed by `sql`, in a fresh folder; removed after `body`.
func withChangedDemo<T>(_ sql: String, _ body: (String) async throws -> T) async throws -> T {
    try await withTemporaryDirectory { folder in
        let path = folder + "/demo.sqlite"
        try SalesDemo.createDatabase(at: path)
        try SQLiteConnection.withConnection(path: path, mode: .readWriteCreate) { try $0.execute(sql) }
        return try await body(path)
    }
}

/// Blank values name no one: `matches` never pairs a subject's blank value with strangers' blank rows.
@Suite struct BlankMatchTests {
    /// Users 900–902 whose emails are blank in three ways, and strangers' contact forms with blank emails.
    static let blankPeople = """
        INSERT INTO users (id, tenant_id, name, email, role, active, created_at) VALUES
          (900, 1, 'Empty', '', 'rep', 1, '2024-01-01T00:00:00Z'),
          (901, 1, 'Spaces', '   ', 'rep', 1, '2024-01-01T00:00:00Z'),
          (902, 1, 'Invisible', char(9, 160, 8203, 12288), 'rep', 1, '2024-01-01T00:00:00Z');
        INSERT INTO contact_form_submissions (id, email, name, message, ip_address, submitted_at) VALUES
          (9001, '', 'Stranger A', 'secret message A', '203.0.113.1', '2024-01-01T00:00:00Z'),
          (9002, '', 'Stranger B', 'secret message B', '203.0.113.2', '2024-01-01T00:00:00Z'),
          (9003, '   ', 'Stranger C', 'secret message C', '203.0.113.3', '2024-01-01T00:00:00Z'),
          (9004, char(9, 160, 8203, 12288), 'Stranger D', 'secret message D', '203.0.113.4', '2024-01-01T00:00:00Z'),
          (9005, '', 'Stranger E', 'secret message E', '203.0.113.5', '2024-01-01T00:00:00Z');
        """

    @Test(arguments: [900, 901, 902])
    func aSubjectWithABlankEmailReceivesNoStrangersRows(userID: Int) async throws {
        try await withChangedDemo(Self.blankPeople) { db in
            let exporter = try DatasetMapExporter(map: try DatasetMap(yaml: SalesDemo.datasetMap), databasePath: db)
            let emitted = try await collect(
                exporter, .subject(SubjectSelector(column: "id", value: String(userID)), tenant: nil))
            #expect(emitted.integers("users") == [Int64(userID)], "the subject is found by id")
            #expect(emitted.integers("contact_form_submissions").isEmpty, "no stranger's blank-email form")
        }
    }

    @Test(arguments: ["", "   ", "\t", "\u{00A0}", "\u{200B}", "\u{3000} \u{FEFF}"])
    func aSubjectSelectedByABlankValueIsAnError(value: String) async throws {
        try await withChangedDemo(Self.blankPeople) { db in
            let exporter = try DatasetMapExporter(map: try DatasetMap(yaml: SalesDemo.datasetMap), databasePath: db)
            let error = await #expect(throws: HandoverError.self) {
                _ = try await collect(exporter, .subject(SubjectSelector(column: "email", value: value), tenant: nil))
            }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains("email is empty or only white space") == true)
            #expect(throws: HandoverError.self) { try SubjectSelector(parsing: "email=" + value) }
        }
    }

    @Test(arguments: ["", " ", "\u{200B}"])
    func aBlankTenantIsAnError(tenant: String) async throws {
        let error = await #expect(throws: HandoverError.self) {
            _ = try await collect(try demoExporter(), .tenant(tenant))
        }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("tenant id is empty") == true)
    }

    @Test func aSubjectWithARealEmailStillReceivesTheirForms() async throws {
        try await withChangedDemo(Self.blankPeople) { db in
            let exporter = try DatasetMapExporter(map: try DatasetMap(yaml: SalesDemo.datasetMap), databasePath: db)
            let emitted = try await collect(exporter, .subject(SalesDemo.demoSubject, tenant: nil))
            let forms = try query(
                db, "SELECT id FROM contact_form_submissions WHERE email = ? ORDER BY id",
                [.text(SalesDemo.demoSubject.value)])
            #expect(!forms.isEmpty)
            #expect(emitted.integers("contact_form_submissions") == forms)
        }
    }

    @Test func mapCheckReportsSharedAndBlankMatchValues() async throws {
        let sql =
            Self.blankPeople + "\n"
            + (1...12).map {
                "INSERT INTO contact_form_submissions VALUES (\(9100 + $0), 'shared@mail.example', NULL, 'm', NULL, '2024-01-01T00:00:00Z');"
            }.joined(separator: "\n")
        try await withChangedDemo(sql) { db in
            let exporter = try DatasetMapExporter(map: try DatasetMap(yaml: SalesDemo.datasetMap), databasePath: db)
            let findings = try await exporter.sharedMatchValues(threshold: 10)
            let forms = try #require(findings.first { $0.table == "contact_form_submissions" })
            #expect(forms.largestGroup == 12)
            #expect(forms.blankRows == 5)
            #expect(forms.blankSubjects == 3)
            #expect(forms.message.contains("12 rows of contact_form_submissions.email share one value"))
            #expect(!forms.message.contains("shared@mail.example"), "no value in the message")
        }
        // The demo as it is: no shared or blank values.
        #expect(try await demoExporter().sharedMatchValues(threshold: 10).isEmpty)
    }
}

/// Columns whose names look like secrets are exported only when the map names them.
@Suite struct SecretColumnTests {
    @Test(arguments: [
        "password", "password_reset_token", "totp_secret", "api_key", "apiKey", "salt", "mfa_backup", "otp_seed",
        "session_id", "passwordHash", "recovery_codes", "refreshTokens", "user2fa", "auth_code", "private_key_pem",
    ])
    func secretLookingNamesAreRecognised(name: String) {
        #expect(SecretNames.looksSecret(name))
    }

    @Test(arguments: ["email", "name", "tenant_id", "locale", "created_at", "ip_address", "message", "kind", "monkey"])
    func ordinaryNamesAreNot(name: String) {
        #expect(!SecretNames.looksSecret(name))
    }

    static let newSecrets = """
        ALTER TABLE users ADD COLUMN password_reset_token TEXT;
        ALTER TABLE users ADD COLUMN totp_secret TEXT;
        ALTER TABLE users ADD COLUMN api_key_hint TEXT;
        UPDATE users SET password_reset_token = 'tok-' || id, totp_secret = 'JBSWY3DPEHPK3PXP', api_key_hint = 'ab12';
        """

    @Test func aSecretColumnAddedLaterStaysOutOfTablesMappedWithExclude() async throws {
        try await withChangedDemo(Self.newSecrets) { db in
            let exporter = try DatasetMapExporter(map: try DatasetMap(yaml: SalesDemo.datasetMap), databasePath: db)
            let users = try #require(exporter.tables.first { $0.name == "users" })
            let names = users.fields.map(\.name)
            for secret in ["password_reset_token", "totp_secret", "api_key_hint", "password_hash"] {
                #expect(!names.contains(secret), "\(secret) is exported")
            }
            #expect(names.contains("email") && names.contains("locale"))
            let findings = try #require(exporter.columnFindings.first { $0.table == "users" })
            #expect(findings.withheldSecrets == ["password_reset_token", "totp_secret", "api_key_hint"])
            #expect(findings.implicit.contains("email") && !findings.implicit.contains("totp_secret"))
            let emitted = try await collect(exporter, .subject(SalesDemo.demoSubject, tenant: nil))
            let row = try #require(emitted.rows["users"]?.first)
            #expect(!row.values.contains(.string("JBSWY3DPEHPK3PXP")))
        }
    }

    @Test func theMapCanNameASecretLookingColumnToExportIt() async throws {
        try await withChangedDemo(Self.newSecrets) { db in
            let yaml = SalesDemo.datasetMap.replacingOccurrences(
                of: "exclude: [password_hash]", with: "exclude: [password_hash]\n    include-secrets: [api_key_hint]")
            #expect(yaml != SalesDemo.datasetMap)
            let exporter = try DatasetMapExporter(map: try DatasetMap(yaml: yaml), databasePath: db)
            let users = try #require(exporter.tables.first { $0.name == "users" })
            #expect(users.fields.map(\.name).contains("api_key_hint"))
            #expect(!users.fields.map(\.name).contains("totp_secret"))
            let findings = try #require(exporter.columnFindings.first { $0.table == "users" })
            #expect(findings.namedSecrets == ["api_key_hint"])
            #expect(!findings.implicit.contains("api_key_hint"))
        }
    }

    @Test(arguments: [
        ("exclude: [password_hash]\n    include-secrets: [nope]", "included column nope is not a column"),
        ("exclude: [password_hash]\n    include-secrets: [password_hash]", "both excluded and included"),
    ])
    func wrongIncludeSecretsAreRefused(replacement: String, message: String) async throws {
        let yaml = SalesDemo.datasetMap.replacingOccurrences(of: "exclude: [password_hash]", with: replacement)
        let error = #expect(throws: HandoverError.self) {
            _ = try DatasetMapExporter(map: try DatasetMap(yaml: yaml), databasePath: demoDatabase)
        }
        #expect(error?.code == .invalidDatasetMap)
        #expect(error?.message.contains(message) == true, "\(error?.message ?? "")")
    }

    @Test func includeSecretsGoesWithExcludeOnly() throws {
        let yaml = SalesDemo.datasetMap.replacingOccurrences(
            of: "    description: Recordings and documents, with references to their files.",
            with:
                "    description: Recordings and documents, with references to their files.\n    include-secrets: [kind]"
        )
        #expect(yaml != SalesDemo.datasetMap)
        let error = #expect(throws: HandoverError.self) { _ = try DatasetMap(yaml: yaml) }
        #expect(
            error?.message.contains("'include-secrets' goes with 'exclude' only") == true, "\(error?.message ?? "")")
    }

    @Test func aMapThatLeansOnAWithheldColumnSaysWhyItIsMissing() async throws {
        try await withChangedDemo(Self.newSecrets) { db in
            let yaml = """
                handover-map: 1
                exporter: {id: x, version: "1"}
                subject: {table: users, key: id}
                tables:
                  users:
                    exclude: [password_hash]
                    subject: {column: password_reset_token, matches: email}
                """
            let error = #expect(throws: HandoverError.self) {
                _ = try DatasetMapExporter(map: try DatasetMap(yaml: yaml), databasePath: db)
            }
            #expect(error?.message.contains("has no exported column password_reset_token") == true)
            #expect(error?.message.contains("name it under include-secrets") == true, "\(error?.message ?? "")")
        }
    }

    @Test func explicitlyListedSecretColumnsAreExportedAndReported() async throws {
        try await withChangedDemo(Self.newSecrets) { db in
            let yaml = """
                handover-map: 1
                exporter: {id: x, version: "1"}
                subject: {table: users, key: id}
                tables:
                  users:
                    columns:
                      id: integer
                      totp_secret: string
                    subject: id
                """
            let exporter = try DatasetMapExporter(map: try DatasetMap(yaml: yaml), databasePath: db)
            #expect(exporter.tables[0].fields.map(\.name) == ["id", "totp_secret"])
            #expect(exporter.columnFindings[0].namedSecrets == ["totp_secret"])
            #expect(exporter.columnFindings[0].implicit.isEmpty)
        }
    }
}
