#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Darwin)
    internal import Darwin
#endif

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
            case unsupportedVersion
            case notVerified
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
        /// A document is of a format version this Handover does not read (a bundle from a newer major version).
        public static let unsupportedVersion = Code(base: .unsupportedVersion)
        /// A bundle did not verify, so nothing was taken from it (`handover import`).
        public static let notVerified = Code(base: .notVerified)

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
            case .unsupportedVersion: "unsupported version"
            case .notVerified: "not verified"
            }
        }
    }

    /// What failed underneath, as data rather than text: a SQLite result code, an `errno`, a SQLSTATE.
    ///
    /// A cause holds only a number or a code, never a value from the data, so it is as safe to log as the
    /// ``Code``. Whether trying again may help is decided from it (a busy database, yes; a corrupt one, no).
    /// New kinds of cause can be added without breaking callers.
    public struct Cause: Hashable, Sendable, CustomStringConvertible {
        enum Base: Hashable, Sendable {
            case sqlite(Int32)
            case errno(Int32)
            case sqlstate(String)
            case connectionLost
            case authenticationFailed
            case transient
        }

        let base: Base

        /// A result code SQLite returned: the extended code where extended codes are on (its low byte is the
        /// primary code, such as `SQLITE_BUSY` or `SQLITE_CORRUPT`).
        public static func sqlite(_ resultCode: Int32) -> Cause { Cause(base: .sqlite(resultCode)) }
        /// An `errno` value a system call set (such as `EIO` or `ENOSPC`).
        public static func errno(_ number: Int32) -> Cause { Cause(base: .errno(number)) }
        /// A SQLSTATE a database server reported (five characters, such as `40001` or `23505`).
        public static func sqlstate(_ state: String) -> Cause { Cause(base: .sqlstate(state)) }
        /// The connection to a database server failed or was closed without the server's saying why (no SQLSTATE).
        public static let connectionLost = Cause(base: .connectionLost)
        /// The client could not or would not authenticate to a server, which gave no SQLSTATE (an authentication
        /// method it does not support, a password it needs and lacks, a server proof that does not check out).
        public static let authenticationFailed = Cause(base: .authenticationFailed)
        /// No lower-level code, but whoever raised the error knows that the condition passes (a resource that is
        /// briefly unavailable): trying again later may succeed.
        public static let transient = Cause(base: .transient)

        /// The SQLite result code (extended where available), when SQLite reported this cause.
        public var sqliteResultCode: Int32? {
            if case .sqlite(let code) = base { return code }
            return nil
        }

        /// The primary SQLite result code (the extended code's low byte), when SQLite reported this cause.
        public var sqlitePrimaryResultCode: Int32? { sqliteResultCode.map { $0 & 0xFF } }

        /// The `errno` value, when a system call reported this cause.
        public var errno: Int32? {
            if case .errno(let number) = base { return number }
            return nil
        }

        /// The SQLSTATE, when a database server reported this cause.
        public var sqlstate: String? {
            if case .sqlstate(let state) = base { return state }
            return nil
        }

        /// Whether the connection to a database server was lost without a SQLSTATE.
        public var isConnectionLost: Bool { base == .connectionLost }

        /// Whether authentication to a server failed on the client's side (``authenticationFailed``).
        public var isAuthenticationFailure: Bool { base == .authenticationFailed }

        /// Whether the error was marked transient by whoever raised it (``transient``).
        public var isMarkedTransient: Bool { base == .transient }

        /// The cause as a short phrase: `SQLite result code 5`, `errno 28`, `SQLSTATE 40001`.
        public var description: String {
            switch base {
            case .sqlite(let code): "SQLite result code \(code)"
            case .errno(let number): "errno \(number)"
            case .sqlstate(let state): "SQLSTATE \(state)"
            case .connectionLost: "connection lost"
            case .authenticationFailed: "authentication failed"
            case .transient: "transient"
            }
        }
    }

    /// The kind of failure.
    public var code: Code
    /// The detail: what failed and where. Never contains exported data values.
    public var message: String
    /// A short, data-free description of the underlying error, if any (a C library's message).
    public var underlying: String?
    /// What failed underneath, as data (a SQLite result code, an `errno`, a SQLSTATE), when known.
    public var cause: Cause?

    /// Creates an error.
    /// - Parameters:
    ///   - code: The kind of failure.
    ///   - message: The detail, naming tables, columns or files but no data values.
    ///   - underlying: A data-free description of the cause.
    ///   - cause: The cause as data, when a library or the system reported one.
    public init(_ code: Code, _ message: String, underlying: String? = nil, cause: Cause? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
        self.cause = cause
    }

    /// The kind of failure only; use ``message`` for the detail.
    public var description: String { "HandoverError(\(code))" }

    /// The code, the message and the underlying cause, as one line for a person to read.
    public var localizedMessage: String {
        var text = "\(code): \(message)"
        switch (underlying, cause) {
        case (let underlying?, let cause?): text += " (\(underlying); \(cause))"
        case (let underlying?, nil): text += " (\(underlying))"
        case (nil, let cause?): text += " (\(cause))"
        case (nil, nil): break
        }
        return text
    }
}

extension HandoverError {
    /// An error for a failed system call: `number` as the cause and the system's text for it as ``underlying``.
    /// Pass `errno` first thing, before anything else can change it.
    package init(errno number: Int32, _ code: Code, _ message: String) {
        self.init(code, message, underlying: String(cString: strerror(number)), cause: .errno(number))
    }
}
