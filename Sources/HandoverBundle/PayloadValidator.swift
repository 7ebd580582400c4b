internal import Foundation
public import HandoverCore
public import HandoverFormats
internal import HandoverJSONSchema

/// Validates one payload file against its schema file, as a stream.
///
/// The same code checks every file before an export is published and every file of a received
/// bundle in `verify`: only the schema file is needed, never the exporter that wrote it.
public struct PayloadValidator {
    fileprivate enum Checker {
        case json(JSONSchema)
        case xml(XMLSchemaValidator)
        case csv(CSVTableValidator)
    }

    fileprivate let checker: Checker

    /// Compiles the schema file of `kind`.
    /// - Throws: ``HandoverError/Code/invalidSchema`` when the schema file is not usable.
    public init(kind: SchemaKind, schema: [UInt8]) throws {
        switch kind {
        case .jsonSchema:
            let document = try JSONValue.parse(schema)
            checker = .json(try JSONSchema(document, formatAssertion: true))
        case .xmlSchema:
            checker = .xml(try XMLSchemaValidator(schema: schema))
        case .tableSchema:
            checker = .csv(try CSVTableValidator(schema: try TableSchemaReader.read(schema)))
        }
    }

    /// Validates a file read from `source`.
    /// - Returns: The number of records and up to `maxErrors` problems, described without data values.
    /// - Throws: What `source` throws; ``HandoverError/Code/invalidData`` for a document that cannot be parsed at all.
    public func validate(from source: inout some ByteSource, maxErrors: Int = 20) throws -> (
        records: Int, problems: [String]
    ) {
        switch checker {
        case .json(let schema):
            let result = try schema.validateArray(from: &source, maxErrors: maxErrors)
            return (
                result.count,
                result.errors.map { "at \($0.instanceLocation.isEmpty ? "/" : $0.instanceLocation): \($0.message)" }
            )
        case .xml(let validator):
            let result = try validator.validate(from: &source, maxErrors: maxErrors)
            return (result.rows, result.errors.map(\.description))
        case .csv(let validator):
            let result = try validator.validate(from: &source, maxErrors: maxErrors)
            return (result.rows, result.errors.map(\.description))
        }
    }
}

extension PayloadValidator {
    /// Validates a CSV file as ``validate(from:maxErrors:)`` does and reads some of its columns in the same pass, as
    /// `CSVTableValidator/validate(from:maxErrors:columns:types:_:)` does; nil (having read nothing) when the
    /// validator is not a CSV file's.
    func validate(
        from source: inout some ByteSource, maxErrors: Int, columns: [String], types: [FieldType],
        _ body: ([Value]) throws -> Void
    ) throws -> (records: Int, problems: [String], columnRecords: Int?, shortRecords: Int)? {
        guard case .csv(let validator) = checker else { return nil }
        let found = try validator.validate(
            from: &source, maxErrors: maxErrors, columns: columns, types: types, body)
        return (found.result.rows, found.result.errors.map(\.description), found.columnRecords, found.shortRecords)
    }
}

/// Reads a Frictionless Table Schema back into a ``TableSchema``.
enum TableSchemaReader {
    static func read(_ bytes: [UInt8]) throws -> TableSchema {
        func fail(_ what: String) -> HandoverError {
            HandoverError(.invalidSchema, "not a usable Table Schema: \(what)")
        }
        guard let root = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw fail("not a JSON object")
        }
        guard let entries = root["fields"] as? [[String: Any]], !entries.isEmpty else { throw fail("no fields") }
        var fields: [Field] = []
        for entry in entries {
            guard let name = entry["name"] as? String, let typeName = entry["type"] as? String else {
                throw fail("a field without name or type")
            }
            let type: FieldType
            switch (typeName, entry["format"] as? String) {
            case ("string", "binary"): type = .binary
            case ("string", _): type = .string
            case ("integer", _): type = .integer
            case ("number", _): type = .number
            case ("boolean", _): type = .boolean
            case ("date", _): type = .date
            case ("datetime", _): type = .datetime
            default: throw fail("field \(name) has type \(typeName), which Handover does not write")
            }
            let rules = entry["constraints"] as? [String: Any] ?? [:]
            let constraints = Constraints(
                enumeration: rules["enum"] as? [String], pattern: rules["pattern"] as? String,
                minimum: (rules["minimum"] as? NSNumber)?.doubleValue,
                maximum: (rules["maximum"] as? NSNumber)?.doubleValue,
                minLength: (rules["minLength"] as? NSNumber)?.intValue,
                maxLength: (rules["maxLength"] as? NSNumber)?.intValue)
            fields.append(
                Field(
                    name, type, required: rules["required"] as? Bool ?? false, title: entry["title"] as? String,
                    description: entry["description"] as? String, constraints: constraints))
        }
        let schema = TableSchema(name: "table", fields: fields, primaryKey: root["primaryKey"] as? [String] ?? [])
        do {
            try schema.validate()
        } catch let error as HandoverError {
            throw fail(error.message)
        }
        return schema
    }
}
