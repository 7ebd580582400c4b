import ArgumentParser
import Foundation
import HandoverAge
import HandoverBundle
import HandoverCore
import HandoverMinisign
import HandoverStore

/// The options that encrypt and sign what `export` publishes: age recipients, a passphrase, a minisign key.
struct SealingOptions: ParsableArguments {
    @Option(name: .long, help: "Encrypt each archive to this age recipient (age1…); repeatable.")
    var recipient: [String] = []

    @Option(
        name: .long,
        help: "Encrypt to each recipient in this file (one a line, # comments, as age -R reads); repeatable.")
    var recipientsFile: [String] = []

    @Option(
        name: .long,
        help:
            "Encrypt with the passphrase in this file (mode 600; one line), as age -p does; alone, not with recipients."
    )
    var passphraseFile: String?

    @Option(name: .long, help: "Sign the manifest and each archive with this minisign secret key (mode 600).")
    var signKey: String?

    @Option(name: .long, help: "The file holding the passphrase of a protected --sign-key (mode 600).")
    var signKeyPassphraseFile: String?

    func validate() throws {
        if passphraseFile != nil && !(recipient.isEmpty && recipientsFile.isEmpty) {
            throw ValidationError("--passphrase-file encrypts to a passphrase alone: give it without recipients.")
        }
        if signKeyPassphraseFile != nil && signKey == nil {
            throw ValidationError("--sign-key-passphrase-file needs --sign-key.")
        }
    }

    /// Sets `options`' recipients and signing key from the files and values given.
    func apply(to options: inout BundleOptions) throws {
        var recipients: [AgeRecipient] = []
        do {
            for (index, text) in recipient.enumerated() {
                do {
                    recipients.append(try AgeRecipient(parsing: text))
                } catch {
                    throw AgeError(.key, "--recipient number \(index + 1) is not an age X25519 public key (age1…)")
                }
            }
            for path in recipientsFile {
                guard let data = FileManager.default.contents(atPath: path),
                    let text = String(data: data, encoding: .utf8)
                else { throw HandoverError(.invalidArgument, "cannot read the recipients file '\(path)'") }
                recipients += try AgeRecipient.parseFile(text)
            }
            if let passphraseFile {
                let passphrase = Self.firstLine(try PrivateFile.read(passphraseFile, "the passphrase file"))
                guard !passphrase.isEmpty else {
                    throw HandoverError(.invalidArgument, "the passphrase file '\(passphraseFile)' is empty")
                }
                recipients.append(.scrypt(passphrase: Array(passphrase.utf8), workFactor: 18))
            }
        } catch let error as AgeError {
            throw HandoverError(.invalidArgument, error.description)
        }
        options.recipients = recipients
        if let signKey {
            options.signingKey = try Self.readSecretKey(signKey, passphraseFile: signKeyPassphraseFile)
        }
    }

    /// The minisign secret key in `path` (mode 600), opened with the passphrase in `passphraseFile` if protected.
    static func readSecretKey(_ path: String, passphraseFile: String?) throws -> MinisignSecretKey {
        let text = try PrivateFile.read(path, "the minisign secret key file")
        let passphrase = try passphraseFile.map { firstLine(try PrivateFile.read($0, "the passphrase file")) }
        do {
            return try MinisignSecretKey(parsing: text, passphrase: passphrase.map { Array($0.utf8) })
        } catch {
            throw HandoverError(.invalidArgument, "the secret key '\(path)': \(error.message)")
        }
    }

    /// A secret file's first line, without its line end (LF or CRLF).
    static func firstLine(_ text: String) -> String {
        String(text.prefix { $0 != "\n" && $0 != "\r\n" && $0 != "\r" })
    }
}

/// `--csv-formula-guard` and `--missing-files`, for every command that writes bundles (export, worker, serve's
/// workers).
struct ContentOptions: ParsableArguments {
    @Option(
        name: .long,
        help:
            "Guard CSV text cells a spreadsheet would run as formulas with a leading ' (on), or not (off, for machines)."
    )
    var csvFormulaGuard: Switch = .on

    @Option(
        name: .long,
        help: """
            When a file a row names is missing or unreadable: fail the export naming table, row and field (fail), \
            or publish the bundle without it, partial, listing each missing file and why (record).
            """)
    var missingFiles: MissingFilePolicy = .fail

    /// Sets `options`' guard and missing-file policy.
    func apply(to options: inout BundleOptions) {
        options.csvFormulaGuard = csvFormulaGuard.isOn
        options.missingFiles = missingFiles
    }
}
