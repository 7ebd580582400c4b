internal import Crypto
public import HandoverCore

/// Pseudonyms made with HMAC-SHA-256 under a secret key.
///
/// With the same key, the same value in the same domain always gives the same pseudonym; without
/// the key, a pseudonym cannot be turned back into its value nor checked against a guess.
public struct KeyedPseudonymizer: Pseudonymizer {
    private let key: SymmetricKey

    /// Uses `key` (at least 16 bytes; 32 recommended).
    /// - Throws: ``HandoverError/Code/invalidArgument`` when the key is shorter than 16 bytes.
    public init(key: [UInt8]) throws {
        guard key.count >= 16 else {
            throw HandoverError(.invalidArgument, "a pseudonym key has at least 16 bytes")
        }
        self.key = SymmetricKey(data: key)
    }

    /// Uses a fresh random key, so that pseudonyms are stable within one bundle only.
    public static func random() -> KeyedPseudonymizer {
        var generator = SystemRandomNumberGenerator()
        let key = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return try! KeyedPseudonymizer(key: key)
    }

    /// `p-` followed by 20 hexadecimal digits of HMAC-SHA-256(key, domain NUL value).
    public func pseudonym(for value: String, domain: String) -> String {
        var authenticator = HMAC<SHA256>(key: key)
        authenticator.update(data: Array(domain.utf8) + [0] + Array(value.utf8))
        return "p-" + String(Array(authenticator.finalize()).hexString.prefix(20))
    }
}
