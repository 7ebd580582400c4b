import Foundation
import HandoverBundle
import HandoverCore
import HandoverTesting
import TestSupport
import Testing

@Suite struct HandoverTestingTests {
    static let people = TableSchema(
        name: "people", fields: [Field("id", .integer, required: true), Field("name", .string)], primaryKey: ["id"])
    static let notes = TableSchema(
        name: "notes",
        fields: [Field("id", .integer, required: true), Field("person", .integer), Field("text", .string)],
        primaryKey: ["id"], foreignKeys: [ForeignKey(fields: ["person"], table: "people", referencedFields: ["id"])])

    /// Two people and their notes; a row belongs to a subject when it is theirs.
    static let exporter = MemoryExporter(
        id: "memo", tables: [people, notes],
        rows: [
            "people": [Row([.integer(1), .string("Ana")]), Row([.integer(2), .string("Ben")])],
            "notes": [
                Row([.integer(10), .integer(1), .string("Ana's note")]),
                Row([.integer(11), .integer(2), .string("Ben's note")]),
                Row([.integer(12), .integer(1), .string("Ana again")]),
            ],
        ],
        belongs: { scope, table, row in
            guard case .subject(let selector, _) = scope, let id = Int64(selector.value) else { return true }
            return row.values[table == "people" ? 0 : 1] == .integer(id)
        })

    @Test func exportAndVerifyGivesAValidBundleWithOnlyTheSubjectsRows() async throws {
        try await withTemporaryDirectory { folder in
            let request = ExportRequest(
                id: try RequestID("memo-1"), purpose: .access,
                scope: .subject(SubjectSelector(column: "id", value: "1"), tenant: nil), receivedAt: .now())
            let export = try await exportAndVerify(
                [Self.exporter], request: request,
                options: BundleOptions(outputDirectory: folder, formats: [.json, .csv]))
            #expect(export.report.valid, "\(export.report.problems)")
            #expect(export.result.manifest.records == 3)
            let notes = String(decoding: try #require(export.files["data/memo/notes.json"]), as: UTF8.self)
            #expect(notes.contains("Ana's note") && notes.contains("Ana again"))
            #expect(!notes.contains("Ben"))
            #expect(export.files["manifest.json"] != nil)
        }
    }

    @Test func aTenantScopeGetsEveryRowAndEstimatesCountThem() async throws {
        let counts = try await Self.exporter.estimatedRows(in: .tenant("t"))
        #expect(counts == [0: 2, 1: 3])
        let ana = try await Self.exporter.estimatedRows(
            in: .subject(SubjectSelector(column: "id", value: "1"), tenant: nil))
        #expect(ana == [0: 1, 1: 2])
    }
}
