/// Validates a bag from facts fed in any order: tag files with their bytes, payload files with their digests.
///
/// The checker never reads a file itself, so it serves a bag in a directory (see ``BagItValidator``)
/// as well as a bag streamed from an archive, where each entry can be read only once and in the
/// archive's order. Feed every tag file whole with ``addTagFile(path:bytes:)`` and every payload file
/// as its size and digests with ``addPayloadFile(path:size:digests:)``, hashing each payload file with
/// ``algorithmsNeeded`` as it stands when that file comes; then call ``finish()``.
///
/// Paths are relative to the bag's root (an archive's leading folder removed), with `/` between
/// components; a leading `./` is ignored. The checker implements RFC 8493 (BagIt 1.0) and, for bags
/// declaring an earlier version, the 0.97 draft, whose one difference that matters here is that a
/// file listed twice with the same digest is a warning rather than an error.
public struct BagItChecker: Sendable {
    /// What the checker knows about one file.
    struct FileFacts: Sendable {
        var path: BagPath
        var size: Int64
        /// The bytes, for tag files fed whole.
        var bytes: [UInt8]?
        /// Lowercase hexadecimal digests, for files fed as digests.
        var digests: [BagItAlgorithm: String]
    }

    private(set) var tagFiles: [BagPath: FileFacts] = [:]
    private(set) var payloadFiles: [BagPath: FileFacts] = [:]
    private var intakeProblems: [BagItProblem] = []
    private var payloadManifestAlgorithms: Set<BagItAlgorithm> = []
    private var tagManifestAlgorithms: Set<BagItAlgorithm> = []

    /// Creates a checker that has seen nothing yet.
    public init() {}

    /// A file outside `data/` (bagit.txt, bag-info.txt, the manifests, fetch.txt, any other tag file), whole.
    ///
    /// A file whose path lies under `data/` is taken as a payload file and hashed here.
    public mutating func addTagFile(path: String, bytes: [UInt8]) {
        guard let key = admit(path) else { return }
        if key.isPayload {
            let digests = BagItHasher.digests(of: bytes, Set(BagItAlgorithm.allCases))
            record(payload: FileFacts(path: key, size: Int64(bytes.count), bytes: nil, digests: digests))
            return
        }
        record(tag: FileFacts(path: key, size: Int64(bytes.count), bytes: bytes, digests: [:]))
    }

    /// A tag file the checker does not read, as its size and digests, for tag files too large to hold whole.
    ///
    /// Hash it with ``algorithmsNeeded``. The files the checker reads (bagit.txt, bag-info.txt,
    /// fetch.txt and the manifests) must come whole: one given this way is an error.
    public mutating func addTagFile(path: String, size: Int64, digests: [BagItAlgorithm: String]) {
        addFile(path: path, size: size, digests: digests)
    }

    /// The algorithms the manifests read so far ask for; all of them until a payload manifest has been read.
    ///
    /// Hash each payload file with them. Once a payload manifest has been read, these are the
    /// algorithms of every payload and tag manifest read so far. A payload file hashed before a
    /// manifest of another algorithm arrives cannot be checked against that manifest, which is an
    /// error: feed the manifests first when the order can be chosen.
    public var algorithmsNeeded: Set<BagItAlgorithm> {
        payloadManifestAlgorithms.isEmpty
            ? Set(BagItAlgorithm.allCases) : payloadManifestAlgorithms.union(tagManifestAlgorithms)
    }

    /// A file under `data/`, with its size and digests (at least `algorithmsNeeded` as it was when hashing).
    ///
    /// A file whose path does not lie under `data/` is taken as a tag file given by its digests.
    public mutating func addPayloadFile(path: String, size: Int64, digests: [BagItAlgorithm: String]) {
        addFile(path: path, size: size, digests: digests)
    }

    /// Everything found once all files are fed. Valid means: no error-severity problem.
    public func finish() -> [BagItProblem] {
        var evaluation = BagItEvaluation(tagFiles: tagFiles, payloadFiles: payloadFiles)
        return intakeProblems + evaluation.run()
    }

    private mutating func addFile(path: String, size: Int64, digests: [BagItAlgorithm: String]) {
        guard let key = admit(path) else { return }
        var size = size
        if size < 0 {
            intakeProblems.append(.error(key.string, "was given a negative size"))
            size = 0
        }
        var lowered: [BagItAlgorithm: String] = [:]
        for (algorithm, digest) in digests { lowered[algorithm] = digest.lowercased() }
        let facts = FileFacts(path: key, size: size, bytes: nil, digests: lowered)
        if key.isPayload {
            record(payload: facts)
        } else {
            if TagFileKind(key.string).isRead {
                intakeProblems.append(
                    .error(key.string, "is a tag file the checker must read, but came without its bytes"))
            }
            record(tag: facts)
        }
    }

    /// The path as the checker keys it, or `nil` (with a problem) when it cannot belong to a bag.
    private mutating func admit(_ path: String) -> BagPath? {
        let plain = BagItText.droppingDotSlash(path).path
        if let reason = BagItText.unsafety(of: plain) {
            intakeProblems.append(.error(path, "is not a file name a bag can hold: \(reason)"))
            return nil
        }
        if plain == "data" {
            intakeProblems.append(.error(path, "is a file, but a bag's data must be a directory"))
            return nil
        }
        return BagPath(plain)
    }

    private mutating func record(payload facts: FileFacts) {
        guard payloadFiles[facts.path] == nil else {
            intakeProblems.append(.error(facts.path.string, "appears more than once in the bag"))
            return
        }
        payloadFiles[facts.path] = facts
    }

    private mutating func record(tag facts: FileFacts) {
        guard tagFiles[facts.path] == nil else {
            intakeProblems.append(.error(facts.path.string, "appears more than once in the bag"))
            return
        }
        tagFiles[facts.path] = facts
        switch TagFileKind(facts.path.string) {
        case .payloadManifest(let name):
            if let algorithm = BagItAlgorithm(rawValue: name) { payloadManifestAlgorithms.insert(algorithm) }
        case .tagManifest(let name):
            if let algorithm = BagItAlgorithm(rawValue: name) { tagManifestAlgorithms.insert(algorithm) }
        default:
            break
        }
    }
}

/// What a tag file is, by its path.
/// What a file at the top of a bag is, by its name.
package enum TagFileKind: Equatable {
    case bagDeclaration
    case bagInfo
    case fetch
    /// `manifest-<algorithm>.txt`, with the algorithm's name in lowercase.
    case payloadManifest(String)
    /// `tagmanifest-<algorithm>.txt`, with the algorithm's name in lowercase.
    case tagManifest(String)
    case other

    /// The kind of the top-level file `path`.
    package init(_ path: String) {
        switch path {
        case "bagit.txt": self = .bagDeclaration
        case "bag-info.txt": self = .bagInfo
        case "fetch.txt": self = .fetch
        default:
            if let name = Self.algorithmName(path, prefix: "manifest-") {
                self = .payloadManifest(name)
            } else if let name = Self.algorithmName(path, prefix: "tagmanifest-") {
                self = .tagManifest(name)
            } else {
                self = .other
            }
        }
    }

    /// Whether the checker reads the file's contents (and so needs its bytes).
    var isRead: Bool { self != .other }

    private static func algorithmName(_ path: String, prefix: String) -> String? {
        guard path.hasPrefix(prefix), path.hasSuffix(".txt"), !path.contains("/") else { return nil }
        let name = path.dropFirst(prefix.count).dropLast(4)
        guard !name.isEmpty else { return nil }
        return name.lowercased()
    }
}
