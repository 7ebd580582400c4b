import ArgumentParser
import Foundation
import HandoverAge
import HandoverBundle
import HandoverCore
import HandoverMinisign

/// The keys a received bundle is opened and checked with: `verify` and `import`.
struct VerificationKeyOptions: ParsableArguments {
    @Option(name: .long, help: "An age identity file that opens encrypted archives (as age -d -i); repeatable.")
    var identity: [String] = []

    @Option(name: .long, help: "The minisign public key file the signatures must verify with.")
    var pubkey: String?

    @Option(name: .long, help: "The minisign public key itself (the base64 line), instead of --pubkey.")
    var pubkeyString: String?

    func validate() throws {
        if pubkey != nil && pubkeyString != nil {
            throw ValidationError("Give --pubkey or --pubkey-string, not both.")
        }
    }

    /// The identities and public key given.
    func keys() throws -> VerificationKeys {
        var keys = VerificationKeys()
        for path in identity {
            guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
            else { throw HandoverError(.sourceUnavailable, "cannot read the identity file '\(path)'") }
            do {
                keys.identities += try AgeIdentity.parseFile(text)
            } catch {
                throw HandoverError(.invalidArgument, "the identity file '\(path)': \(error.message)")
            }
        }
        var keyText = pubkeyString
        if let pubkey {
            guard let data = FileManager.default.contents(atPath: pubkey),
                let text = String(data: data, encoding: .utf8)
            else { throw HandoverError(.sourceUnavailable, "cannot read the public key file '\(pubkey)'") }
            keyText = text
        }
        if let keyText {
            do {
                keys.publicKey = try MinisignPublicKey(parsing: keyText)
            } catch {
                throw HandoverError(.invalidArgument, "the public key given is not a minisign public key")
            }
        }
        return keys
    }
}
