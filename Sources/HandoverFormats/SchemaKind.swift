/// The schema that describes one format of a table's file.
public enum SchemaKind: String, Sendable, Hashable, CaseIterable, Codable {
    /// JSON Schema draft 2020-12, for the JSON file.
    case jsonSchema = "json-schema"
    /// XML Schema 1.0, for the XML file.
    case xmlSchema = "xsd"
    /// Frictionless Table Schema, for the CSV file.
    case tableSchema = "table-schema"

    /// The schema kind that describes files of `format`.
    public init(describing format: TableFormat) {
        switch format {
        case .json: self = .jsonSchema
        case .csv: self = .tableSchema
        case .xml: self = .xmlSchema
        }
    }

    /// The file name suffix, such as `.schema.json`.
    public var fileSuffix: String {
        switch self {
        case .jsonSchema: ".schema.json"
        case .xmlSchema: ".xsd"
        case .tableSchema: ".tableschema.json"
        }
    }

    /// The IANA media type.
    public var mediaType: String {
        switch self {
        case .jsonSchema: "application/schema+json"
        case .xmlSchema: "application/xml"
        case .tableSchema: "application/json"
        }
    }
}
