internal import Crypto
internal import Foundation
internal import HandoverArchive
internal import HandoverCore

#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Darwin)
    internal import Darwin
#endif

/// The files one exporter's rows name, copied into the bundle's stage as they come: streamed in blocks and hashed on
/// the way (memory flat for files of many gigabytes: a file past the stage's limit goes to a working file), each once
/// however many rows name it.
final class ContentFiles {
    let stage: BundleStage
    let exporterID: String
    let policy: MissingFilePolicy
    /// The files carried, in the order first named.
    private(set) var records: [Manifest.ContentRecord] = []
    /// The files missing (under ``MissingFilePolicy/record``).
    private(set) var missing: [Manifest.MissingFile] = []
    private var carried: [String: String] = [:]

    init(stage: BundleStage, exporterID: String, policy: MissingFilePolicy) {
        self.stage = stage
        self.exporterID = exporterID
        self.policy = policy
    }

    /// Carries `file`, named by a row of `table`, into `data/files/<exporter>/<table>/<path>`.
    /// - Throws: ``HandoverError/Code/invalidData`` naming table, row and field when the file cannot be carried and
    ///   the policy is ``MissingFilePolicy/fail``; ``HandoverError/Code/outputUnavailable`` when the copy cannot be
    ///   written.
    func carry(_ file: ExportFile, table: String) throws {
        func unavailable(_ reason: String) throws {
            guard policy == .record else {
                throw HandoverError(
                    .invalidData,
                    "table \(table), row \(file.row), field \(file.field): the file it names is \(reason)"
                        + " (--missing-files record publishes the bundle without it, saying so)")
            }
            missing.append(Manifest.MissingFile(table: table, field: file.field, row: file.row, reason: reason))
        }
        let source: String
        let identity: (device: UInt64, inode: UInt64)
        switch file.source {
        case .unavailable(let reason): return try unavailable(reason)
        case .file(let resolved, let device, let inode): (source, identity) = (resolved, (device, inode))
        }
        guard let relative = SafePath.normalise(file.path), relative == file.path else {
            return try unavailable(
                "named by a path that cannot stand in an archive (control or bidirectional characters, a backslash)")
        }
        let path = "data/files/" + exporterID + "/" + table + "/" + relative
        guard path.utf8.count <= 4096 else { return try unavailable("named by a path too long for an archive") }
        if let earlier = carried[path] {
            // Another row named the same file: it is in the bundle once.
            guard earlier == source else { return try unavailable("named by a path another file already took") }
            return
        }
        let descriptor = open(source, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else {
            return try unavailable(
                errno == EACCES ? "not readable (permission denied)" : "not readable (errno \(errno))")
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
            return try unavailable("not a regular file")
        }
        // The file opened is the one the source checked: a folder of the path swapped for a link since is caught.
        guard UInt64(status.st_dev) == identity.device, UInt64(status.st_ino) == identity.inode else {
            return try unavailable("replaced while it was being read")
        }
        let sink = try stage.sink(path)
        var block = [UInt8](repeating: 0, count: 1 << 20)
        var failure: Int32?
        while true {
            let count = block.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                failure = errno
                break
            }
            if count == 0 { break }
            do {
                try block.withUnsafeBytes { try sink.write(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            } catch let error as HandoverError {
                throw HandoverError(
                    .outputUnavailable,
                    "cannot write the file of table \(table), row \(file.row), field \(file.field)",
                    cause: error.cause)
            }
            if sink.bytes & ((64 << 20) - 1) < Int64(count) { try BundleBuilder.checkCancellation() }
        }
        let digest: String
        do {
            digest = try sink.close()
        } catch let error as HandoverError {
            // The row, not the file's path: a path a row names can be personal data.
            throw HandoverError(
                .outputUnavailable, "cannot write the file of table \(table), row \(file.row), field \(file.field)",
                cause: error.cause)
        }
        if let failure {
            if let working = sink.staged?.path { unlink(working) }
            return try unavailable("unreadable (errno \(failure))")
        }
        stage.keep(sink)
        carried[path] = source
        records.append(
            Manifest.ContentRecord(
                path: path, mediaType: Self.mediaType(of: relative), bytes: sink.bytes, sha256: digest,
                exporter: exporterID, table: table, field: file.field, row: file.row))
    }

    /// The media type of a file by its name's extension; `application/octet-stream` for any other.
    static func mediaType(of name: String) -> String {
        let ext = name.split(separator: "/").last.flatMap { last in
            last.contains(".") ? last.split(separator: ".").last.map { $0.lowercased() } : nil
        }
        return ext.flatMap { mediaTypes[$0] } ?? "application/octet-stream"
    }

    static let mediaTypes: [String: String] = [
        "wav": "audio/wav", "mp3": "audio/mpeg", "ogg": "audio/ogg", "oga": "audio/ogg", "opus": "audio/ogg",
        "m4a": "audio/mp4", "flac": "audio/flac", "weba": "audio/webm", "mp4": "video/mp4", "m4v": "video/mp4",
        "webm": "video/webm", "mov": "video/quicktime", "ogv": "video/ogg", "png": "image/png", "jpg": "image/jpeg",
        "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp", "avif": "image/avif", "svg": "image/svg+xml",
        "pdf": "application/pdf", "txt": "text/plain", "md": "text/markdown", "csv": "text/csv",
        "json": "application/json", "xml": "application/xml", "html": "text/html", "htm": "text/html",
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "odt": "application/vnd.oasis.opendocument.text", "zip": "application/zip",
    ]

    /// Whether files of `mediaType` are stored as they are in a zip (already compressed, or large media).
    static func isStoredAsIs(_ mediaType: String) -> Bool {
        mediaType.hasPrefix("audio/") || mediaType.hasPrefix("video/")
            || (mediaType.hasPrefix("image/") && mediaType != "image/svg+xml") || mediaType == "application/zip"
            || mediaType == "application/pdf" || mediaType.contains("openxmlformats")
            || mediaType.contains("opendocument") || mediaType == "application/octet-stream"
    }
}
