internal import Foundation
public import HandoverAge
import HandoverArchive
internal import HandoverBagIt
internal import HandoverCore
import HandoverFormats
internal import HandoverJSONSchema
public import HandoverMinisign

/// What verify may need besides the bundle: the identities that open an encrypted one, and the public key its
/// signatures are checked against.
public struct VerificationKeys: Sendable {
    /// age identities; an encrypted archive is opened with the first that can.
    public var identities: [AgeIdentity]
    /// The minisign public key the signatures must verify with; nil to report a signature without checking it.
    public var publicKey: MinisignPublicKey?

    /// Keys for verification; none by default.
    public init(identities: [AgeIdentity] = [], publicKey: MinisignPublicKey? = nil) {
        self.identities = identities
        self.publicKey = publicKey
    }
}

/// Checks a received bundle with nothing but the bundle itself.
///
/// It checks the manifest against Handover's manifest schema, every file's size and SHA-256,
/// every data file against the schema the bundle carries for it and its record count, that every
/// listed file is present and that nothing unlisted is, and that the archive is whole. Each entry
/// is read once, as a stream; a bundle whose entries come in another order than Handover writes
/// them gets a second pass for the data files that came before their schemas.
public enum BundleVerifier {
    /// Verifies what an export published at `path`: one archive, or a `.parts` folder of part archives.
    public static func verify(published path: String, keys: VerificationKeys = VerificationKeys()) -> VerificationReport
    {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
            return verify(parts: parts(inFolder: path), keys: keys)
        }
        return verify(archive: path, keys: keys)
    }

    /// The part archives in a `.parts` folder, in the order of their numbers.
    public static func parts(inFolder path: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return ordered(parts: names.filter { $0.contains(".part-") && !$0.hasSuffix(".minisig") }).map {
            path + "/" + $0
        }
    }

    /// Orders part files by their number (`….part-2-of-10.zip` before `….part-10-of-10.zip`).
    public static func ordered(parts names: [String]) -> [String] {
        func number(_ name: String) -> Int {
            guard let range = name.range(of: ".part-", options: .backwards) else { return 0 }
            return Int(name[range.upperBound...].prefix { $0.isNumber }) ?? 0
        }
        return names.sorted { number($0) < number($1) || (number($0) == number($1) && $0 < $1) }
    }

    /// Verifies the archive at `path`.
    public static func verify(archive path: String, keys: VerificationKeys = VerificationKeys()) -> VerificationReport {
        verify(parts: [path], keys: keys)
    }

    /// Verifies a bundle written as several parts (or one archive, as a list of one).
    ///
    /// An age-encrypted part is decrypted as it is read, chunk by chunk, with `keys.identities`: its plaintext
    /// is never written anywhere. Signatures (`manifest.json.minisig` in the bundle, `….minisig` beside each
    /// archive) are checked against `keys.publicKey` when one is given, and reported otherwise.
    public static func verify(parts paths: [String], keys: VerificationKeys = VerificationKeys()) -> VerificationReport
    {
        verify(parts: paths, keys: keys, referencesInline: true)
    }

    /// Verifies a bundle; `referencesInline` says whether the foreign keys' columns may be read as the files are
    /// validated (see ``InlineReferences``) rather than in passes of their own, and `prefetchFrom` from which size
    /// data files are read ahead on a thread (see ``Prefetcher``), which the tests compare.
    static func verify(
        parts paths: [String], keys: VerificationKeys, referencesInline: Bool,
        prefetchFrom: Int64 = BundleVerifier.prefetchThreshold
    ) -> VerificationReport {
        var state = State(parts: paths)
        state.referencesInline = referencesInline
        state.prefetchFrom = prefetchFrom
        for (index, path) in paths.enumerated() {
            state.part = index + 1
            do {
                var encrypted = false
                defer { state.encrypted = state.encrypted || encrypted }
                try withArchive(path, keys: keys, encrypted: &encrypted) { reader in
                    while let entry = try reader.nextEntry() { try state.consume(entry, reader) }
                }
            } catch let error as EncryptionProblem {
                state.problem(.encryption, nil, "\(label(path, paths)): \(error.message)")
                return state.report
            } catch let error as HandoverError {
                state.problem(.archive, nil, "\(label(path, paths)) is damaged or truncated (\(error.message))")
                return state.report
            } catch {
                state.problem(.archive, nil, "\(label(path, paths)) cannot be read")
                return state.report
            }
        }
        state.compareWithManifest()
        if !state.deferred.isEmpty {
            for (index, path) in paths.enumerated() {
                state.part = index + 1
                do {
                    var encrypted = false
                    try withArchive(path, keys: keys, encrypted: &encrypted) { reader in
                        while let entry = try reader.nextEntry() { try state.validateDeferred(entry, reader) }
                    }
                } catch {
                    state.problem(.archive, nil, "\(label(path, paths)) cannot be read a second time")
                }
            }
        }
        state.checkReferences(paths, keys: keys)
        state.checkSignatures(keys.publicKey)
        return state.report
    }

    /// The size from which a data file is read ahead on a thread of its own while it is validated (see
    /// ``Prefetcher``).
    static let prefetchThreshold: Int64 = 256 * 1024

    /// Why an encrypted archive cannot be read; reported as ``VerificationReport/Problem/Kind/encryption``.
    struct EncryptionProblem: Error {
        var message: String
    }

    /// Reads the archive at `path`, decrypting it on the way when it is an age file, and checks every chunk of
    /// an encrypted one authenticates, read or not.
    static func withArchive(
        _ path: String, keys: VerificationKeys, encrypted: inout Bool, _ body: (ArchiveReader) throws -> Void
    ) throws {
        let opened = try open(path, keys: keys, encrypted: &encrypted)
        try ArchiveReader.read(input: opened.input, label: path, body)
        try authenticateRemaining(opened.age)
    }

    /// What libarchive reads of the archive at `path`: the file, or, for an age file (`encrypted` set), its
    /// decryption with `keys.identities` (`age`, whose unread chunks ``authenticateRemaining(_:)`` checks after).
    /// - Throws: ``EncryptionProblem`` for an armored age file, one without an identity given, or one no identity
    ///   opens; what opening the file throws.
    static func open(_ path: String, keys: VerificationKeys, encrypted: inout Bool) throws -> (
        input: any ArchiveInput, age: AgeArchiveInput?
    ) {
        let file = try FileInput(path: path)
        let start = try file.bytes(at: 0, count: Int(min(file.size, UInt64(AgeArchiveInput.magic.count))))
        if start == AgeArchiveInput.armorMagic {
            throw EncryptionProblem(
                message: "is an ASCII-armored age file; Handover reads binary age files, as it writes them")
        }
        guard start == AgeArchiveInput.magic else { return (file, nil) }
        encrypted = true
        guard !keys.identities.isEmpty else {
            throw EncryptionProblem(message: "is encrypted with age; give the identity that opens it (--identity)")
        }
        do {
            let age = try AgeArchiveInput(file: file, identities: keys.identities)
            return (age, age)
        } catch {
            throw EncryptionProblem(message: error.message)
        }
    }

    /// Checks that every chunk of an encrypted archive that was not read authenticates too (nothing for a plain one).
    /// - Throws: ``EncryptionProblem``.
    static func authenticateRemaining(_ age: AgeArchiveInput?) throws {
        do {
            try age?.authenticateRemaining()
        } catch {
            throw EncryptionProblem(message: error.message)
        }
    }

    static func label(_ path: String, _ paths: [String]) -> String {
        paths.count == 1 ? "the archive" : "part \((paths.firstIndex(of: path) ?? 0) + 1) (\(path))"
    }

    /// The running state of one verification.
    struct State {
        let parts: [String]
        /// The part being read, from 1.
        var part = 1
        var root: String?
        /// The SHA-256 of the first manifest read; every part must carry the same.
        var manifestDigest: String?
        /// Each part's tag files (outside `data/`), by name.
        var tagFiles: [Int: [String: [UInt8]]] = [:]
        /// Each part is a BagIt bag of its own.
        var bags: [Int: BagItChecker] = [:]
        var manifest: Manifest? {
            didSet { indexManifest() }
        }
        /// The manifest's files, schemas and documents by path, so that each entry is looked up once.
        var fileRecords: [String: Manifest.FileRecord] = [:]
        var schemaRecords: [String: Manifest.SchemaRecord] = [:]
        var documentPaths: Set<String> = []
        var schemas: [String: [UInt8]] = [:]
        /// The bytes of the schema files held (each at most ``Limits/schema``).
        var schemaBytesHeld = 0
        var validators: [String: PayloadValidator] = [:]
        /// Every payload file seen: its size, SHA-256, part and, when validated, its record count.
        var seen: [String: (bytes: Int64, sha256: String, records: Int?, part: Int)] = [:]
        var deferred: Set<String> = []
        /// Data files checked before the manifest was read: the schema used, its kind, and the problems found.
        var early: [String: (schema: String, kind: SchemaKind, problems: [VerificationReport.Problem])] = [:]
        var problems: [VerificationReport.Problem] = []
        var encrypted = false
        var signature: VerificationReport.SignatureReport?
        /// The foreign keys, their columns read as the files are validated (one archive whose `datapackage.json`
        /// comes before its data files, as Handover writes them); nil otherwise.
        var inlineReferences: InlineReferences?
        var referencesInline = true
        /// The size from which a data file is read ahead (``BundleVerifier/prefetchThreshold``).
        var prefetchFrom = BundleVerifier.prefetchThreshold

        init(parts: [String]) {
            self.parts = parts
        }

        var report: VerificationReport {
            let tags = tagFiles.values.reduce(0) { $0 + $1.count }
            return VerificationReport(
                archive: parts.first ?? "", parts: parts, bundle: root, request: manifest?.request.id.rawValue,
                requestRecord: manifest?.request, files: seen.count + tags, records: manifest?.records,
                status: manifest?.status,
                unfinished: manifest?.exporters.filter { $0.status != .complete }.map {
                    "exporter \($0.id): \($0.status.rawValue)" + ($0.reason.map { ": " + $0 } ?? "")
                } ?? [],
                problems: problems, encrypted: encrypted, signature: signature, manifestSHA256: manifestDigest)
        }

        mutating func problem(_ kind: VerificationReport.Problem.Kind, _ path: String?, _ message: String) {
            problems.append(.init(kind: kind, path: path, message: message))
        }

        mutating func indexManifest() {
            fileRecords = Dictionary(
                manifest?.files.map { ($0.path, $0) } ?? [], uniquingKeysWith: { first, _ in first })
            schemaRecords = Dictionary(
                manifest?.schemas.map { ($0.path, $0) } ?? [], uniquingKeysWith: { first, _ in first })
            documentPaths = Set(manifest?.documents.map(\.path) ?? [])
        }

        /// Reads a file whole when it holds at most `limit` bytes; otherwise reads it through (so that its
        /// digests are complete) without keeping it, reports it, and returns nil.
        mutating func readBounded(
            _ source: inout DigestingSource<ArchiveReader.EntrySource>, limit: Int, _ path: String,
            _ kind: VerificationReport.Problem.Kind
        ) throws -> [UInt8]? {
            var bytes: [UInt8] = []
            var block = [UInt8](repeating: 0, count: 64 * 1024)
            while true {
                let count = try block.withUnsafeMutableBytes { try source.read(into: $0) }
                if count == 0 { return bytes }
                guard bytes.count + count <= limit else {
                    bytes = []
                    try source.drain()
                    problem(kind, path, "is larger than \(limit >> 10) KiB, more than verify reads")
                    return nil
                }
                bytes.append(contentsOf: block[0..<count])
            }
        }

        mutating func consume(_ entry: ArchiveEntry, _ reader: ArchiveReader) throws {
            guard let name = SafePath.normalise(entry.name) else {
                problem(.path, nil, "an entry has an unsafe name (absolute, '..', or control characters)")
                return
            }
            if entry.isDirectory { return }
            let parts = name.split(separator: "/", maxSplits: 1)
            guard parts.count == 2 else {
                problem(.path, name, "lies outside the bundle's folder")
                return
            }
            if root == nil { root = String(parts[0]) }
            guard String(parts[0]) == root else {
                problem(.path, name, "lies outside the bundle's folder")
                return
            }
            let path = String(parts[1])
            guard entry.isRegularFile else {
                problem(.path, path, "is not a regular file")
                return
            }
            // The checker is changed in place: a copy taken out of the dictionary would copy everything it
            // holds at each entry, which made verify quadratic in the number of files.
            let part = self.part
            var source = DigestingSource(
                reader.entrySource(), (bags[part] ?? BagItChecker()).algorithmsNeeded.union([.sha256]))
            defer {
                if path.hasPrefix("data/") {
                    bags[part, default: BagItChecker()].addPayloadFile(
                        path: path, size: source.bytes, digests: source.digests)
                }
            }
            if !path.hasPrefix("data/") {
                guard let limit = Limits.tagFile(path) else {
                    // Not a file Handover writes outside data/, such as a page or a script beside the bag's files:
                    // hashed as it streams by, never held.
                    try source.drain()
                    bags[part, default: BagItChecker()].addTagFile(
                        path: path, size: source.bytes, digests: source.digests)
                    problem(.unlisted, path, "in the archive but neither a tag file Handover writes nor in data/")
                    return
                }
                // A tag file: Handover's manifest, the BagIt files, datapackage.json.
                guard
                    let bytes = try readBounded(
                        &source, limit: limit, path, path == "manifest.json" ? .manifest : .bagit)
                else {
                    bags[part, default: BagItChecker()].addTagFile(
                        path: path, size: source.bytes, digests: source.digests)
                    return
                }
                tagFiles[part, default: [:]][path] = bytes
                bags[part, default: BagItChecker()].addTagFile(path: path, bytes: bytes)
                if path == "datapackage.json" {
                    if inlineReferences == nil && referencesInline && self.parts.count == 1 && seen.isEmpty {
                        inlineReferences = InlineReferences(descriptor: bytes)
                    } else {
                        inlineReferences?.abandoned = true
                    }
                }
                if path == "manifest.json" {
                    if let first = manifestDigest {
                        if first != source.sha256 { problem(.manifest, path, "differs between parts") }
                    } else {
                        manifestDigest = source.sha256
                        readManifest(bytes)
                    }
                }
                return
            }
            if let earlier = seen[path] {
                problem(.part, path, "appears in part \(earlier.part) and again in part \(part)")
            }
            if path.hasPrefix("data/schemas/") {
                // Held only when the manifest names it as a schema, or, before the manifest, within a budget.
                let wanted =
                    manifest != nil ? schemaRecords[path] != nil : schemaBytesHeld < Limits.schemasBeforeManifest
                if wanted, let bytes = try readBounded(&source, limit: Limits.schema, path, .schema) {
                    schemas[path] = bytes
                    schemaBytesHeld += bytes.count
                } else {
                    try source.drain()
                }
                seen[path] = (source.bytes, source.sha256, nil, part)
            } else if let record = fileRecords[path], let schemaPath = record.schema,
                let validator = validator(for: schemaPath)
            {
                let records: Int?
                if entry.size ?? 0 >= prefetchFrom {
                    // Decompressed and hashed on a second core while it is validated.
                    records = try Prefetcher.run(&source) {
                        try validate(path, validator, &$0, readingReferences: true)
                    }
                } else {
                    records = try validate(path, validator, &source, readingReferences: true)
                }
                try source.drain()
                seen[path] = (source.bytes, source.sha256, records, part)
            } else if manifest == nil, let (schemaPath, kind) = Self.conventionalSchema(of: path),
                let validator = validator(for: schemaPath, kind: kind)
            {
                // Before the manifest (Handover writes it last when it packs a bundle while making it): checked
                // against the schema its path names, the verdict kept until the manifest says that is its schema.
                let before = problems.count
                let records = try validate(path, validator, &source)
                early[path] = (schemaPath, kind, Array(problems[before...]))
                problems.removeSubrange(before...)
                try source.drain()
                seen[path] = (source.bytes, source.sha256, records, part)
            } else {
                try source.drain()
                seen[path] = (source.bytes, source.sha256, nil, part)
                if !documentPaths.contains(path) { deferred.insert(path) }
            }
        }

        /// The schema file Handover writes for a data file at `path` (`data/<exporter>/<table>.<format>` has
        /// `data/schemas/<exporter>/<table><suffix>`), and its kind; nil for any other path.
        static func conventionalSchema(of path: String) -> (path: String, kind: SchemaKind)? {
            guard path.hasPrefix("data/"), !path.hasPrefix("data/schemas/"), !path.hasPrefix("data/files/") else {
                return nil
            }
            let parts = path.dropFirst(5).split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, let dot = parts[1].lastIndex(of: "."),
                let format = TableFormat(rawValue: String(parts[1][parts[1].index(after: dot)...]))
            else { return nil }
            let kind = SchemaKind(describing: format)
            return ("data/schemas/\(parts[0])/\(parts[1][..<dot])\(kind.fileSuffix)", kind)
        }

        /// Keeps the verdicts on data files checked before the manifest was read where the manifest names the
        /// schema they were checked against; any other such file is checked again, against its listed schema.
        mutating func settleEarlyVerdicts() {
            for (path, verdict) in early.sorted(by: { $0.key < $1.key }) {
                if let record = fileRecords[path], record.schema == verdict.schema,
                    schemaRecords[verdict.schema]?.kind == verdict.kind.rawValue
                {
                    problems += verdict.problems
                } else {
                    // Compiled as the path suggested, not as the manifest lists it: compiled again when needed.
                    validators[verdict.schema] = nil
                    seen[path]?.records = nil
                    if fileRecords[path] != nil { deferred.insert(path) }
                }
            }
            early = [:]
        }

        /// The validator of a schema file, compiled once; nil (with a problem) when the schema is unusable. Its
        /// kind is the manifest's, or `kind` before the manifest is read.
        mutating func validator(for schemaPath: String, kind: SchemaKind? = nil) -> PayloadValidator? {
            if let validator = validators[schemaPath] { return validator }
            guard let bytes = schemas[schemaPath],
                let kind = kind ?? schemaRecords[schemaPath].flatMap({ SchemaKind(rawValue: $0.kind) })
            else { return nil }
            do {
                let validator = try PayloadValidator(kind: kind, schema: bytes)
                validators[schemaPath] = validator
                return validator
            } catch let error as HandoverError {
                problem(.schema, schemaPath, error.message)
            } catch {
                problem(.schema, schemaPath, "unusable")
            }
            schemas[schemaPath] = nil
            return nil
        }

        mutating func validate(
            _ path: String, _ validator: PayloadValidator, _ source: inout some ByteSource,
            readingReferences: Bool = false
        ) throws -> Int? {
            if readingReferences, var references = inlineReferences,
                let wanted = references.columns(at: path)
            {
                // The key columns are read in the same pass (the checks wait for every file: see checkReferences).
                inlineReferences = nil
                defer { inlineReferences = references }
                var limitHit = false
                do {
                    guard
                        let found = try validator.validate(
                            from: &source, maxErrors: 5, columns: wanted.columns, types: wanted.types,
                            { values in
                                references.note(
                                    values, slots: wanted.slots, numbers: wanted.numbers, limitHit: &limitHit)
                            })
                    else {
                        references.abandoned = true
                        return try validate(path, validator, &source)
                    }
                    references.finish(
                        path, slots: wanted.slots, numbers: wanted.numbers, read: found.columnRecords,
                        shortRecords: found.shortRecords, limitHit: limitHit)
                    for message in found.problems { problem(.schema, path, message) }
                    return found.records
                } catch let error as HandoverError where error.code != .archiveCorrupt {
                    references.abandoned = true
                    problem(.schema, path, error.message)
                    return nil
                }
            }
            do {
                let result = try validator.validate(from: &source, maxErrors: 5)
                for message in result.problems { problem(.schema, path, message) }
                return result.records
            } catch let error as HandoverError where error.code != .archiveCorrupt {
                problem(.schema, path, error.message)
                return nil
            }
        }

        mutating func readManifest(_ bytes: [UInt8]) {
            do {
                let schema = try JSONSchema(
                    try JSONValue.parse(Array(EmbeddedSchemas.manifest.utf8)), formatAssertion: true)
                let document = try JSONValue.parse(bytes)
                for error in schema.validate(document).prefix(10) {
                    problem(
                        .manifest, "manifest.json",
                        "at \(error.instanceLocation.isEmpty ? "/" : error.instanceLocation): \(error.message)")
                }
            } catch let error as HandoverError {
                problem(.manifest, "manifest.json", error.message)
                return
            } catch {
                problem(.manifest, "manifest.json", "unreadable")
                return
            }
            do {
                manifest = try ManifestCoding.decode(bytes)
            } catch let error as HandoverError {
                problem(.manifest, "manifest.json", error.underlying ?? error.message)
            } catch {
                problem(.manifest, "manifest.json", "unreadable")
            }
        }

        /// The bundle's status must follow from its exporters' (never "complete" when one is not), and an
        /// exporter recorded as failed lists no files.
        mutating func checkStatus(_ manifest: Manifest) {
            let combined = ExportStatus.combined(manifest.exporters.map(\.status))
            if manifest.status != combined {
                problem(
                    .manifest, "manifest.json",
                    "the bundle's status is \(manifest.status.rawValue) but its exporters' make it \(combined.rawValue)"
                )
            }
            for exporter in manifest.exporters where exporter.status == .failed {
                if manifest.files.contains(where: { $0.exporter == exporter.id }) || !exporter.tables.isEmpty {
                    problem(
                        .manifest, "manifest.json", "exporter \(exporter.id) is recorded as failed but lists files")
                }
            }
        }

        mutating func compareWithManifest() {
            for index in parts.indices {
                for found in (bags[index + 1] ?? BagItChecker()).finish() where found.severity == .error {
                    let where_ = parts.count > 1 ? "part \(index + 1): " : ""
                    problem(.bagit, found.path, where_ + found.message)
                }
            }
            guard let manifest else {
                if !problems.contains(where: { $0.kind == .manifest }) {
                    problem(.manifest, "manifest.json", "missing")
                }
                return
            }
            checkStatus(manifest)
            settleEarlyVerdicts()
            let expectedParts = manifest.parts ?? 1
            if expectedParts != parts.count {
                problem(
                    .part, nil,
                    "the manifest says \(expectedParts) part\(expectedParts == 1 ? "" : "s"); \(parts.count) given")
            }
            for index in parts.indices where tagFiles[index + 1]?["manifest.json"] == nil {
                problem(.manifest, "manifest.json", "missing from \(BundleVerifier.label(parts[index], parts))")
            }
            let records = Dictionary(
                manifest.files.map { ($0.path, $0.records) }, uniquingKeysWith: { first, _ in first })
            var listed = Set<String>()
            for entry in manifest.payload {
                listed.insert(entry.path)
                guard let found = seen[entry.path] else {
                    problem(.missing, entry.path, "listed in the manifest but not in the archive")
                    continue
                }
                if found.bytes != entry.bytes {
                    problem(.size, entry.path, "\(found.bytes) bytes where the manifest says \(entry.bytes)")
                }
                if found.sha256 != entry.sha256 {
                    problem(.checksum, entry.path, "SHA-256 differs from the manifest's")
                }
                if let expected = records[entry.path], let counted = found.records, counted != expected {
                    problem(.records, entry.path, "holds \(counted) records where the manifest says \(expected)")
                }
                if parts.count == expectedParts, let expected = entry.part ?? (expectedParts == 1 ? 1 : nil),
                    found.part != expected
                {
                    problem(.part, entry.path, "found in part \(found.part) where the manifest says part \(expected)")
                }
            }
            for path in seen.keys.sorted() where !listed.contains(path) {
                problem(.unlisted, path, "in the archive but not in the manifest")
                deferred.remove(path)
            }
            // Files whose checksum already failed need no schema check to be known bad.
            let failed = Set(problems.filter { $0.kind == .checksum || $0.kind == .size }.compactMap(\.path))
            deferred.subtract(failed)
        }

        mutating func validateDeferred(_ entry: ArchiveEntry, _ reader: ArchiveReader) throws {
            guard let name = SafePath.normalise(entry.name), let root, name.hasPrefix(root + "/") else { return }
            let path = String(name.dropFirst(root.count + 1))
            guard deferred.contains(path), seen[path]?.part == part,
                let record = fileRecords[path],
                let schemaPath = record.schema
            else { return }
            guard let validator = validator(for: schemaPath) else {
                problem(.schema, path, "its schema \(schemaPath) is missing or unusable")
                return
            }
            var source = reader.entrySource()
            if let counted = try validate(path, validator, &source), counted != record.records {
                problem(.records, path, "holds \(counted) records where the manifest says \(record.records)")
            }
        }
    }
}
