import Foundation
import HandoverArchive
import HandoverCore

/// A fresh folder under the system's temporary folder, removed after `body`.
public func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let path = NSTemporaryDirectory() + "handover-test-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

/// The names in a folder, sorted.
public func listFolder(_ path: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
}

/// The root of this package, found from this file's path.
public let packageRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

/// The `handover` binary under test: `HANDOVER_BIN`, or the debug build.
public let handoverBinary: String = {
    if let path = ProcessInfo.processInfo.environment["HANDOVER_BIN"], !path.isEmpty { return path }
    return packageRoot + "/.build/debug/handover"
}()

/// What a finished process did.
public struct ProcessResult: Sendable {
    /// Its exit status.
    public var status: Int32
    /// Everything it wrote to standard output.
    public var stdout: String
    /// Everything it wrote to standard error.
    public var stderr: String
}

/// Runs a program to completion with no standard input.
public func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws
    -> ProcessResult
{
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    // Read both pipes while the process runs, so neither fills up.
    nonisolated(unsafe) var errData = Data()
    // Signalled by the reading thread once `errData` is set: the wait orders that write before the read below.
    let errRead = DispatchSemaphore(value: 0)
    let errReader = Thread {
        errData = err.fileHandleForReading.readDataToEndOfFile()
        errRead.signal()
    }
    errReader.start()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    errRead.wait()
    return ProcessResult(
        status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errData, as: UTF8.self))
}

/// ``run(_:_:environment:)`` on a thread of its own, so that waiting for the program does not hold one of the
/// few threads Swift's concurrency runs on: a program that waits for a lock held by a task of this test process
/// (a PostgreSQL store being set up) would otherwise wait for ever once every such thread is waiting too.
public func runOffThread(_ executable: String, _ arguments: [String], environment: [String: String]? = nil)
    async throws -> ProcessResult
{
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(with: Result { try run(executable, arguments, environment: environment) })
        }
    }
}

/// Runs the `handover` binary.
public func handover(_ arguments: String...) throws -> ProcessResult {
    try run(handoverBinary, arguments)
}

/// Runs the `handover` binary with `arguments`.
public func handover(_ arguments: [String]) throws -> ProcessResult {
    try run(handoverBinary, arguments)
}

/// Every regular file of an archive, by entry name, read with libarchive.
public func readArchive(_ path: String) throws -> [String: [UInt8]] {
    try ArchiveReader.read(path) { reader in
        var files: [String: [UInt8]] = [:]
        while let entry = try reader.nextEntry() {
            guard entry.isRegularFile else { continue }
            files[entry.name] = try reader.readAll()
        }
        return files
    }
}

/// Writes every regular file of the archive at `path` under `folder` (created as needed) and returns the bundle's
/// folder in it: the first entry's top folder.
@discardableResult
public func unpackArchive(_ path: String, into folder: String) throws -> String {
    try unpack(try readArchive(path), into: folder)
}

/// Writes `files` (entry name to bytes, as ``readArchive(_:)`` returns them) under `folder`; returns the first
/// entry's top folder under it.
@discardableResult
public func unpack(_ files: [String: [UInt8]], into folder: String) throws -> String {
    for (entry, bytes) in files {
        let path = folder + "/" + entry
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
    return folder + "/" + (files.keys.sorted().first?.split(separator: "/").first.map(String.init) ?? "")
}

/// A strict RFC 4180 parser, independent of the writer under test.
///
/// Returns records of fields; a field is nil when it was empty and unquoted, "" when it was `""`.
public func parseCSV(_ text: String) throws -> [[String?]] {
    struct Malformed: Error, CustomStringConvertible {
        var description: String
    }
    let bytes = Array(text.utf8)
    var records: [[String?]] = []
    var record: [String?] = []
    var index = 0
    func field(_ start: Int, _ end: Int) -> String { String(decoding: bytes[start..<end], as: UTF8.self) }
    while index < bytes.count {
        if bytes[index] == UInt8(ascii: "\"") {
            var value: [UInt8] = []
            index += 1
            while true {
                guard index < bytes.count else { throw Malformed(description: "unterminated quoted field") }
                if bytes[index] == UInt8(ascii: "\"") {
                    if index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "\"") {
                        value.append(UInt8(ascii: "\""))
                        index += 2
                    } else {
                        index += 1
                        break
                    }
                } else {
                    value.append(bytes[index])
                    index += 1
                }
            }
            record.append(String(decoding: value, as: UTF8.self))
        } else {
            let start = index
            while index < bytes.count, bytes[index] != UInt8(ascii: ","), bytes[index] != 0x0D {
                if bytes[index] == UInt8(ascii: "\"") || bytes[index] == 0x0A {
                    throw Malformed(description: "quote or bare LF in an unquoted field")
                }
                index += 1
            }
            record.append(index == start ? nil : field(start, index))
        }
        guard index < bytes.count else { throw Malformed(description: "the last record has no CRLF") }
        if bytes[index] == UInt8(ascii: ",") {
            index += 1
        } else if bytes[index] == 0x0D, index + 1 < bytes.count, bytes[index + 1] == 0x0A {
            records.append(record)
            record = []
            index += 2
        } else {
            throw Malformed(description: "a field is followed by something other than a comma or CRLF")
        }
    }
    return records
}

/// A temporary folder for synchronous tests.
public func withTemporaryDirectorySync<T>(_ body: (String) throws -> T) throws -> T {
    let folder = NSTemporaryDirectory() + "handover-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    return try body(folder)
}
