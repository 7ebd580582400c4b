/// Tells column names that suggest a secret: passwords, tokens, keys, one-time codes and the like.
///
/// A table mapped with `exclude:` exports every column it does not list, so a `password_reset_token` or
/// `totp_secret` column added to the database later would reach every bundle. Columns whose names look like
/// secrets are therefore left out of such tables unless the map names them (under `include-secrets`), and
/// `handover map check` lists them. The test errs on the side of caution: a false alarm costs a line in the map,
/// a miss leaks a credential.
public enum SecretNames {
    /// Whole words (after splitting on `_`, `-`, `.`, digits and lower-to-upper case changes) that mark a secret.
    static let words: Set<String> = [
        "password", "passwords", "passwd", "passphrase", "pwd", "pass", "secret", "secrets", "token", "tokens",
        "hash", "hashed", "salt", "salted", "key", "keys", "apikey", "privkey", "otp", "totp", "hotp", "mfa",
        "pin", "credential", "credentials", "cred", "creds", "private", "seed", "nonce", "session", "sessions",
        "cookie", "cookies", "recovery", "auth", "oauth", "jwt", "bearer", "signature", "cvv", "cvc",
    ]
    /// Fragments that mark a secret wherever they stand in the name (`userpassword`, `apitokens`).
    static let fragments = [
        "password", "passwd", "passphrase", "secret", "token", "apikey", "privatekey", "credential", "2fa",
    ]

    /// Whether `name` suggests a secret.
    /// - Parameter name: A column name.
    /// - Returns: True when a word of the name, or a fragment anywhere in it, is one that marks a secret.
    public static func looksSecret(_ name: String) -> Bool {
        let lower = name.lowercased()
        if fragments.contains(where: lower.contains) { return true }
        return splitWords(name).contains { words.contains($0) }
    }

    /// The lower-case words of an identifier: `passwordResetToken2` → `password`, `reset`, `token`, `2`.
    static func splitWords(_ name: String) -> [String] {
        var result: [String] = []
        var word = ""
        var previous: Character?
        for character in name {
            let boundary: Bool
            if !(character.isLetter || character.isNumber) {
                boundary = true
            } else if let previous {
                boundary =
                    (previous.isLowercase && character.isUppercase) || (previous.isNumber != character.isNumber)
            } else {
                boundary = false
            }
            if boundary, !word.isEmpty {
                result.append(word.lowercased())
                word = ""
            }
            if character.isLetter || character.isNumber { word.append(character) }
            previous = character
        }
        if !word.isEmpty { result.append(word.lowercased()) }
        return result
    }
}
