import ArgumentParser
import Foundation
import HandoverBundle
import HandoverStore

/// The `handover` command-line tool.
@main
struct HandoverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "handover",
        abstract: "Answer data access, portability and transfer requests with verifiable export bundles.",
        discussion: """
            Exit codes: 0 success; 1 a bundle that does not verify, or a purge that skipped archives; 64 bad usage; 65 bad input data or dataset map; 66 a source \
            that cannot be opened; 70 internal error; 73 an output that cannot be created; 74 an \
            archive that cannot be written.
            """,
        version: HandoverVersion.current,
        subcommands: [
            ExportCommand.self, VerifyCommand.self, ImportCommand.self, MapCommand.self, RequestsCommand.self,
            WorkerCommand.self,
            SealCommand.self, PurgeCommand.self, ServeCommand.self, TokensCommand.self, KeysCommand.self,
            DemoCommand.self,
        ]
    )

    /// Usage errors start as the tool's own errors do.
    static var _errorPrefix: String { "handover: error: " }

    /// Parses and runs a command as `AsyncParsableCommand.main()` does, except that a usage error (exit 64),
    /// which quotes the value it refuses, is printed with control and bidirectional characters escaped.
    static func main() async {
        limitMallocArenas()
        do {
            var command = try await asyncParseAsRoot()
            // The usual command first: a cast to a concrete type compares metadata, where a cast to a protocol looks
            // through every conformance of the binary the first time.
            if var export = command as? ExportCommand {
                try await export.run()
            } else if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            // Help, version and the tool's own exit codes (their message is already printed) go the usual way.
            guard code != .success, !(error is ExitCode) else { exit(withError: error) }
            let message = fullMessage(for: error)
            if !message.isEmpty {
                let lines = message.split(separator: "\n", omittingEmptySubsequences: false).map {
                    ControlCharacters.escaped(String($0))
                }
                FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8))
            }
            Foundation.exit(code.rawValue)
        }
    }
}

/// Asks glibc for two malloc arenas instead of one per thread: an export runs a reader, validators and compressors
/// on threads of their own, and the arena of each kept its freed buffers (a tenant export in every format peaked
/// 4 MiB higher with them, and ran no faster). `mallopt` is looked up, as Swift's Glibc module does not carry
/// `malloc.h`.
private func limitMallocArenas() {
    #if canImport(Glibc)
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        let arenaMaximum: Int32 = -8  // M_ARENA_MAX
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        _ = unsafeBitCast(symbol, to: Mallopt.self)(arenaMaximum, 2)
    #endif
}
