internal import HandoverCore
internal import HandoverFormats

/// `data/index.html`: a page a person opens offline in any browser to see what the bundle holds.
///
/// Self-contained (inline style, no scripts, nothing fetched) and every text HTML-escaped.
enum IndexPage {
    /// The most rows a table shows; the page links to the full files for the rest.
    static let rowLimit = 1000

    /// The first rows of one table, as text.
    struct Sample {
        var exporter: String
        var schema: TableSchema
        var records: Int
        var rows: [[String?]]
        var files: [(format: String, path: String)]
    }

    /// A value as the page shows it; nil for null.
    static func text(_ value: Value) -> String? {
        switch value {
        case .null: nil
        case .string(let text): text
        case .integer(let value): String(value)
        case .number(let value): value.description
        case .decimal(let text): text
        case .boolean(let value): value ? "true" : "false"
        case .date(let text): text
        case .datetime(let time): time.iso8601
        case .binary(let bytes): "(\(bytes.count) bytes)"
        }
    }

    static func render(
        request: Manifest.RequestRecord, generatedAt: Timestamp, exporters: [Manifest.ExporterRecord],
        samples: [Sample], contents: [Manifest.ContentRecord] = [],
        csvFormulaGuard: Bool = false
    ) -> [UInt8] {
        let contentPaths = Set(contents.map(\.path))
        let purpose: String =
            switch request.purpose {
            case .access: "a copy of personal data (GDPR Art. 15, right of access)"
            case .portability: "personal data in a portable form (GDPR Art. 20, right to data portability)"
            case .controllerTransfer: "all data of a controller, returned by its processor (GDPR Art. 28(3)(g))"
            }
        let scope: String =
            request.scope.kind == "subject"
            ? "one person" + (request.scope.tenant.map { " within organisation " + $0 } ?? "")
            : "organisation " + (request.scope.tenant ?? "")
        var h = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Data export \(escape(request.id.rawValue))</title>
            <style>
            body{font-family:system-ui,sans-serif;margin:2rem;line-height:1.4;color:#222}
            table{border-collapse:collapse;margin:0.5rem 0 2rem;font-size:0.9rem}
            th,td{border:1px solid #ccc;padding:0.25rem 0.5rem;text-align:left;vertical-align:top;white-space:pre-wrap}
            th{background:#f3f3f3} td.null{color:#999;font-style:italic}
            .note{background:#fff8dc;padding:0.5rem;border:1px solid #e6d9a8}
            </style>
            </head>
            <body>
            <h1>Data export \(escape(request.id.rawValue))</h1>
            <p>This bundle holds \(escape(purpose)), for \(escape(scope)).
            Request received \(escape(request.receivedAt.iso8601)); bundle generated \(escape(generatedAt.iso8601)).</p>
            <p>The complete data is in the files listed with each table (JSON, CSV and XML), with their schemas in
            <code>schemas/</code>. <code>manifest.json</code> beside this folder lists every file with its checksum.</p>

            """
        if csvFormulaGuard {
            h += "<p id=\"formula-guard\">In the CSV files, a text that begins with =, +, -, @, a tab or a line "
            h += "break has an apostrophe (') added in front, so that a spreadsheet shows it as text instead of "
            h += "running it as a formula. The JSON and XML files hold every text exactly, without it.</p>\n"
        }
        let repaired = exporters.filter { !($0.repairs ?? []).isEmpty }
        if !repaired.isEmpty {
            h += "<p class=\"note\" id=\"repairs\"><strong>Some values were repaired.</strong> Every record is "
            h += "here, but these values could not be written as the database holds them: text that was not valid "
            h += "UTF-8 has each unreadable sequence replaced by \u{FFFD}, and a value that does not fit its field's "
            h += "type is left empty there and written as text in the field named beside it.</p>\n<ul>\n"
            for exporter in repaired {
                for repair in exporter.repairs ?? [] {
                    h += "<li>\(escape(exporter.id)) / \(escape(repair.table)) / \(escape(repair.field)): "
                    h += "\(repair.count) value\(repair.count == 1 ? "" : "s") "
                    switch repair.kind {
                    case .invalidText: h += "with text that was not valid UTF-8"
                    case .unfitValue:
                        h += "that did not fit the field's type"
                        if let field = repair.textField { h += ", as text in \(escape(field))" }
                    }
                    h += "</li>\n"
                }
            }
            h += "</ul>\n"
        }
        let missing = exporters.filter { !($0.missingFiles ?? []).isEmpty }
        if !missing.isEmpty {
            h += "<p class=\"note\" id=\"missing-files\"><strong>Some files are missing.</strong> Every record is "
            h += "here, but these files that records name could not be added to this bundle:</p>\n<ul>\n"
            for exporter in missing {
                for file in exporter.missingFiles ?? [] {
                    h += "<li>\(escape(exporter.id)) / \(escape(file.table)), record \(escape(file.row)), "
                    h += "\(escape(file.field)): \(escape(file.reason))</li>\n"
                }
            }
            h += "</ul>\n"
        }
        let unfinished = exporters.filter {
            $0.status != .complete && ($0.repairs ?? []).isEmpty && ($0.missingFiles ?? []).isEmpty
        }
        if !unfinished.isEmpty {
            h += "<p class=\"note\" id=\"incomplete\"><strong>This export is incomplete.</strong> "
            h += "Some of the data could not be exported and is not in this bundle:</p>\n<ul>\n"
            for exporter in unfinished {
                h += "<li>\(escape(exporter.id)): \(escape(exporter.status.rawValue))"
                h += exporter.reason.map { " (\(escape($0)))" } ?? ""
                h += "</li>\n"
            }
            h += "</ul>\n"
        }
        h += "<h2>Contents</h2>\n<ul>\n"
        for exporter in exporters {
            h +=
                "<li>\(escape(exporter.id)) (version \(escape(exporter.version)), \(escape(exporter.status.rawValue)))<ul>\n"
            for table in exporter.tables {
                h +=
                    "<li><a href=\"#\(anchor(exporter.id, table.name))\">\(escape(table.name))</a>: \(table.records) record\(table.records == 1 ? "" : "s")</li>\n"
            }
            h += "</ul></li>\n"
        }
        if !contents.isEmpty {
            h += "<li><a href=\"#files\">Files</a>: \(contents.count) file\(contents.count == 1 ? "" : "s")</li>\n"
        }
        h += "</ul>\n"
        for sample in samples {
            let title = sample.schema.title ?? sample.schema.name
            h += "<h2 id=\"\(anchor(sample.exporter, sample.schema.name))\">\(escape(title))</h2>\n"
            if let description = sample.schema.description { h += "<p>\(escape(description))</p>\n" }
            h += "<p>\(sample.records) record\(sample.records == 1 ? "" : "s"). Files: "
            h += sample.files.map { "<a href=\"\(escape($0.path))\">\(escape($0.format.uppercased()))</a>" }.joined(
                separator: ", ")
            h += "</p>\n"
            if sample.records > sample.rows.count {
                h +=
                    "<p class=\"note\">Showing the first \(sample.rows.count) of \(sample.records) records; the files above hold them all.</p>\n"
            }
            guard !sample.rows.isEmpty else {
                h += "<p>No records.</p>\n"
                continue
            }
            h +=
                "<table>\n<tr>" + sample.schema.fields.map { "<th>\(escape($0.title ?? $0.name))</th>" }.joined()
                + "</tr>\n"
            let folder = "data/files/" + sample.exporter + "/" + sample.schema.name + "/"
            for row in sample.rows {
                h += "<tr>"
                for cell in row {
                    guard let cell else {
                        h += "<td class=\"null\">empty</td>"
                        continue
                    }
                    // A value that names a file carried into the bundle links to it.
                    if contentPaths.contains(folder + cell) {
                        h +=
                            "<td><a href=\"\(escape(urlPath(String((folder + cell).dropFirst(5)))))\">\(escape(cell))</a></td>"
                    } else {
                        h += "<td>\(escape(cell))</td>"
                    }
                }
                h += "</tr>\n"
            }
            h += "</table>\n"
        }
        if !contents.isEmpty {
            h += "<h2 id=\"files\">Files</h2>\n<p>The files records name, as they were stored. "
            h += "Recordings and pictures play and show here where the browser can.</p>\n<ul class=\"files\">\n"
            for (number, file) in contents.enumerated() {
                let link = escape(urlPath(String(file.path.dropFirst(5))))
                let name = escape(String(file.path.split(separator: "/").dropFirst(4).joined(separator: "/")))
                h += "<li><a href=\"\(link)\">\(name)</a> (\(escape(file.mediaType)), \(file.bytes) bytes; "
                h += "\(escape(file.table)), record \(escape(file.row)))"
                // The first files inline; a page of thousands of players would not open.
                if number < 200 {
                    if file.mediaType.hasPrefix("audio/") {
                        h += "<br><audio controls preload=\"none\" src=\"\(link)\"></audio>"
                    } else if file.mediaType.hasPrefix("video/") {
                        h += "<br><video controls preload=\"none\" width=\"480\" src=\"\(link)\"></video>"
                    } else if file.mediaType.hasPrefix("image/") {
                        h += "<br><img loading=\"lazy\" style=\"max-width:480px\" alt=\"\(name)\" src=\"\(link)\">"
                    }
                }
                h += "</li>\n"
            }
            h += "</ul>\n"
        }
        h += "</body>\n</html>\n"
        return Array(h.utf8)
    }

    /// A relative path as a URL path: every byte but unreserved characters and `/` percent-encoded.
    static func urlPath(_ path: String) -> String {
        var result = ""
        for byte in path.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"), UInt8(ascii: "/"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                result +=
                    "%" + String(byte >> 4, radix: 16, uppercase: true) + String(byte & 15, radix: 16, uppercase: true)
            }
        }
        return result
    }

    static func anchor(_ exporter: String, _ table: String) -> String {
        "t-" + exporter + "-" + table
    }

    /// HTML escaping of text and attribute values; characters HTML cannot show become U+FFFD.
    static func escape(_ text: String) -> String {
        MarkupText.escape(text, replacingControlCharacters: true)
    }
}
