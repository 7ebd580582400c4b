import Foundation
import HandoverSQLite
import TestSupport
import Testing

/// A column read through one cell look-up: every storage class, text that is not UTF-8, and blobs as bytes in place
/// (what the reading thread copies) and as arrays.
@Suite struct SQLiteCellTests {
    @Test func aCellReadsEveryStorageClassAsTheColumnAccessorsDo() throws {
        try withTemporaryDirectorySync { folder in
            try SQLiteConnection.withConnection(path: folder + "/cells.sqlite", mode: .readWriteCreate) { db in
                let statement = try db.prepare(
                    "SELECT NULL, 42, -7.25, 'plain', 'Zoë ✓', CAST(X'C328' AS TEXT), X'00FF10', X'', 9007199254740993")
                #expect(try statement.step())
                let expected: [SQLiteStorage] = [.null, .integer, .float, .text, .text, .text, .blob, .blob, .integer]
                for column in 0..<Int32(expected.count) {
                    let cell = statement.cell(at: column)
                    #expect(cell.type == expected[Int(column)], "column \(column)")
                }
                #expect(statement.cell(at: 1).int64 == 42)
                #expect(statement.cell(at: 2).double == -7.25)
                #expect(statement.cell(at: 3).text == "plain")
                #expect(statement.cell(at: 4).text == "Zoë ✓")
                #expect(Array(statement.cell(at: 4).utf8) == Array("Zoë ✓".utf8))
                // Bytes that are not UTF-8: no text, the bytes as they are.
                #expect(statement.cell(at: 5).text == nil)
                #expect(Array(statement.cell(at: 5).utf8) == [0xC3, 0x28])
                #expect(statement.cell(at: 6).blob == [0x00, 0xFF, 0x10])
                #expect(statement.cell(at: 7).blob == [])
                #expect(Array(statement.cell(at: 6).blobBytes) == [0x00, 0xFF, 0x10])
                #expect(statement.cell(at: 7).blobBytes.isEmpty)
                #expect(statement.cell(at: 8).int64 == 9_007_199_254_740_993)
                #expect(statement.cell(at: 0).utf8.isEmpty && statement.cell(at: 0).blob.isEmpty)
                #expect(try !statement.step())
            }
        }
    }
}
