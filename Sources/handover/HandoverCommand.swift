import ArgumentParser

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
        version: "0.1.0",
        subcommands: [
            ExportCommand.self, VerifyCommand.self, MapCommand.self, RequestsCommand.self, WorkerCommand.self,
            PurgeCommand.self, DemoCommand.self,
        ]
    )
}
