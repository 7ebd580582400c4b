import HandoverCore
import Testing

@testable import HandoverJSONSchema

/// Parses text with the parser under test.
func parseJSON(_ text: String) throws -> JSONValue {
    try JSONValue.parse(Array(text.utf8))
}

/// Parses through the streaming reader, the source handing out `blockSize` bytes at a time.
func parseJSONInBlocks(_ bytes: [UInt8], blockSize: Int) throws -> JSONValue {
    let reader = JSONReader(source: MemorySource(bytes, blockSize: blockSize), blockSize: blockSize)
    return try reader.parseDocument()
}

@Suite("JSON parser")
struct JSONParserTests {
    @Test(
        "numbers keep exact integers and doubles",
        arguments: [
            ("0", 0.0, Int64(0) as Int64?), ("-0", 0, 0), ("12", 12, 12), ("-12", -12, -12), ("1.5", 1.5, nil),
            ("1e2", 100, 100), ("1E+2", 100, 100), ("1.0", 1, 1), ("-2.50e1", -25, -25), ("1e-2", 0.01, nil),
            ("123.456e-7", 123.456e-7, nil), ("9223372036854775807", 9.223372036854775807e18, Int64.max),
            ("-9223372036854775808", -9.223372036854775808e18, Int64.min),
            ("9223372036854775808", 9.223372036854775808e18, nil), ("1e308", 1e308, nil),
        ])
    func numbers(text: String, double: Double, int: Int64?) throws {
        guard case .number(let number) = try parseJSON(text) else {
            Issue.record("not a number")
            return
        }
        #expect(number.double == double)
        #expect(number.int == int)
    }

    @Test("numbers compare by value")
    func numberEquality() throws {
        #expect(try parseJSON("1") == parseJSON("1.0"))
        #expect(try parseJSON("[1, 2.0]") == parseJSON("[1.0, 2]"))
        #expect(try parseJSON("1") != parseJSON("1.5"))
        #expect(try parseJSON("1").hashValue == parseJSON("1.0").hashValue)
        #expect(try parseJSON("true") != parseJSON("1"))
        guard case .number(let integral) = try parseJSON("1.0"), case .number(let fractional) = try parseJSON("1.5")
        else { return }
        #expect(integral.isInteger)
        #expect(!fractional.isInteger)
    }

    @Test(
        "escapes, surrogate pairs and lone surrogates",
        arguments: [
            (#""\"\\\/\b\f\n\r\t""#, "\"\\/\u{8}\u{C}\n\r\t"), (#""caf\u00e9""#, "café"), (#""\u00E9""#, "é"),
            (#""\ud83d\ude00""#, "😀"), (#""\uD83D\uDE00!""#, "😀!"), (#""a\ud800""#, "a\u{FFFD}"),
            (#""\udc00x""#, "\u{FFFD}x"), (#""\ud800\u0041""#, "\u{FFFD}A"), (#""\ud800\ud83d\ude00""#, "\u{FFFD}😀"),
            (#""\ud800x""#, "\u{FFFD}x"), (#""\u0000""#, "\u{0}"), ("\"Zoë 李 👍\"", "Zoë 李 👍"), (#""""#, ""),
        ])
    func strings(text: String, expected: String) throws {
        #expect(try parseJSON(text) == .string(expected))
        // The same through the streaming reader, one byte per block.
        #expect(try parseJSONInBlocks(Array(text.utf8), blockSize: 1) == .string(expected))
    }

    @Test("objects keep their order; a repeated name keeps its first place and last value")
    func objects() throws {
        guard case .object(let object) = try parseJSON(#"{"b": 1, "a": [true, null], "c": {}, "b": "x"}"#) else {
            Issue.record("not an object")
            return
        }
        #expect(object.keys == ["b", "a", "c"])
        #expect(object["b"] == .string("x"))
        #expect(object["a"] == [true, nil])
        #expect(object["c"] == .object([:]))
        #expect(try parseJSON(#"{"a": 1, "b": 2}"#) == parseJSON(#"{"b": 2, "a": 1}"#))
        #expect(try parseJSON(#"{"a": 1, "b": 2}"#).hashValue == parseJSON(#"{"b": 2, "a": 1}"#).hashValue)
    }

    @Test("large objects are indexed")
    func largeObject() throws {
        let members = (0..<100).map { "\"k\($0)\": \($0)" }.joined(separator: ", ")
        guard case .object(let object) = try parseJSON("{\(members)}") else { return }
        #expect(object.count == 100)
        #expect(object["k57"] == 57)
        #expect(object["k100"] == nil)
    }

    @Test("nesting up to 512 levels, not deeper")
    func nesting() throws {
        let deep = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        #expect(throws: Never.self) { try parseJSON(deep) }
        let tooDeep = String(repeating: "[", count: 513) + String(repeating: "]", count: 513)
        #expect(throws: HandoverError.self) { try parseJSON(tooDeep) }
        #expect(try parseJSON(#" [ {"a" : [ [ ] , { } ] } ] "#) == [["a": [[], [:]]]])
    }

    @Test(
        "malformed documents are rejected",
        arguments: [
            "", " ", "[", "]", "[1,]", "[,1]", #"{"a":1,}"#, "{,}", "01", "-01", "1.", ".5", "-", "1e", "1e+", "+1",
            "0x10", "tru", "nul", "True", "[1 2]", #"{"a" 1}"#, "{a:1}", #"{"a":}"#, #""abc"#, "\"a\tb\"",
            "\"a\nb\"", "'a'", "[1]x", "1 2", #""\x""#, #""\u12""#, #""\u12G4""#, "NaN", "Infinity", "-Infinity",
            "1e400", "-1e400", "[1,2", #"{"a":1"#, "\u{FEFF}\u{FEFF}1", "/* comment */ 1",
        ])
    func rejected(text: String) {
        #expect(throws: HandoverError.self) { try parseJSON(text) }
    }

    @Test(
        "invalid UTF-8 is rejected",
        arguments: [
            [0x22, 0xC3, 0x28, 0x22], [0x22, 0xC0, 0xAF, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xFF, 0x22],
            [0x22, 0xE2, 0x82, 0x22], [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22],
        ] as [[UInt8]])
    func invalidUTF8(bytes: [UInt8]) {
        #expect(throws: HandoverError.self) { try JSONValue.parse(bytes) }
        #expect(throws: HandoverError.self) { try parseJSONInBlocks(bytes, blockSize: 1) }
    }

    @Test("a byte order mark is ignored")
    func byteOrderMark() throws {
        #expect(try JSONValue.parse([0xEF, 0xBB, 0xBF] + Array("[1]".utf8)) == [1])
        #expect(try parseJSONInBlocks([0xEF, 0xBB, 0xBF] + Array("[1]".utf8), blockSize: 1) == [1])
    }

    @Test("errors give the byte offset and not the content")
    func errorMessages() {
        do {
            _ = try parseJSON(#"{"secret": "hunter2", "x": tru}"#)
            Issue.record("accepted a malformed document")
        } catch let error as HandoverError {
            #expect(error.code == .invalidData)
            #expect(error.message.contains("byte 27"))
            #expect(!error.message.contains("hunter2"))
            #expect(!error.message.contains("secret"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
        do {
            _ = try parseJSON("[1, 2] 3")
            Issue.record("accepted trailing data")
        } catch let error as HandoverError {
            #expect(error.message.contains("byte 7"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test("streaming reads agree with whole reads at every block size", arguments: [1, 2, 3, 7, 64, 4096])
    func blockSizes(blockSize: Int) throws {
        let text = #"""
            {"name": "Zoë \"Z\" 李小龍 👍", "n": [0, -1.5e3, 12345678901234, true, false, null],
             "escaped": "\u00e9\ud83d\ude00\n", "nested": {"a": [{"b": []}], "c": {}}, "long": "\#(
                String(repeating: "abcdefghij", count: 50))"}
            """#
        let bytes = Array(text.utf8)
        #expect(try parseJSONInBlocks(bytes, blockSize: blockSize) == JSONValue.parse(bytes))
    }

    @Test("strings compare by code points, not canonical equivalence")
    func codePointEquality() throws {
        #expect(JSONValue.string("\u{E9}") != JSONValue.string("e\u{301}"))
        #expect(JSONValue.string("\u{E9}") == JSONValue.string("é"))
        var object = JSONObject()
        object["\u{E9}"] = 1
        object["e\u{301}"] = 2
        #expect(object.count == 2)
        #expect(object["\u{E9}"] == 1)
        #expect(object["e\u{301}"] == 2)
    }
}
