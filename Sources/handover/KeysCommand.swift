import ArgumentParser
import Foundation
import HandoverAge
import HandoverArchive
import HandoverCore
import HandoverMinisign
import HandoverStore

/// `handover keys`: keys for encrypting bundles to their recipients.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Make and read the keys bundles are signed with and encrypted to.",
        subcommands: [Generate.self, AgeGenerate.self, AgeRecipientCommand.self]
    )

    /// `handover keys generate`: a minisign key pair, as `minisign -G` writes one.
    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "generate",
            abstract: "Write a new minisign key pair for signing bundles (--sign-key).",
            discussion: """
                Writes DIR/minisign.key (the secret key) and DIR/minisign.pub (the public key), both mode 600 and \
                never over existing files, in minisign's formats: `minisign -S -s DIR/minisign.key` signs with the \
                one and `minisign -V -p DIR/minisign.pub` verifies with the other. With --passphrase-file, the secret \
                key is protected as `minisign -G` protects it (scrypt, 1 GiB of memory); without, it is stored \
                unencrypted, as `minisign -G -W` does, for unattended signing.
                """)

        @Option(name: .long, help: "The folder to write minisign.key and minisign.pub in (created when missing).")
        var out: String

        @Option(name: .long, help: "Protect the secret key with the passphrase in this file (mode 600; one line).")
        var passphraseFile: String?

        @OptionGroup var common: CommonOptions

        func run() async throws {
            try await reportingErrors {
                let passphrase = try passphraseFile.map {
                    SealingOptions.firstLine(try PrivateFile.read($0, "the passphrase file"))
                }
                if let passphrase, passphrase.isEmpty {
                    throw HandoverError(.invalidArgument, "the passphrase file is empty")
                }
                try AtomicFile.createPrivateFolder(at: out)
                let key = MinisignSecretKey.generate()
                var secretText = key.fileText
                if let passphrase {
                    do {
                        secretText = try key.fileText(passphrase: Array(passphrase.utf8))
                    } catch let error as MinisignError {
                        throw HandoverError(.internalError, "cannot protect the secret key: \(error.message)")
                    }
                }
                let secretPath = out + "/minisign.key"
                let publicPath = out + "/minisign.pub"
                for path in [secretPath, publicPath] where FileManager.default.fileExists(atPath: path) {
                    throw HandoverError(.outputExists, "'\(path)' already exists")
                }
                try AtomicFile.write(Array(secretText.utf8), to: secretPath)
                try AtomicFile.write(Array(key.publicKey.fileText.utf8), to: publicPath)
                if common.json {
                    try printJSON([
                        "keyID": key.publicKey.keyIDText, "publicKey": key.publicKey.base64Line,
                        "secretKeyFile": secretPath, "publicKeyFile": publicPath,
                    ])
                } else if !common.quiet {
                    print("Key id \(key.publicKey.keyIDText); public key: \(key.publicKey.base64Line)")
                    print("Verify with: minisign -Vm FILE -P \(key.publicKey.base64Line)")
                }
            }
        }
    }

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
                    try AtomicFile.write(Array(text.utf8), to: out)
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
