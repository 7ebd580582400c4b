import HandoverCore
import HandoverFormats
import Testing

@testable import HandoverImport

/// Table declarations read back from the schema files Handover writes.
@Suite struct ImportSchemaTests {
    /// A table with a field of every type, required and optional, a composite key and references.
    static let table = TableSchema(
        name: "items",
        fields: [
            Field("id", .integer, required: true), Field("tenant", .integer, required: true),
            Field("label", .string, required: true, title: "Label"), Field("note", .string),
            Field("ratio", .number), Field("flag", .boolean), Field("day", .date), Field("moment", .datetime),
            Field("data", .binary), Field("author", .string),
        ],
        primaryKey: ["tenant", "id"],
        foreignKeys: [
            ForeignKey(fields: ["tenant"], table: "tenants", referencedFields: ["id"]),
            ForeignKey(fields: ["author"], table: "users", referencedFields: ["id"], pseudonymized: true),
        ])

    @Test(arguments: [false, true])
    func aTableSchemaGivesBackTheDeclaration(_ guarded: Bool) throws {
        let bytes = SchemaGenerator.tableSchema(for: Self.table, formulaGuard: guarded)
        let read = try BundleSchemas.fromTableSchema(bytes, name: "items", path: "items.tableschema.json")
        #expect(read.fields.map(\.name) == Self.table.fields.map(\.name))
        #expect(read.fields.map(\.type) == Self.table.fields.map(\.type))
        #expect(read.fields.map(\.required) == Self.table.fields.map(\.required))
        #expect(read.primaryKey == Self.table.primaryKey)
        #expect(read.foreignKeys == Self.table.foreignKeys)
    }

    @Test func aJSONSchemaGivesBackTheDeclarationKeyAndReferencesIncluded() throws {
        let bytes = SchemaGenerator.jsonSchema(for: Self.table)
        let read = try BundleSchemas.fromJSONSchema(bytes, name: "items", path: "items.schema.json")
        #expect(read.fields.map(\.name) == Self.table.fields.map(\.name))
        #expect(read.fields.map(\.type) == Self.table.fields.map(\.type))
        #expect(read.fields.map(\.required) == Self.table.fields.map(\.required))
        #expect(read.primaryKey == Self.table.primaryKey)
        #expect(read.foreignKeys == Self.table.foreignKeys)
    }

    @Test func anXMLSchemaGivesBackTheDeclarationKeyAndReferencesIncluded() throws {
        var table = Self.table
        // Constrained fields take other forms in the schema: a restriction, a union for limited text.
        table.fields.append(Field("kind", .string, required: true, constraints: Constraints(enumeration: ["a", "b"])))
        table.fields.append(Field("title", .string, constraints: Constraints(maxLength: 20)))
        table.fields.append(Field("score", .integer, constraints: Constraints(minimum: 0, maximum: 10)))
        table.fields.append(Field("size", .number, required: true, title: "Size", description: "Bytes & <more>"))
        let bytes = SchemaGenerator.xmlSchema(for: table)
        let read = try BundleSchemas.fromXMLSchema(bytes, name: "items", path: "items.xsd")
        #expect(read.fields.map(\.name) == table.fields.map(\.name))
        #expect(read.fields.map(\.type) == table.fields.map(\.type))
        #expect(read.fields.map(\.required) == table.fields.map(\.required))
        #expect(read.primaryKey == table.primaryKey)
        #expect(read.foreignKeys == table.foreignKeys)
        // Without Handover's annotation (an older bundle), the fields still; no key.
        let text = String(decoding: bytes, as: UTF8.self)
        let start = try #require(text.range(of: "  <xs:annotation><xs:appinfo"))
        let end = try #require(text.range(of: "</xs:appinfo></xs:annotation>\n"))
        let older = try BundleSchemas.fromXMLSchema(
            Array((text[..<start.lowerBound] + text[end.upperBound...]).utf8), name: "items", path: "items.xsd")
        #expect(older.fields.map(\.type) == table.fields.map(\.type) && older.primaryKey.isEmpty)
        // A DOCTYPE is refused, whatever it declares.
        let hostile = "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"aaaa\">]>" + text.drop { $0 != "\n" }
        #expect(throws: HandoverError.self) {
            try BundleSchemas.fromXMLSchema(Array(hostile.utf8), name: "items", path: "items.xsd")
        }
    }

    @Test func hostileSchemasAreRefusedNamingTheFile() throws {
        let cases = [
            #"{"fields": [{"name": "a", "type": "geopoint"}]}"#, #"{"fields": "no"}"#, "not json",
            #"{"fields": [{"name": "bad name!", "type": "string"}]}"#,
            #"{"fields": [{"name": "a", "type": "string"}], "primaryKey": ["b"]}"#,
            #"{"fields": [{"name": "a", "type": "string"}, {"name": "a", "type": "string"}]}"#,
        ]
        for text in cases {
            #expect(throws: HandoverError.self) {
                try BundleSchemas.fromTableSchema(
                    Array(text.utf8), name: "t", path: "data/schemas/x/t.tableschema.json")
            }
            do {
                _ = try BundleSchemas.fromTableSchema(
                    Array(text.utf8), name: "t", path: "data/schemas/x/t.tableschema.json")
            } catch let error as HandoverError {
                #expect(error.message.contains("t.tableschema.json"), "\(error.message)")
            }
        }
    }

    @Test func theManifestVersionIsReadAsMajorAndMinor() throws {
        let version = try BundleSchemas.manifestVersion(Array(#"{"manifestVersion": "2.0"}"#.utf8))
        #expect(version.major == 2 && version.minor == 0)
        #expect(throws: HandoverError.self) {
            try BundleSchemas.manifestVersion(Array(#"{"manifestVersion": "x"}"#.utf8))
        }
    }

    @Test func tablesAreCreatedAfterTheTablesTheyReferTo() {
        func table(_ name: String, _ refersTo: [String]) -> DestinationTable {
            DestinationTable(
                name: TableName(schema: nil, name: name), columns: [], primaryKey: [],
                references: refersTo.map {
                    DestinationReference(
                        columns: ["x"], table: TableName(schema: nil, name: $0), referencedColumns: ["id"])
                })
        }
        let ordered = Importer.dependencyOrder([
            table("comments", ["content", "users"]), table("content", ["users"]), table("users", ["tenants", "users"]),
            table("tenants", []), table("a", ["b"]), table("b", ["a"]),
        ]).map(\.name.name)
        #expect(ordered.firstIndex(of: "tenants")! < ordered.firstIndex(of: "users")!)
        #expect(ordered.firstIndex(of: "users")! < ordered.firstIndex(of: "content")!)
        #expect(ordered.firstIndex(of: "content")! < ordered.firstIndex(of: "comments")!)
        #expect(Set(ordered) == ["comments", "content", "users", "tenants", "a", "b"], "a cycle is kept, not lost")
    }

    @Test func mapScalarsAreQuotedWhateverTheyHold() {
        #expect(ImportedMap.quoted("plain") == "\"plain\"")
        #expect(ImportedMap.quoted("a\"b\\c\nd\u{1}\u{2028}") == "\"a\\\"b\\\\c\\nd\\u0001\\u2028\"")
    }
}
