import Foundation
import FoundationXML

/// A table file parsed back by an independent reader: one dictionary per row, field → text (nil for null).
public typealias ParsedTable = [[String: String?]]

/// Reads a table file of any of the three formats with a reader that shares no code with the writers.
public func parseTable(_ bytes: [UInt8], format: String) throws -> ParsedTable {
    switch format {
    case "json": return try parseJSONTable(bytes)
    case "csv": return try parseCSVTable(bytes)
    case "xml": return try parseXMLTable(bytes)
    default: throw CocoaError(.fileReadUnknown)
    }
}

func parseJSONTable(_ bytes: [UInt8]) throws -> ParsedTable {
    guard let array = try JSONSerialization.jsonObject(with: Data(bytes)) as? [[String: Any]] else {
        throw CocoaError(.coderReadCorrupt)
    }
    return array.map { object in
        object.mapValues { value -> String? in
            switch value {
            case is NSNull: return nil
            case let flag as Bool where type(of: value) == Bool.self: return flag ? "true" : "false"
            case let number as NSNumber: return number.stringValue
            case let text as String: return text
            default: return "\(value)"
            }
        }
    }
}

func parseCSVTable(_ bytes: [UInt8]) throws -> ParsedTable {
    let records = try parseCSV(String(decoding: bytes, as: UTF8.self))
    guard let header = records.first else { throw CocoaError(.coderReadCorrupt) }
    return records.dropFirst().map { record in
        var row: [String: String?] = [:]
        for (name, value) in zip(header, record) { row[name ?? ""] = value }
        return row
    }
}

/// One XML field element as written: its text and its attributes.
public struct XMLField: Sendable {
    /// The element's text content.
    public var text: String
    /// Its attributes, by qualified name.
    public var attributes: [String: String]
}

/// Parses a Handover XML table with Foundation's parser: one dictionary per `<row>`, element name → field.
public func parseXMLRows(_ bytes: [UInt8]) throws -> [[String: XMLField]] {
    final class Collector: NSObject, XMLParserDelegate {
        var rows: [[String: XMLField]] = []
        var current: [String: XMLField] = [:]
        var field: String?
        var attributes: [String: String] = [:]
        var text = ""
        func parser(
            _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
            attributes: [String: String]
        ) {
            if name == "row" {
                current = [:]
            } else if name != "table" {
                field = name
                self.attributes = attributes
                text = ""
            }
        }
        func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }
        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            if name == "row" {
                rows.append(current)
            } else if let field, name == field {
                current[field] = XMLField(text: text, attributes: attributes)
                self.field = nil
            }
        }
    }
    let parser = XMLParser(data: Data(bytes))
    let collector = Collector()
    parser.delegate = collector
    guard parser.parse() else { throw parser.parserError ?? CocoaError(.coderReadCorrupt) }
    return collector.rows
}

func parseXMLTable(_ bytes: [UInt8]) throws -> ParsedTable {
    try parseXMLRows(bytes).map { row in
        row.mapValues { field -> String? in
            if field.attributes["xsi:nil"] == "true" { return nil }
            if field.attributes["encoding"] == "base64", let data = Data(base64Encoded: field.text) {
                return String(decoding: data, as: UTF8.self)
            }
            return field.text
        }
    }
}
