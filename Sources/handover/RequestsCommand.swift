import ArgumentParser
import Foundation
import HandoverBundle
import HandoverCore
import HandoverStore

/// `handover requests`: the request store, from the command line.
struct RequestsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "requests",
        abstract: "Record requests, follow their deadlines and their audit log.",
        discussion: """
            The store is a SQLite file (--store sqlite:PATH) or a PostgreSQL database (--store postgres://…). \
            Listings show the subject's selecting column and keyed pseudonym, never its value. Deadlines follow GDPR Art. 12(3): one month after receipt, extendable by two more.
            """,
        subcommands: [Submit.self, Verify.self, List.self, Show.self, Cancel.self, Extend.self, Audit.self]
    )

    /// Applies `change` to request `id` and returns the request as it then stands; errors become exit codes.
    static func change(
        _ options: StoreOptions, _ common: CommonOptions, _ id: String,
        _ change: @escaping @Sendable (RequestStore, RequestID) async throws -> Void
    ) async throws -> StoredRequest {
        try await reportingErrors {
            try await options.withStore(logger: common.makeLogger()) { db in
                let id = try RequestID(id)
                try await change(db, id)
                guard let stored = try await db.request(id) else { throw HandoverError(.notFound, "no request \(id)") }
                return stored
            }
        }
    }

    struct Submit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "submit", abstract: "Record a new request as received.")
        @OptionGroup var store: StoreOptions
        @Option(name: .long, help: "The data subject, as COLUMN=VALUE.") var subject: String?
        @Option(name: .long, help: "The tenant's id.") var tenant: String?
        @Option(
            name: .long, help: "Why it is asked; by default access for a subject, controller-transfer for a tenant.")
        var purpose: Purpose?
        @Option(name: .long, help: "The request id; random when not given.") var requestID: String?
        @Option(name: .long, help: "When it was received (ISO 8601); now when not given.") var receivedAt: String?
        @OptionGroup var common: CommonOptions

        func validate() throws {
            if subject == nil && tenant == nil {
                throw ValidationError("Give --subject COLUMN=VALUE, --tenant ID, or both.")
            }
        }

        func run() async throws {
            let stored = try await reportingErrors {
                let scope: ExportScope =
                    if let subject { .subject(try SubjectSelector(parsing: subject), tenant: tenant) } else {
                        .tenant(tenant!)
                    }
                let request = ExportRequest(
                    id: try requestID.map(RequestID.init) ?? .random(),
                    purpose: purpose ?? (subject != nil ? .access : .controllerTransfer),
                    scope: scope,
                    receivedAt: try receivedAt.map(parseTime) ?? .now())
                return try await store.withStore(logger: common.makeLogger()) { db in
                    try await db.submit(request, actor: store.actor, at: .now())
                    return try await db.request(request.id)!
                }
            }
            try RequestsCommand.show([stored], json: common.json)
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Record that the requester's identity was verified, and queue the request for a worker.")
        @OptionGroup var store: StoreOptions
        @Argument(help: "The request id.") var id: String
        @Option(name: .long, help: "Who verified the identity.") var by: String
        @OptionGroup var common: CommonOptions

        func run() async throws {
            let stored = try await RequestsCommand.change(store, common, id) { [by] db, id in
                try await db.verifyAndQueue(id, by: by, at: .now())
            }
            try RequestsCommand.show([stored], json: common.json)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List requests, the most urgent first.")
        @OptionGroup var store: StoreOptions
        @Option(name: .long, help: "Only requests in this state.") var state: RequestState?
        @Option(name: .long, help: "Only open requests due within this long, such as 7d or 36h.") var dueWithin: String?
        @Flag(name: .long, help: "Only open requests past their deadline.") var overdue = false
        @OptionGroup var common: CommonOptions

        func run() async throws {
            let found = try await reportingErrors {
                let now = Timestamp.now()
                var before: Timestamp?
                if overdue { before = now }
                if let dueWithin {
                    before = Timestamp(
                        millisecondsSince1970: now.millisecondsSince1970 + (try parseDuration(dueWithin)) * 1000)
                }
                return try await store.withStore(logger: common.makeLogger()) { db in
                    try await db.list(state: state, dueBefore: before)
                }
            }
            try RequestsCommand.show(found, json: common.json)
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show", abstract: "Show one request and its audit log.")
        @OptionGroup var store: StoreOptions
        @Argument(help: "The request id.") var id: String
        @OptionGroup var common: CommonOptions

        func run() async throws {
            let (stored, log, check) = try await reportingErrors {
                let id = try RequestID(id)
                return try await store.withStore(logger: common.makeLogger()) { db in
                    guard let stored = try await db.request(id) else {
                        throw HandoverError(.notFound, "no request \(id)")
                    }
                    // The log shown is worth only as much as the chain it belongs to: the whole chain is checked.
                    let check = try await db.checkAudit()
                    let log = check.problems.contains { $0.kind == .missingTable } ? [] : try await db.audit(of: id)
                    return (stored, log, check)
                }
            }
            if common.json {
                try printJSON(
                    ShowJSON(
                        request: RequestJSON(stored), audit: log.map(AuditJSON.init),
                        auditIntact: check.isIntact, auditProblems: check.problems.map(AuditProblemJSON.init)))
            } else {
                try RequestsCommand.show([stored], json: false)
                var facts: [(String, String?)] = [
                    ("subject key", stored.subjectKey), ("attempts", String(stored.attempts)),
                    ("extended because", stored.extensionReason), ("worker", stored.worker),
                    ("lease until", stored.leaseUntil?.iso8601), ("not before", stored.notBefore?.iso8601),
                    ("archive", stored.archive), ("expires", stored.expiresAt?.iso8601),
                ]
                facts.append((stored.state == .failed ? "failed because" : "last failure", stored.failureReason))
                for case let (label, value?) in facts { print("  \(label): \(safe(value))") }
                print("  audit log:")
                for event in log {
                    print(
                        "  \(event.at.iso8601)  \(event.from?.rawValue ?? "-") → \(event.to.rawValue)  by \(safe(event.actor))"
                            + (event.detail.map { "  (\(safe($0)))" } ?? ""))
                }
            }
            try RequestsCommand.failUnlessIntact(check)
        }
    }

    struct Audit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "audit",
            abstract: "Verify the whole audit log: its hash chain, its table, and each request's history.",
            discussion: """
                Exit 0 when the log is intact; 65 when a row is missing (a gap in the chain), edited, outside the \
                chain, when the audit table is missing, or when a request's log does not match the request. \
                Problems name rows by position and request ids, never values. The chain's head (position and \
                hash) is printed: recorded elsewhere, it shows later whether the log was rewritten since.
                """)
        @OptionGroup var store: StoreOptions
        @Flag(name: .long, help: "Verify the log (the only action; required).") var check = false
        @OptionGroup var common: CommonOptions

        func validate() throws {
            guard check else { throw ValidationError("Give --check.") }
        }

        func run() async throws {
            let result = try await reportingErrors {
                try await store.withStore(logger: common.makeLogger()) { db in try await db.checkAudit() }
            }
            if common.json {
                try printJSON(
                    AuditCheckJSON(
                        intact: result.isIntact, rows: result.rows, headChain: result.head?.chain,
                        headHash: result.head?.hash, problems: result.problems.map(AuditProblemJSON.init),
                        omittedProblems: result.omittedProblems))
            } else {
                let head = result.head.map { "head \($0.chain) \($0.hash)" } ?? "no chained rows"
                print(
                    "audit log: \(result.rows) rows, \(head), "
                        + (result.isIntact ? "intact" : "\(result.problems.count) problems"))
                for problem in result.problems { print("  " + safe(problem.description)) }
                if result.omittedProblems > 0 { print("  … and \(result.omittedProblems) more problems") }
            }
            try RequestsCommand.failUnlessIntact(result)
        }
    }

    /// Reports a broken audit log on standard error and exits 65.
    static func failUnlessIntact(_ check: AuditCheck) throws {
        guard !check.isIntact else { return }
        for problem in check.problems { printError("audit log: " + safe(problem.description)) }
        if check.omittedProblems > 0 { printError("audit log: … and \(check.omittedProblems) more problems") }
        throw ExitCode(ExitStatus.dataError)
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cancel", abstract: "Withdraw a request that has not completed.")
        @OptionGroup var store: StoreOptions
        @Argument(help: "The request id.") var id: String
        @Option(name: .long, help: "Why, without personal data.") var reason: String?
        @OptionGroup var common: CommonOptions

        func run() async throws {
            let stored = try await RequestsCommand.change(store, common, id) { [actor = store.actor, reason] db, id in
                try await db.cancel(id, actor: actor, reason: reason, at: .now())
            }
            try RequestsCommand.show([stored], json: common.json)
        }
    }

    struct Extend: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "extend",
            abstract: "Extend a deadline by one or two months, with a reason.")
        @OptionGroup var store: StoreOptions
        @Argument(help: "The request id.") var id: String
        @Option(name: .long, help: "1 or 2.") var months: Int
        @Option(name: .long, help: "Why the request needs longer (recorded; no personal data).") var reason: String
        @OptionGroup var common: CommonOptions

        func validate() throws {
            // Art. 12(3) allows two further months at most; whether this request still may have them is the store's.
            guard (1...2).contains(months) else { throw ValidationError("--months is 1 or 2") }
        }

        func run() async throws {
            let stored = try await RequestsCommand.change(store, common, id) {
                [actor = store.actor, months, reason] db, id in
                try await db.extend(id, byMonths: months, reason: reason, actor: actor, at: .now())
            }
            try RequestsCommand.show([stored], json: common.json)
        }
    }

    /// Prints requests as lines, or as one JSON object with a `requests` array.
    static func show(_ requests: [StoredRequest], json: Bool) throws {
        if json {
            try printJSON(["requests": requests.map(RequestJSON.init)])
            return
        }
        let now = Timestamp.now()
        for stored in requests {
            let late = !stored.state.isFinal && stored.due < now ? "  OVERDUE" : ""
            print(
                "\(stored.request.id)  \(stored.state.rawValue)  \(stored.request.purpose.rawValue)  \(safe(RequestJSON.scope(stored)))  due \(stored.due.iso8601)\(late)"
            )
        }
    }
}

/// A request as JSON: the subject's column, never its value.
struct RequestJSON: Encodable {
    var id: String
    var state: String
    var purpose: String
    var scope: String
    var receivedAt: String
    var due: String
    var extensionReason: String?
    var attempts: Int
    var subjectKey: String?
    var worker: String?
    var leaseUntil: String?
    var notBefore: String?
    var archive: String?
    var expiresAt: String?
    var failureReason: String?

    init(_ stored: StoredRequest) {
        id = stored.request.id.rawValue
        state = stored.state.rawValue
        purpose = stored.request.purpose.rawValue
        scope = Self.scope(stored)
        receivedAt = stored.request.receivedAt.iso8601
        due = stored.due.iso8601
        extensionReason = stored.extensionReason
        attempts = stored.attempts
        subjectKey = stored.subjectKey
        worker = stored.worker
        leaseUntil = stored.leaseUntil?.iso8601
        notBefore = stored.notBefore?.iso8601
        archive = stored.archive
        expiresAt = stored.expiresAt?.iso8601
        failureReason = stored.failureReason
    }

    static func scope(_ stored: StoredRequest) -> String {
        switch stored.request.scope {
        case .subject(let selector, let tenant):
            "subject by \(selector.column)" + (tenant.map { " in tenant \($0)" } ?? "")
        case .tenant(let tenant): "tenant \(tenant)"
        }
    }
}

struct AuditJSON: Encodable {
    var at: String
    var from: String?
    var to: String
    var actor: String
    var detail: String?
    var subjectKey: String?

    init(_ event: AuditEvent) {
        at = event.at.iso8601
        from = event.from?.rawValue
        to = event.to.rawValue
        actor = event.actor
        detail = event.detail
        subjectKey = event.subjectKey
    }
}

struct ShowJSON: Encodable {
    var request: RequestJSON
    var audit: [AuditJSON]
    var auditIntact: Bool
    var auditProblems: [AuditProblemJSON]
}

struct AuditProblemJSON: Encodable {
    var kind: String
    var chain: Int64?
    var seq: Int64?
    var request: String?
    var message: String

    init(_ problem: AuditProblem) {
        kind = problem.kind.rawValue
        chain = problem.chain
        seq = problem.seq
        request = problem.request?.rawValue
        message = problem.message
    }
}

struct AuditCheckJSON: Encodable {
    var intact: Bool
    var rows: Int
    var headChain: Int64?
    var headHash: String?
    var problems: [AuditProblemJSON]
    var omittedProblems: Int
}

/// Parses `7d`, `36h`, `90m` or `45s` into whole seconds.
func parseDuration(_ text: String) throws -> Int64 {
    guard let seconds = seconds(in: text), seconds == seconds.rounded() else {
        throw HandoverError(.invalidArgument, "a duration is a whole number with s, m, h, d or w, such as 7d")
    }
    return Int64(seconds)
}

/// Parses a duration that may be fractional, such as `0.5s` or `200ms`, into seconds.
func parseInterval(_ text: String) throws -> Double {
    guard let seconds = seconds(in: text) else {
        throw HandoverError(
            .invalidArgument, "a duration is a whole number with s, m, h, d or w, such as 7d (or 0.5s, 200ms)")
    }
    return seconds
}

/// A number followed by ms, s, m, h, d or w, in seconds; nil when the text is not one.
private func seconds(in text: String) -> Double? {
    let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400), ("w", 604_800)]
    // "ms" before "s", so that 200ms is not read as 200m and an s.
    guard let (suffix, unit) = units.first(where: { text.hasSuffix($0.0) }),
        let number = Double(text.dropLast(suffix.count)), number >= 0, number < 1e9
    else { return nil }
    return number * unit
}
