/// One problem found; messages never quote file contents.
///
/// A message names files, lines and algorithms, never a value read from a file (a digest, a metadata
/// value, a version). Paths are file names: when a path read from a manifest is unsafe it is not
/// repeated either, and the problem names the manifest and the line instead.
public struct BagItProblem: Sendable, Hashable, CustomStringConvertible {
    /// How bad a problem is.
    public enum Severity: Sendable {
        /// The bag is invalid.
        case error
        /// The bag is valid, but something about it is irregular or may not travel well.
        case warning
    }

    /// How bad the problem is.
    public var severity: Severity
    /// The file concerned, relative to the bag's root, when a file is concerned.
    public var path: String?
    /// What is wrong.
    public var message: String

    /// Creates a problem.
    public init(severity: Severity, path: String?, message: String) {
        self.severity = severity
        self.path = path
        self.message = message
    }

    /// `error: data/a.txt: message`, with control characters in the path escaped.
    public var description: String {
        let label = severity == .error ? "error" : "warning"
        guard let path else { return "\(label): \(message)" }
        var shown = ""
        for scalar in path.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7f {
                shown += scalar.escaped(asASCII: true)
            } else {
                shown.unicodeScalars.append(scalar)
            }
        }
        return "\(label): \(shown): \(message)"
    }

    static func error(_ path: String?, _ message: String) -> BagItProblem {
        BagItProblem(severity: .error, path: path, message: message)
    }

    static func warning(_ path: String?, _ message: String) -> BagItProblem {
        BagItProblem(severity: .warning, path: path, message: message)
    }
}
