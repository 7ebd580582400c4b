import HandoverCore
import HandoverDemo
import Testing

@testable import HandoverFormats

/// The byte-level CSV checks against the reference: casting each cell to a `Value` and checking the `Row`.
@Suite struct CSVCellCheckTests {
    static let table = TableSchema(
        name: "t",
        fields: [
            Field("id", .integer, required: true, constraints: Constraints(minimum: 1, maximum: 1_000_000)),
            Field("name", .string, constraints: Constraints(minLength: 2, maxLength: 8)),
            Field("kind", .string, required: true, constraints: Constraints(enumeration: ["a", "bb", "Kelvin", "é"])),
            Field("code", .string, constraints: Constraints(pattern: "[A-Z]{2}[0-9]+")),
            Field("score", .number, constraints: Constraints(minimum: -1.5, maximum: 1e10)),
            Field("plain", .number),
            Field("count", .integer),
            Field("flag", .boolean),
            Field("day", .date),
            Field("at", .datetime),
            Field("blob", .binary),
            Field("text", .string, required: true),
        ])

    /// Cells, valid and not, for each field (index as in ``table``).
    static let cells: [[String]] = [
        ["1", "17", "1000000", "1000001", "0", "-3", "+5", "x", "", "\"7\"", "9223372036854775808", "１"],
        ["ab", "abcdefgh", "a", "abcdefghi", "", "\"\"", "éé", "ééééééééé", "\"a,b\"", "K\u{212A}"],
        ["a", "bb", "Kelvin", "é", "e\u{301}", "c", "", "\"a\"", "\"\"", "\u{212A}elvin"],
        ["AB1", "ab1", "AB", "XY123", "", "\"AB12\"", "AB1x"],
        ["0", "-1.5", "-1.6", "1e10", "1.1e10", "1e400", "1.", ".5", "-0", "1E+3", "x", "", "\"1\"", "0.5e-3"],
        ["0", "12.25", "1e308", "2e308", "-", "1e", "00", "1.5E-400", String(repeating: "9", count: 320)],
        ["0", "-9223372036854775808", "9223372036854775807", "-9223372036854775809", "+", "-", "1 ", "0x1"],
        ["true", "false", "TRUE", "1", "", "\"true\"", "\"\"", "tru"],
        ["2024-02-29", "2023-02-29", "2024-13-01", "2024-1-01", "", "\"2024-01-01\"", "20240101"],
        [
            "2024-01-01T10:00:00Z", "2024-01-01T10:00:00.123456Z", "2024-01-01 10:00:00Z", "2024-01-01T25:00:00Z",
            "2024-01-01T10:00Z", "2024-01-01T10:00:00+01:00", "2024-01-01T10:00:00.1234567Z", "",
        ],
        ["", "\"\"", "AAAA", "AAA=", "AA==", "A===", "AAAAA", "AA=A", "QUJD", "YQ", "Y!=="],
        ["x", "", "\"\"", "\"a\"\"b\"", "é", "\"line\nbreak\""],
    ]

    /// A CSV file of `rows` generated rows (some with too few or too many fields), after a header.
    static func document(rows: Int, seed: UInt64, brokenTail: Bool = false) -> [UInt8] {
        var random = SeededGenerator(state: seed)
        var text = table.fields.map(\.name).joined(separator: ",") + "\r\n"
        for _ in 0..<rows {
            var cells = table.fields.indices.map { index in
                // Mostly the first (valid) cells, so that rows pass often enough to reach the constraint checks.
                let choices = Self.cells[index]
                let pick =
                    Int.random(in: 0..<8, using: &random) == 0 ? Int.random(in: 0..<choices.count, using: &random) : 0
                return choices[pick]
            }
            switch Int.random(in: 0..<40, using: &random) {
            case 0: cells.removeLast()
            case 1: cells.append("extra")
            default: break
            }
            text += cells.joined(separator: ",") + (Bool.random(using: &random) ? "\n" : "\r\n")
        }
        if brokenTail { text += "1,\"unclosed" }
        return Array(text.utf8)
    }

    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8])
    func agreesWithTheReferenceOnGeneratedFiles(seed: UInt64) throws {
        let validator = try CSVTableValidator(schema: Self.table)
        for (rows, maxErrors) in [(50, 1000), (400, 5), (2000, 100)] {
            let bytes = Self.document(rows: rows, seed: seed &* 31 &+ UInt64(rows), brokenTail: seed % 3 == 0)
            let blockSize = [7, 64, 65536][Int(seed % 3)]
            var fast = MemorySource(bytes, blockSize: blockSize)
            var reference = MemorySource(bytes, blockSize: blockSize)
            let expected = try validator.validateByValues(from: &reference, maxErrors: maxErrors)
            let found = try validator.validate(from: &fast, maxErrors: maxErrors)
            #expect(found.rows == expected.rows)
            #expect(found.errors == expected.errors)
            #expect(!expected.errors.isEmpty)
        }
    }

    @Test func agreesOnEveryCellAlone() throws {
        let validator = try CSVTableValidator(schema: Self.table)
        let valid = Self.cells.map { $0[0] }
        for (index, choices) in Self.cells.enumerated() {
            for cell in choices {
                var row = valid
                row[index] = cell
                let text =
                    Self.table.fields.map(\.name).joined(separator: ",") + "\n" + row.joined(separator: ",") + "\n"
                var fast = MemorySource(Array(text.utf8))
                var reference = MemorySource(Array(text.utf8))
                let expected = try validator.validateByValues(from: &reference)
                let found = try validator.validate(from: &fast)
                #expect(found.rows == expected.rows, "field \(index), cell \(cell)")
                #expect(found.errors == expected.errors, "field \(index), cell \(cell)")
            }
        }
    }

    @Test func headerAndShapeProblemsAgree() throws {
        let validator = try CSVTableValidator(schema: Self.table)
        let header = Self.table.fields.map(\.name).joined(separator: ",")
        for text in ["", "\n", "id,name\n1,2\n", header, header + "\n", header + "\n1,\"x\"y\n", header + "\r1\n"] {
            var fast = MemorySource(Array(text.utf8))
            var reference = MemorySource(Array(text.utf8))
            let expected = try validator.validateByValues(from: &reference)
            let found = try validator.validate(from: &fast)
            #expect(found.rows == expected.rows)
            #expect(found.errors == expected.errors)
        }
    }

    @Test func integersParseAsInt64Does() {
        let texts = [
            "", "+", "-", "0", "-0", "+0", "007", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
            "-9223372036854775809", "1a", " 1", "1 ", "٣", "++1", "+-1", "99999999999999999999",
        ]
        for text in texts {
            let bytes = Array(text.utf8)
            let found = bytes.withUnsafeBufferPointer { CSVCell.integer($0) }
            #expect(found == Int64(text), "\(text)")
        }
    }

    @Test func base64AgreesWithTheDecoder() {
        var random = SeededGenerator(state: 42)
        let alphabet = Array("AB+/=a9!é".utf8)
        for length in 0..<13 {
            for _ in 0..<300 {
                let bytes = (0..<length).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &random)] }
                let text = String(decoding: bytes, as: UTF8.self)
                let found = bytes.withUnsafeBufferPointer { CSVCell.isBase64($0) }
                #expect(found == (Base64.decode(text) != nil), "\(text)")
            }
        }
    }

    /// Random CSV syntax (quotes, doubled quotes, commas, CR, LF, records longer than a block) read in blocks of
    /// every size: the checks on cells read in place agree with the reference, and the columns read in the same pass
    /// with the column reader.
    @Test(arguments: [1, 2, 3, 4, 5, 6])
    func agreesOnRandomSyntax(seed: UInt64) throws {
        let table = TableSchema(
            name: "s",
            fields: [
                Field("a", .integer), Field("b", .string, required: true), Field("c", .string), Field("d", .integer),
            ])
        let validator = try CSVTableValidator(schema: table)
        var random = SeededGenerator(state: seed)
        let pieces = [
            "1", "22", "x", ",", ",", "\"", "\"\"", "\n", "\r\n", "\r", "-7", String(repeating: "y", count: 300),
        ]
        for round in 0..<60 {
            var text = round % 7 == 0 ? "a,b,c\n" : "a,b,c,d\r\n"
            for _ in 0..<Int.random(in: 0..<400, using: &random) {
                text += pieces[Int.random(in: 0..<pieces.count, using: &random)]
                // Mostly well-formed records, so that the reads go on long enough to cross blocks.
                if Int.random(in: 0..<3, using: &random) == 0 { text += "\n1,\"q,\"\"q\",z,2\n3,b,,4\r\n" }
            }
            let bytes = Array(text.utf8)
            for blockSize in [1, 5, 64, 333, 65536] {
                var fast = MemorySource(bytes, blockSize: blockSize)
                var reference = MemorySource(bytes, blockSize: blockSize)
                let expected = try validator.validateByValues(from: &reference, maxErrors: 50)
                var tapped: [[Value]] = []
                let found = try validator.validate(
                    from: &fast, maxErrors: 50, columns: ["d", "b"], types: [.integer, .string]
                ) { tapped.append($0) }
                #expect(found.result.rows == expected.rows, "round \(round), block \(blockSize)")
                #expect(found.result.errors == expected.errors, "round \(round), block \(blockSize)")
                var columns = MemorySource(bytes, blockSize: blockSize)
                var read: [[Value]] = []
                let count = try CSVColumnReader.read(from: &columns, columns: ["d", "b"], types: [.integer, .string]) {
                    read.append($0)
                }
                #expect(found.columnRecords == count, "round \(round), block \(blockSize)")
                if count != nil { #expect(tapped == read, "round \(round), block \(blockSize)") }
            }
        }
    }

    @Test func columnReaderReadsTheSameValues() throws {
        let bytes = Self.document(rows: 300, seed: 9)
        let columns = ["id", "count", "kind", "day"]
        let types: [FieldType] = [.integer, .integer, .string, .date]
        var source = MemorySource(bytes, blockSize: 13)
        var found: [[Value]] = []
        let count = try CSVColumnReader.read(from: &source, columns: columns, types: types) { found.append($0) }
        // The reference: every record's fields, cast one by one.
        var reader = CSVRecordReader()
        let input = PulledSource(MemorySource(bytes))
        var expected: [[Value]] = []
        var header: [String] = []
        var records = 0
        while let fields = try reader.next(from: input) {
            if header.isEmpty {
                header = fields.map { String(decoding: $0.bytes, as: UTF8.self) }
                continue
            }
            records += 1
            let positions = columns.map { header.firstIndex(of: $0)! }
            guard positions.allSatisfy({ $0 < fields.count }) else { continue }
            expected.append(
                positions.enumerated().map { CSVTableValidator.cast(fields[$0.element], to: types[$0.offset]) ?? .null }
            )
        }
        #expect(count == records)
        #expect(found == expected)
    }
}
