import Foundation
import HandoverCore
import HandoverJSONSchema
import Testing

/// The code of the ``HandoverError`` that `body` throws, or nil.
func handoverErrorCode(_ body: () throws -> Void) -> HandoverError.Code? {
    do {
        try body()
        return nil
    } catch let error as HandoverError {
        return error.code
    } catch {
        return nil
    }
}

@Suite("JSON Schema validator")
struct JSONSchemaTests {
    @Test("the built-in meta-schema validates schemas")
    func metaSchema() throws {
        let schema = try JSONSchema(["$ref": "https://json-schema.org/draft/2020-12/schema"])
        #expect(schema.isValid(["minLength": 1, "properties": ["a": ["type": "string"]]]))
        #expect(!schema.isValid(["minLength": -1]))
        #expect(!schema.isValid(["properties": ["a": ["type": "strin"]]]))
        #expect(!schema.isValid(["$defs": ["a": 3]]))
        #expect(
            schema.validate(["minLength": -1]).map(\.keywordLocation) == [
                "/$ref/allOf/3/$ref/properties/minLength/$ref/$ref/minimum"
            ])
    }

    @Test("keyword and instance locations follow references")
    func locations() throws {
        let schema = try JSONSchema(
            [
                "type": "object",
                "properties": ["list": ["type": "array", "items": ["$ref": "#/$defs/entry"]]],
                "$defs": ["entry": ["required": ["a~b", "c/d"], "properties": ["n": ["maximum": 3]]]],
            ])
        let errors = schema.validate(["list": [["a~b": 1, "c/d": 2], ["n": 4]]])
        #expect(
            errors == [
                JSONSchemaError(
                    instanceLocation: "/list/1", keywordLocation: "/properties/list/items/$ref/required",
                    message: "missing required property 'a~b'"),
                JSONSchemaError(
                    instanceLocation: "/list/1", keywordLocation: "/properties/list/items/$ref/required",
                    message: "missing required property 'c/d'"),
                JSONSchemaError(
                    instanceLocation: "/list/1/n", keywordLocation: "/properties/list/items/$ref/properties/n/maximum",
                    message: "number greater than 3"),
            ])
        #expect(schema.validate(["list": [["a~b": 1, "c/d": 2, "n": 3]]]).isEmpty)
        let escaped = try JSONSchema(["properties": ["a/b~c": ["type": "string"]]])
        #expect(escaped.validate(["a/b~c": 1]).first?.instanceLocation == "/a~1b~0c")
        #expect(escaped.validate(["a/b~c": 1]).first?.keywordLocation == "/properties/a~1b~0c/type")
    }

    static let messages: [(JSONValue, JSONValue, String)] = [
        (["type": "integer"], 1.5, "expected integer, found number"),
        (["type": ["string", "null"]], 1, "expected null or string, found number"),
        (["maxLength": 64], .string(String(repeating: "ü", count: 65)), "string longer than 64"),
        (["minLength": 2], "😀", "string shorter than 2"),
        (["required": ["email"]], [:], "missing required property 'email'"),
        (["minimum": 5], 4, "number less than 5"),
        (["exclusiveMaximum": 5], 5, "number not less than 5"),
        (["multipleOf": 0.5], 1.25, "number is not a multiple of 0.5"),
        (["enum": [1, 2]], 3, "value is not one of the 2 allowed values"),
        (["uniqueItems": true], [1, 1.0], "array items are not unique (item 1 repeats an earlier one)"),
        (["dependentRequired": ["a": ["b"]]], ["a": 1], "property 'a' requires property 'b'"),
        (["additionalProperties": false], ["x": 1], "property is not allowed"),
        (["contains": ["type": "string"]], [1], "array has no item that matches 'contains'"),
    ]

    @Test("messages name the expectation", arguments: messages)
    func errorMessages(schema: JSONValue, instance: JSONValue, message: String) throws {
        #expect(try JSONSchema(schema).validate(instance).map(\.message) == [message])
    }

    @Test("lengths count code points: 65 characters of two UTF-8 bytes each")
    func lengthsInCodePoints() throws {
        let schema = try JSONSchema(["maxLength": 65])
        #expect(schema.isValid(.string(String(repeating: "ü", count: 65))))
        #expect(!schema.isValid(.string(String(repeating: "ü", count: 66))))
        // "e" + combining acute accent is two code points though one character.
        #expect(!(try JSONSchema(["maxLength": 1]).isValid("e\u{301}")))
    }

    @Test("format is an annotation unless asserted; unknown formats are ignored")
    func formats() throws {
        let annotation = try JSONSchema(["format": "email"])
        #expect(annotation.isValid("not an email"))
        let assertion = try JSONSchema(["format": "email"], formatAssertion: true)
        #expect(!assertion.isValid("not an email"))
        #expect(assertion.isValid("someone@example.com"))
        #expect(assertion.isValid(12))
        #expect(try JSONSchema(["format": "no-such-format"], formatAssertion: true).isValid("anything"))
    }

    @Test("references to other documents go through retrieve, by absolute URI without fragment")
    func retrieval() throws {
        let asked = Recorder()
        let schema = try JSONSchema(
            ["$id": "https://example.com/root.json", "$ref": "defs.json#/$defs/positive"],
            retrieve: { uri in
                asked.record(uri)
                return uri == "https://example.com/defs.json" ? ["$defs": ["positive": ["exclusiveMinimum": 0]]] : nil
            })
        #expect(asked.values == ["https://example.com/defs.json"])
        #expect(schema.isValid(1))
        #expect(!schema.isValid(0))
    }

    @Test(
        "malformed schemas and unresolvable references are refused",
        arguments: [
            ["$ref": "#/$defs/missing"], ["$ref": "https://example.com/elsewhere.json"], ["type": "text"],
            ["minLength": -1], ["minLength": 1.5], ["pattern": "("], ["allOf": []], ["properties": ["a": 1]], 3,
            ["$schema": "https://example.com/meta", "type": "string"],
        ] as [JSONValue])
    func refused(schema: JSONValue) {
        let meta: JSONValue = ["$vocabulary": ["https://example.com/vocab/unknown": true]]
        #expect(
            handoverErrorCode {
                _ = try JSONSchema(schema, retrieve: { $0 == "https://example.com/meta" ? meta : nil })
            } == .invalidSchema)
    }

    @Test("references that loop without progress fail instead of hanging")
    func referenceLoops() throws {
        let pair = try JSONSchema(
            ["$defs": ["a": ["$ref": "#/$defs/b"], "b": ["$ref": "#/$defs/a"]], "$ref": "#/$defs/a"])
        #expect(!pair.isValid(1))
        #expect(pair.validate(1).map(\.message) == ["the schema refers to itself without end"])
        #expect(!(try JSONSchema(["$ref": "#"]).isValid([:])))
    }

    @Test("recursive schemas follow deeply nested instances")
    func deepRecursion() throws {
        let schema = try JSONSchema(["type": "array", "items": ["$ref": "#"]])
        let depth = 500
        let text = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        #expect(schema.isValid(try JSONValue.parse(Array(text.utf8))))
        #expect(schema.validate(try JSONValue.parse(Array(text.utf8))).isEmpty)
        let bad = String(repeating: "[", count: depth) + "1" + String(repeating: "]", count: depth)
        #expect(schema.validate(try JSONValue.parse(Array(bad.utf8))).count == 1)
        // Deeper than the parser allows: refused, without exhausting the stack.
        var value: JSONValue = []
        for _ in 0..<2000 { value = [value] }
        #expect(schema.validate(value).map(\.message) == ["the instance is nested too deeply to validate"])
        #expect(!schema.isValid(value))
    }

    @Test("a compiled schema validates from many tasks at once")
    func concurrentUse() async throws {
        let schema = try JSONSchema(peopleSchema, formatAssertion: true)
        let document = try JSONValue.parse(peopleDocument(count: 200))
        let counts = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<8 { group.addTask { schema.validate(document).count } }
            return await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(counts == Array(repeating: 0, count: 8))
    }

    static let patternCases: [(String, String, Bool)] = [
        ("^[0-9]{5}$", "12345", true), ("^[0-9]{5}$", "1234", false), ("b", "abc", true),
        (#"^\d+$"#, "123", true), (#"^\d+$"#, "\u{663}", false), (#"^\w$"#, "é", false),
        (#"^\s$"#, "\u{FEFF}", true), (#"^\S$"#, "\u{FEFF}", false), (#"^[\s]$"#, "\u{A0}", true),
        (#"^\cC$"#, "\u{3}", true), (#"^\cc$"#, "\u{3}", true), ("^.$", "😀", true), ("^.$", "e\u{301}", false),
        (#"^\p{L}+$"#, "Zoë", true),
    ]

    @Test("patterns follow ECMA-262 where Swift's regexes differ", arguments: patternCases)
    func patterns(pattern: String, string: String, matches: Bool) throws {
        #expect(try JSONSchema(["pattern": .string(pattern)]).isValid(.string(string)) == matches)
    }

    @Test("boolean schemas")
    func booleanSchemas() throws {
        #expect(try JSONSchema(true).isValid(["anything": [1, 2]]))
        #expect(try JSONSchema(false).validate(1).map(\.keywordLocation) == [""])
    }
}

/// Collects values from a `@Sendable` closure.
final class Recorder: @unchecked Sendable {
    private var stored: [String] = []
    private let lock = NSLock()

    func record(_ value: String) { lock.withLock { stored.append(value) } }
    var values: [String] { lock.withLock { stored } }
}
