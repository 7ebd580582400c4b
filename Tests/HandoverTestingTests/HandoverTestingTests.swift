import Foundation
import HandoverArchive
import HandoverBundle
import HandoverCore
import HandoverStore
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

/// An exporter whose source fails after it has written some rows.
struct FailingExporter: Exporter {
    let id = "broken"
    let version = "1"
    let tables = [
        TableSchema(name: "things", fields: [Field("id", .integer, required: true)], primaryKey: ["id"])
    ]

    func export(_ scope: ExportScope, into sink: inout some RowSink, context: ExportContext) async throws {
        try await sink.write(Row([.integer(1)]), table: 0)
        throw HandoverError(.sourceFailed, "the things database went away")
    }
}

/// Several exporters, one of which fails: nothing published by default; a partial bundle that says so on request.
@Suite struct ExporterFailureTests {
    static let request = ExportRequest(
        id: try! RequestID("partial-1"), purpose: .access, scope: .tenant("t"), receivedAt: .now())

    @Test func byDefaultAFailingExporterFailsTheExportAndNothingIsPublished() async throws {
        try await withTemporaryDirectory { folder in
            let error = await #expect(throws: HandoverError.self) {
                _ = try await exportAndVerify(
                    [HandoverTestingTests.exporter, FailingExporter()], request: Self.request,
                    options: BundleOptions(outputDirectory: folder, formats: [.json]))
            }
            #expect(error?.code == .sourceFailed)
            #expect((try? FileManager.default.contentsOfDirectory(atPath: folder))?.isEmpty == true)
        }
    }

    /// With zip, and with tar.zst, whose data (the failed exporter's too) is compressed while it is written.
    @Test(arguments: [ArchiveFormat.zip, .tzst])
    func recordedTheBundleIsPartialSaysWhyAndHoldsNothingOfTheFailedExporter(archive: ArchiveFormat) async throws {
        try await withTemporaryDirectory { folder in
            var options = BundleOptions(outputDirectory: folder, formats: [.json, .csv])
            options.onExporterFailure = .record
            options.archiveFormat = archive
            let export = try await exportAndVerify(
                [HandoverTestingTests.exporter, FailingExporter()], request: Self.request, options: options)
            #expect(export.report.valid, "\(export.report.problems)")
            #expect(export.report.status == .partial)
            #expect(
                export.report.unfinished == [
                    "exporter broken: failed: data source failed: exporter broken: the things database went away"
                ])
            let manifest = export.result.manifest
            #expect(manifest.status == .partial)
            let broken = try #require(manifest.exporters.first { $0.id == "broken" })
            #expect(broken.status == .failed && broken.tables.isEmpty)
            #expect(broken.reason?.contains("went away") == true)
            #expect(manifest.exporters.first { $0.id == "memo" }?.status == .complete)
            #expect(!export.files.keys.contains { $0.contains("broken") }, "\(export.files.keys.sorted())")
            #expect(export.files["data/memo/people.json"] != nil)
            let page = String(decoding: try #require(export.files["data/index.html"]), as: UTF8.self)
            #expect(page.contains("This export is incomplete") && page.contains("broken: failed"))
            let package = String(decoding: try #require(export.files["datapackage.json"]), as: UTF8.self)
            #expect(!package.contains("broken"))
        }
    }

    @Test func recordedButEveryExporterFailingFailsTheExport() async throws {
        try await withTemporaryDirectory { folder in
            var options = BundleOptions(outputDirectory: folder, formats: [.json])
            options.onExporterFailure = .record
            await #expect(throws: HandoverError.self) {
                _ = try await exportAndVerify([FailingExporter()], request: Self.request, options: options)
            }
            #expect((try? FileManager.default.contentsOfDirectory(atPath: folder))?.isEmpty == true)
        }
    }
}

/// The in-memory store back end: the store's own rules, a database per back end, gone with it.
@Suite struct InMemoryStoreTests {
    static let key = try! KeyedPseudonymizer(key: Array(repeating: 3, count: 32))

    static func request(_ id: String) throws -> ExportRequest {
        ExportRequest(
            id: try RequestID(id), purpose: .access,
            scope: .subject(SubjectSelector(column: "email", value: "\(id)@example.com"), tenant: nil),
            receivedAt: Timestamp(millisecondsSince1970: 1_780_000_000_000))
    }

    @Test func aRequestGoesThroughItsLifecycleWithAnIntactAuditChain() async throws {
        let store = try RequestStore.inMemory(pseudonymizer: Self.key)
        let now = Timestamp(millisecondsSince1970: 1_780_000_000_000)
        let id = try RequestID("mem-1")
        try await store.submit(try Self.request("mem-1"), actor: "test", at: now)
        #expect(try await store.claim(worker: "w1", leaseSeconds: 60, at: now) == nil, "not queued yet")
        try await store.verify(id, by: "test", at: now)
        try await store.enqueue(id, actor: "test", at: now)
        let claimed = try #require(try await store.claim(worker: "w1", leaseSeconds: 60, at: now))
        #expect(claimed.request.id.rawValue == "mem-1")
        #expect(try await store.claim(worker: "w2", leaseSeconds: 60, at: now) == nil, "claimed once")
        try await store.complete(claimed.request.id, worker: "w1", archive: "a.zip", retentionSeconds: 60, at: now)
        #expect(try await store.request(claimed.request.id)?.state == .completed)
        let check = try await store.checkAudit()
        #expect(check.isIntact, "\(check.problems)")
        #expect(check.rows == (try await store.audit(of: claimed.request.id)).count)
        #expect(store.backEnd.location == "memory")
    }

    @Test func twoStoresAreIndependentAndCopiesOfOneShareIt() async throws {
        let now = Timestamp(millisecondsSince1970: 1_780_000_000_000)
        let backEnd = try InMemoryStoreBackEnd()
        let one = RequestStore(backEnd: backEnd, pseudonymizer: Self.key)
        let copy = RequestStore(backEnd: backEnd, pseudonymizer: Self.key)
        let other = try RequestStore.inMemory(pseudonymizer: Self.key)
        try await one.submit(try Self.request("mem-2"), actor: "test", at: now)
        #expect(try await copy.list().map(\.request.id.rawValue) == ["mem-2"])
        #expect(try await other.list().isEmpty)
    }

    @Test func aFailedTransactionLeavesNothingAndTheNextOneRuns() async throws {
        let store = try RequestStore.inMemory(pseudonymizer: Self.key)
        let now = Timestamp(millisecondsSince1970: 1_780_000_000_000)
        await #expect(throws: HandoverError.self) {
            try await store.backEnd.write { tx in
                try await tx.run(
                    """
                    INSERT INTO requests (id, purpose, scope_kind, tenant, received_at, state, due)
                    VALUES ('half', 'access', 'tenant', '1', 0, 'received', 0)
                    """, [])
                try await tx.run("INSERT INTO no_such_table VALUES (1)", [])
            }
        }
        #expect(try await store.request(try RequestID("half")) == nil, "rolled back")
        try await store.submit(try Self.request("mem-3"), actor: "test", at: now)
        #expect(try await store.list().count == 1)
    }

    @Test func manyTasksAtOnceEachGetTheirOwnTransaction() async throws {
        let store = try RequestStore.inMemory(pseudonymizer: Self.key)
        let now = Timestamp(millisecondsSince1970: 1_780_000_000_000)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 1...30 {
                group.addTask { try await store.submit(try Self.request("mem-c\(index)"), actor: "test", at: now) }
            }
            try await group.waitForAll()
        }
        #expect(try await store.list().count == 30)
        let check = try await store.checkAudit()
        #expect(check.isIntact && check.head?.chain == Int64(check.rows), "\(check.problems)")
    }
}
