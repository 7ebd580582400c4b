import Foundation
import HandoverCore
import TestSupport
import Testing

@testable import HandoverFormats

/// A table whose string constraints a guarded cell could break: an enumeration and a pattern that allow values
/// beginning with a trigger, a maximum length that a valid value fills.
let guardedTable = TableSchema(
    name: "notes",
    fields: [
        Field("id", .integer, required: true),
        Field("text", .string, required: true, constraints: Constraints(maxLength: 6)),
        Field("kind", .string, constraints: Constraints(enumeration: ["=sum", "plain", "-x"])),
        Field("code", .string, constraints: Constraints(pattern: "[-+=@]?[0-9]+")),
        Field("amount", .number),
    ], primaryKey: ["id"])

@Suite struct FormulaGuardTests {
    /// Every string of up to four characters over the characters that matter, apostrophes included.
    static let values: [String] = {
        let alphabet = ["'", "=", "+", "-", "@", "\t", "\r", "a", ",", "\""]
        var all = [""]
        var level = [""]
        for _ in 0..<4 {
            level = level.flatMap { prefix in alphabet.map { prefix + $0 } }
            all += level
        }
        return all
    }()

    @Test func theGuardIsReversibleAndLeavesNoCellThatStartsAFormula() {
        let triggers = Set("=+-@\t\r".unicodeScalars)
        var seen = Set<String>()
        for value in Self.values {
            let cell = CSVFormulaGuard.guarded(value)
            #expect(CSVFormulaGuard.unguarded(cell) == value, "\(value.debugDescription)")
            #expect(cell.unicodeScalars.first.map { !triggers.contains($0) } ?? true, "\(cell.debugDescription)")
            #expect(seen.insert(cell).inserted, "two values share the cell \(cell.debugDescription)")
            // Only a value that a spreadsheet would run (or an apostrophe run before one) changes.
            #expect((cell != value) == CSVFormulaGuard.needsGuard(value.utf8))
        }
        #expect(CSVFormulaGuard.guarded("=1+2") == "'=1+2")
        #expect(CSVFormulaGuard.guarded("'=1") == "''=1")
        #expect(CSVFormulaGuard.guarded("'quoted'") == "'quoted'")
        #expect(CSVFormulaGuard.unguarded("'quoted'") == "'quoted'")
    }

    @Test func guardedCellsAreWrittenForStringsOnlyAndOnlyWhenAsked() throws {
        let rows = [
            Row([.integer(1), .string("=A1+1"), .string("=sum"), .string("-42"), .number(-1.5)]),
            Row([.integer(2), .string("@cmd"), .string("plain"), .string("7"), .number(2)]),
            Row([.integer(3), .string("\tx"), .string("-x"), .null, .null]),
            Row([.integer(4), .string("\r\n=2"), .null, .string("+1"), .null]),
            Row([.integer(5), .string("'=x"), .null, .null, .null]),
            Row([.integer(6), .string("sixsix"), .null, .null, .null]),
        ]
        func csv(guarding: Bool) throws -> [[String?]] {
            var writer = try CSVTableWriter(schema: guardedTable, sink: MemorySink(), formulaGuard: guarding)
            for row in rows { try writer.write(row) }
            try writer.finish()
            return try parseCSV(String(decoding: writer.sink.bytes, as: UTF8.self))
        }
        let guarded = try csv(guarding: true)
        #expect(guarded[1] == ["1", "'=A1+1", "'=sum", "'-42", "-1.5"], "a negative number is not guarded")
        #expect(guarded[2][1] == "'@cmd" && guarded[3][1] == "'\tx" && guarded[4][1] == "'\r\n=2")
        #expect(guarded[5][1] == "''=x" && guarded[6][1] == "sixsix")
        let plain = try csv(guarding: false)
        #expect(plain[1] == ["1", "=A1+1", "=sum", "-42", "-1.5"])
        // Unguarding the guarded file gives the unguarded one, cell for cell.
        for (guardedRow, plainRow) in zip(guarded, plain) {
            #expect(guardedRow.map { $0.map(CSVFormulaGuard.unguarded) } == plainRow)
        }
    }

    @Test func theLoosenedConstraintsAcceptGuardedCellsOfValidValuesAndStillRefuseInvalidOnes() throws {
        let loose = TableSchema(
            name: guardedTable.name,
            fields: guardedTable.fields.map { field in
                var field = field
                if field.type == .string { field.constraints = CSVFormulaGuard.loosened(field.constraints) }
                return field
            }, primaryKey: guardedTable.primaryKey)
        func validate(_ body: String, _ schema: TableSchema) throws -> [String] {
            var source = MemorySource(Array(("id,text,kind,code,amount\r\n" + body).utf8), blockSize: 5)
            return try CSVTableValidator(schema: schema).validate(from: &source).errors.map(\.description)
        }
        let guardedValid = "1,'=A1+1,'=sum,'-42,\r\n2,'@ab12,'-x,'+7,\r\n3,sixsix,plain,9,\r\n"
        #expect(try validate(guardedValid, loose) == [])
        #expect(try !validate(guardedValid, guardedTable).isEmpty, "the exact constraints refuse the guarded cells")
        #expect(
            try validate("1,eightxxx,,,\r\n", loose).count == 1, "one character more than the guard adds is too long")
        #expect(
            try validate("1,a,'plain,,\r\n", loose).count == 1, "an unguarded enumeration value gains no apostrophe")
        #expect(try validate("1,a,,'x1,\r\n", loose).count == 1)

        // The Table Schema says so, and carries the loosened constraints.
        let text = String(decoding: SchemaGenerator.tableSchema(for: guardedTable, formulaGuard: true), as: UTF8.self)
        #expect(
            text.contains("x-handover-formulaGuard") && text.contains("\"'=sum\"") && text.contains("\"maxLength\": 7"))
        #expect(text.contains("\"pattern\": \"'?([-+=@]?[0-9]+)\""))
        let exact = String(decoding: SchemaGenerator.tableSchema(for: guardedTable), as: UTF8.self)
        #expect(!exact.contains("x-handover-formulaGuard") && exact.contains("\"maxLength\": 6"))
    }
}
