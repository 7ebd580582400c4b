import HandoverCore
import Testing

@testable import HandoverBundle

/// A parent table keyed by `id` (integer) and `code` (text), and a child referring to both.
let trackedTables = [
    TableSchema(
        name: "parent", fields: [Field("id", .integer, required: true), Field("code", .string, required: true)],
        primaryKey: ["id"]),
    TableSchema(
        name: "child",
        fields: [Field("id", .integer, required: true), Field("parent", .integer), Field("code", .string)],
        primaryKey: ["id"],
        foreignKeys: [
            ForeignKey(fields: ["parent"], table: "parent", referencedFields: ["id"]),
            ForeignKey(fields: ["code"], table: "parent", referencedFields: ["code"]),
            ForeignKey(fields: ["parent", "code"], table: "parent", referencedFields: ["id", "code"]),
        ]),
]

@Suite struct ReferenceTrackerTests {
    @Test func referencesHoldFailOrStayUncheckedAsTheRowsSay() {
        var tracker = ReferenceTracker(tables: trackedTables, included: [true, true])
        for id in 1...3 { tracker.note(Row([.integer(Int64(id)), .string("c\(id)")]), table: 0) }
        tracker.note(Row([.integer(1), .integer(2), .string("c2")]), table: 1)
        // All null: no reference to check. Some null: a Frictionless reader would look it up, so it fails.
        tracker.note(Row([.integer(2), .null, .null]), table: 1)
        tracker.note(Row([.integer(3), .integer(3), .null]), table: 1)
        #expect(tracker.finish()[1] == [.held, .held, .incomplete])
    }

    @Test func anEmptyTextIsNotTrustedToMatch() {
        var tracker = ReferenceTracker(tables: trackedTables, included: [true, true])
        tracker.note(Row([.integer(1), .string("")]), table: 0)
        tracker.note(Row([.integer(1), .integer(1), .string("")]), table: 1)
        #expect(tracker.finish()[1] == [.held, .incomplete, .incomplete])
    }

    @Test func pastTheKeyLimitNothingMoreIsHeldAndNothingIsDeclared() {
        var tracker = ReferenceTracker(tables: trackedTables, included: [true, true], limit: 100)
        for id in 1...1_000 { tracker.note(Row([.integer(Int64(id)), .string("c\(id)")]), table: 0) }
        #expect(tracker.keysHeld <= 100)
        tracker.note(Row([.integer(1), .integer(2), .string("c2")]), table: 1)
        #expect(tracker.finish()[1] == [.unchecked, .unchecked, .unchecked])
    }

    @Test func pendingValuesCountAgainstTheLimitToo() {
        // Children first, naming parents not written yet; the pending values pass the limit.
        var tracker = ReferenceTracker(
            tables: [trackedTables[0], trackedTables[1]], included: [true, true], limit: 50)
        for id in 1...200 { tracker.note(Row([.integer(Int64(id)), .integer(Int64(id)), .null]), table: 1) }
        #expect(tracker.keysHeld <= 50)
        for id in 1...200 { tracker.note(Row([.integer(Int64(id)), .string("c\(id)")]), table: 0) }
        #expect(tracker.keysHeld <= 50)
        #expect(tracker.finish()[1][0] == .unchecked)
    }

    @Test func excludedTablesAndPseudonymsAreNeverDeclared() {
        var tables = trackedTables
        tables[1].foreignKeys[0].pseudonymized = true
        var tracker = ReferenceTracker(tables: tables, included: [false, true])
        tracker.note(Row([.integer(1), .integer(2), .string("c2")]), table: 1)
        #expect(tracker.finish()[1] == [.pseudonymized, .notInBundle, .notInBundle])
    }
}
