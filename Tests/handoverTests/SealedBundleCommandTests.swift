import Foundation
import TestSupport
import Testing

/// Runs a shell command line (`sh -c`), for pipes and umasks; `arguments` are `$1`, `$2`, ….
func shell(_ script: String, _ arguments: String...) throws -> ProcessResult {
    try run("/bin/sh", ["-c", script, "sh"] + arguments)
}

func fileMode(_ path: String) throws -> Int? {
    try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
}

/// Encrypted and signed bundles against the receivers' own tools: Debian's `age`, `minisign` and bagit-python.
@Suite struct SealedBundleCommandTests {
    @Test func anEncryptedSignedExportOpensWithAgeAndVerifiesWithMinisignAndHandover() async throws {
        try await withTemporaryDirectory { folder in
            _ = try demoArchive(in: folder)
            #expect(try run("/usr/bin/age-keygen", ["-o", folder + "/id.txt"]).status == 0)
            let recipient = try run("/usr/bin/age-keygen", ["-y", folder + "/id.txt"]).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(try handover("keys", "age-generate", "--out", folder + "/id2.txt", "--quiet").status == 0)
            let second = try handover("keys", "age-recipient", folder + "/id2.txt").stdout
            try ("# the second receiver\r\n" + second.replacingOccurrences(of: "\n", with: "\r\n")).write(
                toFile: folder + "/recipients.txt", atomically: true, encoding: .utf8)
            let keys = try shell(
                "umask 000; exec \"$1\" keys generate --out \"$2\" --json", handoverBinary, folder + "/keys")
            #expect(keys.status == 0, "\(keys.stderr)")
            let keyID = try #require(try jsonObject(keys.stdout)["keyID"] as? String)
            let publicKey = try #require(try jsonObject(keys.stdout)["publicKey"] as? String)
            #expect(try fileMode(folder + "/keys/minisign.key") == 0o600)

            let exported = try shell(
                "umask 000; exec \"$1\" export --db \"$2/demo.sqlite\" --map \"$2/demo-map.yaml\" --tenant 1 "
                    + "--out \"$2/out\" --recipient \"$3\" --recipients-file \"$2/recipients.txt\" "
                    + "--sign-key \"$2/keys/minisign.key\" --json --quiet",
                handoverBinary, folder, recipient)
            #expect(exported.status == 0, "\(exported.stderr)")
            let archive = try #require(try jsonObject(exported.stdout)["archive"] as? String)
            let name = (archive as NSString).lastPathComponent
            #expect(name.hasSuffix(".zip.age"))
            #expect(listFolder(folder + "/out").sorted() == [name, name + ".minisig"], "nothing in plaintext")
            #expect(try fileMode(archive) == 0o600 && fileMode(archive + ".minisig") == 0o600)

            // age opens it with either identity; what comes out is the zip.
            for identity in ["id.txt", "id2.txt"] {
                let opened = try run(
                    "/usr/bin/age", ["-d", "-i", folder + "/" + identity, "-o", folder + "/plain-" + identity, archive])
                #expect(opened.status == 0, "\(opened.stderr)")
            }
            let plain = folder + "/plain.zip"
            try FileManager.default.moveItem(atPath: folder + "/plain-id.txt", toPath: plain)
            #expect(try handover("verify", plain).status == 0)

            // minisign accepts the detached signature, whose trusted comment names the request and the file.
            let checked = try run("/usr/bin/minisign", ["-Vm", archive, "-p", folder + "/keys/minisign.pub"])
            #expect(checked.status == 0, "\(checked.stderr)")
            let request = try #require(try jsonObject(exported.stdout)["request"] as? String)
            #expect(checked.stdout.contains("Trusted comment: handover request:\(request) generated:"))
            #expect(checked.stdout.contains("file:\(name)"))

            // Unpacked, the bag passes bagit-python, and minisign accepts manifest.json.minisig for manifest.json.
            let bag = try unpackArchive(plain, into: folder + "/unpacked")
            let bagit = try run("/usr/bin/env", ["python3", "-m", "bagit", "--validate", bag])
            #expect(bagit.status == 0, "\(bagit.stderr)")
            let manifestChecked = try run("/usr/bin/minisign", ["-Vm", bag + "/manifest.json", "-P", publicKey])
            #expect(manifestChecked.status == 0, "\(manifestChecked.stderr)")

            // Handover: the identity opens it; the key checks it; without the key it says what it did not check.
            let verified = try handover(
                "verify", "--identity", folder + "/id2.txt", "--pubkey", folder + "/keys/minisign.pub", archive,
                "--json")
            #expect(verified.status == 0, "\(verified.stdout)")
            let report = try jsonObject(verified.stdout)
            #expect(report["encrypted"] as? Bool == true)
            let signature = try #require(report["signature"] as? [String: Any])
            #expect(signature["checked"] as? Bool == true && signature["keyID"] as? String == keyID)
            let unchecked = try handover("verify", "--identity", folder + "/id.txt", archive)
            #expect(unchecked.status == 0)
            #expect(unchecked.stdout.contains("signed by key \(keyID): signature not checked"))
            let locked = try handover("verify", archive)
            #expect(
                locked.status == 1 && locked.stdout.contains("encryption: ") && locked.stdout.contains("--identity"))

            // A bundle rebuilt with a changed manifest and fixed-up checksums passes every checksum, and only the
            // signature tells: without the key it is valid, with it it is not.
            let forged = folder + "/forged.zip"
            let rebuilt = try run(
                "/usr/bin/env",
                [
                    "python3", "-c",
                    """
                    import hashlib, sys, zipfile
                    source, target = sys.argv[1], sys.argv[2]
                    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
                        files = {info.filename: old.read(info) for info in old.infolist()}
                        root = next(iter(files)).split("/")[0] + "/"
                        files[root + "manifest.json"] = files[root + "manifest.json"].rstrip(b"\\n") + b" \\n"
                        lines = []
                        for line in files[root + "tagmanifest-sha256.txt"].decode().splitlines():
                            digest, path = line.split("  ", 1)
                            if path == "manifest.json":
                                digest = hashlib.sha256(files[root + path]).hexdigest()
                            lines.append(digest + "  " + path)
                        files[root + "tagmanifest-sha256.txt"] = ("\\n".join(lines) + "\\n").encode()
                        for name, data in files.items():
                            new.writestr(name, data)
                    """, plain, forged,
                ])
            #expect(rebuilt.status == 0, "\(rebuilt.stderr)")
            let forgedUnchecked = try handover("verify", forged)
            #expect(forgedUnchecked.status == 0, "\(forgedUnchecked.stdout)")
            #expect(forgedUnchecked.stdout.contains("signature not checked"))
            let forgedChecked = try handover("verify", "--pubkey-string", publicKey, forged)
            #expect(forgedChecked.status == 1)
            #expect(forgedChecked.stdout.contains("manifest.json.minisig: signature: does not verify"))
            #expect(forgedChecked.stdout.contains("no detached signature"))
        }
    }

    @Test func minisignKeysWorkBothWaysAndAPassphraseEncryptsAsAgeDoes() async throws {
        try await withTemporaryDirectory { folder in
            _ = try demoArchive(in: folder)
            try "a long passphrase\n".write(toFile: folder + "/pass", atomically: true, encoding: .utf8)
            try "not the passphrase\n".write(toFile: folder + "/wrong", atomically: true, encoding: .utf8)
            for file in ["pass", "wrong"] {
                try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: folder + "/" + file)
            }
            // A key pair minisign made, its secret key protected by a passphrase.
            let made = try shell(
                "printf 'a long passphrase\\na long passphrase\\n' | minisign -G -p \"$1/m.pub\" -s \"$1/m.key\"",
                folder)
            #expect(made.status == 0, "\(made.stderr)")
            func export(_ extra: String...) throws -> ProcessResult {
                try run(
                    handoverBinary,
                    [
                        "export", "--db", folder + "/demo.sqlite", "--map", folder + "/demo-map.yaml", "--tenant", "1",
                        "--out", folder + "/out", "--archive", "tgz", "--json", "--quiet",
                    ] + extra)
            }
            let wrong = try export("--sign-key", folder + "/m.key", "--sign-key-passphrase-file", folder + "/wrong")
            #expect(wrong.status == 64 && wrong.stderr.contains("passphrase does not open"), "\(wrong.stderr)")
            #expect(!wrong.stderr.contains("not the passphrase"))
            let none = try export("--sign-key", folder + "/m.key")
            #expect(none.status == 64 && none.stderr.contains("none was given"), "\(none.stderr)")
            #expect(listFolder(folder + "/out").isEmpty, "nothing published by a failed export")

            let signed = try export("--sign-key", folder + "/m.key", "--sign-key-passphrase-file", folder + "/pass")
            #expect(signed.status == 0, "\(signed.stderr)")
            let archive = try #require(try jsonObject(signed.stdout)["archive"] as? String)
            #expect(try run("/usr/bin/minisign", ["-Vm", archive, "-p", folder + "/m.pub"]).status == 0)
            #expect(try handover("verify", "--pubkey", folder + "/m.pub", archive).status == 0)
            // Handover checks what minisign signs: the archive signed again by minisign itself.
            try FileManager.default.removeItem(atPath: archive + ".minisig")
            let resigned = try shell(
                "printf 'a long passphrase\\n' | minisign -S -s \"$1/m.key\" -m \"$2\"", folder, archive)
            #expect(resigned.status == 0, "\(resigned.stderr)")
            let again = try handover("verify", "--pubkey", folder + "/m.pub", archive)
            #expect(again.status == 0, "\(again.stdout)")

            // A key pair Handover made, protected by a passphrase: minisign signs with it.
            #expect(
                try handover(
                    "keys", "generate", "--out", folder + "/k", "--passphrase-file", folder + "/pass", "--quiet"
                )
                .status == 0)
            try "hello".write(toFile: folder + "/msg", atomically: true, encoding: .utf8)
            let theirs = try shell(
                "printf 'a long passphrase\\n' | minisign -S -s \"$1/k/minisign.key\" -m \"$1/msg\"", folder)
            #expect(theirs.status == 0, "\(theirs.stderr)")
            #expect(
                try run("/usr/bin/minisign", ["-Vm", folder + "/msg", "-p", folder + "/k/minisign.pub"]).status == 0)

            // A passphrase instead of recipients: age opens the file with it (age reads it from a terminal only).
            let sealed = try export("--passphrase-file", folder + "/pass")
            #expect(sealed.status == 0, "\(sealed.stderr)")
            let encrypted = try #require(try jsonObject(sealed.stdout)["archive"] as? String)
            #expect(encrypted.hasSuffix(".tar.gz.age"))
            let opened = try shell(
                "printf 'a long passphrase\\n' | script -qec \"age -d -o '$1/plain.tar.gz' '$2'\" /dev/null", folder,
                encrypted)
            #expect(opened.status == 0, "\(opened.stdout)\(opened.stderr)")
            #expect(try handover("verify", folder + "/plain.tar.gz").status == 0)

            // Secret files others may read are refused, naming the file and never showing what it holds.
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: folder + "/pass")
            let open = try export("--passphrase-file", folder + "/pass")
            #expect(open.status != 0 && open.stderr.contains("chmod 600") && !open.stderr.contains("long passphrase"))
        }
    }

    @Test func sealEncryptsAndSignsAPublishedArchiveAsExportWould() async throws {
        try await withTemporaryDirectory { folder in
            let archive = try demoArchive(in: folder)
            #expect(try run("/usr/bin/age-keygen", ["-o", folder + "/id.txt"]).status == 0)
            let recipient = try run("/usr/bin/age-keygen", ["-y", folder + "/id.txt"]).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(try handover("keys", "generate", "--out", folder + "/keys", "--quiet").status == 0)
            #expect(try handover("seal", archive).status == 64, "nothing to do is a usage error")

            let sealed = try shell(
                "umask 000; exec \"$1\" seal \"$2\" --recipient \"$3\" --sign-key \"$4\" --out \"$5\" --json",
                handoverBinary, archive, recipient, folder + "/keys/minisign.key", folder + "/sealed")
            #expect(sealed.status == 0, "\(sealed.stderr)")
            let name = (archive as NSString).lastPathComponent
            let encrypted = folder + "/sealed/" + name + ".age"
            #expect(listFolder(folder + "/sealed").sorted() == [name + ".age", name + ".age.minisig"])
            #expect(try fileMode(encrypted) == 0o600 && fileMode(encrypted + ".minisig") == 0o600)
            let opened = try run(
                "/usr/bin/age", ["-d", "-i", folder + "/id.txt", "-o", folder + "/back.zip", encrypted])
            #expect(opened.status == 0, "\(opened.stderr)")
            #expect(
                try Data(contentsOf: URL(fileURLWithPath: folder + "/back.zip"))
                    == Data(contentsOf: URL(fileURLWithPath: archive)))
            let checked = try run("/usr/bin/minisign", ["-Vm", encrypted, "-p", folder + "/keys/minisign.pub"])
            #expect(checked.status == 0 && checked.stdout.contains("file:" + name + ".age"), "\(checked.stdout)")
            let verified = try handover("verify", "--identity", folder + "/id.txt", encrypted)
            #expect(verified.status == 0, "\(verified.stdout)")
            // The signature inside a bundle (manifest.json.minisig) is made only by export: a key given to verify
            // finds the detached one good and says the bundle's own is missing.
            let withKey = try handover(
                "verify", "--identity", folder + "/id.txt", "--pubkey", folder + "/keys/minisign.pub", encrypted)
            #expect(withKey.status == 1 && withKey.stdout.contains("manifest.json.minisig: signature: missing"))
            #expect(!withKey.stdout.contains("the archive: "), "the detached signature verifies")

            // A damaged archive is refused before anything is written.
            var bytes = try Data(contentsOf: URL(fileURLWithPath: archive))
            bytes[bytes.count / 2] ^= 0x55
            try bytes.write(to: URL(fileURLWithPath: folder + "/damaged.zip"))
            let refused = try handover(
                "seal", folder + "/damaged.zip", "--recipient", recipient, "--out", folder + "/x")
            #expect(refused.status == 65, "\(refused.stderr)")
            #expect(listFolder(folder + "/x").isEmpty)
        }
    }

    @Test func aWorkerEncryptsAndSignsWhatItPublishes() async throws {
        try await withTemporaryDirectory { folder in
            _ = try demoArchive(in: folder)
            #expect(try run("/usr/bin/age-keygen", ["-o", folder + "/id.txt"]).status == 0)
            let recipient = try run("/usr/bin/age-keygen", ["-y", folder + "/id.txt"]).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(try handover("keys", "generate", "--out", folder + "/keys", "--quiet").status == 0)
            try Data("a test key of thirty-two bytes!!".utf8).write(to: URL(fileURLWithPath: folder + "/pk"))
            let store = ["--store", "sqlite:" + folder + "/store.sqlite", "--pseudonym-key-file", folder + "/pk"]
            #expect(
                try run(handoverBinary, ["requests", "submit", "--tenant", "1", "--request-id", "req-w"] + store).status
                    == 0)
            #expect(try run(handoverBinary, ["requests", "verify", "req-w", "--by", "desk"] + store).status == 0)
            let worked = try await runOffThread(
                handoverBinary,
                [
                    "worker", "--until-idle", "--quiet", "--db", folder + "/demo.sqlite", "--map",
                    folder + "/demo-map.yaml", "--out", folder + "/out", "--recipient", recipient, "--sign-key",
                    folder + "/keys/minisign.key",
                ] + store)
            #expect(worked.status == 0, "\(worked.stderr)")
            let archive = folder + "/out/handover-req-w.zip.age"
            #expect(listFolder(folder + "/out") == ["handover-req-w.zip.age", "handover-req-w.zip.age.minisig"])
            #expect(try run("/usr/bin/minisign", ["-Vm", archive, "-p", folder + "/keys/minisign.pub"]).status == 0)
            let verified = try handover(
                "verify", "--identity", folder + "/id.txt", "--pubkey", folder + "/keys/minisign.pub", archive)
            #expect(verified.status == 0, "\(verified.stdout)")
        }
    }
}
