import Crypto
import Foundation
import HandoverBagIt
import HandoverBundle
import HandoverDemo
import TestSupport
import Testing

// MARK: - Conformance suite

/// The Library of Congress BagIt conformance suite, kept next to the package.
let bagItSuite = packageRoot + "/../shared/testsuites/bagit-conformance-suite"

/// The suite's folders this validator answers for, with the verdict each case must get.
let bagItSuiteFolders: [(folder: String, valid: Bool)] = [
    ("v1.0/valid", true), ("v1.0/invalid", false),
    ("v0.97/valid", true), ("v0.97/invalid", false), ("v0.97/warning", true), ("v0.97/linux-only", false),
]

/// Whether problems leave a bag valid.
func isValid(_ problems: [BagItProblem]) -> Bool { !problems.contains { $0.severity == .error } }

@Test func bagItConformanceSuite() throws {
    var passed = 0
    var failed = 0
    var disagreements: [String] = []
    for (folder, expected) in bagItSuiteFolders {
        let path = bagItSuite + "/" + folder
        let cases = try FileManager.default.contentsOfDirectory(atPath: path).sorted().filter { name in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: path + "/" + name, isDirectory: &isDirectory)
                && isDirectory.boolValue
        }
        #expect(!cases.isEmpty, "no cases in \(folder)")
        for name in cases {
            let problems = BagItValidator.validate(directory: path + "/" + name)
            if isValid(problems) == expected {
                passed += 1
            } else {
                failed += 1
                let found = problems.map { "      \($0)" }.joined(separator: "\n")
                disagreements.append(
                    "  \(folder)/\(name): expected \(expected ? "valid" : "invalid")\n"
                        + (found.isEmpty ? "      (no problems)" : found))
            }
        }
    }
    for line in disagreements { print(line) }
    print("BagIt conformance suite: \(passed) passed, \(failed) failed")
    #expect(failed == 0)
}

// MARK: - A bag in memory

/// A small bag held in memory, fed to a ``BagItChecker`` the way an archive reader would.
struct MemoryBag {
    /// The payload files, as the manifests describe them.
    var payload: [(path: String, bytes: [UInt8])] = [
        ("data/a.txt", Array("alpha\n".utf8)),
        ("data/sub/b.txt", Array("bravo bravo\n".utf8)),
        ("data/with space.csv", Array("x,y\n1,2\n".utf8)),
    ]
    /// Payload-Oxum, computed from `payload` unless set.
    var oxum: String?
    /// Lines added to every payload manifest, after the generated ones.
    var extraManifestLines: [String] = []
    /// The payload files fed to the checker (by default `payload`).
    var fedPayload: [(path: String, bytes: [UInt8])]?
    /// Extra tag files, fed after the generated ones.
    var extraTagFiles: [(path: String, bytes: [UInt8])] = []
    /// The BagIt version bagit.txt declares.
    var version = "1.0"

    /// The payload manifests' algorithms.
    static let algorithms: [BagItAlgorithm] = [.sha256, .md5]

    /// The tag files, tag manifest last.
    var tagFiles: [(path: String, bytes: [UInt8])] {
        let octets = payload.reduce(0) { $0 + $1.bytes.count }
        var files: [(path: String, bytes: [UInt8])] = [
            ("bagit.txt", Array("BagIt-Version: \(version)\nTag-File-Character-Encoding: UTF-8\n".utf8)),
            (
                "bag-info.txt",
                Array(
                    "Source-Organization: Handover tests\nPayload-Oxum: \(oxum ?? "\(octets).\(payload.count)")\n".utf8)
            ),
        ]
        for algorithm in Self.algorithms {
            var lines = payload.map { file in
                let digest = BagItHasher.digest(file.bytes, algorithm)
                return digest + "  " + Self.encoded(file.path)
            }
            lines += extraManifestLines
            files.append(("manifest-\(algorithm.rawValue).txt", Array(lines.map { $0 + "\n" }.joined().utf8)))
        }
        files += extraTagFiles
        let tagLines = files.map { BagItHasher.digest($0.bytes, .sha256) + "  " + $0.path + "\n" }
        files.append(("tagmanifest-sha256.txt", Array(tagLines.joined().utf8)))
        return files
    }

    /// `path` as a manifest writes it: `%`, LF and CR percent-encoded (RFC 8493 §2.1.3).
    static func encoded(_ path: String) -> String {
        path.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "\n", with: "%0A")
            .replacingOccurrences(of: "\r", with: "%0D")
    }

    /// The order in which an archive delivers the bag's files.
    enum Order: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case tagFilesFirst, payloadFirst
        var testDescription: String { rawValue }
    }

    /// Feeds the bag to a fresh checker in `order`, hashing each payload file with what the checker needs then.
    func check(_ order: Order) -> [BagItProblem] {
        var checker = BagItChecker()
        func feedPayload() {
            for file in fedPayload ?? payload {
                var hasher = BagItHasher(checker.algorithmsNeeded)
                file.bytes.withUnsafeBytes { hasher.update($0) }
                checker.addPayloadFile(path: file.path, size: Int64(file.bytes.count), digests: hasher.finalize())
            }
        }
        switch order {
        case .tagFilesFirst:
            for file in tagFiles { checker.addTagFile(path: file.path, bytes: file.bytes) }
            #expect(checker.algorithmsNeeded == [.sha256, .md5])
            feedPayload()
        case .payloadFirst:
            #expect(checker.algorithmsNeeded == Set(BagItAlgorithm.allCases))
            feedPayload()
            for file in tagFiles { checker.addTagFile(path: file.path, bytes: file.bytes) }
        }
        return checker.finish()
    }
}

extension BagItHasher {
    /// The digest of `bytes` with one algorithm.
    static func digest(_ bytes: [UInt8], _ algorithm: BagItAlgorithm) -> String {
        var hasher = BagItHasher([algorithm])
        bytes.withUnsafeBytes { hasher.update($0) }
        return hasher.finalize()[algorithm]!
    }
}

/// The errors among `problems`.
func errors(_ problems: [BagItProblem]) -> [BagItProblem] { problems.filter { $0.severity == .error } }

// MARK: - The checker, fed in archive order

/// A way to spoil the bag, with the error it must cause.
enum BagDamage: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case none, corruptPayload, missingFile, extraFile, wrongOxum, pathEscapingBag, absolutePath

    var testDescription: String { rawValue }

    /// The bag, spoilt.
    var bag: MemoryBag {
        var bag = MemoryBag()
        switch self {
        case .none:
            break
        case .corruptPayload:
            var fed = bag.payload
            fed[1].bytes[0] ^= 0x20
            bag.fedPayload = fed
        case .missingFile:
            bag.fedPayload = bag.payload.filter { $0.path != "data/sub/b.txt" }
        case .extraFile:
            bag.fedPayload = bag.payload + [("data/extra.bin", [1, 2, 3])]
        case .wrongOxum:
            bag.oxum = "999.3"
        case .pathEscapingBag:
            bag.extraManifestLines = [String(repeating: "0", count: 64) + "  data/../../outside.txt"]
        case .absolutePath:
            bag.extraManifestLines = [String(repeating: "0", count: 64) + "  /etc/passwd"]
        }
        return bag
    }

    /// The path the error must name, and words its message must hold.
    var expected: (path: String, words: String)? {
        switch self {
        case .none: nil
        case .corruptPayload: ("data/sub/b.txt", "does not match")
        case .missingFile: ("data/sub/b.txt", "is not in the bag")
        case .extraFile: ("data/extra.bin", "in no payload manifest")
        case .wrongOxum: ("bag-info.txt", "Payload-Oxum")
        case .pathEscapingBag: ("manifest-md5.txt", "climbs out")
        case .absolutePath: ("manifest-sha256.txt", "absolute")
        }
    }
}

@Test(arguments: BagDamage.allCases, MemoryBag.Order.allCases)
func bagItCheckerInArchiveOrder(damage: BagDamage, order: MemoryBag.Order) {
    let problems = damage.bag.check(order)
    guard let expected = damage.expected else {
        #expect(problems.isEmpty, "\(problems)")
        return
    }
    #expect(
        errors(problems).contains { $0.path == expected.path && $0.message.contains(expected.words) },
        "\(problems)")
}

@Test func bagItMissingAndExtraFilesAlsoBreakPayloadOxum() {
    for damage in [BagDamage.missingFile, .extraFile] {
        let problems = damage.bag.check(.tagFilesFirst)
        #expect(errors(problems).contains { $0.path == "bag-info.txt" && $0.message.contains("Payload-Oxum") })
    }
}

// MARK: - The checker's rules

@Test func bagItPercentEncodedNamesAreDecoded() {
    var bag = MemoryBag()
    bag.payload += [("data/line\nbreak.txt", [1]), ("data/100%.txt", [2]), ("data/%7Eliteral.txt", [3])]
    for order in MemoryBag.Order.allCases {
        #expect(bag.check(order).isEmpty, "\(bag.check(order))")
    }
}

@Test func bagItHoleyBagMayLackFetchedFiles() {
    var bag = MemoryBag()
    bag.fedPayload = bag.payload.filter { $0.path != "data/sub/b.txt" }
    bag.extraTagFiles = [("fetch.txt", Array("https://example.org/b.txt 12 data/sub/b.txt\n".utf8))]
    #expect(errors(bag.check(.tagFilesFirst)).isEmpty, "\(bag.check(.tagFilesFirst))")

    // With an unknown length the octets are a lower bound; the file count still has to match.
    bag.extraTagFiles = [("fetch.txt", Array("https://example.org/b.txt - data/sub/b.txt\n".utf8))]
    #expect(errors(bag.check(.payloadFirst)).isEmpty)

    // A fetched file must still be listed in every payload manifest.
    bag.extraTagFiles = [("fetch.txt", Array("https://example.org/c.txt - data/c.txt\n".utf8))]
    #expect(errors(bag.check(.tagFilesFirst)).contains { $0.path == "data/c.txt" })

    // And it must not escape the bag.
    bag.extraTagFiles = [("fetch.txt", Array("https://example.org/c.txt - data/../../c.txt\n".utf8))]
    #expect(errors(bag.check(.tagFilesFirst)).contains { $0.path == "fetch.txt" && $0.message.contains("climbs") })
}

@Test(arguments: [("1.0", BagItProblem.Severity.error), ("0.97", .warning)])
func bagItFileListedTwiceWithTheSameDigest(version: String, severity: BagItProblem.Severity) {
    var bag = MemoryBag()
    bag.version = version
    let first = bag.payload[0]
    bag.extraManifestLines = [BagItHasher.digest(first.bytes, .sha256) + "  " + first.path]
    let problems = bag.check(.tagFilesFirst).filter { $0.path == first.path }
    // BagIt 1.0 forbids listing a file twice; 0.97 tolerates it when the digests agree.
    #expect(problems.filter { $0.message.contains("manifest-sha256.txt") }.map(\.severity) == [severity])
    // The md5 manifest got the same line, whose digest is no md5 digest: an error whatever the version.
    #expect(errors(problems).contains { $0.message.contains("manifest-md5.txt") })
}

@Test func bagItPayloadHashedWithoutTheManifestsAlgorithmIsAnError() {
    let bag = MemoryBag()
    var checker = BagItChecker()
    for file in bag.payload {
        var hasher = BagItHasher([.md5])
        file.bytes.withUnsafeBytes { hasher.update($0) }
        checker.addPayloadFile(path: file.path, size: Int64(file.bytes.count), digests: hasher.finalize())
    }
    for file in bag.tagFiles { checker.addTagFile(path: file.path, bytes: file.bytes) }
    let problems = errors(checker.finish())
    #expect(problems.count == bag.payload.count)
    #expect(problems.allSatisfy { $0.message.contains("was not hashed with sha256") })
}

@Test func bagItCheckerAdmitsOnlyPathsInsideTheBag() {
    var checker = BagItChecker()
    for path in ["../evil.txt", "/etc/passwd", "data/../../x", "data//x", "", "data"] {
        checker.addPayloadFile(path: path, size: 1, digests: [:])
    }
    let problems = checker.finish()
    for path in ["../evil.txt", "/etc/passwd", "data/../../x", "data//x", "", "data"] {
        #expect(errors(problems).contains { $0.path == path }, "\(path)")
    }

    // A leading ./ is how tar often writes names; it is ignored.
    let bag = MemoryBag()
    var dotted = BagItChecker()
    for file in bag.tagFiles { dotted.addTagFile(path: "./" + file.path, bytes: file.bytes) }
    for file in bag.payload {
        dotted.addTagFile(path: "./" + file.path, bytes: file.bytes)  // Under data/: taken as a payload file.
    }
    #expect(dotted.finish().isEmpty)
}

@Test func bagItLargeTagFilesMayComeAsDigests() {
    let big = [UInt8](repeating: 7, count: 100_000)
    var bag = MemoryBag()
    bag.extraTagFiles = [("metadata/scan.tiff", big)]
    var checker = BagItChecker()
    for file in bag.tagFiles where file.path != "metadata/scan.tiff" {
        checker.addTagFile(path: file.path, bytes: file.bytes)
    }
    #expect(checker.algorithmsNeeded == [.sha256, .md5])
    var hasher = BagItHasher(checker.algorithmsNeeded)
    big.withUnsafeBytes { hasher.update($0) }
    checker.addTagFile(path: "metadata/scan.tiff", size: Int64(big.count), digests: hasher.finalize())
    checker.addTagFile(path: "fetch.txt", size: 0, digests: [:])  // A file the checker reads, without bytes.
    for file in bag.payload { checker.addTagFile(path: file.path, bytes: file.bytes) }
    let problems = checker.finish()
    #expect(problems.map(\.path) == ["fetch.txt"], "\(problems)")
}

@Test func bagItTagFilesInTheDeclaredEncoding() {
    // UTF-16 little-endian with a byte-order mark, and a name outside ASCII.
    func utf16LE(_ text: String) -> [UInt8] {
        [0xFF, 0xFE] + text.utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
    }
    let content: [UInt8] = Array("café\n".utf8)
    let manifest = BagItHasher.digest(content, .sha256) + "  data/café.txt\r\n"
    var checker = BagItChecker()
    checker.addTagFile(
        path: "bagit.txt", bytes: Array("BagIt-Version: 1.0\r\nTag-File-Character-Encoding: UTF-16\r\n".utf8))
    checker.addTagFile(path: "manifest-sha256.txt", bytes: utf16LE(manifest))
    checker.addTagFile(path: "bag-info.txt", bytes: utf16LE("Payload-Oxum: \(content.count).1\n"))
    checker.addPayloadFile(
        path: "data/café.txt", size: Int64(content.count), digests: [.sha256: BagItHasher.digest(content, .sha256)])
    #expect(checker.finish().isEmpty, "\(checker.finish())")

    // The same manifest read as UTF-8 cannot be decoded.
    var wrong = BagItChecker()
    wrong.addTagFile(path: "bagit.txt", bytes: Array("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n".utf8))
    wrong.addTagFile(path: "manifest-sha256.txt", bytes: utf16LE(manifest))
    #expect(errors(wrong.finish()).contains { $0.path == "manifest-sha256.txt" })
}

/// A bagit.txt to try, named for the test report.
struct Declaration: Sendable, CustomTestStringConvertible {
    var name: String
    var text: String
    var testDescription: String { name }
}

@Test(arguments: [
    Declaration(name: "no final line break", text: "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8"),
    Declaration(name: "CRLF, lowercase encoding", text: "BagIt-Version: 1.0\r\nTag-File-Character-Encoding: utf-8\r\n"),
    Declaration(name: "version 0.97", text: "BagIt-Version: 0.97\nTag-File-Character-Encoding: UTF-8\n"),
])
func bagItDeclarationAccepted(declaration: Declaration) {
    var checker = BagItChecker()
    checker.addTagFile(path: "bagit.txt", bytes: Array(declaration.text.utf8))
    checker.addTagFile(path: "manifest-sha256.txt", bytes: [])
    #expect(checker.finish().isEmpty, "\(checker.finish())")
}

@Test(arguments: [
    Declaration(name: "one line", text: "BagIt-Version: 1.0\n"),
    Declaration(name: "lines swapped", text: "Tag-File-Character-Encoding: UTF-8\nBagIt-Version: 1.0\n"),
    Declaration(name: "three lines", text: "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\nExtra: line\n"),
    Declaration(name: "no space", text: "BagIt-Version:1.0\nTag-File-Character-Encoding: UTF-8\n"),
    Declaration(name: "trailing space", text: "BagIt-Version: 1.0 \nTag-File-Character-Encoding: UTF-8\n"),
    Declaration(name: "version 1", text: "BagIt-Version: 1\nTag-File-Character-Encoding: UTF-8\n"),
    Declaration(name: "unknown encoding", text: "BagIt-Version: 1.0\nTag-File-Character-Encoding: KOI8-Z\n"),
    Declaration(name: "byte-order mark", text: "\u{FEFF}BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"),
    Declaration(name: "not UTF-8", text: "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n\u{FFFF}"),
])
func bagItDeclarationRejected(declaration: Declaration) {
    var checker = BagItChecker()
    var bytes = Array(declaration.text.utf8)
    if declaration.name == "not UTF-8" { bytes = bytes.dropLast(3) + [0xC3] }
    checker.addTagFile(path: "bagit.txt", bytes: bytes)
    checker.addTagFile(path: "manifest-sha256.txt", bytes: [])
    #expect(errors(checker.finish()).contains { $0.path == "bagit.txt" }, "\(checker.finish())")
}

@Test func bagItProblemDescriptionEscapesControlCharacters() {
    let problem = BagItProblem(severity: .error, path: "data/a\nb\u{1B}.txt", message: "is not in the bag")
    #expect(problem.description == "error: data/a\\nb\\u{1B}.txt: is not in the bag")
    #expect(BagItProblem(severity: .warning, path: nil, message: "m").description == "warning: m")
}

// MARK: - Hashing

@Test(arguments: [
    ("", "d14a028c2a3a2bc9476102bb288234c415a2b01f828ea62ac5b3e42f"),
    ("abc", "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7"),
    (
        "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
        "75388b16512776cc5dba5da1fd890150b0c6455cb4f58b1952522525"
    ),
    (String(repeating: "a", count: 1_000_000), "20794655980c91d8bbb4c1ea97618a4bf03f42581948b2ee4ee7ad67"),
])
func bagItSHA224(text: String, digest: String) {
    #expect(BagItHasher.digest(Array(text.utf8), .sha224) == digest)
}

@Test func bagItHasherGivesTheSameDigestsWhateverTheBlocks() {
    let bytes = (0..<10_000).map { UInt8($0 % 251) }
    let whole = BagItHasher.digests(bytes)
    #expect(whole[.sha224] == "e66ae0c277b9fb56b12223e8d5a25dd09c78306c4a073bd40f8e4011")
    #expect(whole[.md5] == Insecure.MD5.hash(data: bytes).map { String(format: "%02x", $0) }.joined())
    #expect(whole[.sha1] == Insecure.SHA1.hash(data: bytes).map { String(format: "%02x", $0) }.joined())
    #expect(whole[.sha256] == SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined())
    #expect(whole[.sha384] == SHA384.hash(data: bytes).map { String(format: "%02x", $0) }.joined())
    #expect(whole[.sha512] == SHA512.hash(data: bytes).map { String(format: "%02x", $0) }.joined())
    for sizes in [[1], [63, 1, 64, 65], [1000], [55, 9, 128, 7]] {
        var hasher = BagItHasher(Set(BagItAlgorithm.allCases))
        var offset = 0
        var turn = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + sizes[turn % sizes.count])
            bytes[offset..<end].withUnsafeBytes { hasher.update($0) }
            offset = end
            turn += 1
        }
        #expect(hasher.finalize() == whole, "\(sizes)")
    }
    #expect(BagItHasher([.sha256]).finalize().keys.sorted { $0.rawValue < $1.rawValue } == [.sha256])
}

extension BagItHasher {
    /// Every digest of `bytes`, fed at once.
    static func digests(_ bytes: [UInt8]) -> [BagItAlgorithm: String] {
        var hasher = BagItHasher(Set(BagItAlgorithm.allCases))
        bytes.withUnsafeBytes { hasher.update($0) }
        return hasher.finalize()
    }
}

// MARK: - Hostile input

@Test func bagItCheckerSurvivesHostileInput() {
    var random = SeededGenerator(state: 8493)  // deterministic, so that a failure can be replayed
    let pieces: [[UInt8]] = [
        Array("data/".utf8), Array("../".utf8), Array("./".utf8), Array("/".utf8), Array("~".utf8), Array("*".utf8),
        Array("%0A".utf8), Array("%25".utf8), Array("%".utf8), Array("%0".utf8), Array(" ".utf8), Array("\t".utf8),
        Array("\r".utf8), Array("\n".utf8), Array("\r\n".utf8), [0], [0xFF, 0xFE], [0xFE, 0xFF], [0xEF, 0xBB, 0xBF],
        [0xC3], [0xE2, 0x82], Array("é".utf8), Array("e\u{301}".utf8), Array("a.txt".utf8), Array(":".utf8),
        Array("Payload-Oxum: ".utf8), Array("99999999999999999999.1".utf8), Array("1.0".utf8), Array(".".utf8),
        Array("d41d8cd98f00b204e9800998ecf8427e".utf8), Array("BagIt-Version: ".utf8), Array("-".utf8),
        Array("Tag-File-Character-Encoding: ".utf8), Array("UTF-16".utf8), Array("ISO-8859-1".utf8),
    ]
    func junk(_ count: Int) -> [UInt8] {
        (0..<count).flatMap { _ in pieces.randomElement(using: &random)! }
    }
    let names = [
        "bagit.txt", "bag-info.txt", "fetch.txt", "manifest-md5.txt", "manifest-sha224.txt", "tagmanifest-md5.txt",
        "manifest-blake3.txt", "manifest-.txt", "other.txt", "data/a.txt", "data/é.txt", "data/e\u{301}.txt",
    ]
    let encodings = ["UTF-8", "UTF-16", "UTF-16LE", "UTF-16BE", "UTF-32", "ISO-8859-1", "US-ASCII"]
    for _ in 0..<400 {
        var checker = BagItChecker()
        if Bool.random(using: &random) {
            // A sound declaration, so that the junk below is decoded in each encoding.
            let encoding = encodings.randomElement(using: &random)!
            let version = Bool.random(using: &random) ? "1.0" : "0.97"
            checker.addTagFile(
                path: "bagit.txt",
                bytes: Array("BagIt-Version: \(version)\nTag-File-Character-Encoding: \(encoding)\n".utf8))
        }
        for _ in 0..<Int.random(in: 0...8, using: &random) {
            let name =
                Bool.random(using: &random)
                ? names.randomElement(using: &random)! : String(decoding: junk(3), as: UTF8.self)
            switch Int.random(in: 0..<3, using: &random) {
            case 0:
                checker.addTagFile(path: name, bytes: junk(Int.random(in: 0...40, using: &random)))
            case 1:
                let size = [Int64.min, -1, 0, 7, Int64.max].randomElement(using: &random)!
                let digests: [BagItAlgorithm: String] = [
                    .md5: String(decoding: junk(2), as: UTF8.self), .sha224: "d41d8cd98f00b204e9800998ecf8427e",
                ]
                checker.addPayloadFile(path: name, size: size, digests: digests)
            default:
                checker.addTagFile(path: name, size: Int64.max, digests: [:])
            }
        }
        _ = checker.algorithmsNeeded
        _ = checker.finish().map(\.description)
    }
}

// MARK: - The directory driver

/// Writes `bag` into `folder`.
func write(_ bag: MemoryBag, to folder: String) throws {
    for file in bag.tagFiles + bag.payload {
        let path = folder + "/" + file.path
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(file.bytes).write(to: URL(fileURLWithPath: path))
    }
}

@Test func bagItValidatorReadsADirectory() async throws {
    try await withTemporaryDirectory { folder in
        var bag = MemoryBag()
        bag.payload.append(("data/line\nbreak.txt", Array("odd name".utf8)))
        try write(bag, to: folder)
        #expect(BagItValidator.validate(directory: folder).isEmpty, "\(BagItValidator.validate(directory: folder))")
        #expect(BagItValidator.validate(directory: folder + "/").isEmpty)

        // A symbolic link is never followed.
        try FileManager.default.createSymbolicLink(atPath: folder + "/data/link", withDestinationPath: "/etc/passwd")
        #expect(errors(BagItValidator.validate(directory: folder)).map(\.path) == ["data/link"])
        try FileManager.default.removeItem(atPath: folder + "/data/link")

        // A corrupt payload file.
        try Data("ALPHA\n".utf8).write(to: URL(fileURLWithPath: folder + "/data/a.txt"))
        #expect(errors(BagItValidator.validate(directory: folder)).map(\.path) == ["data/a.txt", "data/a.txt"])

        // No data directory.
        try FileManager.default.removeItem(atPath: folder + "/data")
        #expect(errors(BagItValidator.validate(directory: folder)).contains { $0.path == "data" })
    }
    #expect(errors(BagItValidator.validate(directory: "/nonexistent/bag")).count == 1)
}
