import ArgumentParser
import Foundation
import HandoverAge
import HandoverArchive
import HandoverCore

/// `handover keys`: keys for encrypting bundles to their recipients.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Make and read the keys bundles are encrypted to.",
        subcommands: [AgeGenerate.self, AgeRecipientCommand.self]
    )

    /// `handover keys age-generate`: an identity file as `age-keygen` writes one.
    struct AgeGenerate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "age-generate",
            abstract: "Write a new age X25519 identity, as age-keygen does.",
            discussion: """
                The file (mode 600, never over an existing one) holds a creation comment, the public key as a \
                comment, and the secret key; `age -d -i FILE` reads it. The public key (age1…) is printed on \
                standard error, or as JSON on standard output with --json. Without --out, the identity goes to \
                standard output (and --json is refused, so that the two never mix).
                """)

        @Option(name: .long, help: "Where to write the identity (a new file).")
        var out: String?

        @OptionGroup var common: CommonOptions

        func validate() throws {
            if common.json && out == nil {
                throw ValidationError("--json needs --out (the identity itself goes to standard output without it).")
            }
        }

        func run() async throws {
            try await reportingErrors {
                let identity = AgeIdentity.generate()
                guard let secret = identity.encoded, let publicKey = identity.recipient.encoded else {
                    throw HandoverError(.internalError, "a new identity has no text")
                }
                let text = "# created: \(Timestamp.now().iso8601)\n# public key: \(publicKey)\n\(secret)\n"
                if let out {
                    try AtomicFile.create(at: out) { descriptor, _ in
                        let bytes = Array(text.utf8)
                        guard bytes.withUnsafeBytes({ write(descriptor, $0.baseAddress, $0.count) }) == bytes.count
                        else { throw HandoverError(errno: errno, .outputUnavailable, "cannot write '\(out)'") }
                    }
                } else {
                    FileHandle.standardOutput.write(Data(text.utf8))
                }
                if common.json {
                    try printJSON(["publicKey": publicKey, "file": out ?? "-"])
                } else if !common.quiet {
                    FileHandle.standardError.write(Data("Public key: \(publicKey)\n".utf8))
                }
            }
        }
    }

    /// `handover keys age-recipient`: the public keys of an identity file, as `age-keygen -y` prints them.
    struct AgeRecipientCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "age-recipient", abstract: "Print the public key (age1…) of each identity in a file.")

        @Argument(help: "An age identity file.")
        var identityFile: String

        func run() async throws {
            try await reportingErrors {
                guard let data = FileManager.default.contents(atPath: identityFile),
                    let text = String(data: data, encoding: .utf8)
                else { throw HandoverError(.sourceUnavailable, "cannot read the identity file '\(identityFile)'") }
                let identities: [AgeIdentity]
                do {
                    identities = try AgeIdentity.parseFile(text)
                } catch let error as AgeError {
                    throw error.handoverError
                }
                for identity in identities {
                    if let recipient = identity.recipient.encoded { print(recipient) }
                }
            }
        }
    }
}
