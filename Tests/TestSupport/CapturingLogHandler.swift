public import Logging
import Synchronization

/// Log messages kept in memory, as swift-log's own tests keep them, for checking what a library logs (and that
/// no value of the data is in it).
public final class LogCapture: Sendable {
    /// One message, with its metadata rendered as `key=value`.
    public struct Entry: Sendable {
        /// The level it was logged at.
        public var level: Logger.Level
        /// The message.
        public var message: String
        /// The logger's and the message's metadata, rendered.
        public var metadata: [String: String]
    }

    private let captured = Mutex<[Entry]>([])

    /// An empty capture.
    public init() {}

    /// Every message logged so far.
    public var entries: [Entry] { captured.withLock { $0 } }

    /// A logger at `level` whose messages go here.
    public func logger(level: Logger.Level = .trace) -> Logger {
        var logger = Logger(label: "capture") { _ in Handler(capture: self) }
        logger.logLevel = level
        return logger
    }

    fileprivate func append(_ entry: Entry) { captured.withLock { $0.append(entry) } }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { $1 }
            capture.append(
                Entry(
                    level: event.level, message: event.message.description,
                    metadata: all.mapValues { "\($0)" }))
        }
    }
}
