public import Foundation

/// `scripts/webhook-receiver.py` on loopback: a webhook receiver that checks every delivery's signature with
/// Python's own `hmac` and records it; it answers with the scripted statuses (204 once they are used up).
public final class WebhookReceiver: @unchecked Sendable {
    private let process: Process
    /// The receiver's record: one JSON line per delivery.
    public let log: String
    /// The receiver's URL (its query stands for a secret a receiver might take in the URL).
    public let url: String
    /// The file holding the shared secret (mode 0600), for `--notify-secret-file`.
    public let secretFile: String

    /// Starts a receiver whose files live in `folder`.
    public init(folder: String, script: [Int] = []) throws {
        secretFile = folder + "/webhook.secret"
        log = folder + "/webhook.jsonl"
        FileManager.default.createFile(
            atPath: secretFile, contents: Data("a webhook secret of thirty-two b\r\n".utf8),
            attributes: [.posixPermissions: 0o600])
        FileManager.default.createFile(atPath: log, contents: Data())
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [packageRoot + "/scripts/webhook-receiver.py", secretFile, log] + script.map(String.init)
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line += chunk
        }
        let port = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        url = "http://127.0.0.1:\(port)/hooks/handover?key=receiver-only"
    }

    /// The deliveries so far, each as the receiver recorded it: `eventId`, `type`, `signatureValid`,
    /// `validWithAnotherSecret`, `answered`, `body`.
    public var deliveries: [[String: Any]] {
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// Waits (at most `seconds`) until `count` deliveries have arrived.
    public func waitFor(_ count: Int, seconds: Double = 30) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if deliveries.count >= count { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return deliveries.count >= count
    }

    /// Stops the receiver (SIGKILL: a test process may pass SIGTERM on as ignored, and Python would live on).
    public func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
}
