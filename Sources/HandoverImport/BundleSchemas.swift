internal import HandoverCore
internal import HandoverFormats
internal import HandoverJSONSchema

/// Table declarations read back from a bundle's own schema files.
///
/// A bundle declares each table three times (JSON Schema, Table Schema, XML Schema), once per format it holds.
/// The Table Schema says the most (types, required fields, primary key, references); a JSON Schema written by
/// Handover 1.2 and later carries the key and references as `x-handover-…` annotations.
enum BundleSchemas {
    /// The table `name` as its Table Schema (`.tableschema.json`) declares it.
    static func fromTableSchema(_ bytes: [UInt8], name: String, path: String) throws -> TableSchema {
        let root = try document(bytes, path: path)
        guard case .array(let entries)? = root["fields"] else { throw invalid(path, "has no 'fields' list") }
        var fields: [Field] = []
        for entry in entries {
            guard case .string(let fieldName)? = entry["name"], case .string(let type)? = entry["type"] else {
                throw invalid(path, "has a field without a name or a type")
            }
            var fieldType: FieldType
            switch type {
            case "string": fieldType = entry["format"] == .string("binary") ? .binary : .string
            case "integer": fieldType = .integer
            case "number": fieldType = .number
            case "boolean": fieldType = .boolean
            case "date": fieldType = .date
            case "datetime": fieldType = .datetime
            default: throw invalid(path, "gives field \(fieldName.prefix(64)) a type Handover does not write")
            }
            let required = entry["constraints"]?["required"] == .bool(true)
            fields.append(Field(fieldName, fieldType, required: required, title: text(entry["title"])))
        }
        return try table(
            name: name, fields: fields, primaryKey: try names(root["primaryKey"], path),
            references: root["x-handover-references"], path: path)
    }

    /// The table `name` as its JSON Schema (`.schema.json`) declares it.
    static func fromJSONSchema(_ bytes: [UInt8], name: String, path: String) throws -> TableSchema {
        let root = try document(bytes, path: path)
        guard case .object(let properties)? = root["items"]?["properties"] else {
            throw invalid(path, "has no 'items.properties'")
        }
        var fields: [Field] = []
        for (fieldName, property) in properties {
            var required = true
            var base: String
            switch property["type"] {
            case .string(let type)?: base = type
            case .array(let types)? where types.count == 2 && types.contains(.string("null")):
                required = false
                guard case .string(let type) = types.first(where: { $0 != .string("null") }) else {
                    throw invalid(path, "gives field \(fieldName.prefix(64)) no type")
                }
                base = type
            default: throw invalid(path, "gives field \(fieldName.prefix(64)) no type Handover writes")
            }
            let fieldType: FieldType
            switch (base, property["format"], property["contentEncoding"]) {
            case ("string", .string("date")?, _): fieldType = .date
            case ("string", .string("date-time")?, _): fieldType = .datetime
            case ("string", _, .string("base64")?): fieldType = .binary
            case ("string", _, _): fieldType = .string
            case ("integer", _, _): fieldType = .integer
            case ("number", _, _): fieldType = .number
            case ("boolean", _, _): fieldType = .boolean
            default: throw invalid(path, "gives field \(fieldName.prefix(64)) a type Handover does not write")
            }
            fields.append(Field(fieldName, fieldType, required: required, title: text(property["title"])))
        }
        return try table(
            name: name, fields: fields, primaryKey: try names(root["x-handover-primaryKey"], path),
            references: root["x-handover-references"], path: path)
    }

    /// The table `name` as its XML Schema (`.xsd`) declares it: for a bundle that holds XML files only. The key and
    /// references come from Handover's annotation (written since bundle format 1.2); without it, the table has no
    /// primary key.
    static func fromXMLSchema(_ bytes: [UInt8], name: String, path: String) throws -> TableSchema {
        let declaration = try XMLSchemaReader.declaration(bytes, path: path)
        var root: JSONValue = .object([:])
        if let annotation = declaration.annotation {
            root = try document(Array(annotation.utf8), path: path)
        }
        return try table(
            name: name, fields: declaration.fields, primaryKey: try names(root["x-handover-primaryKey"], path),
            references: root["x-handover-references"], path: path)
    }

    /// The declared foreign keys of `datapackage.json` (those that hold within the bundle: `verify` checks them),
    /// by the path of the CSV file that holds them; each names the path of the file it refers to.
    static func declaredForeignKeys(_ bytes: [UInt8]) throws -> [String: [(
        fields: [String], path: String, referenced: [String]
    )]] {
        let root = try document(bytes, path: "datapackage.json")
        guard case .array(let resources)? = root["resources"] else { return [:] }
        var pathByName: [String: String] = [:]
        for resource in resources {
            if case .string(let name)? = resource["name"], case .string(let path)? = resource["path"] {
                pathByName[name] = path
            }
        }
        var result: [String: [(fields: [String], path: String, referenced: [String])]] = [:]
        for resource in resources {
            guard case .string(let path)? = resource["path"],
                case .array(let keys)? = resource["schema"]?["foreignKeys"]
            else { continue }
            for key in keys {
                let fields = try names(key["fields"], "datapackage.json")
                let referenced = try names(key["reference"]?["fields"], "datapackage.json")
                let target: String
                if case .string(let resourceName)? = key["reference"]?["resource"], !resourceName.isEmpty {
                    guard let targetPath = pathByName[resourceName] else { continue }
                    target = targetPath
                } else {
                    target = path
                }
                result[path, default: []].append((fields, target, referenced))
            }
        }
        return result
    }

    /// The `manifestVersion` of a manifest, as major and minor numbers.
    static func manifestVersion(_ bytes: [UInt8]) throws -> (major: Int, minor: Int, text: String) {
        let root = try document(bytes, path: "manifest.json")
        guard case .string(let text)? = root["manifestVersion"] else {
            throw HandoverError(.invalidData, "manifest.json has no manifestVersion")
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 2, let major = Int(parts[0]), let minor = Int(parts[1]) else {
            throw HandoverError(.invalidData, "manifest.json has a manifestVersion that is not a version number")
        }
        return (major, minor, String(text.prefix(20)))
    }

    private static func table(
        name: String, fields: [Field], primaryKey: [String], references: JSONValue?, path: String
    ) throws -> TableSchema {
        var foreignKeys: [ForeignKey] = []
        if case .array(let entries)? = references {
            for entry in entries {
                guard case .string(let target)? = entry["reference"]?["table"] else { continue }
                foreignKeys.append(
                    ForeignKey(
                        fields: try names(entry["fields"], path), table: target,
                        referencedFields: try names(entry["reference"]?["fields"], path),
                        pseudonymized: entry["pseudonymized"] == .bool(true)))
            }
        }
        let schema = TableSchema(name: name, fields: fields, primaryKey: primaryKey, foreignKeys: foreignKeys)
        do {
            try schema.validate()
        } catch let error as HandoverError {
            throw HandoverError(.invalidSchema, "\(path): \(error.message)")
        }
        return schema
    }

    private static func document(_ bytes: [UInt8], path: String) throws -> JSONValue {
        do {
            return try JSONValue.parse(bytes)
        } catch {
            throw invalid(path, "is not JSON")
        }
    }

    private static func names(_ value: JSONValue?, _ path: String) throws -> [String] {
        switch value {
        case nil: return []
        case .string(let name)?: return [name]
        case .array(let items)?:
            return try items.map { item in
                guard case .string(let name) = item else { throw invalid(path, "lists a field name that is not text") }
                return name
            }
        default: throw invalid(path, "lists field names in a form Handover does not write")
        }
    }

    private static func text(_ value: JSONValue?) -> String? {
        if case .string(let text)? = value { return text }
        return nil
    }

    private static func invalid(_ path: String, _ problem: String) -> HandoverError {
        HandoverError(.invalidSchema, "\(path) \(problem)")
    }
}
