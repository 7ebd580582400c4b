public import HandoverCore

/// Why an age file could not be read, in the categories of the C2SP age test vectors: each names the first layer
/// that failed, so that a parsing error is never reported as a wrong key.
public struct AgeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The layer that failed.
    public enum Kind: String, Sendable, Hashable {
        /// The ASCII armor is malformed.
        case armor
        /// The header is malformed (or a recipient stanza is, or the payload nonce is missing).
        case header
        /// The header is well formed, but no identity given opens any of its stanzas.
        case noMatch
        /// A stanza was opened, but the header's MAC does not match: the header was changed.
        case headerMAC
        /// The payload does not decrypt to its end: changed, truncated, or followed by more bytes.
        case payload
        /// A key, a recipient or an identity file is malformed.
        case key
        /// Reading or writing failed.
        case io
    }

    /// The layer that failed.
    public var kind: Kind
    /// What failed, without any key, passphrase or plaintext.
    public var message: String

    /// An error of `kind`.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// `age: <kind>: <message>`.
    public var description: String { "age \(kind.rawValue): \(message)" }

    /// The same error as a ``HandoverError``: invalid data for what a file holds, invalid argument for keys.
    public var handoverError: HandoverError {
        switch kind {
        case .key: HandoverError(.invalidArgument, "age: " + message)
        case .io: HandoverError(.outputUnavailable, "age: " + message)
        case .noMatch: HandoverError(.invalidArgument, "age: " + message)
        default: HandoverError(.invalidData, "age: " + message)
        }
    }
}
