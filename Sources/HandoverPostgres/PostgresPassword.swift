internal import Foundation
internal import HandoverCore
internal import HandoverStore

extension PostgresStoreConfiguration {
    /// The configuration with its password taken from where libpq would take it, when the URL has none.
    ///
    /// In order: `passwordFile` (its first line; the URL must then have no password), the URL's password,
    /// `PGPASSWORD`, then the first matching line of the password file `PGPASSFILE` names or `~/.pgpass`
    /// (libpq's format: `host:port:database:user:password`, `*` matching anything, `\:` and `\\` escaped).
    /// A password in the URL shows in `ps` for as long as the process runs; these sources do not.
    /// - Parameters:
    ///   - passwordFile: A file holding the password (`--store-password-file`), or nil.
    ///   - environment: The environment to read `PGPASSWORD`, `PGPASSFILE` and `HOME` from.
    /// - Throws: ``HandoverError/Code/invalidArgument`` when the URL and `passwordFile` both give a password,
    ///   ``HandoverError/Code/sourceUnavailable`` when a file cannot be read, is not a regular file, or may be
    ///   read by its group or others (as libpq insists for `.pgpass`). Messages name the file, never the
    ///   password.
    public func resolvingPassword(passwordFile: String?, environment: [String: String]) throws -> Self {
        var resolved = self
        if let passwordFile {
            guard password == nil else {
                throw HandoverError(
                    .invalidArgument, "the store URL holds a password and a password file is given: give it once")
            }
            let text = try PrivateFile.read(passwordFile, "the store's password file")
            let line = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let password = line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
            guard !password.isEmpty else {
                throw HandoverError(
                    .invalidArgument, "the store's password file '\(passwordFile)' has an empty first line")
            }
            resolved.password = password
            return resolved
        }
        if password != nil { return resolved }
        if let password = environment["PGPASSWORD"], !password.isEmpty {
            resolved.password = password
            return resolved
        }
        let passFile =
            environment["PGPASSFILE"].flatMap { $0.isEmpty ? nil : $0 }
            ?? environment["HOME"].map { $0 + "/.pgpass" }
        guard let passFile, FileManager.default.fileExists(atPath: passFile) else { return resolved }
        let text = try PrivateFile.read(passFile, "the PostgreSQL password file")
        resolved.password = Self.pgpassPassword(
            in: text, host: host, port: port, database: database, username: username)
        return resolved
    }

    /// The password of the first line of a `.pgpass` text that matches, or nil.
    static func pgpassPassword(in text: String, host: String, port: Int, database: String, username: String)
        -> String?
    {
        let wanted = [host, String(port), database, username]
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            if line.hasPrefix("#") { continue }
            var fields: [String] = [""]
            var escaped = false
            for character in line {
                if escaped {
                    fields[fields.count - 1].append(character)
                    escaped = false
                } else if character == "\\" {
                    escaped = true
                } else if character == ":" && fields.count < 5 {
                    fields.append("")
                } else {
                    fields[fields.count - 1].append(character)
                }
            }
            guard fields.count == 5 else { continue }
            // libpq: "localhost" in the file also matches a Unix socket.
            let matches = zip(fields.prefix(4), wanted).enumerated().allSatisfy { index, pair in
                pair.0 == "*" || pair.0 == pair.1 || (index == 0 && pair.0 == "localhost" && pair.1.hasPrefix("/"))
            }
            if matches { return fields[4] }
        }
        return nil
    }
}
