import ArgumentParser
import Foundation
import HandoverCore
import HandoverStore
import HandoverWorker

/// `handover purge`: deletes archives whose retention period has ended.
struct PurgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purge",
        abstract: "Delete the archives of completed requests whose retention period has ended.",
        discussion: """
            Each deleted archive's request becomes expired in the store, with the deletion in its audit log. \
            Only files named as the request's bundle are deleted. Run it on each machine that publishes \
            archives (from cron or a systemd timer); archives in folders this machine does not have are \
            skipped and reported. Exit 0 when nothing was skipped, 1 when something was.
            """
    )

    @OptionGroup var store: StoreOptions

    @Option(name: .long, help: "Purge as if it were this time (ISO 8601); now when not given.")
    var now: String?

    @OptionGroup var common: CommonOptions

    func run() async throws {
        let outcomes = try await reportingErrors {
            let time = try now.map(parseTime) ?? .now()
            return try await store.withStore(logger: common.makeLogger()) { requests in
                try await requests.purgeExpired(actor: store.actor, at: time)
            }
        }
        if common.json {
            try printJSON(
                PurgeJSON(
                    purged: outcomes.filter { $0.result != .skipped }.count,
                    skipped: outcomes.filter { $0.result == .skipped }.count,
                    requests: outcomes.map {
                        .init(
                            request: $0.request.rawValue, archive: $0.archive, result: $0.result.rawValue,
                            reason: $0.reason)
                    }))
        } else {
            for outcome in outcomes {
                print(
                    "\(outcome.request)  \(outcome.result.rawValue)  \(safe(outcome.archive ?? "-"))"
                        + (outcome.reason.map { "  (\(safe($0)))" } ?? ""))
            }
            if !common.quiet {
                printNote(
                    "\(outcomes.filter { $0.result != .skipped }.count) expired, "
                        + "\(outcomes.filter { $0.result == .skipped }.count) skipped")
            }
        }
        if outcomes.contains(where: { $0.result == .skipped }) { throw ExitCode(1) }
    }
}

struct PurgeJSON: Encodable {
    struct Entry: Encodable {
        var request: String
        var archive: String?
        var result: String
        var reason: String?
    }

    var purged: Int
    var skipped: Int
    var requests: [Entry]
}
