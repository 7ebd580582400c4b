import Foundation
import HandoverCore
import HandoverDemo
import Testing

@testable import HandoverJSONSchema

/// The skim of rows in the form Handover writes them (`JSONReader.skimFlatRow`), against the evaluator alone: the
/// same count, the same errors, the same failures, whatever the bytes, and rows in that form really skimmed.
@Suite struct SkimFlatRowTests {
    /// A row schema of the kind `SchemaGenerator.jsonSchema(for:)` writes: most properties ask for a type only.
    static let rowSchema: JSONValue = [
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "array",
        "items": [
            "type": "object",
            "properties": [
                "id": ["type": "integer"],
                "owner": ["type": ["integer", "null"]],
                "name": ["type": "string"],
                "note": ["description": "Free text.", "type": ["string", "null"]],
                "kind": ["type": "string", "enum": ["a", "bb"]],
                "title": ["type": "string", "maxLength": 4],
                "score": ["type": ["integer", "null"], "minimum": 1, "maximum": 5],
                "share": ["type": ["number", "null"], "minimum": 0],
                "active": ["type": "boolean"],
                "at": ["type": "string", "format": "date-time"],
                "any": [:],
            ],
            "required": ["id", "owner", "name", "note", "kind", "title", "score", "share", "active", "at", "any"],
            "additionalProperties": false,
        ],
    ]

    /// Each property's values as JSON text: the first valid, then valid ones in other forms, then invalid ones, then
    /// bytes that are not JSON at all.
    static let values: [(String, [String])] = [
        (
            "id",
            [
                "7", "-0", "0", "123456789012345678", "1234567890123456789", "99999999999999999999", "1.0", "1e2",
                "1.5", "\"7\"", "null", "01", "1.", "-", "1e", "7x", "1e999",
            ]
        ),
        ("owner", ["null", "3", "-12", "true", "nul", "nullx", "\"\""]),
        (
            "name",
            [
                "\"Ann\"", "\"\"", "\"Zoë\"", "\"a\\\"b\"", "\"\\u00e9\"", "\"\\u00E9\\/\\\\\\b\\f\\r\\t\"",
                "\"é\\né\"",
                "\"\\ud83d\\ude00\"", "\"\\ud800\"", "\"\\udc00x\"", "\"\\ud800\\u0041\"", "\"\\u0000\"", "5",
                "\"a\u{01}b\"", "\"\u{7F}\"", "\"open", "\"\\x\"", "\"\\u12G4\"", "\"\\u12\"", "\"end\\\"",
            ]
        ),
        ("note", ["null", "\"x\"", "\"line\\nbreak\"", "false", "[]", "{}", "[\"a\"]"]),
        ("kind", ["\"a\"", "\"bb\"", "\"c\"", "\"\\u0061\"", "null", "1"]),
        ("title", ["\"abcd\"", "\"\"", "\"éééé\"", "\"abcde\"", "\"ééééé\"", "4"]),
        ("score", ["3", "null", "1", "5", "0", "6", "2.0", "2.5", "\"3\""]),
        ("share", ["0.25", "null", "0", "1e3", "-0.5", "-1", "1E+2", "\"0\""]),
        ("active", ["true", "false", "null", "0", "tru", "falsey"]),
        (
            "at",
            [
                "\"2024-01-31T10:00:00Z\"", "\"2024-01-31T10:00:00.25+02:00\"", "\"2024-02-30T10:00:00Z\"", "\"x\"",
                "null",
            ]
        ),
        ("any", ["1", "\"s\"", "null", "[1,2]", "{\"a\":{}}", "true"]),
    ]

    /// The values of ``values`` that are not JSON at all: a document holding one is broken from there on.
    static let notJSON: Set<String> = [
        "01", "1.", "-", "1e", "7x", "1e999", "nul", "nullx", "\"a\u{01}b\"", "\"open", "tru", "falsey", "\"\\x\"",
        "\"\\u12G4\"", "\"\\u12\"", "\"end\\\"",
    ]

    /// What validating gave: the count and errors, or the error thrown, with its message (which names the offset).
    static func outcome(_ body: () throws -> (count: Int, errors: [JSONSchemaError])) -> ArrayOutcome {
        do {
            let (count, errors) = try body()
            return .result(count, errors)
        } catch let error as HandoverError {
            return .thrown(error.message)
        } catch {
            return .thrown("\(error)")
        }
    }

    /// A row's text with `choice(i)` the value of property `i`.
    static func row(_ choice: (Int) -> String) -> String {
        "{" + values.enumerated().map { jsonString($0.element.0) + ":" + choice($0.offset) }.joined(separator: ",")
            + "}"
    }

    /// The document of `rows`, as Handover writes one (`[`, a row per line, `]`).
    static func document(_ rows: [String]) -> [UInt8] {
        Array(("[\n" + rows.joined(separator: ",\n") + "\n]\n").utf8)
    }

    /// Validates with the skim (and the fast check behind it) and with the evaluator alone.
    static func bothWays(_ bytes: [UInt8], maxErrors: Int = 100, blockSize: Int = 65536) throws -> (
        skim: ArrayOutcome, reference: ArrayOutcome, skimmed: Int
    ) {
        let schema = try JSONSchema(rowSchema, formatAssertion: true)
        var skimmed = 0
        var source = MemorySource(bytes, blockSize: blockSize)
        let skim = outcome { try schema.validateArray(from: &source, maxErrors: maxErrors, skimmed: &skimmed) }
        var reference = schema
        reference.usesFlatRows = false
        var again = MemorySource(bytes, blockSize: blockSize)
        return (skim, outcome { try reference.validateArray(from: &again, maxErrors: maxErrors) }, skimmed)
    }

    @Test func theRowSchemaCanBeSkimmed() throws {
        let schema = try JSONSchema(Self.rowSchema, formatAssertion: true)
        guard case .streaming(let items?, _) = StreamingPlan(schema.store.root), let plan = FlatRowPlan(items) else {
            Issue.record("no flat plan")
            return
        }
        #expect(plan.skim?.count == Self.values.count)
    }

    /// Rows of valid values in the written form are all skimmed, and found valid.
    @Test func validRowsAreSkimmed() throws {
        var rows: [String] = []
        for (index, (_, texts)) in Self.values.enumerated() {
            // Every valid form of each property, the others at their first value.
            for text in texts.prefix(3) {
                rows.append(Self.row { $0 == index ? text : Self.values[$0].1[0] })
            }
        }
        let reference = try Self.bothWays(Self.document(rows))
        guard case .result(let count, let errors) = reference.reference else {
            Issue.record("the reference failed: \(reference.reference)")
            return
        }
        #expect(count == rows.count)
        // The rows with a value that is valid only because of its form ("1.0" is an integer) go the long way.
        let invalid = errors.count
        #expect(reference.skim == reference.reference)
        #expect(reference.skimmed > 0)
        #expect(reference.skimmed <= rows.count - invalid)
    }

    /// Each value of each property in an otherwise valid row: the same verdict, errors and failures both ways.
    @Test func agreesOnEveryValue() throws {
        for (index, (_, texts)) in Self.values.enumerated() {
            for text in texts {
                let row = Self.row { $0 == index ? text : Self.values[$0].1[0] }
                let result = try Self.bothWays(Self.document([row, Self.row { Self.values[$0].1[0] }]))
                #expect(result.skim == result.reference, "\(Self.values[index].0): \(text)")
                if case .thrown = result.reference {
                    #expect(Self.notJSON.contains(text), "\(text) is JSON, yet the document failed")
                } else {
                    #expect(!Self.notJSON.contains(text), "\(text) is not JSON, yet the document passed")
                }
            }
        }
    }

    /// Bytes inside strings that are not valid UTF-8 (a stray continuation byte, an overlong form, a surrogate, a
    /// truncated sequence, a byte past U+10FFFF): an error both ways, never a skimmed row.
    @Test func refusesInvalidUTF8InAString() throws {
        // In a plain string, and beside an escape (the skim checks the bytes of such a string as they are).
        for (name, offset) in [("\"Ann\"", 2), ("\"A\\nn\"", 4), ("\"A\\u00e9n\"", 2)] {
            let good = Array(Self.row { $0 == 2 ? name : Self.values[$0].1[0] }.utf8)
            guard let at = good.firstRange(of: Array(name.utf8))?.lowerBound else {
                Issue.record("no name")
                continue
            }
            #expect(try Self.bothWays(Array("[\n".utf8) + good + Array("\n]\n".utf8)).skimmed == 1)
            for bad: [UInt8] in [
                [0x80], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xE2, 0x82], [0xF4, 0x90, 0x80, 0x80], [0xFF],
            ] {
                var row = good
                row.insert(contentsOf: bad, at: at + offset)
                let result = try Self.bothWays(Array("[\n".utf8) + row + Array("\n]\n".utf8))
                #expect(result.skim == result.reference, "\(name) \(bad)")
                #expect(result.skimmed == 0)
                guard case .thrown(let message) = result.skim else {
                    Issue.record("accepted \(bad) in \(name)")
                    continue
                }
                #expect(message.contains("invalid UTF-8"))
            }
        }
    }

    /// Generated documents of rows in the written form, with some values picked at random from the others, some
    /// rows reordered, spaced or cut, some documents broken, read in blocks of many sizes (so that rows also straddle
    /// blocks): the same outcome both ways.
    @Test(arguments: Array(UInt64(1)...UInt64(16)))
    func agreesOnGeneratedDocuments(seed: UInt64) throws {
        var random = SeededGenerator(state: seed)
        var rows: [String] = []
        for _ in 0..<400 {
            var parts = Self.values.map { name, texts -> String in
                let json = texts.filter { !Self.notJSON.contains($0) }
                let pick =
                    Int.random(in: 0..<12, using: &random) == 0 ? Int.random(in: 0..<json.count, using: &random) : 0
                return jsonString(name) + ":" + json[pick]
            }
            switch Int.random(in: 0..<40, using: &random) {
            case 0: parts.remove(at: Int.random(in: 0..<parts.count, using: &random))
            case 1: parts.swapAt(0, 1)
            case 2: parts.append("\"extra\":1")
            case 3: parts[0] = " " + parts[0]
            case 4: parts.append(parts[2])
            default: break
            }
            rows.append("{" + parts.joined(separator: ",") + "}")
        }
        var bytes = Self.document(rows)
        if seed % 4 == 0 {
            let at = Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<4, using: &random) {
            case 0: bytes.removeSubrange(at...)
            case 1: bytes[at] = UInt8(ascii: "}")
            case 2: bytes[at] = 0xC3
            default: bytes[at] = 0x01
            }
        }
        for blockSize in [7, 100, 4096, 65536] {
            for maxErrors in [1, 1000] {
                let result = try Self.bothWays(bytes, maxErrors: maxErrors, blockSize: blockSize)
                #expect(result.skim == result.reference, "block \(blockSize), maxErrors \(maxErrors)")
                if blockSize == 65536, maxErrors == 1000, seed % 4 != 0 { #expect(result.skimmed > 200) }
            }
        }
    }
}
