import Foundation
import HandoverCore
import Testing

@testable import HandoverFormats

/// The quick XML check says "valid" only where libxml2's validation against the same schema says so, with the same
/// row count; and it says so for what the writer writes.
@Suite struct XMLTableCheckerTests {
    /// A table with every type, nullable and required fields, documentation, keys, and every facet the checker
    /// knows.
    static let table = TableSchema(
        name: "people", title: "People", description: "Everyone & their <details>",
        fields: [
            Field("id", .integer, required: true, title: "Key"),
            Field("name", .string, required: true, constraints: Constraints(minLength: 1, maxLength: 12)),
            Field("note", .string, description: "Free text — anything"),
            Field("kind", .string, constraints: Constraints(enumeration: ["a", "b & c", "été"])),
            Field("code", .string, constraints: Constraints(pattern: "[A-Z]{2}[0-9]+", maxLength: 8)),
            Field("score", .number, constraints: Constraints(minimum: -1.5, maximum: 100)),
            Field("rank", .integer, constraints: Constraints(minimum: 1, maximum: 5)),
            Field("level", .integer, constraints: Constraints(enumeration: ["1", "3"])),
            Field("ratio", .number),
            Field("active", .boolean),
            Field("born", .date),
            Field("seen", .datetime),
            Field("photo", .binary),
        ],
        primaryKey: ["id"],
        foreignKeys: [
            ForeignKey(fields: ["rank"], table: "ranks", referencedFields: ["id"]),
            ForeignKey(fields: ["level"], table: "levels", referencedFields: ["id"], pseudonymized: true),
        ])

    static func checker(_ table: TableSchema = Self.table) throws -> XMLTableChecker {
        try #require(XMLTableChecker(schema: SchemaGenerator.xmlSchema(for: table)))
    }

    static func libxml2(
        _ document: [UInt8], _ table: TableSchema = Self.table, maxErrors: Int = 100, blockSize: Int = 64 * 1024
    ) throws -> XMLValidationResult {
        var source = MemorySource(document, blockSize: blockSize)
        return try XMLSchemaValidator(schema: SchemaGenerator.xmlSchema(for: table), quickCheck: false).validate(
            from: &source, maxErrors: maxErrors)
    }

    static func quick(_ document: [UInt8], _ checker: XMLTableChecker, blockSize: Int = 64 * 1024) throws -> Int? {
        var source = MemorySource(document, blockSize: blockSize)
        guard case .valid(let rows) = try checker.check(from: &source) else { return nil }
        return rows
    }

    /// A valid row of ``table``, drawn from `random`.
    static func row(_ id: Int64, _ random: inout SplitMix) -> Row {
        func pick<T>(_ values: [T]) -> T { values[Int(random.next() % UInt64(values.count))] }
        func maybe(_ value: Value) -> Value { random.next() % 5 == 0 ? .null : value }
        let texts = [
            "", "plain", "a < b & c > d", "quote \" and ' apostrophe", "tab\tline\nreturn\r", "été ☃ 𝄞",
            "]]> inside", "control \u{1}", "\u{FFFE}", "&amp; literal", String(repeating: "long ", count: 3000),
        ]
        let names = ["x", "Zoë", "名前", "a]]b", "twelve chars", "<>&\"'"]
        return Row([
            .integer(id),
            .string(pick(names)),
            maybe(.string(pick(texts))),
            maybe(.string(pick(["a", "b & c", "été"]))),
            maybe(.string(pick(["AB1", "ZZ1234"]))),
            maybe(.number(pick([-1.5, 0, 1e-5, 99.999, 100, 3.25]))),
            maybe(.integer(pick([1, 2, 5]))),
            maybe(.integer(pick([1, 3]))),
            maybe(.number(pick([0.1, -2e20, 1.7976931348623157e308, 5e-324, 123456789.125]))),
            maybe(.boolean(random.next() % 2 == 0)),
            maybe(.date(pick(["2024-02-29", "1999-12-31", "0001-01-01", "9999-12-31"]))),
            maybe(
                .datetime(
                    Timestamp(
                        microsecondsSince1970: pick([0, 1_700_000_000_123_000, 1_700_000_000_123_456, -86_400_000_000]))
                )),
            maybe(.binary(pick([[], [0], [1, 2], [0xFF, 0xFE, 0xFD], Array(repeating: 7, count: 1000)]))),
        ])
    }

    static func document(rows: Int, seed: UInt64, table: TableSchema = Self.table) throws -> [UInt8] {
        var random = SplitMix(seed: seed)
        var writer = try XMLTableWriter(schema: table, sink: MemorySink())
        for id in 0..<rows { try writer.write(row(Int64(id), &random)) }
        try writer.finish()
        return writer.sink.bytes
    }

    /// A schema in the generator's exact form that libxml2 refuses (a minimum above the maximum) is refused when the
    /// validator is made, as libxml2 refuses it, although the quick check could read it: a document the quick check
    /// would pass (no rows, or only nulls) must not make such a schema look usable.
    @Test func aGeneratedSchemaLibxml2RefusesIsRefusedAtOnce() throws {
        let table = TableSchema(
            name: "bounds",
            fields: [Field("score", .integer, constraints: Constraints(minimum: 5, maximum: 1))])
        let bytes = SchemaGenerator.xmlSchema(for: table)
        #expect(XMLTableChecker(schema: bytes) != nil, "the quick check reads the schema")
        #expect(throws: HandoverError.self) { try XMLSchemaValidator(schema: bytes) }
        #expect(throws: HandoverError.self) { try XMLSchemaValidator(schema: bytes, quickCheck: false) }
    }

    @Test func theSchemaIsReadBackExactlyAndAnyOtherSchemaHasNoChecker() throws {
        let bytes = SchemaGenerator.xmlSchema(for: Self.table)
        let read = try #require(XMLTableChecker.table(fromSchema: bytes))
        #expect(SchemaGenerator.xmlSchema(for: read) == bytes)
        _ = try Self.checker()
        // Any change to the schema's bytes, even one that means the same, leaves it to libxml2.
        var spaced = bytes
        spaced.insert(UInt8(ascii: " "), at: bytes.firstIndex(of: UInt8(ascii: ">"))!)
        #expect(XMLTableChecker(schema: spaced) == nil)
        let text = String(decoding: bytes, as: UTF8.self)
        for (from, to) in [
            ("type=\"xs:long\"", "type=\"xs:int\""), ("maxOccurs=\"unbounded\"", "maxOccurs=\"2\""),
            ("memberTypes=\"base64.text\"", "memberTypes=\"xs:base64Binary\""),
            ("<xs:appinfo source=\"urn:handover:table\">", "<xs:appinfo source=\"urn:other\">"),
            ("nillable=\"true\"", ""),
        ] {
            #expect(text.contains(from))
            #expect(
                XMLTableChecker(schema: Array(text.replacingOccurrences(of: from, with: to).utf8)) == nil, "\(from)")
        }
        // A schema the generator writes for other facets is read with them.
        let longer = text.replacingOccurrences(of: "<xs:maxLength value=\"12\"/>", with: "<xs:maxLength value=\"13\"/>")
        #expect(
            try #require(XMLTableChecker.table(fromSchema: Array(longer.utf8))).fields[1].constraints.maxLength == 13)
        // Facets the checker does not know, and names it does not compare, have no checker.
        for field in [
            Field("when", .date, constraints: Constraints(pattern: "2.*")),
            Field("blob", .binary, constraints: Constraints(maxLength: 3)),
            Field("xmlName", .string),
            Field("ünï", .string),
        ] {
            let table = TableSchema(name: "t", fields: [Field("id", .integer, required: true), field])
            #expect(XMLTableChecker(table: table) == nil, "\(field.name)")
        }
    }

    @Test(arguments: [0, 1, 7, 400])
    func whatTheWriterWritesIsAcceptedWithItsRowCount(rows: Int) throws {
        let checker = try Self.checker()
        let document = try Self.document(rows: rows, seed: UInt64(rows))
        let full = try Self.libxml2(document)
        #expect(full.errors.isEmpty)
        #expect(try Self.quick(document, checker) == rows)
        #expect(full.rows == rows)
        // Whatever the blocks the document arrives in.
        for blockSize in [1, 2, 3, 5, 13, 64, 1000] {
            #expect(try Self.quick(document, checker, blockSize: blockSize) == rows, "block size \(blockSize)")
        }
    }

    /// Mutations of written documents: whenever the quick check accepts one, libxml2 accepts it too, with the same
    /// row count. Many are accepted (a changed value that is still valid) and many are not.
    @Test func aMutatedDocumentIsAcceptedOnlyWhenLibxml2AcceptsIt() throws {
        let checker = try Self.checker()
        let validator = try XMLSchemaValidator(schema: SchemaGenerator.xmlSchema(for: Self.table))
        let insertions: [[UInt8]] = [
            [0x3C], [0x26], [0x20], [0x0D], [0x00], [0xC3], [0x5D, 0x5D, 0x3E], [0x3E], Array("x".utf8), [0x2D],
            Array("9".utf8), Array("=".utf8), Array("<!-- c -->".utf8), Array("<![CDATA[x]]>".utf8), Array("&#0;".utf8),
            Array("&#x41;".utf8), Array("&#65;".utf8), Array("&nbsp;".utf8), Array("\t".utf8), [0xEF, 0xBF, 0xBE],
            [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xC0, 0xAF], Array("<x/>".utf8), Array("</row>".utf8),
            Array("<row>".utf8), Array(" xsi:nil=\"true\"".utf8), Array("e5".utf8), Array(".5".utf8), Array("+".utf8),
            Array("Z".utf8), Array("T".utf8), Array(":60".utf8), Array("==".utf8), Array("A".utf8),
        ]
        var random = SplitMix(seed: 17)
        var accepted = 0
        var declined = 0
        for seed in 0..<12 {
            let document = try Self.document(rows: 6, seed: UInt64(seed))
            for _ in 0..<300 {
                var mutated = document
                let at = Int(random.next() % UInt64(mutated.count))
                switch random.next() % 4 {
                case 0: mutated[at] = UInt8(truncatingIfNeeded: random.next())
                case 1: mutated.remove(at: at)
                case 2: mutated.insert(contentsOf: insertions[Int(random.next() % UInt64(insertions.count))], at: at)
                default:
                    let length = min(Int(random.next() % 40), mutated.count - at)
                    mutated.removeSubrange(at..<at + length)
                }
                // With the quick check in front, libxml2's verdict is the same, rows, problems and lines.
                let blockSize = 1 + Int(random.next() % 300)
                var source = MemorySource(mutated, blockSize: blockSize)
                let combined = try validator.validate(from: &source, maxErrors: 5)
                let full = try Self.libxml2(mutated, maxErrors: 5, blockSize: blockSize)
                #expect(combined.rows == full.rows)
                #expect(combined.errors == full.errors)
                guard let rows = try Self.quick(mutated, checker, blockSize: blockSize) else {
                    declined += 1
                    continue
                }
                accepted += 1
                #expect(full.errors.isEmpty, "accepted what libxml2 refuses: \(full.errors)")
                #expect(full.rows == rows)
            }
        }
        #expect(accepted > 100)
        #expect(declined > 1000)
    }

    /// Where the quick check is not sure, libxml2 takes the document up at the last row it was sure of: the rows, the
    /// problems and their lines are those of libxml2 alone, early, late, and after a row too long to hand over.
    @Test func libxml2TakesUpADocumentWhereTheQuickCheckIsNotSure() throws {
        let validator = try XMLSchemaValidator(schema: SchemaGenerator.xmlSchema(for: Self.table))
        let document = String(decoding: try Self.document(rows: 400, seed: 3), as: UTF8.self)
        let rows = document.components(separatedBy: "  <row>\n")
        #expect(rows.count == 401)
        for k in [1, 2, 200, 400] {
            for change in ["comment", "invalid", "both"] {
                var parts = rows
                if change != "invalid" { parts[k] = "<!-- remark -->" + parts[k] }
                if change != "comment" { parts[k] = parts[k].replacingOccurrences(of: "<id>", with: "<id>x") }
                let mutated = Array(parts.joined(separator: "  <row>\n").utf8)
                for blockSize in [7, 4096, 65536] {
                    var source = MemorySource(mutated, blockSize: blockSize)
                    let combined = try validator.validate(from: &source)
                    let full = try Self.libxml2(mutated)
                    #expect(combined.rows == full.rows)
                    #expect(combined.errors == full.errors, "row \(k), \(change)")
                    #expect(full.rows == 400)
                    #expect(full.errors.isEmpty == (change == "comment"))
                }
            }
        }
        // A row longer than the quick check keeps: libxml2 reads it, and every row after it, whole.
        let table = TableSchema(name: "t", fields: [Field("id", .integer, required: true), Field("note", .string)])
        var writer = try XMLTableWriter(schema: table, sink: MemorySink())
        try writer.write(Row([.integer(1), .string("short")]))
        try writer.write(
            Row([.integer(2), .string(String(repeating: "long ", count: XMLTableChecker.replayLimit / 4))]))
        try writer.write(Row([.integer(3), .string("short")]))
        try writer.finish()
        let long = writer.sink.bytes
        let broken = Array(String(decoding: long, as: UTF8.self).replacingOccurrences(of: "<id>3", with: "<id>x").utf8)
        let checker = try Self.checker(table)
        #expect(try Self.quick(long, checker) == nil)
        let combinedValidator = try XMLSchemaValidator(schema: SchemaGenerator.xmlSchema(for: table))
        for bytes in [long, broken] {
            var source = MemorySource(bytes)
            let combined = try combinedValidator.validate(from: &source)
            let full = try Self.libxml2(bytes, table)
            #expect(combined.rows == 3)
            #expect(combined.rows == full.rows)
            #expect(combined.errors == full.errors)
            #expect(full.errors.isEmpty == (bytes == long))
        }
    }

    /// Values of each type, some valid and some not, some in forms the checker does not take: it accepts a
    /// value only where libxml2 does, and it takes the forms the writer writes.
    @Test func valuesAreAcceptedOnlyWhereLibxml2AcceptsThem() throws {
        let fields: [(Field, accepted: [String], others: [String])] = [
            (
                Field("v", .integer, required: true), ["0", "-1", "42", "9223372036854775807", "-9223372036854775808"],
                [
                    "", " 1", "1 ", "+1", "01", "-0", "9223372036854775808", "-9223372036854775809", "1.0", "1e3", "٣",
                    "0x10", "00000000000000000001",
                ]
            ),
            (
                Field("v", .number, required: true), ["0", "1.5", "-2.25", "1e-05", "5e+20", "1E10", "123456789.125"],
                ["", "1.", ".5", "INF", "-INF", "NaN", "1e", "1e999", "1e-999", " 1", "1,5", "+1", "0x1p3", "1.5.2"]
            ),
            (Field("v", .boolean, required: true), ["true", "false", "1", "0"], ["", "TRUE", "yes", " true", "2"]),
            (
                Field("v", .date, required: true),
                ["2024-02-29", "2023-12-31", "0001-01-01", "9999-12-31", "2024-01-01Z"],
                [
                    "", "2023-02-29", "1900-02-29", "2024-13-01", "2024-00-10", "2024-04-31", "0000-01-01", "24-01-01",
                    "2024-1-01", "2024-01-01+01:00", "-2024-01-01", "12024-01-01", "2024-01-01T00:00:00",
                ]
            ),
            (
                Field("v", .datetime, required: true),
                [
                    "2024-02-29T23:59:59Z", "2024-01-01T00:00:00", "2024-01-01T00:00:00.5Z",
                    "2024-01-01T00:00:00.123456Z",
                ],
                [
                    "", "2024-01-01T24:00:00Z", "2024-01-01T23:60:00Z", "2024-01-01T23:00:60Z", "2024-01-01 00:00:00Z",
                    "2024-01-01T00:00Z", "2024-01-01T00:00:00.Z", "2024-01-01T00:00:00.1234567Z",
                    "2024-02-30T00:00:00Z",
                    "2024-01-01T00:00:00+14:00", "2024-01-01T00:00:00+15:00",
                ]
            ),
            (
                Field("v", .binary, required: true), ["", "AA==", "AAE=", "AAEC", "/+/+"],
                ["A", "AA", "AAA", "AB==", "AAF=", "AA=A", "A===", "AA==AA==", "AA AA", "AA\nAA", "****"]
            ),
            (
                Field("v", .string, required: true, constraints: Constraints(minLength: 2, maxLength: 3)),
                ["ab", "abc", "été", "AAAA", "AAAAAAAA", "AA==", "&amp;&lt;"],
                ["a", "abcd", "", "AAA=", "AAAAA"]
            ),
            (
                Field("v", .string, required: true, constraints: Constraints(pattern: "[a-c]+-[0-9]{2}")),
                ["a-12", "abc-99"], ["a-1", "d-12", "a-12 ", " a-12", "A-12"]
            ),
            (
                Field("v", .integer, required: true, constraints: Constraints(minimum: -3, maximum: 7.5)),
                ["-3", "0", "7"], ["-4", "8", "7.5"]
            ),
            (
                Field("v", .number, required: true, constraints: Constraints(minimum: -0.5, maximum: 2)),
                ["-0.5", "0", "2", "2.0", "1e-300"], ["-0.50001", "2.0000001", "3e0", "-1e300"]
            ),
        ]
        for (field, accepted, others) in fields {
            let table = TableSchema(name: "values", fields: [field])
            let checker = try Self.checker(table)
            for value in accepted + others {
                let document = Array(
                    ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<table name=\"values\" "
                        + "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n  <row>\n    <v>\(value)</v>\n  </row>\n</table>\n")
                        .utf8)
                let quick = try Self.quick(document, checker)
                let full = try Self.libxml2(document, table)
                if quick != nil {
                    #expect(full.errors.isEmpty, "\(field.type) \(value): accepted what libxml2 refuses")
                }
                if accepted.contains(value) {
                    #expect(quick == 1, "\(field.type) \(value): not accepted")
                    #expect(full.errors.isEmpty, "\(field.type) \(value): libxml2 refuses it")
                }
            }
        }
    }

    @Test func formsTheWriterDoesNotWriteAreLeftToLibxml2() throws {
        let table = TableSchema(
            name: "t", fields: [Field("id", .integer, required: true), Field("note", .string)])
        let checker = try Self.checker(table)
        let head =
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<table name=\"t\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">"
        let plain = head + "\n  <row>\n    <id>1</id>\n    <note>x</note>\n  </row>\n</table>\n"
        #expect(try Self.quick(Array(plain.utf8), checker) == 1)
        for variant in [
            plain.replacingOccurrences(of: "<note>x</note>", with: "<note><![CDATA[x]]></note>"),
            plain.replacingOccurrences(of: "</row>", with: "<!-- c --></row>"),
            plain.replacingOccurrences(of: "<id>1</id>", with: "<id>1</id >"),
            plain.replacingOccurrences(of: "<id>1</id>", with: "<id xsi:type=\"xs:long\">1</id>"),
            plain.replacingOccurrences(of: "<note>x</note>", with: "<note xsi:nil=\"true\"/>").replacingOccurrences(
                of: "xmlns:xsi", with: "xmlns:xsj"),
            plain.replacingOccurrences(of: "<id>1</id>", with: "<id xsi:nil=\"true\"/>"),
            plain.replacingOccurrences(of: "<note>x</note>", with: "<note>x\r\ny</note>"),
            plain + "<!-- after -->",
            "\u{FEFF}" + plain,
            plain.replacingOccurrences(of: "encoding=\"UTF-8\"", with: "encoding=\"ISO-8859-1\""),
            plain.replacingOccurrences(of: "</table>", with: ""),
            String(plain.dropLast(3)),
        ] {
            #expect(try Self.quick(Array(variant.utf8), checker) == nil, "\(variant)")
        }
        // A nullable text may be nil, or written in base64.
        let forms = plain.replacingOccurrences(of: "<note>x</note>", with: "<note xsi:nil=\"true\"/>")
        #expect(try Self.quick(Array(forms.utf8), checker) == 1)
        let base64 = plain.replacingOccurrences(of: "<note>x</note>", with: "<note encoding=\"base64\">AQ==</note>")
        #expect(try Self.quick(Array(base64.utf8), checker) == 1)
        #expect(try Self.libxml2(Array(base64.utf8), table).errors.isEmpty)
    }
}

/// A small seeded generator, so that every run checks the same documents.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
