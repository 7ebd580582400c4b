public import Foundation

/// A `handover` command running in the background (a worker, a server), its standard output and standard error
/// collected as they come, on threads of their own.
public final class ToolProcess: @unchecked Sendable {
    /// The process.
    public let process: Process
    private let lock = NSLock()
    private var output = ""
    private var errors = ""

    /// Starts `handover COMMAND ARGUMENTS…` with `environment` (the test's own when nil).
    public init(_ command: String, _ arguments: [String], environment: [String: String]? = nil) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: handoverBinary)
        process.arguments = [command] + arguments
        if let environment { process.environment = environment }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        self.process = process
        try process.run()
        for (handle, isError) in [(out.fileHandleForReading, false), (err.fileHandleForReading, true)] {
            Thread { [self] in
                while case let data = handle.availableData, !data.isEmpty {
                    let text = String(decoding: data, as: UTF8.self)
                    lock.withLock {
                        if isError { errors += text } else { output += text }
                    }
                }
            }.start()
        }
    }

    /// Standard output so far.
    public var stdout: String { lock.withLock { output } }
    /// Standard error so far.
    public var stderr: String { lock.withLock { errors } }

    /// Waits (at most `seconds`) until standard output contains `text`, looking every 2 ms on the caller's thread:
    /// tests that signal a process at a given moment need that promptness (a continuation resumed by another
    /// thread waits for a free thread of the cooperative pool, which a loaded suite may not have for seconds).
    public func waitFor(_ text: String, seconds: Double = 30) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline && !stdout.contains(text) { usleep(2_000) }
        return stdout.contains(text)
    }

    /// Waits for the process to end and returns its exit status.
    public func wait() -> Int32 {
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Waits for the process to end on a thread of its own (not blocking the cooperative pool) and returns its
    /// exit status.
    public func exitStatus() async -> Int32 {
        await withCheckedContinuation { continuation in
            Thread { [process] in
                process.waitUntilExit()
                continuation.resume(returning: process.terminationStatus)
            }.start()
        }
    }

    /// A server's base URL once it prints "listening on URL" (waiting at most 180 s: a loaded machine starts it
    /// slowly).
    public func baseURL() async -> String? {
        let pattern = #"listening on (https?://[0-9.]+:[0-9]+)"#
        let deadline = Date().addingTimeInterval(180)
        while Date() < deadline {
            if let range = stderr.range(of: pattern, options: .regularExpression) {
                return String(stderr[range].dropFirst("listening on ".count))
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        // A busy test process may resume this loop only after the deadline: look once more.
        return stderr.range(of: pattern, options: .regularExpression).map {
            String(stderr[$0].dropFirst("listening on ".count))
        }
    }
}
