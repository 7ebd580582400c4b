import Foundation
import HandoverCore
import HandoverDemo
import Testing

@testable import HandoverJSONSchema

/// JSON text of a value (strings escaped as JSON requires, members in order).
func jsonText(_ value: JSONValue) -> String {
    switch value {
    case .null: return "null"
    case .bool(let flag): return flag ? "true" : "false"
    case .number(let number): return number.int.map(String.init) ?? "\(number.double)"
    case .string(let text): return jsonString(text)
    case .array(let items): return "[" + items.map(jsonText).joined(separator: ",") + "]"
    case .object(let object):
        return "{" + object.members.map { jsonString($0.key) + ":" + jsonText($0.value) }.joined(separator: ",") + "}"
    }
}

func jsonString(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}

/// What validating an array gave: the count and errors, or the error thrown.
enum ArrayOutcome: Equatable {
    case result(Int, [JSONSchemaError])
    case thrown(String)
}

/// Validates `bytes` with the fast check of flat rows and with the evaluator alone.
func bothWays(_ schema: JSONSchema, _ bytes: [UInt8], maxErrors: Int, blockSize: Int) -> (ArrayOutcome, ArrayOutcome) {
    func run(_ flat: Bool) -> ArrayOutcome {
        var schema = schema
        schema.usesFlatRows = flat
        var source = MemorySource(bytes, blockSize: blockSize)
        do {
            let (count, errors) = try schema.validateArray(from: &source, maxErrors: maxErrors)
            return .result(count, errors)
        } catch {
            return .thrown("\(error)")
        }
    }
    return (run(true), run(false))
}

/// The fast check of flat rows against the evaluator, which is the reference.
@Suite struct FlatRowsTests {
    /// A row schema as Handover writes one for a table (see `SchemaGenerator.jsonSchema(for:)`).
    static let rowSchema: JSONValue = [
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "t",
        "type": "array",
        "items": [
            "type": "object",
            "properties": [
                "id": ["type": "integer", "minimum": 1, "maximum": 1_000_000],
                "name": ["type": ["string", "null"], "minLength": 2, "maxLength": 8],
                "kind": ["type": "string", "enum": ["a", "bb", "é"]],
                "code": ["type": ["string", "null"], "pattern": "^(?:[A-Z]{2}[0-9]+)$"],
                "score": ["type": ["number", "null"], "minimum": -1.5, "maximum": 1e10],
                "flag": ["type": ["boolean", "null"]],
                "day": ["type": ["string", "null"], "format": "date"],
                "at": ["type": "string", "format": "date-time"],
                "blob": ["type": ["string", "null"], "contentEncoding": "base64"],
                "text": ["title": "Text", "type": "string"],
            ],
            "required": ["id", "name", "kind", "code", "score", "flag", "day", "at", "blob", "text"],
            "additionalProperties": false,
        ],
        "x-handover-primaryKey": ["id"],
    ]

    /// Member texts, valid ones first, for each property of ``rowSchema``.
    static let members: [(String, [String])] = [
        (
            "id",
            ["1", "17", "1000000", "1000001", "0", "1.0", "1e2", "-0", "1.5", "\"1\"", "null", "99999999999999999999"]
        ),
        ("name", ["\"ab\"", "null", "\"a\"", "\"abcdefghi\"", "\"éé\"", "\"\\u00e9\\u00e9\"", "\"ééééééééé\"", "3"]),
        ("kind", ["\"a\"", "\"bb\"", "\"\\u00e9\"", "\"e\\u0301\"", "\"c\"", "null", "[]", "{\"a\":1}"]),
        ("code", ["\"AB1\"", "null", "\"ab1\"", "\"AB\"", "\"XAB1\"", "\"AB1\\n\"", "true"]),
        ("score", ["0.5", "-1.5", "-1.6", "1e10", "1.1e10", "null", "\"1\"", "12345678901234567890123"]),
        ("flag", ["true", "false", "null", "0", "\"true\""]),
        ("day", ["\"2024-02-29\"", "null", "\"2023-02-29\"", "\"2024-13-01\"", "\"2024-1-01\"", "\"\""]),
        (
            "at",
            [
                "\"2024-01-01T10:00:00Z\"", "\"2024-01-01T10:00:00.5+01:00\"", "\"2024-01-01 10:00:00Z\"", "\"x\"",
                "null",
            ]
        ),
        ("blob", ["\"QUJD\"", "null", "\"!!\"", "5"]),
        ("text", ["\"x\"", "\"\"", "\"tab\\there \\\" quote\"", "\"\\ud800\"", "null", "[1, [2]]"]),
    ]

    /// A document of `rows` generated rows: mostly valid, some with a wrong value, a member missing, repeated,
    /// unknown or out of order, some not objects; with `broken`, invalid JSON somewhere.
    static func document(rows: Int, seed: UInt64, broken: Bool) -> [UInt8] {
        var random = SeededGenerator(state: seed)
        var elements: [String] = []
        for _ in 0..<rows {
            var parts = members.map { name, values -> String in
                let pick =
                    Int.random(in: 0..<10, using: &random) == 0 ? Int.random(in: 0..<values.count, using: &random) : 0
                return jsonString(name) + (Bool.random(using: &random) ? ":" : " : ") + values[pick]
            }
            switch Int.random(in: 0..<60, using: &random) {
            case 0: parts.remove(at: Int.random(in: 0..<parts.count, using: &random))
            case 1: parts.append(parts[Int.random(in: 0..<parts.count, using: &random)])
            case 2: parts.append("\"extra\":1")
            case 3: parts.swapAt(0, parts.count - 1)
            case 4: parts = []
            case 5: parts.insert("\"\\u0069d\":2", at: 0)
            default: break
            }
            var element = "{" + parts.joined(separator: ",") + "}"
            switch Int.random(in: 0..<80, using: &random) {
            case 0: element = "[1,2]"
            case 1: element = "\"row\""
            case 2: element = "null"
            case 3: element = " { } "
            default: break
            }
            elements.append(element)
        }
        var text = "[\n" + elements.joined(separator: ",\n") + "\n]\n"
        if broken {
            var bytes = Array(text.utf8)
            let at = Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<4, using: &random) {
            case 0: bytes.removeSubrange(at...)
            case 1: bytes[at] = UInt8(ascii: "}")
            case 2: bytes.insert(UInt8(ascii: ","), at: at)
            default: bytes[at] = 0x01
            }
            text = String(decoding: bytes, as: UTF8.self)
        }
        return Array(text.utf8)
    }

    @Test func theRowSchemaHasAFlatPlan() throws {
        let schema = try JSONSchema(Self.rowSchema, formatAssertion: true)
        guard case .streaming(let items?, _) = StreamingPlan(schema.store.root) else {
            Issue.record("not streamed")
            return
        }
        #expect(FlatRowPlan(items) != nil)
    }

    @Test(arguments: Array(UInt64(1)...UInt64(12)))
    func agreesOnGeneratedRows(seed: UInt64) throws {
        let schema = try JSONSchema(Self.rowSchema, formatAssertion: true)
        for (rows, maxErrors) in [(30, 1000), (300, 5), (1500, 100)] {
            let bytes = Self.document(rows: rows, seed: seed &* 1000 &+ UInt64(rows), broken: seed % 4 == 0)
            let (fast, reference) = bothWays(
                schema, bytes, maxErrors: maxErrors, blockSize: [5, 100, 65536][Int(seed % 3)])
            #expect(fast == reference)
        }
    }

    @Test func agreesOnEveryMemberAlone() throws {
        let schema = try JSONSchema(Self.rowSchema, formatAssertion: true)
        for (index, (_, values)) in Self.members.enumerated() {
            for value in values {
                let parts = Self.members.enumerated().map { other, member in
                    jsonString(member.0) + ":" + (other == index ? value : member.1[0])
                }
                let bytes = Array(("[{" + parts.joined(separator: ",") + "}]").utf8)
                let (fast, reference) = bothWays(schema, bytes, maxErrors: 100, blockSize: 65536)
                #expect(fast == reference, "\(value)")
            }
        }
    }

    /// Each test group of the JSON-Schema-Test-Suite (draft 2020-12) as the `items` of an array of its instances.
    @Test func agreesOnTheTestSuite() throws {
        let folder = jsonSchemaSuiteRoot + "/tests/draft2020-12"
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".json") }
        var flatGroups = 0
        for name in names.sorted() {
            guard case .array(let groups) = try readJSONFile(folder + "/" + name) else { continue }
            for group in groups {
                guard let items = group["schema"], case .array(let tests)? = group["tests"] else { continue }
                let wrapped: JSONValue = ["type": "array", "items": items]
                guard let schema = try? JSONSchema(wrapped, formatAssertion: true, retrieve: suiteRemotes) else {
                    continue
                }
                if case .streaming(let plan?, _) = StreamingPlan(schema.store.root), FlatRowPlan(plan) != nil {
                    flatGroups += 1
                }
                let instances = tests.compactMap { $0["data"] }
                for maxErrors in [1, 100] {
                    let bytes = Array(jsonText(.array(instances)).utf8)
                    let (fast, reference) = bothWays(schema, bytes, maxErrors: maxErrors, blockSize: 65536)
                    #expect(fast == reference, "\(name): \(group["description"].map(jsonText) ?? "?")")
                    // Each instance alone too: a verdict per case.
                    for instance in instances {
                        let one = Array(jsonText([instance]).utf8)
                        let (fastOne, referenceOne) = bothWays(schema, one, maxErrors: maxErrors, blockSize: 65536)
                        #expect(fastOne == referenceOne, "\(name): \(jsonText(instance))")
                    }
                }
            }
        }
        #expect(flatGroups > 10)
    }
}
