internal import Foundation
internal import HandoverCore
internal import HandoverStore
internal import Hummingbird
internal import Logging

/// A request as the API shows it: never the subject's value (only which column selects the subject).
struct RequestJSON: Encodable {
    struct Scope: Encodable {
        var kind: String
        var tenant: String?
        var subjectColumn: String?
    }

    struct Archive: Encodable {
        var bytes: Int64
        var sha256: String?
        var parts: [Part]?
        var expiresAt: String?
        var url: String
    }

    struct Part: Encodable {
        var number: Int
        var bytes: Int64
        var sha256: String
        var url: String
    }

    var id: String
    var purpose: String
    var scope: Scope
    var state: String
    var receivedAt: String
    var due: String
    var attempts: Int
    var failureReason: String?
    var archive: Archive?

    init(_ stored: StoredRequest) {
        id = stored.request.id.rawValue
        purpose = stored.request.purpose.rawValue
        switch stored.request.scope {
        case .subject(let selector, let tenant):
            scope = Scope(kind: "subject", tenant: tenant, subjectColumn: selector.column)
        case .tenant(let tenant):
            scope = Scope(kind: "tenant", tenant: tenant, subjectColumn: nil)
        }
        state = stored.state.rawValue
        receivedAt = stored.request.receivedAt.iso8601
        due = stored.due.iso8601
        attempts = stored.attempts
        failureReason = stored.failureReason
        if stored.state == .completed, !stored.archiveFiles.isEmpty {
            let base = "/v1/requests/\(stored.request.id.rawValue)"
            let files = stored.archiveFiles
            let split = stored.archive?.hasSuffix(".parts") == true
            archive = Archive(
                bytes: files.reduce(0) { $0 + $1.bytes }, sha256: split ? nil : files.first?.sha256,
                parts: split
                    ? files.enumerated().map {
                        Part(
                            number: $0.offset + 1, bytes: $0.element.bytes, sha256: $0.element.sha256,
                            url: base + "/parts/\($0.offset + 1)")
                    } : nil,
                expiresAt: stored.expiresAt?.iso8601, url: base + "/archive")
        }
    }
}

/// A request body: a JSON object with only the keys given, each of the type given; anything else is a 400 or a
/// 415 naming the problem (never echoing a value).
struct JSONBody {
    let object: [String: Any]

    /// Reads and checks the body: `application/json`, at most the context's upload size, an object whose keys
    /// are all in `allowed`.
    static func read(_ request: Request, context: DeliveryContext, allowed: Set<String>, optional: Bool = false)
        async throws -> JSONBody
    {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: context.maxUploadSize)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw Problem(.contentTooLarge, "the request body is larger than \(context.maxUploadSize) bytes")
        } catch {
            throw Problem(.badRequest, "the request body could not be read")
        }
        if buffer.readableBytes == 0 && optional { return JSONBody(object: [:]) }
        let type = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces)
            .lowercased()
        guard type == "application/json" else {
            throw Problem(.unsupportedMediaType, "the request body must be application/json")
        }
        let data = Data(buffer.readableBytesView)
        guard let parsed = try? JSONSerialization.jsonObject(with: data, options: []),
            let object = parsed as? [String: Any]
        else { throw Problem(.badRequest, "the request body is not a JSON object") }
        if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw Problem(.badRequest, "unknown field '\(Self.printable(unknown))'")
        }
        return JSONBody(object: object)
    }

    /// A field name as it may appear in a message: printable ASCII, at most 40 characters.
    static func printable(_ text: String) -> String {
        String(
            text.unicodeScalars.prefix(40).map {
                $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F ? Character($0) : "?"
            })
    }

    func string(_ key: String) throws -> String? {
        guard let value = object[key], !(value is NSNull) else { return nil }
        guard let text = value as? String else { throw Problem(.badRequest, "'\(key)' must be a string") }
        return text
    }

    func object(_ key: String, allowed: Set<String>) throws -> JSONBody? {
        guard let value = object[key], !(value is NSNull) else { return nil }
        guard let inner = value as? [String: Any] else { throw Problem(.badRequest, "'\(key)' must be an object") }
        if let unknown = inner.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw Problem(.badRequest, "unknown field '\(key).\(Self.printable(unknown))'")
        }
        return JSONBody(object: inner)
    }

    func integer(_ key: String, in range: ClosedRange<Int64>) throws -> Int64? {
        guard let value = object[key], !(value is NSNull) else { return nil }
        guard let number = value as? NSNumber, String(cString: number.objCType) != "c",
            let integer = Int64(exactly: number.doubleValue), Double(integer) == number.doubleValue
        else { throw Problem(.badRequest, "'\(key)' must be an integer") }
        guard range.contains(integer) else {
            throw Problem(.badRequest, "'\(key)' must be between \(range.lowerBound) and \(range.upperBound)")
        }
        return integer
    }
}

/// A JSON response with the API's headers.
func jsonResponse(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    let data = try encoder.encode(value)
    return Response(
        status: status,
        headers: [
            .contentType: "application/json", .cacheControl: "no-store", .init("X-Content-Type-Options")!: "nosniff",
        ], body: .init(byteBuffer: ByteBuffer(bytes: data)))
}
