public import HandoverCore

/// The dataset map of a database an import wrote: exporting it again gives the bundle's data files again, byte for
/// byte — the round-trip proof.
///
/// Every table holds one subject's or one tenant's rows, so each is `subject: all` and `tenant: all`; the subject
/// and tenant are looked up in the import ledger (`handover_imports`): export again with
/// `--subject request_id=<request id>` or `--tenant <tenant>`. Columns are declared with the bundle's types; columns
/// that name carried files have the table's folder under the files folder as their root. Constraints
/// (enumerations, patterns, lengths) are not carried into the map.
public enum ImportedMap {
    /// One map per exporter of `report`, as YAML, by exporter id; `filesFolder` as the import wrote files to
    /// (made absolute by the caller), `exporterVersions` from the bundle's manifest.
    public static func yaml(
        for report: ImportReport, filesFolder: String?, exporterVersions: [String: String]
    ) -> [String: String] {
        var maps: [String: String] = [:]
        let exporters = report.tables.map(\.exporter).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        for exporter in exporters {
            let tables = report.tables.filter { $0.exporter == exporter }
            var y = "# Written by handover import for the rows of bundle \(report.request) "
            y += "(manifest.json SHA-256 \(report.bundle)) in \(quoted(report.destination).dropFirst().dropLast()).\n"
            y += "# Every table holds the rows of that one bundle: 'all' exports each of them whole.\n"
            y +=
                "# Export again with --subject request_id=\(report.request) (a subject's bundle) or --tenant <tenant>.\n"
            y += "handover-map: 1\nexporter:\n  id: \(quoted(exporter))\n"
            y += "  version: \(quoted(exporterVersions[exporter] ?? "1"))\n"
            y += "subject:\n  table: \(LedgerEntry.tableName)\n  key: request_id\n"
            y += "tenant:\n  table: \(LedgerEntry.tableName)\n  key: tenant\n"
            y += "tables:\n"
            for table in tables {
                y += "  \(quoted(table.table)):\n"
                y += "    from: \(quoted(table.name))\n"
                if !table.primaryKey.isEmpty {
                    y += "    primary-key: [" + table.primaryKey.map(quoted).joined(separator: ", ") + "]\n"
                }
                y += "    subject: all\n    tenant: all\n    columns:\n"
                for column in table.columns {
                    var entry = "{type: \(column.storage.fieldType.rawValue), required: \(column.required)"
                    if column.namesFiles, let filesFolder {
                        entry += ", file: {root: \(quoted(filesFolder + "/" + exporter + "/" + table.table))}"
                    }
                    y += "      \(quoted(column.name)): \(entry)}\n"
                }
            }
            maps[exporter] = y
        }
        return maps
    }

    /// A YAML double-quoted scalar (JSON's escapes, which YAML reads alike).
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F || (0x80...0x9F).contains(scalar.value)
                    || scalar.value == 0x2028 || scalar.value == 0x2029 || scalar.value == 0xFEFF
                {
                    out += "\\u" + String(scalar.value, radix: 16).leftPadded(to: 4)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
