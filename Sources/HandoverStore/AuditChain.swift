internal import Crypto
public import HandoverCore

/// The audit log's hash chain: every row carries the SHA-256 of its own fields and of the row before it.
///
/// The chain is store-wide: rows are numbered 1, 2, 3, … in the order they were appended (`chain`), whatever
/// request they concern, so that a deleted row leaves a gap, an edited row no longer matches its hash, and a
/// deleted request's rows leave gaps too. An append reads the chain's head and writes the next row in the same
/// transaction as the change it records, under a lock that serialises appends (SQLite's write transactions
/// are exclusive; PostgreSQL takes a transaction-level advisory lock).
///
/// The hash is over a canonical encoding: a version tag, then each field in a fixed order, each integer as
/// eight big-endian bytes and each text as a presence byte, a four-byte big-endian length and its UTF-8
/// bytes, then the previous row's hash (32 zero bytes before the first row).
package enum AuditChain {
    /// The hash the first row chains to: 64 zeros.
    package static let genesis = String(repeating: "0", count: 64)

    /// One audit row's fields as the chain covers them.
    package struct Row: Sendable, Hashable {
        package var seq: Int64
        package var chain: Int64?
        package var hash: String?
        package var at: Int64
        package var request: String
        package var subjectKey: String?
        package var from: String?
        package var to: String
        package var actor: String
        package var detail: String?

        package init(
            seq: Int64, chain: Int64?, hash: String?, at: Int64, request: String, subjectKey: String?,
            from: String?, to: String, actor: String, detail: String?
        ) {
            self.seq = seq
            self.chain = chain
            self.hash = hash
            self.at = at
            self.request = request
            self.subjectKey = subjectKey
            self.from = from
            self.to = to
            self.actor = actor
            self.detail = detail
        }
    }

    /// The columns ``Row/init(_:)`` reads, in its order.
    package static let columnNames = [
        "seq", "chain", "hash", "at", "request", "subject_key", "from_state", "to_state", "actor", "detail",
    ]
    /// ``columnNames`` as a `SELECT` list.
    package static let columns = columnNames.joined(separator: ", ")

    /// The hash of `row` at position `chain` after a row whose hash is `previous` (hex).
    package static func hash(_ row: Row, chain: Int64, previous: String) -> String {
        var bytes: [UInt8] = Array("handover-audit-v1".utf8)
        func integer(_ value: Int64) {
            withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
        }
        func text(_ value: String?) {
            guard let value else {
                bytes.append(0)
                return
            }
            bytes.append(1)
            let utf8 = Array(value.utf8)
            withUnsafeBytes(of: UInt32(truncatingIfNeeded: utf8.count).bigEndian) { bytes.append(contentsOf: $0) }
            bytes.append(contentsOf: utf8)
        }
        integer(chain)
        integer(row.at)
        text(row.request)
        text(row.subjectKey)
        text(row.from)
        text(row.to)
        text(row.actor)
        text(row.detail)
        bytes.append(contentsOf: decodeHex(previous) ?? Array(repeating: 0, count: 32))
        return SHA256.hash(data: bytes).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// Numbers and hashes `rows` (oldest first) as the continuation of a chain whose head is `head`:
    /// the pairs (chain, hash) to store, one per row. Used once, when a store made before the chain existed is
    /// migrated.
    package static func link(_ rows: [Row], after head: (chain: Int64, hash: String)?) -> [(Int64, String)] {
        var chain = head?.chain ?? 0
        var previous = head?.hash ?? genesis
        return rows.map { row in
            chain += 1
            previous = hash(row, chain: chain, previous: previous)
            return (chain, previous)
        }
    }

    private static func decodeHex(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count == 64 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        for index in stride(from: 0, to: 64, by: 2) {
            guard let high = hexValue(digits[index]), let low = hexValue(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}

extension AuditChain.Row {
    /// A row read with ``AuditChain/columns``.
    /// - Throws: ``HandoverError/Code/invalidData`` naming the column when one the store always fills is NULL
    ///   or a value is of the wrong kind (a real number where the time was, say): the row was edited by hand, and
    ///   reading it as something else could make an edit pass the hash check.
    package init(_ values: [StoreValue]) throws {
        var columns = try RowDecoder(values, columns: AuditChain.columnNames, name: "audit row")
        let seq = try columns.integer(0)
        columns = try RowDecoder(values, columns: AuditChain.columnNames, name: "audit row seq \(seq)")
        self.init(
            seq: seq, chain: try columns.optionalInteger(1), hash: try columns.optionalText(2),
            at: try columns.integer(3), request: try columns.text(4), subjectKey: try columns.optionalText(5),
            from: try columns.optionalText(6), to: try columns.text(7), actor: try columns.text(8),
            detail: try columns.optionalText(9))
    }
}

/// One thing wrong with a store's audit log, as ``RequestStore/checkAudit()`` finds it.
///
/// It names rows by their position in the chain and the table's sequence number, and requests by id: never a
/// row's values.
public struct AuditProblem: Sendable, Hashable, CustomStringConvertible {
    /// What kind of damage.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// The audit table does not exist (dropped).
        case missingTable = "missing-table"
        /// Rows are missing from the chain (deleted).
        case gap
        /// A row's fields no longer match its hash (edited, or inserted by hand with a made-up hash).
        case edited
        /// A row outside the chain (inserted by hand without a position or hash).
        case unchained
        /// A request's log does not start with its submission, or does not end in the state the request is in
        /// (its last rows were deleted, or the request was changed without the store).
        case historyMismatch = "history-mismatch"
        /// Audit rows name a request that is no longer in the store (deleted).
        case missingRequest = "missing-request"
    }

    /// What kind of damage.
    public var kind: Kind
    /// The position in the chain it concerns, when one.
    public var chain: Int64?
    /// The audit table's sequence number of the row it concerns, when one.
    public var seq: Int64?
    /// The request it concerns, when one.
    public var request: RequestID?
    /// One line saying what is wrong, without data values.
    public var message: String

    /// Creates a problem.
    public init(kind: Kind, chain: Int64? = nil, seq: Int64? = nil, request: RequestID? = nil, message: String) {
        self.kind = kind
        self.chain = chain
        self.seq = seq
        self.request = request
        self.message = message
    }

    /// The kind and the message.
    public var description: String { kind.rawValue + ": " + message }
}

/// What ``RequestStore/checkAudit()`` found.
public struct AuditCheck: Sendable, Hashable {
    /// How many audit rows were read.
    public var rows: Int
    /// The last row's position in the chain and its hash, which an operator may record elsewhere: a later
    /// check that finds a different hash at that position shows the log was rewritten.
    public var head: (chain: Int64, hash: String)? {
        headChain.map { ($0, headHash ?? "") }
    }
    /// The damage found (at most ``RequestStore/auditProblemLimit``); empty when the log is intact.
    public var problems: [AuditProblem]
    /// How many further problems were found but not listed.
    public var omittedProblems: Int = 0

    var headChain: Int64?
    var headHash: String?

    /// Whether no problem was found.
    public var isIntact: Bool { problems.isEmpty }
}

extension RequestStore {
    /// The most problems ``checkAudit()`` lists; it counts the rest in ``AuditCheck/omittedProblems``.
    public static let auditProblemLimit = 1000

    /// Rows ``checkAudit()`` reads at a time.
    static let auditPage = 5000

    /// Verifies the whole audit log: the chain of hashes (no gap, no edited row, no row outside it), that the
    /// table exists, and that each request's log starts with its submission and ends in the state the request
    /// is in.
    ///
    /// Reads every audit row, a page at a time in one read transaction, so its time grows with the log and its
    /// memory with the number of requests.
    /// - Returns: What was found; ``AuditCheck/isIntact`` when nothing.
    /// - Throws: When the store cannot be read.
    public func checkAudit() async throws -> AuditCheck {
        try await backEnd.read { tx in
            guard !(try await tx.rows(backEnd.tableExistsQuery, [.text("audit")])).isEmpty else {
                return AuditCheck(
                    rows: 0,
                    problems: [AuditProblem(kind: .missingTable, message: "the audit table is missing (dropped)")])
            }
            var checker = AuditChecker()
            var after: Int64 = .min
            while true {
                let page = try await tx.rows(
                    "SELECT \(AuditChain.columns) FROM audit WHERE chain > ? ORDER BY chain LIMIT \(Self.auditPage)",
                    [.integer(after)]
                ).map(AuditChain.Row.init)
                for row in page { checker.add(row) }
                guard page.count == Self.auditPage, let last = page.last?.chain else { break }
                after = last
            }
            var afterSeq: Int64 = .min
            while true {
                let page = try await tx.rows(
                    "SELECT \(AuditChain.columns) FROM audit WHERE chain IS NULL AND seq > ? ORDER BY seq LIMIT \(Self.auditPage)",
                    [.integer(afterSeq)]
                ).map(AuditChain.Row.init)
                for row in page { checker.add(row) }
                guard page.count == Self.auditPage, let last = page.last?.seq else { break }
                afterSeq = last
            }
            var requests: [String: String] = [:]
            for row in try await tx.rows("SELECT id, state FROM requests", []) {
                if case .text(let id) = row[0], case .text(let state) = row[1] { requests[id] = state }
            }
            return checker.finish(requests: requests)
        }
    }
}

/// The checks of ``RequestStore/checkAudit()``, fed the chained rows in chain order, then the unchained ones.
struct AuditChecker {
    private var problems: [AuditProblem] = []
    private var omitted = 0
    private var rows = 0
    private var expected: Int64 = 1
    private var previous = AuditChain.genesis
    private var head: (Int64, String)?
    private var first: [String: AuditChain.Row] = [:]
    private var last: [String: AuditChain.Row] = [:]

    private mutating func report(_ problem: AuditProblem) {
        if problems.count < RequestStore.auditProblemLimit { problems.append(problem) } else { omitted += 1 }
    }

    mutating func add(_ row: AuditChain.Row) {
        rows += 1
        let id = try? RequestID(row.request)
        guard let chain = row.chain, let hash = row.hash else {
            report(
                AuditProblem(
                    kind: .unchained, seq: row.seq, request: id,
                    message: "audit row seq \(row.seq) is outside the chain (no position or hash)"))
            return
        }
        if first[row.request] == nil { first[row.request] = row }
        last[row.request] = row
        if chain > expected {
            report(
                AuditProblem(
                    kind: .gap, chain: chain, seq: row.seq, request: id,
                    message: expected == chain - 1
                        ? "audit row \(expected) of the chain is missing (deleted)"
                        : "audit rows \(expected) to \(chain - 1) of the chain are missing (deleted)"))
            // The row after a gap cannot be checked against its predecessor; the chain resumes from it.
        } else if AuditChain.hash(row, chain: chain, previous: previous) != hash {
            report(
                AuditProblem(
                    kind: .edited, chain: chain, seq: row.seq, request: id,
                    message: "audit row \(chain) of the chain (seq \(row.seq)) does not match its hash (edited)"))
        }
        previous = hash
        expected = chain + 1
        head = (chain, hash)
    }

    mutating func finish(requests: [String: String]) -> AuditCheck {
        for (request, state) in requests.sorted(by: { $0.key < $1.key }) {
            let name = (try? RequestID(request))?.rawValue ?? "?"
            let id = try? RequestID(request)
            guard let firstRow = first[request], let lastRow = last[request] else {
                report(
                    AuditProblem(
                        kind: .historyMismatch, request: id, message: "request \(name) has no audit rows (deleted)"))
                continue
            }
            if firstRow.from != nil || firstRow.to != RequestState.received.rawValue {
                report(
                    AuditProblem(
                        kind: .historyMismatch, seq: firstRow.seq, request: id,
                        message: "the audit log of request \(name) does not start with its submission"))
            }
            if lastRow.to != state {
                report(
                    AuditProblem(
                        kind: .historyMismatch, seq: lastRow.seq, request: id,
                        message: "the audit log of request \(name) does not end in the state the request is in"))
            }
        }
        for request in Set(first.keys).subtracting(requests.keys).sorted() {
            let name = (try? RequestID(request))?.rawValue ?? "?"
            report(
                AuditProblem(
                    kind: .missingRequest, request: try? RequestID(request),
                    message: "audit rows name request \(name), which is not in the store"))
        }
        return AuditCheck(
            rows: rows, problems: problems, omittedProblems: omitted, headChain: head?.0, headHash: head?.1)
    }
}
