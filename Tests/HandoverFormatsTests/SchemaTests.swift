import Foundation
import HandoverCore
import TestSupport
import Testing

@testable import HandoverFormats

/// A table that uses every type and every constraint.
let constrained = TableSchema(
    name: "contacts", title: "Contacts", description: "People & <companies> the users sell to",
    fields: [
        Field("id", .integer, required: true, title: "Id", constraints: Constraints(minimum: 1)),
        Field(
            "name", .string, required: true, title: "Name", description: "Full name",
            constraints: Constraints(minLength: 1, maxLength: 40)),
        Field("stage", .string, constraints: Constraints(enumeration: ["lead", "won", "lost & gone"])),
        Field("code", .string, constraints: Constraints(pattern: "[A-Z]{2}-[0-9]{3}")),
        Field("score", .number, constraints: Constraints(minimum: 0, maximum: 10)),
        Field("note", .string), Field("vip", .boolean), Field("born", .date), Field("seen", .datetime),
        Field("photo", .binary),
    ],
    primaryKey: ["id"], foreignKeys: [ForeignKey(fields: ["id"], table: "people", referencedFields: ["id"])])

func constrainedRows() -> [Row] {
    (1...50).map { n -> Row in
        let stages = ["lead", "won", "lost & gone"]
        let name: Value = .string(n % 5 == 0 ? "Zoë \"Z\" O'Neil, \(n)" : "Name \(n)")
        let stage: Value = n % 3 == 0 ? .null : .string(stages[n % 3])
        let code: Value = n % 4 == 0 ? .null : .string("AB-\(100 + n)")
        let score: Value = .number(Double(n % 11) * 0.9)
        let note: Value = n % 2 == 0 ? .string("tab\there\nand a \u{1} control") : .null
        let seen: Value = .datetime(Timestamp(millisecondsSince1970: 1_700_000_000_123 + Int64(n)))
        let photo: Value = n % 7 == 0 ? .binary([]) : .binary([UInt8(n), 0, 255])
        return Row([
            .integer(Int64(n)), name, stage, code, score, note, .boolean(n % 2 == 0), .date("2024-02-29"), seen, photo,
        ])
    }
}

func writeFile(_ format: TableFormat, _ schema: TableSchema, _ rows: [Row]) throws -> [UInt8] {
    var writer = try format.makeWriter(for: schema, into: MemorySink())
    for row in rows { try writer.write(row) }
    try writer.finish()
    return writer.sink.bytes
}

@Suite struct SchemaGeneratorTests {
    @Test func titlesDescriptionsTypesAndConstraintsCarryIntoAllThree() throws {
        let json = String(decoding: SchemaGenerator.jsonSchema(for: constrained), as: UTF8.self)
        let xsd = String(decoding: SchemaGenerator.xmlSchema(for: constrained), as: UTF8.self)
        let table = String(decoding: SchemaGenerator.tableSchema(for: constrained), as: UTF8.self)
        for text in [json, table] {
            #expect(text.contains("\"Full name\""))
            #expect(text.contains("\"maxLength\": 40"))
            #expect(text.contains("\"lost & gone\""))
        }
        #expect(json.contains("\"$schema\": \"https://json-schema.org/draft/2020-12/schema\""))
        #expect(json.contains("\"format\": \"date-time\""))
        #expect(json.contains("\"pattern\": \"^(?:[A-Z]{2}-[0-9]{3})$\""))
        #expect(table.contains("\"primaryKey\": [\n    \"id\"\n  ]"))
        // A schema file on its own names no resources: its references are described, not declared (a
        // Frictionless reader refuses foreign keys to other resources without a package).
        #expect(!table.contains("\"foreignKeys\""))
        #expect(table.contains("\"x-handover-references\""))
        #expect(table.contains("\"table\": \"people\""))
        #expect(xsd.contains("Name — Full name"))
        #expect(xsd.contains("People &amp; &lt;companies&gt; the users sell to"))
        #expect(xsd.contains("<xs:enumeration value=\"lost &amp; gone\"/>"))
        #expect(xsd.contains("<xs:maxLength value=\"40\"/>"))
        #expect(xsd.contains("name=\"seen\" type=\"xs:dateTime\" nillable=\"true\""))
    }

    @Test func generatedJSONSchemasAreValidDraft202012AndAcceptTheWrittenFiles() async throws {
        try await withTemporaryDirectory { folder in
            let schema = folder + "/contacts.schema.json"
            try Data(SchemaGenerator.jsonSchema(for: constrained)).write(to: URL(fileURLWithPath: schema))
            let good = folder + "/good.json"
            try Data(try writeFile(.json, constrained, constrainedRows())).write(to: URL(fileURLWithPath: good))
            let bad = folder + "/bad.json"
            try Data(
                #"[{"id":0,"name":"","stage":"maybe","code":"ab-1","score":11,"note":null,"vip":1,"born":"2023-02-29","seen":"yesterday","photo":"x"}]"#
                    .utf8
            )
            .write(to: URL(fileURLWithPath: bad))
            let script = """
                import json, sys, jsonschema
                schema = json.load(open(sys.argv[1]))
                jsonschema.Draft202012Validator.check_schema(schema)
                v = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
                for path in sys.argv[2:]:
                    print(len(list(v.iter_errors(json.load(open(path))))))
                """
            let result = try run("/usr/bin/env", ["python3", "-c", script, schema, good, bad])
            #expect(result.status == 0, "\(result.stderr)")
            let counts = result.stdout.split(separator: "\n").compactMap { Int($0) }
            #expect(counts.first == 0, "the written file breaks its own schema")
            #expect((counts.last ?? 0) >= 8, "a file full of violations was accepted")
        }
    }

    @Test func xmllintAcceptsTheWrittenFilesAgainstTheGeneratedXSD() async throws {
        try await withTemporaryDirectory { folder in
            let xsd = folder + "/contacts.xsd"
            try Data(SchemaGenerator.xmlSchema(for: constrained)).write(to: URL(fileURLWithPath: xsd))
            let good = folder + "/good.xml"
            try Data(try writeFile(.xml, constrained, constrainedRows())).write(to: URL(fileURLWithPath: good))
            let result = try run("/usr/bin/xmllint", ["--noout", "--nonet", "--schema", xsd, good])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stderr.contains("validates"))
            let bad = folder + "/bad.xml"
            var text = String(decoding: try writeFile(.xml, constrained, [constrainedRows()[0]]), as: UTF8.self)
            text = text.replacingOccurrences(of: "<id>1</id>", with: "<id>zero</id>")
            try Data(text.utf8).write(to: URL(fileURLWithPath: bad))
            #expect(try run("/usr/bin/xmllint", ["--noout", "--nonet", "--schema", xsd, bad]).status != 0)
        }
    }
}

@Suite struct XMLSchemaValidatorTests {
    func validate(_ bytes: [UInt8], blockSize: Int = 1013) throws -> XMLValidationResult {
        let validator = try XMLSchemaValidator(schema: SchemaGenerator.xmlSchema(for: constrained))
        var source = MemorySource(bytes, blockSize: blockSize)
        return try validator.validate(from: &source)
    }

    @Test func acceptsWhatTheWriterWritesAndCountsRows() throws {
        let result = try validate(try writeFile(.xml, constrained, constrainedRows()))
        #expect(result.errors == [])
        #expect(result.rows == 50)
    }

    func damaged(_ replace: String, with replacement: String) throws -> XMLValidationResult {
        let text = String(decoding: try writeFile(.xml, constrained, [constrainedRows()[1]]), as: UTF8.self)
        #expect(text.contains(replace))
        return try validate(Array(text.replacingOccurrences(of: replace, with: replacement).utf8))
    }

    @Test(arguments: [
        ("<id>2</id>", "<id>two-thousand</id>", "not of the declared type"),
        ("<stage>lost &amp; gone</stage>", "<stage>secret-stage</stage>", "allowed values"),
        ("<code>AB-102</code>", "<code>zz-secret</code>", "pattern"),
        ("<score>1.8</score>", "<score>99</score>", "maximum"),
        ("<id>2</id>", "<id>2</id><id>3</id>", "unexpected"),
        ("<vip>true</vip>", "<vip>secret</vip>", "declared type"),
        ("<name>Name 2</name>", "<name xsi:nil=\"true\"/>", "xsi:nil"),
    ])
    func reportsWhatIsWrongWithoutTheValue(from: String, to: String, words: String) throws {
        let result = try damaged(from, with: to)
        #expect(!result.errors.isEmpty)
        let text = result.errors.map(\.description).joined(separator: "\n")
        #expect(text.contains(words), "\(text)")
        #expect(!text.contains("secret"))
        #expect(!text.contains("two-thousand"))
    }

    @Test func refusesADoctypeAndNeverLoadsExternalEntities() throws {
        let hostile = """
            <?xml version="1.0"?>
            <!DOCTYPE table [<!ENTITY leak SYSTEM "file:///etc/passwd">]>
            <table name="contacts"><row><id>&leak;</id></row></table>
            """
        let result = try validate(Array(hostile.utf8))
        #expect(result.errors.contains { $0.message.contains("DOCTYPE") })
        #expect(!result.errors.map(\.description).joined().contains("root:"))
    }

    @Test func malformedAndTruncatedDocumentsAreNotWellFormed() throws {
        let bytes = try writeFile(.xml, constrained, constrainedRows())
        for cut in [bytes.count / 2, bytes.count - 5] {
            let result = try validate(Array(bytes.prefix(cut)))
            #expect(result.errors.contains { $0.message.contains("well-formed") }, "cut at \(cut): \(result.errors)")
        }
        #expect(!(try validate(Array("not xml at all".utf8)).errors.isEmpty))
    }

    @Test func refusesSomethingThatIsNotASchema() {
        #expect(throws: HandoverError.self) { try XMLSchemaValidator(schema: Array("<nope/>".utf8)) }
    }
}

@Suite struct CSVTableValidatorTests {
    func validate(_ text: String) throws -> CSVValidationResult {
        var source = MemorySource(Array(text.utf8), blockSize: 7)
        return try CSVTableValidator(schema: constrained).validate(from: &source)
    }

    @Test func acceptsWhatTheWriterWrites() throws {
        let bytes = try writeFile(.csv, constrained, constrainedRows())
        var source = MemorySource(bytes, blockSize: 100)
        let result = try CSVTableValidator(schema: constrained).validate(from: &source)
        #expect(result.errors == [])
        #expect(result.rows == 50)
    }

    static let header = "id,name,stage,code,score,note,vip,born,seen,photo\r\n"

    @Test(arguments: [
        ("x,Ann,,,,,,,,\r\n", "field id", "not a valid integer"),
        ("0,Ann,,,,,,,,\r\n", "field id", "minimum"),
        ("1,,,,,,,,,\r\n", "field name", "required"),
        ("1,\"\",,,,,,,,\r\n", "field name", "shorter"),
        ("1,Ann,maybe,,,,,,,\r\n", "field stage", "allowed values"),
        ("1,Ann,,ab-123,,,,,,\r\n", "field code", "pattern"),
        ("1,Ann,,,1e400,,,,,\r\n", "field score", "number"),
        ("1,Ann,,,,,yes,,,\r\n", "field vip", "boolean"),
        ("1,Ann,,,,,,2023-02-29,,\r\n", "field born", "date"),
        ("1,Ann,,,,,,,2024-01-01 10:00,\r\n", "field seen", "datetime"),
        ("1,Ann,,,,,,,,!!\r\n", "field photo", "binary"),
        ("1,Ann\r\n", "record 2", "2 fields"),
        ("1,\"Ann\"x,,,,,,,,\r\n", "record 2", "quoted field"),
        ("1,\"Ann,,,,,,,,\r\n", "record 2", "not closed"),
    ])
    func reportsWhereAndWhatWithoutTheValue(record: String, location: String, words: String) throws {
        let result = try validate(Self.header + record)
        let text = result.errors.map(\.description).joined(separator: "\n")
        #expect(text.contains(location), "\(text)")
        #expect(text.contains(words), "\(text)")
        #expect(!text.contains("maybe") && !text.contains("ab-123") && !text.contains("Ann"))
    }

    @Test func theHeaderMustNameTheFieldsInOrder() throws {
        let result = try validate("name,id,stage,code,score,note,vip,born,seen,photo\r\n")
        #expect(result.errors.first?.message.contains("header") == true)
        #expect(try validate("").errors.first?.message.contains("no header") == true)
    }

    @Test func acceptsLFLineEndsAndAFinalRecordWithoutOne() throws {
        #expect(try validate(Self.header + "1,Ann,,,,,,,,\n2,Bob,,,,,,,,").errors == [])
        #expect(try validate(Self.header + "1,Ann,,,,,,,,\n2,Bob,,,,,,,,").rows == 2)
    }
}
