/// An error raised anywhere in Handover.
///
/// The `description` names only the kind of failure. The `message` carries the detail: names of
/// tables, columns, files and lines, but never a value taken from the data being exported, so
/// an error can be logged or shown without leaking personal data.
public struct HandoverError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is. New codes can be added without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: String, Sendable {
            case invalidDatasetMap
            case invalidArgument
            case invalidSchema
            case invalidData
            case sourceUnavailable
            case sourceFailed
            case ambiguousSubject
            case outputUnavailable
            case outputExists
            case archiveFailed
            case archiveCorrupt
            case exporterFailed
            case formatFailed
            case internalError
            case conflict
            case notFound
            case cancelled
        }

        let base: Base

        /// The dataset map is malformed or does not match the database.
        public static let invalidDatasetMap = Code(base: .invalidDatasetMap)
        /// An argument given by the caller is not acceptable (a request id, a selector, an option).
        public static let invalidArgument = Code(base: .invalidArgument)
        /// A schema is not well formed: a table declaration (a bad identifier, an unknown key field), or a JSON, XML or Table Schema document.
        public static let invalidSchema = Code(base: .invalidSchema)
        /// A value read from a source does not fit its declared field (type, required, UTF-8).
        public static let invalidData = Code(base: .invalidData)
        /// A data source could not be opened.
        public static let sourceUnavailable = Code(base: .sourceUnavailable)
        /// A data source failed while it was being read.
        public static let sourceFailed = Code(base: .sourceFailed)
        /// A subject selector matched more than one subject.
        public static let ambiguousSubject = Code(base: .ambiguousSubject)
        /// The output location cannot be written.
        public static let outputUnavailable = Code(base: .outputUnavailable)
        /// A file already stands where the output would go.
        public static let outputExists = Code(base: .outputExists)
        /// Writing an archive failed.
        public static let archiveFailed = Code(base: .archiveFailed)
        /// An archive being read is damaged or truncated.
        public static let archiveCorrupt = Code(base: .archiveCorrupt)
        /// An exporter failed.
        public static let exporterFailed = Code(base: .exporterFailed)
        /// A format writer failed.
        public static let formatFailed = Code(base: .formatFailed)
        /// A bug in Handover itself.
        public static let internalError = Code(base: .internalError)
        /// The thing asked for does not fit the current state (a transition the lifecycle forbids, a lost lease).
        public static let conflict = Code(base: .conflict)
        /// No such request.
        public static let notFound = Code(base: .notFound)
        /// The work was cancelled before it finished (a worker stopping, a lease lost); nothing was published.
        public static let cancelled = Code(base: .cancelled)

        /// A short English phrase for this code, safe to show anywhere.
        public var description: String {
            switch base {
            case .invalidDatasetMap: "invalid dataset map"
            case .invalidArgument: "invalid argument"
            case .invalidSchema: "invalid schema"
            case .invalidData: "invalid data"
            case .sourceUnavailable: "data source unavailable"
            case .sourceFailed: "data source failed"
            case .ambiguousSubject: "ambiguous subject"
            case .outputUnavailable: "output unavailable"
            case .outputExists: "output exists"
            case .archiveFailed: "archive failed"
            case .archiveCorrupt: "archive corrupt"
            case .exporterFailed: "exporter failed"
            case .formatFailed: "format failed"
            case .internalError: "internal error"
            case .conflict: "conflict"
            case .notFound: "not found"
            case .cancelled: "cancelled"
            }
        }
    }

    /// The kind of failure.
    public var code: Code
    /// The detail: what failed and where. Never contains exported data values.
    public var message: String
    /// A short, data-free description of the underlying error, if any (a C library's message).
    public var underlying: String?

    /// Creates an error.
    /// - Parameters:
    ///   - code: The kind of failure.
    ///   - message: The detail, naming tables, columns or files but no data values.
    ///   - underlying: A data-free description of the cause.
    public init(_ code: Code, _ message: String, underlying: String? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    /// The kind of failure only; use ``message`` for the detail.
    public var description: String { "HandoverError(\(code))" }

    /// The code, the message and the underlying cause, as one line for a person to read.
    public var localizedMessage: String {
        var text = "\(code): \(message)"
        if let underlying { text += " (\(underlying))" }
        return text
    }
}
