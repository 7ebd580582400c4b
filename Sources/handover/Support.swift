import ArgumentParser
import Foundation
import HandoverBundle
import HandoverCore
import HandoverStore
import Logging

/// Options every command shares.
struct CommonOptions: ParsableArguments {
    @Flag(name: .long, help: "Print one JSON object on standard output instead of a summary.")
    var json = false

    @Flag(name: .long, help: "Log what happens on standard error (never data values).")
    var verbose = false

    @Flag(name: .long, help: "Print no progress and no warnings on standard error; errors still show.")
    var quiet = false

    /// A logger writing to standard error: warnings only, or debug with --verbose.
    func makeLogger() -> Logger {
        var logger = Logger(label: "handover") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = verbose ? .debug : .warning
        return logger
    }
}

/// The meaning of each exit code (after BSD's sysexits).
enum ExitStatus {
    static let usage: Int32 = 64
    static let dataError: Int32 = 65
    static let noInput: Int32 = 66
    static let software: Int32 = 70
    static let cannotCreate: Int32 = 73
    static let ioError: Int32 = 74

    static func code(for error: HandoverError) -> Int32 {
        switch error.code {
        case .invalidArgument: usage
        case .invalidDatasetMap, .invalidSchema, .invalidData, .ambiguousSubject, .archiveCorrupt: dataError
        case .sourceUnavailable: noInput
        case .outputUnavailable, .outputExists: cannotCreate
        case .conflict, .notFound, .unsupportedVersion: dataError
        case .notVerified: 1
        case .archiveFailed, .sourceFailed, .formatFailed: ioError
        default: software
        }
    }
}

/// Runs `body`, turning a ``HandoverError`` into one line on standard error and its exit code.
func reportingErrors<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as HandoverError {
        printError(error.localizedMessage)
        throw ExitCode(ExitStatus.code(for: error))
    }
}

/// Writes a line to standard error, control and bidirectional-override characters escaped (a message can
/// name a file or a database column, and those can hold anything).
func printError(_ text: String) {
    FileHandle.standardError.write(Data(("handover: error: " + safe(text) + "\n").utf8))
}

/// Writes a warning to standard error, escaped as ``printError(_:)`` does.
func printWarning(_ text: String) {
    FileHandle.standardError.write(Data(("handover: warning: " + safe(text) + "\n").utf8))
}

/// Prints a value as one line of JSON on standard output. C1 controls and bidirectional overrides, which JSON
/// allows raw, are written as `\uXXXX` escapes (the same value), so that the line is safe on a terminal too.
func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    let text = ControlCharacters.escaped(String(decoding: try encoder.encode(value), as: UTF8.self)) { scalar in
        let hex = String(scalar.value, radix: 16)
        return "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
    }
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}

/// Stored text made safe to print on a terminal: control and bidirectional-override characters as `\u{…}`.
func safe(_ text: String) -> String { ControlCharacters.escaped(text) }

/// The JSON report of an export.
struct ExportReport: Encodable {
    struct File: Encodable {
        var path: String
        var format: String
        var table: String
        var records: Int
        var bytes: Int64
        var sha256: String
    }

    var archive: String
    var parts: [String]
    var archiveBytes: Int64
    var request: String
    var status: String
    var records: Int
    var files: [File]
    var tables: [String: Int]

    init(_ result: BundleResult) {
        archive = result.archivePath
        parts = result.parts
        archiveBytes = result.archiveBytes
        request = result.manifest.request.id.rawValue
        status = result.manifest.status.rawValue
        records = result.manifest.records
        files = result.manifest.files.map {
            File(
                path: $0.path, format: $0.format, table: $0.exporter + "." + $0.table, records: $0.records,
                bytes: $0.bytes, sha256: $0.sha256)
        }
        var tables: [String: Int] = [:]
        for exporter in result.manifest.exporters {
            for table in exporter.tables { tables[exporter.id + "." + table.name] = table.records }
        }
        self.tables = tables
    }
}

/// A human summary of an export: where the archive is, records per table, files and bytes.
func printSummary(_ result: BundleResult) {
    let manifest = result.manifest
    var lines = ["Bundle \(manifest.request.id) (\(manifest.request.purpose.rawValue), \(manifest.status.rawValue))"]
    lines.append("  archive: \(result.archivePath)")
    if result.parts.count > 1 {
        for part in result.parts { lines.append("    part: \(part)") }
    }
    let formats = Set(manifest.files.map(\.format)).sorted().joined(separator: ", ")
    for exporter in manifest.exporters {
        for table in exporter.tables {
            let name = "\(exporter.id)/\(table.name)"
            lines.append(
                "  " + name.rightPadded(max(34, name.count + 1))
                    + String(table.records).leftPadded(8) + " records")
        }
    }
    let bytes = manifest.files.reduce(Int64(0)) { $0 + $1.bytes }
    lines.append(
        "  \(manifest.files.count) files (\(formats)), \(manifest.records) records, \(bytes) bytes of data, archive \(result.archiveBytes) bytes"
    )
    if let contents = manifest.contents, !contents.isEmpty {
        let media = contents.reduce(Int64(0)) { $0 + $1.bytes }
        lines.append("  \(contents.count) files that records name (\(media) bytes), in data/files/")
    }
    let missing = manifest.exporters.reduce(0) { $0 + ($1.missingFiles?.count ?? 0) }
    if missing > 0 { lines.append("  \(missing) files that records name are missing: see manifest.json") }
    print(lines.joined(separator: "\n"))
}

extension String {
    /// The string with spaces after it up to `width`, as `padding(toLength:withPad:startingAt:)` pads it (counting
    /// UTF-16 units, and cutting a longer string), without going through `NSString` for ASCII text (as many UTF-8
    /// bytes as characters means one byte each: ASCII).
    func rightPadded(_ width: Int) -> String {
        guard utf8.count == count else {
            return padding(toLength: width, withPad: " ", startingAt: 0)
        }
        return count >= width ? String(self.prefix(width)) : self + String(repeating: " ", count: width - count)
    }

    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
