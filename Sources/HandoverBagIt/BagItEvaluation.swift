/// The checks ``BagItChecker/finish()`` runs over everything fed to it.
struct BagItEvaluation {
    typealias FileFacts = BagItChecker.FileFacts

    /// One line of a manifest.
    struct Entry {
        let path: BagPath
        /// Lowercase hexadecimal; empty when the line's digest is malformed (already reported).
        let digest: String
        let line: Int
    }

    /// A manifest this validator can check.
    struct Manifest {
        let name: String
        let algorithm: BagItAlgorithm
        var entries: [Entry]
        var paths: Set<BagPath> { Set(entries.map(\.path)) }
    }

    /// One line of fetch.txt.
    struct FetchEntry {
        let path: BagPath
        let length: Int64?
        let line: Int
    }

    /// A payload file a manifest lists that is allowed to be absent, with its length when known.
    struct AbsentFile {
        let length: Int64?
    }

    /// Payload files indexed for the lenient matches: by canonical equivalence, then by letter case.
    struct AliasIndex {
        private var canonical: [String: BagPath] = [:]
        private var folded: [String: BagPath] = [:]

        init(_ paths: some Sequence<BagPath>) {
            for path in paths.sorted() {
                if canonical[path.string] == nil { canonical[path.string] = path }
                let lower = path.string.lowercased()
                if folded[lower] == nil { folded[lower] = path }
            }
        }

        /// The file `path` may stand for, and whether the match ignored letter case.
        func match(_ path: BagPath) -> (path: BagPath, ignoringCase: Bool)? {
            if let found = canonical[path.string] { return (found, false) }
            if let found = folded[path.string.lowercased()] { return (found, true) }
            return nil
        }
    }

    let tagFiles: [BagPath: FileFacts]
    let payloadFiles: [BagPath: FileFacts]
    private var problems: [BagItProblem] = []
    /// Whether the rules of BagIt 1.0 apply; otherwise those of the 0.97 draft.
    private var modern = true
    private var encoding: TagFileEncoding = .utf8
    private var aliases: AliasIndex?
    private var tagDigests: [BagPath: [BagItAlgorithm: String]] = [:]

    init(tagFiles: [BagPath: FileFacts], payloadFiles: [BagPath: FileFacts]) {
        self.tagFiles = tagFiles
        self.payloadFiles = payloadFiles
    }

    /// Runs every check and returns what was found.
    mutating func run() -> [BagItProblem] {
        readDeclaration()
        let payloadManifests = readManifests(payload: true)
        let tagManifests = readManifests(payload: false)
        let fetch = readFetch()
        let oxums = readBagInfo()
        let absent = checkPayload(payloadManifests, fetch)
        checkFetch(fetch, payloadManifests)
        checkTags(tagManifests)
        checkOxum(oxums, absent)
        return problems
    }

    private mutating func error(_ path: String?, _ message: String) { problems.append(.error(path, message)) }

    private mutating func warning(_ path: String?, _ message: String) { problems.append(.warning(path, message)) }

    /// The text of a tag file the checker reads, in the declared encoding; `nil` when absent or unreadable (reported).
    private mutating func readable(_ name: String) -> String? {
        guard let bytes = tagFiles[BagPath(name)]?.bytes else { return nil }
        guard let text = encoding.decode(bytes) else {
            error(name, "cannot be read in the tag file character encoding bagit.txt declares")
            return nil
        }
        return text
    }

    // MARK: - bagit.txt

    private mutating func readDeclaration() {
        let name = "bagit.txt"
        guard let file = tagFiles[BagPath(name)] else {
            error(name, "is missing; every bag must have one")
            return
        }
        guard var bytes = file.bytes else { return }
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
            error(name, "begins with a byte-order mark, which BagIt forbids")
            bytes.removeFirst(3)
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            error(name, "is not UTF-8")
            return
        }
        let lines = BagItText.lines(text)
        var version: String?
        var encodingName: String?
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let label = BagItText.trimmed(line[..<colon])
            let value = BagItText.trimmed(line[line.index(after: colon)...])
            if label == "BagIt-Version" && version == nil { version = value }
            if label == "Tag-File-Character-Encoding" && encodingName == nil { encodingName = value }
        }
        let exactVersion = lines.first.flatMap { Self.exactValue($0, label: "BagIt-Version") }
        let exactEncoding = lines.count > 1 ? Self.exactValue(lines[1], label: "Tag-File-Character-Encoding") : nil

        if version == nil {
            error(name, "has no BagIt-Version line")
        } else if exactVersion == nil {
            error(name, "line 1 must read 'BagIt-Version: M.N', with one space after the colon and nothing more")
        }
        if encodingName == nil {
            error(name, "has no Tag-File-Character-Encoding line")
        } else if exactEncoding == nil {
            error(
                name,
                "line 2 must read 'Tag-File-Character-Encoding: ENCODING', with one space after the colon and "
                    + "nothing more")
        }
        if lines.count != 2 && version != nil && encodingName != nil {
            error(name, "must hold exactly two lines")
        }

        if let version = exactVersion ?? version {
            if let (major, minor) = Self.versionNumbers(version) {
                modern = (major, minor) >= (1, 0)
                if (major, minor) != (1, 0) && (major, minor) != (0, 97) {
                    warning(
                        name,
                        "declares a BagIt version other than 1.0 and 0.97; the bag is checked by the rules of "
                            + (modern ? "1.0" : "0.97"))
                }
            } else {
                error(name, "BagIt-Version is not a version number of the form M.N")
            }
        }
        if let encodingName {
            if let declared = TagFileEncoding(name: encodingName) {
                encoding = declared
            } else {
                error(
                    name,
                    "declares a tag file character encoding this validator cannot read; tag files are read as UTF-8")
            }
        }
    }

    /// The value of `line` if it reads exactly `label: value`, with a non-empty value and no extra whitespace.
    private static func exactValue(_ line: String, label: String) -> String? {
        let prefix = label + ": "
        guard line.hasPrefix(prefix) else { return nil }
        let value = String(line.dropFirst(prefix.count))
        guard !value.isEmpty, BagItText.trimmed(value) == value else { return nil }
        return value
    }

    /// `M.N` as two numbers.
    private static func versionNumbers(_ text: String) -> (Int, Int)? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ BagItText.isDigits($0) && $0.count <= 9 }),
            let major = Int(parts[0]), let minor = Int(parts[1])
        else { return nil }
        return (major, minor)
    }

    // MARK: - Manifests

    private mutating func readManifests(payload: Bool) -> [Manifest] {
        var manifests: [Manifest] = []
        var seen = false
        for key in tagFiles.keys.sorted() {
            let algorithmName: String
            switch TagFileKind(key.string) {
            case .payloadManifest(let name) where payload: algorithmName = name
            case .tagManifest(let name) where !payload: algorithmName = name
            default: continue
            }
            seen = true
            guard let algorithm = BagItAlgorithm(rawValue: algorithmName) else {
                warning(key.string, "uses a digest algorithm this validator does not support; it is not checked")
                continue
            }
            guard let text = readable(key.string) else { continue }
            manifests.append(parseManifest(key.string, algorithm, text, payload: payload))
        }
        if payload && manifests.isEmpty {
            error(
                nil,
                seen
                    ? "the bag has no payload manifest this validator can check"
                    : "the bag has no payload manifest (manifest-<algorithm>.txt)")
        }
        return manifests
    }

    private mutating func parseManifest(
        _ name: String, _ algorithm: BagItAlgorithm, _ text: String, payload: Bool
    ) -> Manifest {
        var manifest = Manifest(name: name, algorithm: algorithm, entries: [])
        var index: [BagPath: Int] = [:]
        var blankLines = 0
        var starredLines = 0
        var dottedLines = 0
        for (offset, line) in BagItText.lines(text).enumerated() {
            let number = offset + 1
            if BagItText.trimmed(line).isEmpty {
                blankLines += 1
                continue
            }
            guard let (digestText, pathText) = BagItText.splitField(line) else {
                error(name, "line \(number) is not a digest followed by a path")
                continue
            }
            var rawPath = Substring(pathText)
            if rawPath.hasPrefix("*") {
                rawPath = rawPath.dropFirst()
                starredLines += 1
            }
            let (plain, dropped) = BagItText.droppingDotSlash(BagItText.percentDecoded(String(rawPath)))
            if dropped { dottedLines += 1 }
            if let reason = BagItText.unsafety(of: plain) {
                error(name, "line \(number): \(reason)")
                continue
            }
            let path = BagPath(plain)
            if payload && !path.isPayload {
                error(
                    plain, "is listed in \(name) (line \(number)), but a payload manifest lists only files under data/")
                continue
            }
            if !payload && path.isPayload {
                error(plain, "is listed in \(name) (line \(number)), but a tag manifest must not list payload files")
                continue
            }
            var digest = digestText.lowercased()
            if digest.utf8.count != algorithm.hexLength || !BagItText.isHex(digest) {
                error(name, "line \(number): the digest is not a \(algorithm.rawValue) digest")
                digest = ""
            }
            if let previous = index[path] {
                if modern {
                    error(plain, "is listed more than once in \(name)")
                } else if manifest.entries[previous].digest == digest {
                    warning(plain, "is listed more than once in \(name), with the same digest")
                } else {
                    error(plain, "is listed more than once in \(name), with different digests")
                }
                continue
            }
            index[path] = manifest.entries.count
            manifest.entries.append(Entry(path: path, digest: digest, line: number))
        }
        if blankLines > 0 { warning(name, "has blank lines") }
        if starredLines > 0 {
            warning(name, "marks paths with '*' (the binary mode of md5sum and its kin); the '*' is ignored")
        }
        if dottedLines > 0 { warning(name, "starts paths with './'") }
        return manifest
    }

    // MARK: - fetch.txt and bag-info.txt

    private mutating func readFetch() -> [BagPath: FetchEntry] {
        let name = "fetch.txt"
        guard let text = readable(name) else { return [:] }
        var entries: [BagPath: FetchEntry] = [:]
        for (offset, line) in BagItText.lines(text).enumerated() {
            let number = offset + 1
            if BagItText.trimmed(line).isEmpty { continue }
            guard let (url, rest) = BagItText.splitField(line), let (lengthText, pathText) = BagItText.splitField(rest)
            else {
                error(name, "line \(number) is not a URL, a length and a path")
                continue
            }
            if !url.contains(":") { error(name, "line \(number): the URL is not absolute") }
            var length: Int64?
            if lengthText != "-" {
                guard BagItText.isDigits(lengthText), let value = Int64(lengthText) else {
                    error(name, "line \(number): the length is neither a number nor '-'")
                    continue
                }
                length = value
            }
            let plain = BagItText.droppingDotSlash(BagItText.percentDecoded(pathText)).path
            if let reason = BagItText.unsafety(of: plain) {
                error(name, "line \(number): \(reason)")
                continue
            }
            let path = BagPath(plain)
            guard path.isPayload else {
                error(plain, "is listed in fetch.txt (line \(number)), but fetch.txt lists only files under data/")
                continue
            }
            guard entries[path] == nil else {
                error(plain, "is listed more than once in fetch.txt")
                continue
            }
            entries[path] = FetchEntry(path: path, length: length, line: number)
        }
        return entries
    }

    /// The Payload-Oxum values of bag-info.txt, with their line numbers.
    private mutating func readBagInfo() -> [(line: Int, value: String)] {
        let name = "bag-info.txt"
        guard let text = readable(name) else { return [] }
        var elements: [(line: Int, label: String, value: String)] = []
        var blankLines = false
        for (offset, line) in BagItText.lines(text).enumerated() {
            let number = offset + 1
            guard let first = line.unicodeScalars.first, !BagItText.trimmed(line).isEmpty else {
                blankLines = true
                continue
            }
            if BagItText.isBlank(first) {
                if elements.isEmpty {
                    error(name, "line \(number) continues a value, but no element comes before it")
                } else {
                    elements[elements.count - 1].value += " " + BagItText.trimmed(line)
                }
                continue
            }
            guard let colon = line.firstIndex(of: ":") else {
                error(name, "line \(number) is not of the form 'Label: value'")
                continue
            }
            let label = BagItText.trimmed(line[..<colon])
            guard !label.isEmpty else {
                error(name, "line \(number) has an empty label")
                continue
            }
            elements.append((number, label, BagItText.trimmed(line[line.index(after: colon)...])))
        }
        if blankLines { warning(name, "has blank lines") }
        return elements.filter { $0.label.lowercased() == "payload-oxum" }.map { ($0.line, $0.value) }
    }

    // MARK: - Checks

    /// Checks every payload manifest against the payload; returns the listed files allowed to be absent.
    private mutating func checkPayload(_ manifests: [Manifest], _ fetch: [BagPath: FetchEntry]) -> [BagPath:
        AbsentFile]
    {
        var coverage: [BagPath: Set<Int>] = [:]
        var absent: [BagPath: AbsentFile] = [:]
        var reportedAbsent: Set<BagPath> = []
        var aliased: Set<BagPath> = []
        for (number, manifest) in manifests.enumerated() {
            for entry in manifest.entries {
                var target = entry.path
                if payloadFiles[target] == nil, let alias = alias(of: entry.path) {
                    target = alias.path
                    if aliased.insert(entry.path).inserted {
                        warning(
                            entry.path.string,
                            alias.ignoringCase
                                ? "is listed in \(manifest.name) with other letter case than the file's name "
                                    + "(the bag may come from a case-insensitive file system)"
                                : "is listed in \(manifest.name) in another Unicode normalization than the file's name")
                    }
                }
                coverage[target, default: []].insert(number)
                if let file = payloadFiles[target] {
                    verify(entry, shownAs: entry.path.string, against: file, manifest)
                } else if reportedAbsent.insert(target).inserted {
                    if let fetched = fetch[target] {
                        absent[target] = AbsentFile(length: fetched.length)
                    } else if BagItText.isSystemFile(target.string) {
                        absent[target] = AbsentFile(length: nil)
                        warning(
                            target.string,
                            "is listed in \(manifest.name) but absent; it is an operating-system file, which "
                                + "copying tools often drop")
                    } else {
                        error(target.string, "is listed in \(manifest.name) but is not in the bag")
                    }
                }
            }
        }
        for key in payloadFiles.keys.sorted() {
            if BagItText.isSystemFile(key.string) {
                warning(
                    key.string,
                    "is an operating-system file (such as .DS_Store or Thumbs.db), which may not travel well")
            }
            guard !manifests.isEmpty else { continue }
            let covered = coverage[key] ?? []
            if covered.isEmpty {
                error(key.string, "is in the payload but in no payload manifest")
                continue
            }
            for (number, manifest) in manifests.enumerated() where !covered.contains(number) {
                error(key.string, "is not listed in \(manifest.name)")
            }
        }
        for key in reportedAbsent.sorted() {
            let covered = coverage[key] ?? []
            for (number, manifest) in manifests.enumerated() where !covered.contains(number) {
                error(key.string, "is listed in another payload manifest but not in \(manifest.name)")
            }
        }
        return absent
    }

    private mutating func alias(of path: BagPath) -> (path: BagPath, ignoringCase: Bool)? {
        if aliases == nil { aliases = AliasIndex(payloadFiles.keys) }
        return aliases!.match(path)
    }

    private mutating func verify(_ entry: Entry, shownAs shown: String, against file: FileFacts, _ manifest: Manifest) {
        guard !entry.digest.isEmpty else { return }
        let algorithm = manifest.algorithm
        let actual: String?
        if let bytes = file.bytes {
            if let cached = tagDigests[file.path]?[algorithm] {
                actual = cached
            } else {
                let digest = BagItHasher.digests(of: bytes, [algorithm])[algorithm]
                tagDigests[file.path, default: [:]][algorithm] = digest
                actual = digest
            }
        } else {
            actual = file.digests[algorithm]
        }
        guard let actual else {
            error(shown, "was not hashed with \(algorithm.rawValue), so it cannot be checked against \(manifest.name)")
            return
        }
        if actual != entry.digest {
            error(shown, "does not match its \(algorithm.rawValue) digest in \(manifest.name)")
        }
    }

    private mutating func checkFetch(_ fetch: [BagPath: FetchEntry], _ manifests: [Manifest]) {
        let listed = manifests.map(\.paths)
        for key in fetch.keys.sorted() {
            let entry = fetch[key]!
            for (number, manifest) in manifests.enumerated() where !listed[number].contains(key) {
                error(key.string, "is listed in fetch.txt but not in \(manifest.name)")
            }
            if let file = payloadFiles[key], let length = entry.length, file.size != length {
                error(key.string, "is present, but its size differs from its length in fetch.txt")
            }
        }
    }

    private mutating func checkTags(_ manifests: [Manifest]) {
        for manifest in manifests {
            for entry in manifest.entries {
                if entry.path.string == manifest.name {
                    warning(manifest.name, "lists itself, which no digest can satisfy; that line is ignored")
                    continue
                }
                guard let file = tagFiles[entry.path] else {
                    error(entry.path.string, "is listed in \(manifest.name) but is not in the bag")
                    continue
                }
                verify(entry, shownAs: entry.path.string, against: file, manifest)
            }
        }
    }

    private mutating func checkOxum(_ oxums: [(line: Int, value: String)], _ absent: [BagPath: AbsentFile]) {
        guard !oxums.isEmpty else { return }
        let presentCount = Int64(payloadFiles.count)
        let presentOctets = payloadFiles.values.reduce(Int64(0)) { Self.add($0, $1.size) }
        let knownOctets = absent.values.reduce(presentOctets) { Self.add($0, $1.length ?? 0) }
        let allKnown = absent.values.allSatisfy { $0.length != nil }
        for (line, value) in oxums {
            let parts = value.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 2, BagItText.isDigits(parts[0]), BagItText.isDigits(parts[1]),
                let octets = Int64(parts[0]), let streams = Int64(parts[1])
            else {
                error("bag-info.txt", "Payload-Oxum (line \(line)) is not of the form octets.streams")
                continue
            }
            let countMatches = streams == presentCount + Int64(absent.count)
            let octetsMatch = allKnown ? octets == knownOctets : octets >= knownOctets
            if !(countMatches && octetsMatch) {
                var found = "\(presentOctets) octets in \(presentCount) files"
                if !absent.isEmpty { found += ", with \(absent.count) listed files absent" }
                error("bag-info.txt", "Payload-Oxum (line \(line)) does not match the payload: \(found)")
            }
        }
    }

    /// `a + b`, stopping at the largest value instead of overflowing.
    private static func add(_ a: Int64, _ b: Int64) -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? Int64.max : sum
    }
}
