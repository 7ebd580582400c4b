import Foundation
import FoundationXML
import HandoverCore
import TestSupport
import Testing

@testable import HandoverFormats

let schema = TableSchema(
    name: "samples",
    fields: [
        Field("id", .integer, required: true), Field("text", .string), Field("amount", .number),
        Field("flag", .boolean),
        Field("day", .date), Field("at", .datetime), Field("blob", .binary),
    ],
    primaryKey: ["id"])

let awkwardTexts = [
    "plain", "", "comma, inside", "quote \" inside", "line\nbreak", "crlf\r\nbreak", "lone\rCR", "tab\there",
    "Zoë 李小龍 👍", "  spaces  ", "<tag> & 'apos' ]]>", "\u{1}\u{B}control", "\u{FFFE}\u{FFFF}", "nul\u{0}byte",
    "backslash \\ slash /", "\u{2028}separators\u{2029}", "=1+2 formula",
]

func sampleRows() -> [Row] {
    var rows: [Row] = []
    for (index, text) in awkwardTexts.enumerated() {
        rows.append(
            Row([
                .integer(Int64(index + 1)), .string(text), .number(index % 2 == 0 ? 1.5 : -2.25e-7),
                .boolean(index % 2 == 0), .date("2024-02-29"),
                .datetime(Timestamp(millisecondsSince1970: 1_709_251_199_500)),
                .binary([0, 1, 2, 254, 255] + Array(repeating: UInt8(index), count: index)),
            ]))
    }
    rows.append(Row([.integer(999), .null, .null, .null, .null, .null, .null]))
    // An exact decimal of 37 digits and a timestamp to the microsecond come out as they went in.
    rows.append(
        Row([
            .integer(1000), .string("exact"), .decimal("-1234567890123456789012345678901.000001"), .null, .null,
            .datetime(Timestamp(microsecondsSince1970: 1_709_251_199_123_456)), .null,
        ]))
    rows.append(Row([.integer(Int64.min), .string("min"), .number(0), .boolean(false), .null, .null, .binary([])]))
    return rows
}

func write(_ format: TableFormat, _ rows: [Row]) throws -> String {
    var writer = try format.makeWriter(for: schema, into: MemorySink())
    for row in rows { try writer.write(row) }
    try writer.finish()
    return writer.sink.string
}

/// The value a reader of any format should see for a field, as text; nil for null.
func expectedText(_ value: Value) -> String? {
    switch value {
    case .null: nil
    case .string(let s): s
    case .integer(let i): String(i)
    case .number(let d): String(d)
    case .decimal(let d): d
    case .boolean(let b): b ? "true" : "false"
    case .date(let d): d
    case .datetime(let t): t.iso8601
    case .binary(let b): Base64.encode(b)
    }
}

@Suite struct JSONWriterTests {
    @Test func roundTripsEveryValueThroughAStandardParser() throws {
        let rows = sampleRows()
        let text = try write(.json, rows)
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]])
        #expect(parsed.count == rows.count)
        for (row, object) in zip(rows, parsed) {
            for (index, field) in schema.fields.enumerated() {
                let value = row.values[index]
                let parsedValue = object[field.name]
                switch value {
                case .null: #expect(parsedValue is NSNull)
                case .integer(let i): #expect((parsedValue as? NSNumber)?.int64Value == i)
                case .number(let d): #expect((parsedValue as? NSNumber)?.doubleValue == d)
                case .decimal(let d):
                    // Digit for digit in the file; a standard parser reads it as a number.
                    #expect(text.contains("\"amount\":" + d + ","))
                    #expect(parsedValue is NSNumber)
                case .boolean(let b): #expect((parsedValue as? Bool) == b)
                default: #expect(parsedValue as? String == expectedText(value), "field \(field.name)")
                }
            }
        }
    }

    @Test func keysFollowFieldOrderOneObjectPerLine() throws {
        let text = try write(.json, [sampleRows()[0]])
        #expect(text.hasPrefix("[\n{\"id\":1,\"text\":\"plain\",\"amount\":1.5,\"flag\":true,\"day\":\"2024-02-29\","))
        #expect(text.hasSuffix("}\n]\n"))
        #expect(try write(.json, []) == "[]\n")
    }

    @Test func escapesControlCharactersAsJSONRequires() throws {
        let text = try write(
            .json, [Row([.integer(1), .string("\u{1}\u{1F}\"\\\n"), .null, .null, .null, .null, .null])])
        #expect(text.contains(#""text":"\u0001\u001f\"\\\n""#))
    }

    @Test func refusesNonFiniteNumbers() throws {
        var writer = try JSONTableWriter(schema: schema, sink: MemorySink())
        #expect(throws: HandoverError.self) {
            try writer.write(Row([.integer(1), .null, .number(.infinity), .null, .null, .null, .null]))
        }
    }
}

@Suite struct CSVWriterTests {
    @Test func writesRFC4180ThatAStrictParserReadsBack() throws {
        let rows = sampleRows()
        let text = try write(.csv, rows)
        let records = try parseStrictCSV(text)
        #expect(records.first == schema.fields.map { Optional($0.name) })
        #expect(records.count == rows.count + 1)
        for (row, record) in zip(rows, records.dropFirst()) {
            #expect(record == row.values.map(expectedText))
        }
    }

    @Test func quotesOnlyWhatNeedsQuotingAndKeepsEmptyApartFromNull() throws {
        let text = try write(.csv, [Row([.integer(1), .string(""), .null, .boolean(true), .null, .null, .null])])
        #expect(text == "id,text,amount,flag,day,at,blob\r\n1,\"\",,true,,,\r\n")
    }
}

@Suite struct XMLWriterTests {
    func parse(_ text: String) throws -> [[String: (String, [String: String])]] {
        try parseXMLRows(Array(text.utf8)).map { $0.mapValues { ($0.text, $0.attributes) } }
    }

    @Test func staysWellFormedAndLosesNothingWithForbiddenCharacters() throws {
        let rows = sampleRows()
        let text = try write(.xml, rows)
        let parsed = try parse(text)
        #expect(parsed.count == rows.count)
        for (row, element) in zip(rows, parsed) {
            for (index, field) in schema.fields.enumerated() {
                let (content, attributes) = try #require(element[field.name], "field \(field.name) missing")
                switch row.values[index] {
                case .null:
                    #expect(attributes["xsi:nil"] == "true")
                    #expect(content.isEmpty)
                case .string(let original) where !XMLTableWriter<MemorySink>.isXMLSafe(original):
                    #expect(attributes["encoding"] == "base64")
                    #expect(Base64.decode(content).map { String(decoding: $0, as: UTF8.self) } == original)
                case let value:
                    #expect(attributes["encoding"] == nil)
                    #expect(content == expectedText(value), "field \(field.name) of row \(index)")
                }
            }
        }
    }

    @Test func forbiddenCharactersAreDetected() {
        #expect(!XMLTableWriter<MemorySink>.isXMLSafe("a\u{1}b"))
        #expect(!XMLTableWriter<MemorySink>.isXMLSafe("vertical\u{B}tab"))
        #expect(!XMLTableWriter<MemorySink>.isXMLSafe("\u{FFFE}"))
        #expect(!XMLTableWriter<MemorySink>.isXMLSafe("x\u{FFFF}"))
        #expect(!XMLTableWriter<MemorySink>.isXMLSafe("nul\u{0}"))
        #expect(XMLTableWriter<MemorySink>.isXMLSafe("tab\tCR\rLF\n 李 👍 \u{FFFD}"))
    }

    @Test func loneSurrogatesFromBadInputArriveRepairedAndStayWellFormed() throws {
        // Swift strings cannot hold a lone surrogate: decoding bad UTF-16 or CESU-8 input repairs it
        // to U+FFFD before any writer sees it (the SQLite source refuses such text outright).
        let fromUTF16 = String(decoding: [0x61, 0xD800, 0x62] as [UInt16], as: UTF16.self)
        let fromCESU8 = String(decoding: [0x61, 0xED, 0xA0, 0x80, 0x62] as [UInt8], as: UTF8.self)
        let rows = [fromUTF16, fromCESU8].enumerated().map { index, text in
            Row([.integer(Int64(index)), .string(text), .null, .null, .null, .null, .null])
        }
        let parsed = try parse(try write(.xml, rows))
        #expect(parsed.map { $0["text"]!.0 } == ["a\u{FFFD}b", "a\u{FFFD}\u{FFFD}\u{FFFD}b"])
    }

    @Test func startsWithADeclarationAndTheTableName() throws {
        let text = try write(.xml, [])
        #expect(text.hasPrefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<table name=\"samples\""))
        #expect(try parse(text).isEmpty)
    }
}

@Suite struct WriterContractTests {
    @Test(arguments: TableFormat.allCases)
    func refusesRowsThatBreakTheSchema(format: TableFormat) throws {
        var writer = try format.makeWriter(for: schema, into: MemorySink())
        #expect(throws: HandoverError.self) { try writer.write(Row([.integer(1)])) }
        #expect(throws: HandoverError.self) {
            try writer.write(Row([.null, .null, .null, .null, .null, .null, .null]))
        }
        #expect(throws: HandoverError.self) {
            try writer.write(Row([.integer(1), .integer(5), .null, .null, .null, .null, .null]))
        }
        do {
            try writer.write(Row([.string("secret@example.com"), .null, .null, .null, .null, .null, .null]))
            Issue.record("a string in an integer field was accepted")
        } catch let error as HandoverError {
            #expect(error.message.contains("field id"))
            #expect(!error.localizedMessage.contains("secret"))
        }
    }

    /// A sink that remembers the largest block it was handed.
    struct BlockSink: ByteSink {
        var largest = 0
        var total = 0
        var blocks = 0
        mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
            largest = max(largest, bytes.count)
            total += bytes.count
            blocks += 1
        }
    }

    @Test(arguments: TableFormat.allCases)
    func streamsInBoundedBlocks(format: TableFormat) throws {
        var writer = try format.makeWriter(for: schema, into: BlockSink())
        let rows = sampleRows()
        for index in 0..<20_000 { try writer.write(rows[index % 10]) }
        try writer.finish()
        #expect(writer.sink.total > 1_000_000)
        #expect(writer.sink.blocks > 20)
        #expect(writer.sink.largest < 200_000)
    }

    @Test func parsesFormatLists() throws {
        #expect(try TableFormat.parseList("json, csv,json") == [.json, .csv])
        #expect(throws: HandoverError.self) { try TableFormat.parseList("json,yaml") }
        #expect(throws: HandoverError.self) { try TableFormat.parseList("") }
    }

    @Test func base64RoundTrips() {
        for length in 0..<40 {
            let bytes = (0..<length).map { UInt8(($0 * 37 + length) & 0xFF) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
        }
        #expect(Base64.encode(Array("foobar".utf8)) == "Zm9vYmFy")
        #expect(Base64.encode(Array("fo".utf8)) == "Zm8=")
        #expect(Base64.decode("Zm9v!mFy") == nil)
    }
}

/// Strict RFC 4180, with empty unquoted fields read as nil.
func parseStrictCSV(_ text: String) throws -> [[String?]] {
    try parseCSV(text)
}
