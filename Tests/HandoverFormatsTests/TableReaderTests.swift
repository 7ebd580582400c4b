import Foundation
import HandoverCore
import HandoverDemo
import Testing

@testable import HandoverFormats

/// One way of writing a table file: a format, and for CSV whether the formula guard is on.
struct FileKind: Sendable, CustomTestStringConvertible {
    var format: TableFormat
    var formulaGuard = false

    static let all = [
        FileKind(format: .json), FileKind(format: .csv), FileKind(format: .csv, formulaGuard: true),
        FileKind(format: .xml),
    ]

    var testDescription: String { format.rawValue + (formulaGuard ? " (formula guard)" : "") }

    func write(_ rows: [Row], _ schema: TableSchema) throws -> [UInt8] {
        var writer = try format.makeWriter(for: schema, into: MemorySink(), csvFormulaGuard: formulaGuard)
        for row in rows { try writer.write(row) }
        try writer.finish()
        return writer.sink.bytes
    }

    func read(_ bytes: [UInt8], _ schema: TableSchema, blockSize: Int = 64 * 1024) throws -> [Row] {
        let reader = try TableReader(
            format: format, schema: schema, source: MemorySource(bytes, blockSize: blockSize),
            csvFormulaGuard: formulaGuard)
        var rows: [Row] = []
        do {
            while let row = try reader.next() { rows.append(row) }
        } catch let error as HandoverError {
            Issue.record("\(error.message)")
            throw error
        }
        #expect(reader.rowsRead == rows.count)
        #expect(try reader.next() == nil)
        return rows
    }
}

/// Rows of every type, with the values that break readers most easily.
enum HostileRows {
    static let schema = TableSchema(
        name: "hostile",
        fields: [
            Field("id", .integer, required: true), Field("label", .string, required: true), Field("note", .string),
            Field("count", .integer), Field("amount", .number), Field("ratio", .number, required: true),
            Field("flag", .boolean), Field("done", .boolean, required: true), Field("day", .date),
            Field("born", .date, required: true), Field("at", .datetime), Field("seen", .datetime, required: true),
            Field("blob", .binary), Field("data", .binary, required: true),
        ],
        primaryKey: ["id"])

    static let strings: [String] =
        [
            "", "plain", "\u{0}", "nul\u{0}inside", "\u{7F}", "\u{FFFE}", "\u{FFFF}", "x\u{FFFD}", "\"", "\"\"",
            "a \"quoted\" word", ",", "a,b,c", "\r\n", "\r", "\n", "line\r\nbreak", "lone\rCR", "]]>", "<tag>&",
            "&amp; &lt; &#65;", "<![CDATA[x]]>", "\u{202E}reversed\u{202C}", "\u{200F}\u{200E}", "👍🏽 Zoë 李小龍",
            "\u{2028}\u{2029}", "=1+2", "+x", "-x", "@x", "'=x", "''=x", "'", "''", "'abc", "\tx", "\rx", "x\t",
            " leading", "trailing ", "  ", "\\", "\\u0000", "\\\"", "null", "true", "1.0", "-", "'\t", "\u{1B}[31m",
        ] + (0x01...0x1F).map { String(UnicodeScalar(UInt8($0))) }

    static let doubles: [Double] = [
        0.0, -0.0, 1e20, .leastNonzeroMagnitude, 1.7976931348623157e308, -1.7976931348623157e308, 0.1, 3.0, -1e-7, 1.5,
        123456.789,
        2.2250738585072014e-308, 1e16, 1e-5, 0.001,
    ]

    static let decimals = [
        "100", "1.50", "123456789012345678901234567890.0123456789", "-0.0000000000000000000000000000010000", "0",
        "-0", "1.0", "0.1", "-12", "9223372036854775808", "0.000",
    ]

    static func string(_ random: inout SeededGenerator) -> String {
        if Int.random(in: 0..<3, using: &random) > 0 { return strings.randomElement(using: &random)! }
        let pieces = (0..<Int.random(in: 1...6, using: &random)).map { _ in strings.randomElement(using: &random)! }
        return pieces.joined()
    }

    static func number(_ random: inout SeededGenerator) -> Value {
        switch Int.random(in: 0..<4, using: &random) {
        case 0: return .number(doubles.randomElement(using: &random)!)
        case 1: return .decimal(decimals.randomElement(using: &random)!)
        case 2:
            while true {
                let double = Double(bitPattern: random.next())
                if double.isFinite { return .number(double) }
            }
        default: return .number(Double(Int.random(in: -1_000_000...1_000_000, using: &random)) / 100)
        }
    }

    static func date(_ random: inout SeededGenerator) -> Value {
        // Years 0 to 9999.
        let days = Int64.random(in: -719_528...2_932_896, using: &random)
        let (year, month, day) = CivilDate.fromDays(days)
        return .date(CivilDate.format(year: year, month: month, day: day))
    }

    static func datetime(_ random: inout SeededGenerator) -> Value {
        // Years 1 to 9999, to the second, the millisecond or the microsecond.
        var micros = Int64.random(in: -62_135_596_800_000_000...253_402_300_799_999_999, using: &random)
        switch Int.random(in: 0..<3, using: &random) {
        case 0: micros -= micros.floorDivided(by: 1_000_000).remainder
        case 1: micros -= micros.floorDivided(by: 1000).remainder
        default: break
        }
        return .datetime(Timestamp(microsecondsSince1970: micros))
    }

    static func bytes(_ random: inout SeededGenerator) -> [UInt8] {
        if Bool.random(using: &random) { return [] }
        return (0..<Int.random(in: 1...40, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
    }

    static func integer(_ random: inout SeededGenerator) -> Int64 {
        switch Int.random(in: 0..<4, using: &random) {
        case 0: [Int64.min, Int64.max, 0, -1, 1].randomElement(using: &random)!
        case 1: Int64.random(in: -1000...1000, using: &random)
        default: Int64(bitPattern: random.next())
        }
    }

    /// `count` rows from `seed`; optional fields are null about a third of the time.
    static func rows(_ count: Int, seed: UInt64 = 42) -> [Row] {
        var random = SeededGenerator(state: seed)
        var rows: [Row] = []
        for index in 0..<count {
            func optional(_ make: (inout SeededGenerator) -> Value) -> Value {
                Int.random(in: 0..<3, using: &random) == 0 ? .null : make(&random)
            }
            rows.append(
                Row([
                    .integer(index == 0 ? Int64.min : index == 1 ? Int64.max : Int64(index)),
                    .string(string(&random)),
                    optional { .string(string(&$0)) },
                    optional { .integer(integer(&$0)) },
                    optional { number(&$0) },
                    number(&random),
                    optional { .boolean(Bool.random(using: &$0)) },
                    .boolean(Bool.random(using: &random)),
                    optional { date(&$0) },
                    date(&random),
                    optional { datetime(&$0) },
                    datetime(&random),
                    optional { .binary(bytes(&$0)) },
                    .binary(bytes(&random)),
                ]))
        }
        // Every special string in a string field, and every special number in a number field, at least once.
        for (index, text) in strings.enumerated() {
            var row = rows[index]
            row.values[1] = .string(text)
            row.values[2] = .string(text)
            row.values[4] = index < doubles.count ? .number(doubles[index]) : .decimal(decimals[index % decimals.count])
            rows[index] = row
        }
        return rows
    }

    /// Whether `read` stands for `original`: the same, or a double read from a decimal whose text is the double's.
    static func same(_ read: Value, _ original: Value) -> Bool {
        if case .decimal(let text) = original, case .number(let double) = read { return double.description == text }
        if case .number(let a) = original, case .number(let b) = read { return a.bitPattern == b.bitPattern }
        return read == original
    }
}

@Suite struct TableReaderRoundTripTests {
    @Test(arguments: FileKind.all)
    func writeReadWriteGivesTheSameBytes(kind: FileKind) throws {
        let schema = HostileRows.schema
        let rows = HostileRows.rows(3000)
        let bytes = try kind.write(rows, schema)
        let read = try kind.read(bytes, schema, blockSize: 61)
        #expect(read.count == rows.count)
        var differences = 0
        for (number, (back, original)) in zip(read, rows).enumerated() {
            for index in schema.fields.indices where !HostileRows.same(back.values[index], original.values[index]) {
                differences += 1
                if differences <= 5 {
                    Issue.record("row \(number + 1), field \(schema.fields[index].name) differs")
                }
            }
        }
        #expect(differences == 0)
        let again = try kind.write(read, schema)
        #expect(again == bytes, "write(read(bytes)) differs from bytes")
    }

    @Test(arguments: FileKind.all)
    func everyBlockBoundaryIsHandled(kind: FileKind) throws {
        let schema = HostileRows.schema
        let bytes = try kind.write(HostileRows.rows(120, seed: 7), schema)
        let read = try kind.read(bytes, schema, blockSize: 1)
        #expect(try kind.write(read, schema) == bytes)
    }

    @Test(arguments: FileKind.all)
    func anEmptyTableReadsAsNoRows(kind: FileKind) throws {
        let bytes = try kind.write([], HostileRows.schema)
        #expect(try kind.read(bytes, HostileRows.schema).isEmpty)
    }

    @Test(arguments: FileKind.all)
    func aOneFieldTableKeepsNullApartFromEmpty(kind: FileKind) throws {
        let schema = TableSchema(name: "single", fields: [Field("text", .string)])
        let rows = [Row([.null]), Row([.string("")]), Row([.null]), Row([.string("x")])]
        let bytes = try kind.write(rows, schema)
        #expect(try kind.read(bytes, schema) == rows)
    }

    @Test func numbersComeBackAsDoublesOrDecimalsByTheirText() throws {
        let schema = TableSchema(name: "numbers", fields: [Field("value", .number)])
        let cases: [(String, Value)] = [
            ("1.0", .number(1.0)), ("0.1", .number(0.1)), ("1e+20", .number(1e20)), ("-1e-07", .number(-1e-7)),
            ("5e-324", .number(.leastNonzeroMagnitude)), ("100", .decimal("100")), ("1.50", .decimal("1.50")),
            ("123456789012345678901234567890.0123456789", .decimal("123456789012345678901234567890.0123456789")),
            ("-0.0000000000000000000000000000010000", .decimal("-0.0000000000000000000000000000010000")),
            ("1E5", .number(100_000)), ("1e5", .number(100_000)), ("-0.0", .number(-0.0)), ("-0", .decimal("-0")),
        ]
        for (text, expected) in cases {
            let json = try FileKind(format: .json).read(Array("[{\"value\":\(text)}]".utf8), schema)
            let csv = try FileKind(format: .csv).read(Array("value\r\n\(text)\r\n".utf8), schema)
            let xml = try FileKind(format: .xml).read(
                Array("<table name=\"numbers\"><row><value>\(text)</value></row></table>".utf8), schema)
            for rows in [json, csv, xml] {
                #expect(rows.count == 1)
                #expect(rows.first.map { HostileRows.same($0.values[0], expected) } == true, "\(text)")
            }
        }
    }

    @Test func jsonMembersMayComeInAnyOrderWithAnyWhitespace() throws {
        let schema = TableSchema(
            name: "people",
            fields: [Field("id", .integer, required: true), Field("name", .string), Field("ok", .boolean)])
        let text =
            "\u{FEFF} [ {\"ok\" : true ,\"name\":\"A\\u00e9\\ud83d\\udc4d\\/\\b\\f\\n\\r\\t\\u0000\", \"id\":7}\n"
            + ",\t{ \"id\" : -0 , \"ok\":null,\"name\":null} ] \n"
        let rows = try FileKind(format: .json).read(Array(text.utf8), schema)
        #expect(
            rows == [
                Row([.integer(7), .string("Aé👍/\u{8}\u{C}\n\r\t\u{0}"), .boolean(true)]),
                Row([.integer(0), .null, .null]),
            ])
    }
}

@Suite struct TableReaderHostileFileTests {
    static let schema = TableSchema(
        name: "people",
        fields: [
            Field("id", .integer, required: true), Field("email", .string, required: true), Field("age", .integer),
            Field("score", .number), Field("born", .date), Field("at", .datetime), Field("photo", .binary),
        ],
        primaryKey: ["id"])

    static let secret = "SECRET"

    /// Reads `bytes` to the end and expects an `invalidData` error whose message holds each of `words` and no secret.
    func refuses(
        _ format: TableFormat, _ bytes: [UInt8], _ words: [String], sourceLocation: SourceLocation = #_sourceLocation
    ) {
        do {
            let reader = try TableReader(format: format, schema: Self.schema, source: MemorySource(bytes))
            while try reader.next() != nil {}
            Issue.record("the file was read without an error", sourceLocation: sourceLocation)
        } catch let error as HandoverError {
            #expect(error.code == .invalidData, sourceLocation: sourceLocation)
            for word in words {
                #expect(error.message.contains(word), "\(error.message)", sourceLocation: sourceLocation)
            }
            #expect(!error.localizedMessage.contains(Self.secret), sourceLocation: sourceLocation)
            #expect(!error.localizedMessage.contains("lol"), sourceLocation: sourceLocation)
        } catch {
            Issue.record("not a HandoverError: \(error)", sourceLocation: sourceLocation)
        }
    }

    func refuses(
        _ format: TableFormat, _ text: String, _ words: [String], sourceLocation: SourceLocation = #_sourceLocation
    ) {
        refuses(format, Array(text.utf8), words, sourceLocation: sourceLocation)
    }

    @Test func afterAnErrorEveryCallThrowsAgain() throws {
        let text = header + firstRecord + "x,SECRET,,,,,\r\n" + firstRecord
        let reader = try TableReader(format: .csv, schema: Self.schema, source: MemorySource(Array(text.utf8)))
        #expect(try reader.next() != nil)
        #expect(throws: HandoverError.self) { try reader.next() }
        #expect(throws: HandoverError.self) { try reader.next() }
        #expect(reader.rowsRead == 1)
    }

    // MARK: JSON

    func json(_ members: String) -> String {
        "[\n{\"id\":1,\"email\":\"SECRET@example.com\",\"age\":30,\"score\":1.5,\"born\":\"2000-01-31\","
            + "\"at\":\"2024-01-01T00:00:00Z\",\"photo\":\"AAEC\"},\n{" + members + "}\n]\n"
    }

    let fullMembers =
        "\"id\":2,\"email\":\"SECRET@example.com\",\"age\":null,\"score\":null,\"born\":null,\"at\":null,\"photo\":null"

    @Test func jsonThatFitsIsRead() throws {
        let rows = try FileKind(format: .json).read(Array(json(fullMembers).utf8), Self.schema)
        #expect(rows.count == 2)
    }

    @Test(arguments: [
        ("\"id\":2,\"email\":\"SECRET\"", ["row 2", "field age", "missing"]),
        (
            "\"id\":2,\"email\":\"SECRET\",\"SECRET\":1,\"age\":null,\"score\":null,\"born\":null,\"at\":null,"
                + "\"photo\":null",
            ["row 2", "not a field"]
        ),
        ("\"id\":2,\"email\":\"SECRET\",\"email\":\"SECRET\",\"age\":null", ["row 2", "field email", "twice"]),
        ("\"id\":2,\"email\":\"SECRET\",\"age\":[1]", ["row 2", "expected null, true, false, a number or a string"]),
        ("\"id\":2,\"email\":\"SECRET\",\"age\":{\"SECRET\":1}", ["row 2", "expected null, true, false"]),
        ("\"id\":2,\"email\":\"SECRET\",\"age\":9223372036854775808", ["row 2", "field age", "64-bit"]),
        ("\"id\":2,\"email\":\"SECRET\",\"age\":1.0", ["row 2", "field age", "integer"]),
        ("\"id\":2,\"email\":\"SECRET\",\"age\":\"30\"", ["row 2", "field age", "integer"]),
        ("\"id\":2,\"email\":\"SECRET\",\"age\":1,\"score\":\"1.5\"", ["row 2", "field score", "number"]),
        ("\"id\":2,\"email\":\"SECRET\",\"age\":1,\"score\":1e400", ["row 2", "field score", "number"]),
        (
            "\"id\":2,\"email\":\"SECRET\",\"age\":1,\"score\":1,\"born\":\"2023-02-29\"",
            ["row 2", "field born", "date"]
        ),
        (
            "\"id\":2,\"email\":\"SECRET\",\"age\":1,\"score\":1,\"born\":null,\"at\":\"2024-01-01\"",
            ["field at", "date-time"]
        ),
        (
            "\"id\":2,\"email\":\"SECRET\",\"age\":1,\"score\":1,\"born\":null,\"at\":null,\"photo\":\"SECRET!\"",
            ["row 2", "field photo", "base64"]
        ),
        (
            "\"id\":2,\"email\":null,\"age\":null,\"score\":null,\"born\":null,\"at\":null,\"photo\":null",
            ["row 2", "field email", "required but null"]
        ),
        ("\"id\":2,\"email\":1", ["row 2", "field email", "expected a string"]),
        ("\"id\":2,\"email\":\"SECRET\\ud800\"", ["row 2", "lone surrogate"]),
        ("\"id\":2,\"email\":\"SECRET\" \"age\":1", ["row 2", "expected ',' or '}'"]),
        ("\"id\":2,\"email\":\"SECRET\",}", ["row 2", "member name"]),
    ])
    func jsonThatDoesNotFitIsRefused(members: String, words: [String]) {
        refuses(.json, json(members), words)
    }

    @Test func jsonDocumentsOfAnotherShapeAreRefused() {
        refuses(.json, "{\"id\":1}", ["table people", "not an array"])
        refuses(.json, "[1]", ["row 1", "expected an object"])
        refuses(.json, "[[]]", ["row 1", "expected an object"])
        refuses(.json, json(fullMembers) + "[]", ["after the JSON value"])
        refuses(.json, "", ["table people"])
        var invalid = Array(json(fullMembers).utf8)
        let at = invalid.firstIndex(of: UInt8(ascii: "S"))!
        invalid[at] = 0xC3
        invalid[at + 1] = 0x28
        refuses(.json, invalid, ["row 1", "UTF-8"])
    }

    @Test func truncatedJSONIsRefusedWhereverItIsCut() throws {
        let bytes = Array(json(fullMembers).utf8)
        let end = bytes.lastIndex(of: UInt8(ascii: "]"))!
        for length in 0...end {
            refuses(.json, Array(bytes[0..<length]), ["table people"])
        }
    }

    // MARK: CSV

    let header = "id,email,age,score,born,at,photo\r\n"
    let firstRecord = "1,SECRET@example.com,30,1.5,2000-01-31,2024-01-01T00:00:00Z,AAEC\r\n"

    @Test func csvThatFitsIsRead() throws {
        let rows = try FileKind(format: .csv).read(
            Array((header + firstRecord + "2,\"\",,,,,\"\"\n").utf8), Self.schema)
        #expect(rows.count == 2)
        #expect(rows.last == Row([.integer(2), .string(""), .null, .null, .null, .null, .binary([])]))
    }

    @Test(arguments: [
        ("id,mail,age,score,born,at,photo\r\n", ["column 2 of the header", "field email"]),
        ("id,email,age,score,born,at\r\n", ["6 columns", "column 7", "field photo"]),
        ("id,email,age,score,born,at,photo,SECRET\r\n", ["8 columns for 7 fields"]),
        ("email,id,age,score,born,at,photo\r\n", ["column 1 of the header", "field id"]),
    ])
    func aCSVHeaderThatDoesNotNameTheFieldsInOrderIsRefused(header: String, words: [String]) {
        refuses(.csv, header + firstRecord, words)
    }

    @Test func anEmptyCSVFileHasNoHeader() {
        refuses(.csv, "", ["table people", "no header"])
    }

    @Test(arguments: [
        ("2,SECRET,30,1.5,2000-01-31,2024-01-01T00:00:00Z\r\n", ["row 2", "6 cells for 7 fields"]),
        ("2,SECRET,30,1.5,2000-01-31,2024-01-01T00:00:00Z,,\r\n", ["row 2", "8 cells for 7 fields"]),
        ("2,SECRET,9223372036854775808,,,,\r\n", ["row 2", "field age", "64-bit"]),
        ("2,SECRET,-9223372036854775809,,,,\r\n", ["row 2", "field age", "64-bit"]),
        ("2,SECRET,\"30\",,,,\r\n", ["row 2", "field age", "integer"]),
        ("2,SECRET,,1e400,,,\r\n", ["row 2", "field score", "number"]),
        ("2,SECRET,,SECRET,,,\r\n", ["row 2", "field score", "number"]),
        ("2,SECRET,,,2023-02-29,,\r\n", ["row 2", "field born", "date"]),
        ("2,SECRET,,,,2024-01-01T00:00:00+01:00,\r\n", ["row 2", "field at", "date-time"]),
        ("2,SECRET,,,,,SECRET!\r\n", ["row 2", "field photo", "base64"]),
        ("2,,,,,,\r\n", ["row 2", "field email", "required but null"]),
        (",SECRET,,,,,\r\n", ["row 2", "field id", "required but null"]),
        ("2,SECRET\"x,,,,,\r\n", ["row 2", "not well-formed CSV", "quote inside an unquoted field"]),
        ("2,\"SECRET\"x,,,,,\r\n", ["row 2", "not well-formed CSV"]),
        ("2,\"SECRET,,,,,\r\n", ["row 2", "not well-formed CSV", "not closed"]),
        ("2,SECRET,30,1.5,2000-01-31,2024-01-01T0", ["row 2", "6 cells for 7 fields"]),
        ("2,SECRET\r,,,,,\r\n", ["row 2", "carriage return"]),
    ])
    func aCSVRecordThatDoesNotFitIsRefused(record: String, words: [String]) {
        refuses(.csv, header + firstRecord + record, words)
    }

    @Test func invalidUTF8InACSVCellIsRefused() {
        var bytes = Array((header + firstRecord).utf8)
        bytes.insert(contentsOf: [0xFF, 0xFE], at: header.utf8.count + 2)
        refuses(.csv, bytes, ["row 1", "field email", "UTF-8"])
    }

    // MARK: XML

    func xml(_ rows: String) -> String {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<table name=\"people\" "
            + "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n  <row>\n    <id>1</id>\n"
            + "    <email>SECRET@example.com</email>\n    <age>30</age>\n    <score>1.5</score>\n"
            + "    <born>2000-01-31</born>\n    <at>2024-01-01T00:00:00Z</at>\n    <photo>AAEC</photo>\n  </row>\n"
            + rows + "</table>\n"
    }

    func xmlRow(
        email: String = "<email>SECRET</email>", age: String = "<age xsi:nil=\"true\"/>", photo: String = "<photo/>"
    )
        -> String
    {
        "<row><id>2</id>\(email)\(age)<score xsi:nil=\"true\"/><born xsi:nil=\"true\"/><at xsi:nil=\"true\"/>"
            + "\(photo)</row>\n"
    }

    @Test func xmlThatFitsIsRead() throws {
        let rows = try FileKind(format: .xml).read(Array(xml(xmlRow() + "<!-- a comment -->\n").utf8), Self.schema)
        #expect(rows.count == 2)
        #expect(rows.last == Row([.integer(2), .string("SECRET"), .null, .null, .null, .null, .binary([])]))
        let encoded = try FileKind(format: .xml).read(
            Array(xml(xmlRow(email: "<email encoding=\"base64\">AQ==</email>")).utf8), Self.schema)
        #expect(encoded.last?.values[1] == .string("\u{1}"))
    }

    @Test(arguments: [
        (
            "<row><id>2</id><age xsi:nil=\"true\"/><email>SECRET</email><score/><born/><at/><photo/></row>",
            ["row 2", "field email", "out of order"]
        ),
        ("<row><id>2</id><email>SECRET</email></row>", ["row 2", "field age", "missing"]),
        ("<row/>", ["row 2", "field id", "missing"]),
        ("<SECRET/>", ["row 2", "other than <row>"]),
        ("SECRET", ["row 2", "text between rows"]),
        ("<row SECRET=\"1\"></row>", ["row 2", "attributes"]),
        (
            "<row><id>2</id><email>SECRET</email><age>1</age><score>1</score><born xsi:nil=\"true\"/>"
                + "<at xsi:nil=\"true\"/><photo/><SECRET/></row>",
            ["row 2", "after the last field"]
        ),
        ("<row><id>2</id><email><b>SECRET</b></email></row>", ["row 2", "field email", "markup"]),
        ("<row><id>2</id><email>&SECRET;</email></row>", ["not well-formed"]),
        ("<row><id>2</id><email>SECRET\u{1}</email></row>", ["not well-formed"]),
        ("<row><id>2</id><email>SECRET&#1;</email></row>", ["not well-formed"]),
        ("<row><id>2</id><email xsi:nil=\"true\"/></row>", ["row 2", "field email", "required but null"]),
        ("<row><id>2</id><email xsi:nil=\"true\">SECRET</email></row>", ["row 2", "field email", "not empty"]),
        ("<row><id>2</id><email xsi:nil=\"SECRET\"/></row>", ["row 2", "field email", "xsi:nil"]),
        ("<row><id>2</id><email SECRET=\"x\">a</email></row>", ["row 2", "field email", "attribute"]),
        ("<row><id>2</id><email encoding=\"base64\">SECRET!</email></row>", ["row 2", "field email", "base64"]),
        ("<row><id>2</id><email encoding=\"base64\">/w==</email></row>", ["row 2", "field email", "UTF-8"]),
        ("<row><id encoding=\"base64\">Mg==</id></row>", ["row 2", "field id", "encoding"]),
        ("<row><id>9223372036854775808</id></row>", ["row 2", "field id", "64-bit"]),
        ("<row><id> 2</id></row>", ["row 2", "field id", "integer"]),
        (
            "<row><id>2</id><email>x</email><age>1</age><score>1</score><born>2023-13-01</born></row>",
            ["field born", "date"]
        ),
    ])
    func xmlRowsThatDoNotFitAreRefused(row: String, words: [String]) {
        refuses(.xml, xml(row + "\n"), words)
    }

    @Test func xmlDocumentsOfAnotherShapeAreRefused() {
        refuses(.xml, "<?xml version=\"1.0\"?><tables name=\"people\"/>", ["table people", "not <table>"])
        refuses(.xml, "<table name=\"SECRET\"/>", ["table people", "name is not people"])
        refuses(.xml, "<table/>", ["table people", "no name"])
        refuses(.xml, "<table name=\"people\" SECRET=\"x\"/>", ["table people", "other than name"])
        refuses(.xml, "", ["table people"])
        refuses(.xml, xml("") + "<SECRET/>", ["not well-formed"])
        var invalid = Array(xml(xmlRow()).utf8)
        let at = invalid.indices.first { invalid[$0...].starts(with: "SECRET@".utf8) }!
        invalid[at] = 0xC3
        invalid[at + 1] = 0x28
        // libxml2 parses ahead of the rows it hands out: where a well-formedness error shows is approximate.
        refuses(.xml, invalid, ["table people", "not well-formed"])
    }

    @Test(arguments: [
        "<?xml version=\"1.0\"?>\n", "", "<!-- c -->\n", "\u{FEFF}",
    ])
    func aDoctypeIsRefusedBeforeAnyEntityIsExpanded(prefix: String) {
        let laughs = HostileXMLTests.billionLaughs(prefix: prefix).replacingOccurrences(of: "contacts", with: "people")
        refuses(.xml, laughs, ["table people", "DOCTYPE"])
        refuses(
            .xml,
            prefix
                + "<!DOCTYPE table [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><table name=\"people\"><row><id>&e;</id>"
                + "</row></table>", ["DOCTYPE"])
    }

    @Test func truncatedXMLIsRefusedWhereverItIsCut() throws {
        let bytes = Array(xml(xmlRow()).utf8)
        let end = bytes.count - 1  // the final line feed may go
        for length in 0..<end {
            refuses(.xml, Array(bytes[0..<length]), ["table people"])
        }
    }

    @Test func truncatedCSVIsRefusedWhereACutShows() {
        let text = header + firstRecord + "2,\"SECRET, with a comma\",30,1.5,2000-01-31,2024-01-01T00:00:00Z,AAEC\r\n"
        let bytes = Array(text.utf8)
        // Inside the quoted cell, and in every cell before the last.
        let quoted = bytes.firstIndex(of: UInt8(ascii: "\""))!
        for length in [quoted + 1, quoted + 5, bytes.count - 40, bytes.count - 20, bytes.count - 12] {
            refuses(.csv, Array(bytes[0..<length]), ["row 2"])
        }
    }
}

/// A table file written as it is read: each block the reader asks for is written from the next rows then.
struct LazyTableSource: ByteSource {
    /// The bytes written and not yet read, shared with the writer's sink.
    final class Pipe: ByteSink {
        var bytes: [UInt8] = []
        var start = 0
        var rowsWritten = 0
        var largest = 0

        func write(_ bytes: UnsafeRawBufferPointer) throws {
            if start > 0 {
                self.bytes.removeFirst(start)
                start = 0
            }
            self.bytes.append(contentsOf: bytes)
            largest = max(largest, self.bytes.count)
        }
    }

    let pipe: Pipe
    private var writer: any TableWriter<Pipe>
    private let rows: Int
    private let row: (Int) -> Row
    private var finished = false

    init(_ format: TableFormat, _ schema: TableSchema, rows: Int, pipe: Pipe, row: @escaping (Int) -> Row) throws {
        self.pipe = pipe
        self.writer = try format.makeWriter(for: schema, into: pipe)
        self.rows = rows
        self.row = row
    }

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while pipe.bytes.count - pipe.start < buffer.count && !finished {
            if pipe.rowsWritten < rows {
                try writer.write(row(pipe.rowsWritten))
                pipe.rowsWritten += 1
            } else {
                try writer.finish()
                finished = true
            }
        }
        let count = min(buffer.count, pipe.bytes.count - pipe.start)
        pipe.bytes.withUnsafeBytes { bytes in
            buffer.baseAddress!.copyMemory(from: bytes.baseAddress! + pipe.start, byteCount: count)
        }
        pipe.start += count
        return count
    }
}

@Suite struct TableReaderStreamingTests {
    static let schema = TableSchema(
        name: "events",
        fields: [
            Field("id", .integer, required: true), Field("text", .string), Field("amount", .number),
            Field("at", .datetime),
        ],
        primaryKey: ["id"])

    @Test(arguments: TableFormat.allCases)
    func readsAFileOf200000RowsAsItIsProduced(format: TableFormat) throws {
        let count = 200_000
        let pipe = LazyTableSource.Pipe()
        let source = try LazyTableSource(format, Self.schema, rows: count, pipe: pipe) { index in
            Row([
                .integer(Int64(index)), index % 7 == 0 ? .null : .string("event, \"number\" \(index)"),
                .number(Double(index) / 8), .datetime(Timestamp(secondsSince1970: Int64(index) * 61)),
            ])
        }
        let reader = try TableReader(format: format, schema: Self.schema, source: source)
        var mostAhead = 0
        var checked = 0
        while let row = try reader.next() {
            mostAhead = max(mostAhead, pipe.rowsWritten - reader.rowsRead)
            if reader.rowsRead % 9973 == 0 {
                #expect(row.values[0] == .integer(Int64(reader.rowsRead - 1)))
                checked += 1
            }
        }
        #expect(reader.rowsRead == count)
        #expect(checked == count / 9973)
        // The reader pulls a block at a time: the file is never all there at once.
        #expect(mostAhead < 10_000)
        #expect(pipe.largest < 1 << 20)
    }
}

@Suite struct TableReaderLargeCellTests {
    @Test(arguments: TableFormat.allCases)
    func aCellLargerThanLibxml2sTextLimitIsRead(format: TableFormat) throws {
        let schema = TableSchema(name: "files", fields: [Field("text", .string), Field("content", .binary)])
        let bytes = (0..<8_000_000).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }
        let rows = [Row([.string(String(repeating: "long <text> & more, ", count: 600_000)), .binary(bytes)])]
        let kind = FileKind(format: format)
        let file = try kind.write(rows, schema)
        #expect(try kind.read(file, schema) == rows)
    }
}
