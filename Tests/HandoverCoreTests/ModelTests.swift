import HandoverCore
import Logging
import Testing

@Suite struct ModelTests {
    @Test(arguments: ["req-1", "A.b_c-9", String(repeating: "x", count: 100)])
    func acceptsSafeRequestIDs(text: String) throws {
        #expect(try RequestID(text).rawValue == text)
    }

    @Test(arguments: [
        "", "../etc", "a/b", ".hidden", "-flag", "_x", "a b", "naïve", String(repeating: "x", count: 101), "a\u{0}b",
    ])
    func refusesHostileRequestIDs(text: String) {
        #expect(throws: HandoverError.self) { try RequestID(text) }
    }

    @Test func randomRequestIDsAreValidAndDistinct() throws {
        let ids = (0..<50).map { _ in RequestID.random().rawValue }
        #expect(Set(ids).count == 50)
        for id in ids { _ = try RequestID(id) }
    }

    @Test func subjectSelectorParsesAndHidesItsValue() throws {
        let selector = try SubjectSelector(parsing: "email=ana=lima@example.com")
        #expect(selector.column == "email")
        #expect(selector.value == "ana=lima@example.com")
        #expect(!"\(selector)".contains("ana"))
        #expect(throws: HandoverError.self) { try SubjectSelector(parsing: "no-equals-sign") }
        #expect(throws: HandoverError.self) { try SubjectSelector(parsing: "bad column=x") }
    }

    @Test(arguments: ["users", "_private", "a1", "Field_Name"])
    func acceptsIdentifiers(name: String) {
        #expect(Identifier.isValid(name))
    }

    @Test(arguments: ["", "1abc", "a-b", "a b", "a.b", "../x", "xmlData", "ünï", String(repeating: "a", count: 65)])
    func refusesIdentifiers(name: String) {
        #expect(!Identifier.isValid(name))
    }

    @Test func tableSchemaValidation() throws {
        let good = TableSchema(
            name: "users", fields: [Field("id", .integer, required: true), Field("name", .string)], primaryKey: ["id"])
        try good.validate()
        var duplicate = good
        duplicate.fields.append(Field("name", .string))
        #expect(throws: HandoverError.self) { try duplicate.validate() }
        var badKey = good
        badKey.primaryKey = ["nope"]
        #expect(throws: HandoverError.self) { try badKey.validate() }
        var badName = good
        badName.name = "../users"
        #expect(throws: HandoverError.self) { try badName.validate() }
        var badReference = good
        badReference.foreignKeys = [ForeignKey(fields: ["id", "name"], table: "x", referencedFields: ["id"])]
        #expect(throws: HandoverError.self) { try badReference.validate() }
    }

    struct Stub: Exporter {
        var id: String
        var version = "1"
        var tables: [TableSchema]
        func export(_ scope: ExportScope, into sink: inout some RowSink, context: ExportContext) async throws {}
    }

    @Test func registryRefusesBadAndDuplicateExporters() throws {
        let table = TableSchema(name: "t", fields: [Field("id", .integer)])
        var registry = ExporterRegistry()
        try registry.register(Stub(id: "crm", tables: [table]))
        #expect(throws: HandoverError.self) { try registry.register(Stub(id: "crm", tables: [table])) }
        #expect(throws: HandoverError.self) { try registry.register(Stub(id: "Bad Id", tables: [table])) }
        #expect(throws: HandoverError.self) { try registry.register(Stub(id: "schemas", tables: [table])) }
        #expect(throws: HandoverError.self) { try registry.register(Stub(id: "other", tables: [table, table])) }
        #expect(registry.exporters.map(\.id) == ["crm"])
    }

    @Test func errorDescriptionCarriesNoDetail() {
        let error = HandoverError(.invalidData, "table users, row id=4, field email: not a string")
        #expect("\(error)" == "HandoverError(invalid data)")
        #expect(error.localizedMessage.contains("field email"))
    }

    @Test func aCauseIsDataOutsideTheDescription() {
        let error = HandoverError(
            .sourceFailed, "database 'x.sqlite' failed a query", underlying: "database is locked", cause: .sqlite(517))
        #expect("\(error)" == "HandoverError(data source failed)")
        #expect(error.cause?.sqliteResultCode == 517)
        #expect(error.cause?.sqlitePrimaryResultCode == 5)
        #expect(error.cause?.errno == nil && error.cause?.sqlstate == nil)
        #expect(error.localizedMessage.hasSuffix("(database is locked; SQLite result code 517)"))

        let server = HandoverError(.sourceFailed, "refused", cause: .sqlstate("40001"))
        #expect(server.cause?.sqlstate == "40001" && server.cause?.sqliteResultCode == nil)
        #expect(server.localizedMessage == "data source failed: refused (SQLSTATE 40001)")
        #expect(HandoverError.Cause.errno(28).errno == 28)
        #expect(HandoverError.Cause.connectionLost.isConnectionLost)
        #expect(HandoverError.Cause.transient.isMarkedTransient && !HandoverError.Cause.transient.isConnectionLost)
        #expect(HandoverError.Cause.authenticationFailed.isAuthenticationFailure)
        #expect(HandoverError(.internalError, "x").cause == nil)
    }

    @Test func statusIsCompleteOnlyWhenEveryPartIs() {
        #expect(ExportStatus.combined([.complete, .complete]) == .complete)
        #expect(ExportStatus.combined([.complete, .failed]) == .partial)
        #expect(ExportStatus.combined([.failed, .failed]) == .failed)
        #expect(ExportStatus.combined([.partial]) == .partial)
    }

    @Test func rowKeyDescriptionNeverShowsFreeText() {
        let schema = TableSchema(
            name: "t", fields: [Field("email", .string), Field("n", .integer)], primaryKey: ["email", "n"])
        let row = Row([.string("ana lima@example.com"), .integer(3)])
        #expect(row.keyDescription(in: schema) == "email=<string>,n=3")
    }
}

@Suite struct BlankValueTests {
    /// The one list of blank scalars is Unicode's White_Space plus the invisible format characters, no more.
    @Test func theBlankScalarsAreWhiteSpaceAndTheInvisibleCharacters() {
        let invisible: Set<UInt32> = [0x180E, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF]
        for value in UInt32(0)...0x10FFFF {
            guard let scalar = Unicode.Scalar(value) else { continue }
            let expected = scalar.properties.isWhitespace || invisible.contains(value)
            #expect(SubjectSelector.blankScalars.contains(value) == expected, "U+\(String(value, radix: 16))")
        }
        #expect(SubjectSelector.isBlank("\u{2003}\u{205F}\u{200B}"))
        #expect(!SubjectSelector.isBlank(" a "))
    }
}
