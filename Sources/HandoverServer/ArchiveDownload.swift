internal import Foundation
internal import HandoverCore
public import HandoverStore
public import Hummingbird
internal import Logging
internal import NIOCore
internal import NIOPosix

#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Darwin)
    internal import Darwin
#endif

/// A byte range of a file, both ends included.
struct ByteRange: Equatable, Sendable {
    var first: Int64
    var last: Int64
    var count: Int64 { last - first + 1 }
}

/// What a `Range` header asks of a file of `size` bytes (RFC 9110 §14).
enum RangeRequest: Equatable {
    /// No range, or one to ignore (not `bytes`, several ranges, malformed): the whole file.
    case whole
    /// One satisfiable range.
    case range(ByteRange)
    /// A range that starts past the end, or an empty suffix: 416.
    case unsatisfiable

    /// Parses `header` for a file of `size` bytes.
    static func parse(_ header: String?, size: Int64) -> RangeRequest {
        guard let header else { return .whole }
        let text = header.trimmingCharacters(in: .whitespaces)
        guard text.lowercased().hasPrefix("bytes=") else { return .whole }
        let spec = text.dropFirst("bytes=".count).trimmingCharacters(in: .whitespaces)
        // Several ranges are allowed to be answered whole (§14.2); so is anything that does not parse.
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return .whole }
        let start = spec[..<dash].trimmingCharacters(in: .whitespaces)
        let end = spec[spec.index(after: dash)...].trimmingCharacters(in: .whitespaces)
        func number(_ text: String) -> Int64? {
            guard !text.isEmpty, text.count <= 18, text.allSatisfy(\.isASCII), text.allSatisfy(\.isNumber) else {
                return nil
            }
            return Int64(text)
        }
        if start.isEmpty {
            // A suffix: the last N bytes (`bytes=-N`).
            guard let suffix = number(end) else { return .whole }
            guard suffix > 0, size > 0 else { return .unsatisfiable }
            return .range(ByteRange(first: max(0, size - suffix), last: size - 1))
        }
        guard let first = number(start) else { return .whole }
        var last = size - 1
        if !end.isEmpty {
            guard let given = number(end) else { return .whole }
            guard given >= first else { return .whole }  // invalid: ignored
            last = min(given, size - 1)
        }
        guard first < size else { return .unsatisfiable }
        return .range(ByteRange(first: first, last: last))
    }
}

/// Who is downloading, for the audit log, and what to do once the body has been sent (or not).
struct DownloadAudit: Sendable {
    var request: HandoverCore.RequestID
    var actor: String
    var store: RequestStore
}

/// Serves one published file: conditional requests, single ranges and suffix ranges, strong ETags, and a body
/// streamed from disk in blocks read on NIO's thread pool, each written only when the client has taken the last
/// (so memory stays flat whatever the size). Hummingbird's file middleware is not used: its ETag is weak and its
/// suffix ranges are wrong.
enum ArchiveDownload {
    /// The block size read from disk and written to the connection.
    static let blockSize = 256 * 1024

    static func mediaType(_ name: String) -> String {
        if name.hasSuffix(".zip") { return "application/zip" }
        // A minisign signature is short text; an age file has no registered type, so it stays octet-stream.
        if name.hasSuffix(".minisig") { return "text/plain; charset=utf-8" }
        if name.hasSuffix(".tar.gz") || name.hasSuffix(".tgz") { return "application/gzip" }
        if name.hasSuffix(".tar.xz") || name.hasSuffix(".txz") { return "application/x-xz" }
        if name.hasSuffix(".tar.zst") || name.hasSuffix(".tzst") { return "application/zstd" }
        return "application/octet-stream"
    }

    /// `attachment; filename="…"; filename*=UTF-8''…` (RFC 6266, RFC 8187): the ASCII name with anything
    /// unsafe replaced, and the exact name percent-encoded.
    static func contentDisposition(_ name: String) -> String {
        let ascii = String(
            name.unicodeScalars.map { scalar -> Character in
                scalar.isASCII && scalar.value >= 0x20 && scalar != "\"" && scalar != "\\" && scalar.value != 0x7F
                    ? Character(scalar) : "_"
            })
        let attrChar = Set("!#$&+-.^_`|~".unicodeScalars)
        var encoded = ""
        for byte in name.utf8 {
            let scalar = Unicode.Scalar(byte)
            if byte < 0x80
                && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || attrChar.contains(scalar))
            {
                encoded.unicodeScalars.append(scalar)
            } else {
                encoded += String(format: "%%%02X", byte)
            }
        }
        return "attachment; filename=\"\(ascii)\"; filename*=UTF-8''\(encoded)"
    }

    /// An HTTP-date (RFC 9110 §5.6.7) of a time.
    static func httpDate(secondsSince1970 seconds: Int64) -> String {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let (year, month, day) = CivilDate.fromDays(days)
        let second = seconds - days * 86_400
        // 1970-01-01 was a Thursday.
        let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(weekdays[Int(((days % 7) + 7) % 7)]), \(two(Int64(day))) \(months[month - 1]) \(year) "
            + "\(two(second / 3600)):\(two(second / 60 % 60)):\(two(second % 60)) GMT"
    }

    /// Whether an `If-None-Match` or `If-Range` list names `etag` (weak comparison for If-None-Match).
    static func matches(_ header: String, _ etag: String) -> Bool {
        let wanted = etag.replacingOccurrences(of: "W/", with: "")
        return header.split(separator: ",").contains { candidate in
            let tag = candidate.trimmingCharacters(in: .whitespaces)
            return tag == "*" || tag.replacingOccurrences(of: "W/", with: "") == wanted
        }
    }

    /// The response for `request` (GET or HEAD) to the file at `path`, which the store records as `file`.
    /// - Throws: ``Problem`` 410 when the file is no longer there, 416 for a range past its end, 500 when the
    ///   file on disk is not the one the store recorded.
    static func respond(
        to request: Request, path: String, file: ArchiveFile, audit: DownloadAudit?, eventLoop: any EventLoop,
        logger: Logger
    ) async throws -> Response {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            throw Problem(.gone, "the archive has been deleted at the end of its retention period")
        }
        let size = Int64(info.st_size)
        guard size == file.bytes else {
            logger.error(
                "published file differs from the store's record",
                metadata: ["request": "\(audit?.request.rawValue ?? "")"])
            throw Problem(.internalServerError, "the archive on disk is not the one recorded")
        }
        let etag = "\"\(file.sha256)\""
        let lastModified = httpDate(secondsSince1970: Int64(info.st_mtim.tv_sec))
        var headers: HTTPFields = [
            .eTag: etag, .lastModified: lastModified, .acceptRanges: "bytes", .cacheControl: "no-store",
            .contentType: mediaType(file.name), .contentDisposition: contentDisposition(file.name),
            .init("X-Content-Type-Options")!: "nosniff",
        ]
        if let ifNoneMatch = request.headers[.ifNoneMatch], matches(ifNoneMatch, etag) {
            return Response(status: .notModified, headers: headers)
        }
        var wanted = RangeRequest.parse(request.headers[.range], size: size)
        if wanted != .whole, let ifRange = request.headers[.ifRange] {
            // A strong validator must match exactly; a date only when it is the file's own date.
            let fresh = ifRange.hasPrefix("\"") ? ifRange == etag : ifRange == lastModified
            if !fresh { wanted = .whole }
        }
        let range: ByteRange?
        switch wanted {
        case .whole:
            range = nil
        case .range(let byteRange):
            range = byteRange
        case .unsatisfiable:
            throw Problem(
                .rangeNotSatisfiable, "the range asked for lies outside the archive",
                headers: [.contentRange: "bytes */\(size)"])
        }
        let span = range ?? ByteRange(first: 0, last: size - 1)
        let length = size == 0 ? 0 : span.count
        headers[.contentLength] = String(length)
        if let range { headers[.contentRange] = "bytes \(range.first)-\(range.last)/\(size)" }
        let status: HTTPResponse.Status = range == nil ? .ok : .partialContent
        if request.method == .head {
            return Response(status: status, headers: headers)
        }
        let rangeText = range.map { "bytes=\($0.first)-\($0.last)" }
        let body = ResponseBody(contentLength: Int(length)) { writer in
            var sent: Int64 = 0
            do {
                try await stream(path: path, from: span.first, count: length, into: &writer, eventLoop: eventLoop) {
                    sent += Int64($0)
                }
                try await writer.finish(nil)
                if let audit {
                    try? await audit.store.recordDownload(
                        audit.request, by: audit.actor, file: file.name, range: rangeText, bytesSent: sent,
                        completed: true, at: .now())
                }
            } catch {
                if let audit {
                    try? await audit.store.recordDownload(
                        audit.request, by: audit.actor, file: file.name, range: rangeText, bytesSent: sent,
                        completed: false, at: .now())
                }
                throw error
            }
        }
        return Response(status: status, headers: headers, body: body)
    }

    /// Writes `count` bytes of the file at `path` from `offset`, in blocks read on NIO's thread pool.
    ///
    /// Back-pressure: the writer suspends while the connection is not writable, but it learns so from the event
    /// loop, which may be busy with other connections: blocks handed over in the meantime wait in the loop's queue
    /// (with 200 fast clients on two cores, gigabytes of them). So after each block the download also waits until
    /// the loop has taken it (a no-op submitted behind it), and never has more than a block or two in flight.
    static func stream(
        path: String, from offset: Int64, count: Int64, into writer: inout any ResponseBodyWriter,
        eventLoop: any EventLoop, sent: (Int) -> Void
    ) async throws {
        guard count > 0 else { return }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw Problem(.gone, "the archive has been deleted") }
        defer { close(descriptor) }
        let pool = NIOThreadPool.singleton
        var position = offset
        let end = offset + count
        while position < end {
            let want = Int(min(Int64(blockSize), end - position))
            let at = position
            let block = try await pool.runIfActive { () throws -> ByteBuffer in
                var buffer = ByteBufferAllocator().buffer(capacity: want)
                let read = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: want) { pointer in
                    var done = 0
                    while done < want {
                        let n = pread(descriptor, pointer.baseAddress! + done, want - done, off_t(at) + off_t(done))
                        if n < 0 && errno == EINTR { continue }
                        guard n > 0 else { break }
                        done += n
                    }
                    return done
                }
                guard read == want else {
                    throw HandoverError(.outputUnavailable, "the archive became shorter while it was sent")
                }
                return buffer
            }
            try await writer.write(block)
            try await eventLoop.submit {}.get()
            sent(want)
            position += Int64(want)
        }
    }
}

/// The names the service gives downloads, for tests.
package enum ArchiveDownloadNames {
    /// The `Content-Disposition` of a download named `name`.
    package static func disposition(_ name: String) -> String { ArchiveDownload.contentDisposition(name) }
    /// The `Last-Modified` value of a file changed at `seconds` since 1970.
    package static func httpDate(secondsSince1970 seconds: Int64) -> String {
        ArchiveDownload.httpDate(secondsSince1970: seconds)
    }
}
