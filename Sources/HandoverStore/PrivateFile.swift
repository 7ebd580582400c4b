internal import Foundation
public import HandoverCore

#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Darwin)
    internal import Darwin
#endif

/// Secret files (a store's password, a webhook's shared secret): regular files no one but their owner may read or
/// write, as ssh and libpq require of theirs.
package enum PrivateFile {
    /// The text of `path`, described in errors as `what` (never its content).
    /// - Throws: ``HandoverError/Code/sourceUnavailable`` when it is missing, not a regular file, readable or
    ///   writable by others, or not UTF-8.
    package static func read(_ path: String, _ what: String) throws -> String {
        var info = stat()
        guard stat(path, &info) == 0 else { throw HandoverError(.sourceUnavailable, "cannot read \(what) '\(path)'") }
        guard info.st_mode & mode_t(S_IFMT) == mode_t(S_IFREG) else {
            throw HandoverError(.sourceUnavailable, "\(what) '\(path)' is not a regular file")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw HandoverError(
                .sourceUnavailable, "\(what) '\(path)' may be read by others; make it private (chmod 600)")
        }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else { throw HandoverError(.sourceUnavailable, "cannot read \(what) '\(path)'") }
        return text
    }
}
