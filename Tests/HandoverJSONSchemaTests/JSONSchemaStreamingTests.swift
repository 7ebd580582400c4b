import HandoverCore
import HandoverJSONSchema
import Testing

/// A schema for the records of a typical export: an array of people.
let peopleSchema: JSONValue = [
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "array",
    "maxItems": 1_000_000,
    "items": ["$ref": "#/$defs/person"],
    "$defs": [
        "person": [
            "type": "object",
            "properties": [
                "id": ["type": "integer", "minimum": 0],
                "email": ["type": "string", "format": "email"],
                "name": ["type": "string", "maxLength": 64],
                "score": ["type": "number", "multipleOf": 0.5],
                "active": ["type": "boolean"],
            ],
            "required": ["id", "email"],
            "additionalProperties": false,
        ]
    ],
]

/// `count` people as a JSON array; `mutate` may replace the text of any one.
func peopleDocument(count: Int, mutate: (Int) -> String? = { _ in nil }) -> [UInt8] {
    var text = "[\n"
    text.reserveCapacity(count * 90)
    for index in 0..<count {
        if index > 0 { text += ",\n" }
        text +=
            mutate(index)
            ?? #"{"id": \#(index), "email": "person\#(index)@example.com", "name": "Person \#(index)", "#
            + #""score": \#(Double(index % 7) / 2), "active": \#(index % 2 == 0)}"#
    }
    text += "\n]\n"
    return Array(text.utf8)
}

/// Whether running `body` throws a ``HandoverError`` with code invalidData whose message names a byte.
func throwsInvalidData(_ body: () throws -> Void) -> Bool {
    do {
        try body()
        return false
    } catch let error as HandoverError {
        return error.code == .invalidData && error.message.contains("byte")
    } catch {
        return false
    }
}

@Suite("JSON Schema streaming validation")
struct JSONSchemaStreamingTests {
    @Test("200,000 objects stream through small blocks")
    func largeArray() throws {
        let schema = try JSONSchema(peopleSchema, formatAssertion: true)
        var source = MemorySource(peopleDocument(count: 200_000), blockSize: 997)
        let (count, errors) = try schema.validateArray(from: &source)
        #expect(count == 200_000)
        #expect(errors.isEmpty)
    }

    @Test("errors name the element and the field")
    func errorLocations() throws {
        let schema = try JSONSchema(peopleSchema, formatAssertion: true)
        let bytes = peopleDocument(count: 1000) { index in
            switch index {
            case 7: #"{"id": "seven", "email": "a@example.com"}"#
            case 100: #"{"id": 100}"#
            case 512: #"{"id": 512, "email": "not an email"}"#
            case 999: #"{"id": 999, "email": "z@example.com", "extra": 1}"#
            default: nil
            }
        }
        var source = MemorySource(bytes, blockSize: 997)
        let (count, errors) = try schema.validateArray(from: &source)
        #expect(count == 1000)
        #expect(
            errors == [
                JSONSchemaError(
                    instanceLocation: "/7/id", keywordLocation: "/items/$ref/properties/id/type",
                    message: "expected integer, found string"),
                JSONSchemaError(
                    instanceLocation: "/100", keywordLocation: "/items/$ref/required",
                    message: "missing required property 'email'"),
                JSONSchemaError(
                    instanceLocation: "/512/email", keywordLocation: "/items/$ref/properties/email/format",
                    message: "string is not a valid email"),
                JSONSchemaError(
                    instanceLocation: "/999/extra", keywordLocation: "/items/$ref/additionalProperties",
                    message: "property is not allowed"),
            ])
        // The same errors as validating the whole document at once.
        #expect(errors == schema.validate(try JSONValue.parse(bytes)))
    }

    @Test("at most maxErrors errors, but every element is counted")
    func maxErrors() throws {
        let schema = try JSONSchema(peopleSchema)
        var source = MemorySource(peopleDocument(count: 5000) { #"{"id": -\#($0), "email": "x@example.com"}"# })
        let (count, errors) = try schema.validateArray(from: &source, maxErrors: 10)
        #expect(count == 5000)
        #expect(errors.count == 10)
        // Element 0 has id -0, which is valid.
        #expect(errors.first?.instanceLocation == "/1/id")
        #expect(errors.last?.instanceLocation == "/10/id")
    }

    @Test("the root's type, minItems and maxItems are checked on the count")
    func rootChecks() throws {
        let schema = try JSONSchema(["type": "array", "minItems": 3, "maxItems": 4, "items": ["type": "integer"]])
        for (text, expected) in [
            ("[1, 2, 3]", [String]()), ("[1, 2]", ["/minItems"]), ("[1, 2, 3, 4, 5]", ["/maxItems"]),
            ("[]", ["/minItems"]),
        ] {
            var source = MemorySource(Array(text.utf8), blockSize: 1)
            let (_, errors) = try schema.validateArray(from: &source)
            #expect(errors.map(\.keywordLocation) == expected)
        }
        let objects = try JSONSchema(["type": "object"])
        var source = MemorySource(Array("[1]".utf8))
        #expect(try objects.validateArray(from: &source).errors.map(\.message) == ["expected object, found array"])
    }

    @Test("a top level that is not an array is validated whole")
    func notAnArray() throws {
        let schema = try JSONSchema(peopleSchema)
        var source = MemorySource(Array(#"{"id": 1}"#.utf8))
        let (count, errors) = try schema.validateArray(from: &source)
        #expect(count == 0)
        #expect(errors.map(\.keywordLocation) == ["/type"])
    }

    static let wholeArraySchemas: [(JSONValue, String, Int)] = [
        (["uniqueItems": true], "[1, 2, 1]", 1), (["contains": ["const": 5]], "[1, 2]", 1),
        (["prefixItems": [["type": "string"]]], "[1, 2]", 1), (["unevaluatedItems": false], "[1]", 1),
        (["allOf": [["maxItems": 1]]], "[1, 2]", 1), (["uniqueItems": true], "[1, 2, 3]", 0),
    ]

    @Test(
        "root keywords that need the whole array fall back to whole-document validation",
        arguments: wholeArraySchemas)
    func fallback(schema: JSONValue, text: String, errorCount: Int) throws {
        let compiled = try JSONSchema(schema)
        var source = MemorySource(Array(text.utf8), blockSize: 2)
        let (count, errors) = try compiled.validateArray(from: &source)
        #expect(count == text.filter { $0 == "," }.count + 1)
        #expect(errors.count == errorCount)
    }

    @Test(
        "malformed documents throw with the byte offset",
        arguments: ["[1, 2", "[1, 2,", "[1, 2] x", "[1, 2]]", "[1 2]", "[1, {\"a\": }]", "", "[1,]", "[1] [2]"])
    func malformed(text: String) throws {
        let streaming = try JSONSchema(["items": ["type": "integer"]])
        let whole = try JSONSchema(["uniqueItems": true])
        for schema in [streaming, whole] {
            var source = MemorySource(Array(text.utf8), blockSize: 3)
            #expect(throwsInvalidData { _ = try schema.validateArray(from: &source) })
        }
    }

    @Test("a truncated large array throws")
    func truncated() throws {
        let schema = try JSONSchema(peopleSchema)
        let bytes = peopleDocument(count: 20_000)
        var source = MemorySource(Array(bytes[..<(bytes.count / 2)]), blockSize: 997)
        #expect(throwsInvalidData { _ = try schema.validateArray(from: &source) })
        var garbage = MemorySource(bytes + Array("{}".utf8), blockSize: 997)
        #expect(throwsInvalidData { _ = try schema.validateArray(from: &garbage) })
    }

    @Test("whole documents from a source")
    func wholeDocument() throws {
        let schema = try JSONSchema(["type": "object", "required": ["a"]])
        var source = MemorySource(Array(#"{"b": 1}"#.utf8), blockSize: 2)
        #expect(try schema.validate(from: &source).map(\.message) == ["missing required property 'a'"])
        var broken = MemorySource(Array(#"{"b": 1"#.utf8))
        #expect(throwsInvalidData { _ = try schema.validate(from: &broken) })
    }

    @Test("error messages never contain the instance's values")
    func noValuesInMessages() throws {
        let secret = "SECRET-Ab3xy"
        let schema = try JSONSchema(
            [
                "type": "array",
                "items": [
                    "type": "object",
                    "properties": [
                        "a": ["maxLength": 3], "b": ["pattern": "^[0-9]+$"], "c": ["enum": ["x", "y"]],
                        "d": ["const": "z"], "e": ["format": "email"], "f": ["type": "integer"],
                        "g": ["not": ["type": "string"]], "h": ["anyOf": [["minLength": 100], ["type": "null"]]],
                        "i": ["format": "date-time"], "j": ["oneOf": [["type": "string"], ["minLength": 1]]],
                        "k": ["minimum": 1_000_000], "l": ["multipleOf": 7], "m": ["uniqueItems": true],
                        "n": ["format": "uri"], "o": ["propertyNames": ["maxLength": 2]], "p": false,
                    ],
                ],
            ], formatAssertion: true)
        let number = 123_456
        let record: JSONValue = [
            "a": .string(secret), "b": .string(secret), "c": .string(secret), "d": .string(secret),
            "e": .string(secret), "f": .string(secret), "g": .string(secret), "h": .string(secret),
            "i": .string(secret), "j": .string(secret), "k": .number(JSONNumber(number)),
            "l": .number(JSONNumber(number)),
            "m": [.string(secret), .string(secret)], "n": .string(secret), "o": [.init(stringLiteral: secret): 1],
            "p": .string(secret),
        ]
        var text = ""
        for (index, value) in [record, record].enumerated() {
            text += index == 0 ? "[" : ","
            text += Self.serialize(value)
        }
        text += "]"
        var source = MemorySource(Array(text.utf8), blockSize: 5)
        let (_, errors) = try schema.validateArray(from: &source)
        #expect(errors.count == 32)
        for error in errors {
            #expect(!error.message.contains(secret))
            #expect(!error.message.contains(String(number)))
            #expect(!error.instanceLocation.contains(secret))
        }
    }

    /// A minimal JSON serialiser for the test's own values (strings here need no escaping).
    static func serialize(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool(let flag): flag ? "true" : "false"
        case .number(let number): number.description
        case .string(let string): "\"" + string + "\""
        case .array(let elements): "[" + elements.map(serialize).joined(separator: ",") + "]"
        case .object(let object):
            "{" + object.map { "\"\($0.key)\":" + serialize($0.value) }.joined(separator: ",") + "}"
        }
    }
}
