internal import HandoverCore

#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Darwin)
    internal import Darwin
#endif

/// The folder a `file` column's paths are relative to, and the confinement of those paths to it.
struct FileRoot: Sendable {
    /// The folder as the map names it (made absolute by the map's reader when relative).
    let path: String
    /// The folder with its symbolic links resolved, once for the table's rows; nil when it cannot be resolved.
    let resolvedPath: String?

    /// The root `path`, resolved now.
    init(path: String) {
        self.path = path
        self.resolvedPath = Self.resolve(path)
    }

    /// Where the file `relative` names is, or why it cannot be read. Absolute paths, `..`, and symbolic links that
    /// lead outside the root are refused, never followed. Reasons never repeat the path (it may be personal data).
    func source(of relative: String) -> ExportFile.Source {
        if relative.hasPrefix("/") {
            return .unavailable("an absolute path, where a path relative to the root is expected")
        }
        if relative.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            return .unavailable("a path with control characters")
        }
        let segments = relative.split(separator: "/", omittingEmptySubsequences: false)
        if segments.contains(where: { $0 == ".." }) { return .unavailable("a path that climbs out of the root ('..')") }
        if segments.contains(where: { $0.isEmpty || $0 == "." }) {
            return .unavailable("a path with an empty or '.' segment")
        }
        guard let root = resolvedPath else { return .unavailable("its root folder cannot be read") }
        guard let resolved = Self.resolve(root + "/" + relative) else {
            switch errno {
            case ENOENT, ENOTDIR: return .unavailable("no such file")
            case EACCES: return .unavailable("not readable (permission denied)")
            case ELOOP: return .unavailable("a loop of symbolic links")
            default: return .unavailable("cannot be resolved (errno \(errno))")
            }
        }
        guard resolved.hasPrefix(root == "/" ? "/" : root + "/") else {
            return .unavailable("a symbolic link that leads outside the root")
        }
        var status = stat()
        guard stat(resolved, &status) == 0 else { return .unavailable("cannot be read (errno \(errno))") }
        guard (status.st_mode & S_IFMT) == S_IFREG else { return .unavailable("not a regular file") }
        return .file(resolved, device: UInt64(status.st_dev), inode: UInt64(status.st_ino))
    }

    /// The path with every symbolic link, `.` and `..` resolved, or nil (errno set).
    static func resolve(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
