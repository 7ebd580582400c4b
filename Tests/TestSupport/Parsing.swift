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

func parseXMLTable(_ bytes: [UInt8]) throws -> ParsedTable {
    final class Collector: NSObject, XMLParserDelegate {
        var rows: ParsedTable = []
        var current: [String: String?] = [:]
        var field: String?
        var isNil = false
        var isBase64 = false
        var text = ""
        func parser(
            _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
            attributes: [String: String]
        ) {
            if name == "row" {
                current = [:]
            } else if name != "table" {
                field = name
                isNil = attributes["xsi:nil"] == "true"
                isBase64 = attributes["encoding"] == "base64"
                text = ""
            }
        }
        func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }
        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            if name == "row" {
                rows.append(current)
            } else if let field, name == field {
                if isNil {
                    current[field] = .some(nil)
                } else if isBase64, let data = Data(base64Encoded: text) {
                    current[field] = String(decoding: data, as: UTF8.self)
                } else {
                    current[field] = text
                }
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
