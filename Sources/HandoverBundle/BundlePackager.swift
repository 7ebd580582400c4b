internal import Crypto
internal import Foundation
internal import HandoverAge
internal import HandoverArchive
internal import HandoverBagIt
internal import HandoverCore
internal import HandoverFormats
internal import HandoverMinisign
internal import Logging

/// Turns a staged bundle into a BagIt bag (or one bag per part) and publishes its archives.
struct BundlePackager {
    /// The staged bundle: `manifest.json`, `datapackage.json` and `data/` are kept here.
    let stage: BundleStage
    /// The bundle's name, `handover-<request id>`, also its folder inside every archive.
    let name: String
    let options: BundleOptions
    let generatedAt: Timestamp
    let logger: Logger

    /// Tag files in the order every archive carries them, before the payload.
    static let tagFiles = ["bagit.txt", "bag-info.txt", "manifest-sha256.txt", "tagmanifest-sha256.txt"]
    /// Handover's own documents beside the tag files.
    static let documents = ["manifest.json", "datapackage.json"]
    /// The manifest's minisign signature, a tag file of signed bundles.
    static let manifestSignature = "manifest.json.minisig"

    /// The documents this bundle carries: the manifest's signature too when signing.
    var documents: [String] { Self.documents + (options.signingKey != nil ? [Self.manifestSignature] : []) }

    /// The trusted comment of a signature of `file`: what it is, which request, when it was generated.
    static func trustedComment(_ file: String, request: String, generatedAt: Timestamp) -> String {
        "handover request:\(request) generated:\(generatedAt.iso8601) file:\(file)"
    }

    /// The untrusted comment of Handover's signatures.
    static func untrustedComment(_ key: MinisignSecretKey) -> String {
        "signature from Handover, key \(key.publicKey.keyIDText)"
    }

    /// Writes `path.minisig`, the detached signature of the file at `path` whose prehash is `digest`; when that
    /// fails and `removingOnFailure`, removes the file, which must not stand as if complete without it.
    static func writeSignature(
        of path: String, digest: [UInt8], key: MinisignSecretKey, request: String, generatedAt: Timestamp,
        removingOnFailure: Bool
    ) throws {
        let comment = trustedComment((path as NSString).lastPathComponent, request: request, generatedAt: generatedAt)
        do {
            let signature = try signing { () throws(MinisignError) in
                try key.sign(prehash: digest, trustedComment: comment, untrustedComment: untrustedComment(key))
            }
            try AtomicFile.write(Array(signature.fileText.utf8), to: path + ".minisig")
        } catch {
            if removingOnFailure { unlink(path) }
            throw error
        }
    }

    /// Runs a signing step, turning its error into a ``HandoverError``.
    static func signing<T>(_ body: () throws(MinisignError) -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw HandoverError(.invalidArgument, "cannot sign the bundle: \(error.message)")
        }
    }

    /// Signs `manifest.json` into `manifest.json.minisig` beside it, when signing.
    func signManifest(request: RequestID) throws {
        guard let key = options.signingKey else { return }
        guard case .memory(let manifest) = stage["manifest.json"] else {
            throw HandoverError(.internalError, "the manifest is not staged")
        }
        let comment = Self.trustedComment("manifest.json", request: request.rawValue, generatedAt: generatedAt)
        let signature = try Self.signing { () throws(MinisignError) in
            try key.sign(manifest, trustedComment: comment, untrustedComment: Self.untrustedComment(key))
        }
        stage.hold(Array(signature.fileText.utf8), at: Self.manifestSignature)
    }

    /// Writes `datapackage.json`: a Frictionless Data Package describing every CSV table (the JSON ones when
    /// no CSV was written).
    ///
    /// Resource names are the table names in lower case, prefixed with the exporter's id where two exporters'
    /// tables would share one. A reference is declared as a foreign key, naming the referenced resource, only
    /// where `references` (per exporter, per table, in `foreignKeys` order) says it held for every row written,
    /// and only between CSV resources (the ones `verify` checks); every reference is described under
    /// `x-handover-references`.
    func writeDataPackage(manifest: Manifest, tables: [any Exporter], references: [String: [[ReferenceOutcome]]])
        throws
    {
        let format: TableFormat = options.formats.contains(.csv) ? .csv : .json
        let described = manifest.files.filter { $0.format == format.rawValue }
        let names = described.map { $0.table.lowercased() }
        var resourceNames: [String: String] = [:]
        for file in described {
            let lower = file.table.lowercased()
            resourceNames[file.exporter + "\u{0}" + file.table] =
                names.filter { $0 == lower }.count > 1 ? file.exporter + "." + lower : lower
        }
        var resources: [DataPackage.Resource] = []
        for file in described {
            guard let exporter = tables.first(where: { $0.id == file.exporter }),
                let position = exporter.tables.firstIndex(where: { $0.name == file.table })
            else { continue }
            let schema = exporter.tables[position]
            let outcomes = references[file.exporter].flatMap { position < $0.count ? $0[position] : nil } ?? []
            let described = schema.foreignKeys.enumerated().map { number, key in
                let resource = resourceNames[file.exporter + "\u{0}" + key.table]
                var outcome = number < outcomes.count ? outcomes[number] : .unchecked
                if outcome == .held && resource == nil { outcome = .notInBundle }
                let declared = outcome == .held && format == .csv
                return DataPackage.Reference(
                    key: key, resource: resource, declared: declared,
                    note: outcome == .held && !declared
                        ? "not declared as a foreign key: foreign keys are declared between CSV resources only"
                        : outcome.note)
            }
            var resource = DataPackage.Resource(
                name: resourceNames[file.exporter + "\u{0}" + file.table]!, path: file.path, format: format,
                bytes: file.bytes, sha256: file.sha256, schema: schema, references: described)
            resource.formulaGuard = manifest.csvFormulaGuard == true
            resources.append(resource)
        }
        let descriptor = DataPackage.descriptor(
            name: name.lowercased(), title: "Data export \(manifest.request.id)", created: generatedAt.iso8601,
            resources: resources)
        stage.hold(descriptor, at: "datapackage.json")
    }

    /// Decides which part holds each payload file and records it in the manifest; one part when not splitting.
    ///
    /// Files go in order (the page, the schemas, the data) into the current part while its estimated size
    /// stays within the limit; a file larger than the limit gets a part of its own. The estimate counts
    /// every file uncompressed plus a kilobyte of headers, so compressed parts stay within the limit.
    func assignParts(_ manifest: inout Manifest) throws -> [[String]] {
        let payload =
            manifest.documents.map(\.path) + manifest.schemas.map(\.path) + manifest.files.map(\.path)
            + (manifest.contents ?? []).map(\.path)
        guard let limit = options.splitSize else { return [payload] }
        let sizes = Dictionary(uniqueKeysWithValues: manifest.payload.map { ($0.path, $0.bytes) })
        let overhead: Int64 =
            64 * 1024 + 1024 * Int64(Self.tagFiles.count + Self.documents.count) + 2 * 100 * Int64(payload.count)
        var parts: [[String]] = [[]]
        var size = overhead
        for path in payload {
            let cost = sizes[path, default: 0] + 1024
            if !parts[parts.count - 1].isEmpty && size + cost > limit {
                parts.append([])
                size = overhead
            }
            parts[parts.count - 1].append(path)
            size += cost
        }
        if parts.count > 1 {
            var partOf: [String: Int] = [:]
            for (index, part) in parts.enumerated() { for path in part { partOf[path] = index + 1 } }
            for index in manifest.files.indices { manifest.files[index].part = partOf[manifest.files[index].path] }
            for index in manifest.schemas.indices {
                manifest.schemas[index].part = partOf[manifest.schemas[index].path]
            }
            for index in manifest.documents.indices {
                manifest.documents[index].part = partOf[manifest.documents[index].path]
            }
            for index in (manifest.contents ?? []).indices {
                manifest.contents![index].part = partOf[manifest.contents![index].path]
            }
            manifest.parts = parts.count
        }
        return parts
    }

    /// Writes each part's tag files and archive, and publishes them: one archive at `finalPath`, or a
    /// folder of parts there, appearing whole or not at all.
    func publish(
        manifest: Manifest, parts: [[String]], finalPath: String,
        compressed: [String: CompressedFile.Content] = [:]
    ) throws -> [(
        path: String, bytes: Int64
    )] {
        let digests = Self.digests(of: manifest)
        let contents = Self.contents(of: manifest)
        func write(part index: Int, to path: String) throws -> (path: String, bytes: Int64) {
            options.progress?(
                ExportProgress(
                    phase: .packing, exporter: "",
                    item: parts.count > 1 ? "part \(index + 1) of \(parts.count)" : "archive",
                    rows: 0, total: nil))
            let payload = parts[index]
            let tags = try makeTagFiles(
                manifest: manifest, payload: payload, digests: digests,
                part: parts.count > 1 ? (index + 1, parts.count) : nil)
            let (filters, prehasher) = try archiveFilters()
            try ArchiveWriter.write(
                to: path, format: options.archiveFormat, compressionLevel: options.compressionLevel, filters: filters
            ) { archive in
                for (file, bytes) in tags {
                    try archive.addFile(bytes: bytes, as: name + "/" + file, modificationTime: generatedAt)
                }
                for file in documents + payload {
                    if let compressed = compressed[file] {
                        try addCompressedPayload(file, compressed, to: archive)
                    } else {
                        try addPayload(file, to: archive, sha256: digests[file]?.sha256, content: contents[file])
                    }
                }
            }
            let size = try finishArchive(at: path, prehasher: prehasher, request: manifest.request.id)
            if let limit = options.splitSize, size > limit, payload.count > 1 {
                throw HandoverError(
                    .archiveFailed, "part \(index + 1) came out at \(size) bytes, over the limit of \(limit)")
            }
            return (path, size)
        }
        guard parts.count > 1 || options.splitSize != nil else {
            return [try write(part: 0, to: finalPath)]
        }
        let partNames = parts.indices.map {
            name + ".part-\($0 + 1)-of-\(parts.count)" + options.archiveSuffix
        }
        let written = try AtomicFile.createFolder(at: finalPath) { folder in
            try parts.indices.map { try write(part: $0, to: folder + "/" + partNames[$0]) }
        }
        return written.enumerated().map { (finalPath + "/" + partNames[$0.offset], $0.element.bytes) }
    }

    /// Every payload file's size and SHA-256 as the manifest lists them, by path.
    static func digests(of manifest: Manifest) -> [String: (bytes: Int64, sha256: String)] {
        Dictionary(
            manifest.payload.map { ($0.path, ($0.bytes, $0.sha256)) }, uniquingKeysWith: { first, _ in first })
    }

    /// The files rows named, by path.
    static func contents(of manifest: Manifest) -> [String: Manifest.ContentRecord] {
        Dictionary((manifest.contents ?? []).map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The BagIt tag files of a bag holding `payload` (and the documents), in the order of ``tagFiles``.
    func makeTagFiles(
        manifest: Manifest, payload: [String], digests: [String: (bytes: Int64, sha256: String)], part: (Int, Int)?
    ) throws -> [(name: String, bytes: [UInt8])] {
        let bytes = payload.reduce(Int64(0)) { $0 + (digests[$1]?.bytes ?? 0) }
        let info = BagTagFiles.info(
            date: generatedAt, payloadBytes: bytes, payloadFiles: payload.count,
            organization: options.sourceOrganization, identifier: manifest.request.id.rawValue, part: part)
        let payloadManifest = BagTagFiles.manifest(payload.map { ($0, digests[$0]?.sha256 ?? "") })
        let files = [
            ("bagit.txt", BagTagFiles.declaration), ("bag-info.txt", info),
            ("manifest-sha256.txt", payloadManifest),
        ]
        var tagDigests = files.map { (path: $0.0, sha256: $0.1.sha256Hex) }
        for file in documents {
            guard let document = stage[file] else { throw HandoverError(.internalError, "\(file) is not staged") }
            tagDigests.append((file, try document.read().sha256Hex))
        }
        return files + [("tagmanifest-sha256.txt", BagTagFiles.manifest(tagDigests))]
    }

    /// The filters an archive's bytes pass on their way to the file: age encryption to the recipients, and
    /// minisign's prehash when signing.
    func archiveFilters() throws -> (filters: [any ArchiveOutputFilter], prehasher: PrehashingFilter?) {
        var filters: [any ArchiveOutputFilter] = []
        if !options.recipients.isEmpty { filters.append(try AgeEncryptingFilter(to: options.recipients)) }
        let prehasher = options.signingKey != nil ? PrehashingFilter() : nil
        if let prehasher { filters.append(prehasher) }
        return (filters, prehasher)
    }

    /// Adds the staged file `file` to `archive`, hashing its bytes on the way in: what goes into the archive must
    /// be what was checked and listed (`sha256`, when the manifest lists the file). A file a row named (`content`)
    /// is stored as it is in a zip when its media is compressed already, and an error names its row, not the file.
    func addPayload(_ file: String, to archive: ArchiveWriter, sha256: String?, content: Manifest.ContentRecord?)
        throws
    {
        guard let staged = stage[file] else { throw HandoverError(.internalError, "\(file) is not staged") }
        var hasher = SHA256()
        do {
            try archive.addFile(
                staged, as: name + "/" + file, modificationTime: generatedAt,
                stored: content.map { ContentFiles.isStoredAsIs($0.mediaType) } ?? false
            ) { hasher.update(bufferPointer: $0) }
        } catch let error as HandoverError {
            guard let content else { throw error }
            throw HandoverError(
                .archiveFailed,
                "cannot archive the file of table \(content.table), row \(content.row), field \(content.field)",
                underlying: error.underlying, cause: error.cause)
        }
        if let sha256, hasher.finalize().hexString != sha256 {
            throw HandoverError(.archiveFailed, "\(file) changed in the working folder after it was checked")
        }
    }

    /// Adds the data file `file`, whose bytes were compressed for the archive as they were written (and hashed and
    /// validated as they were compressed), reading the compressed bytes back: they must be what was compressed.
    func addCompressedPayload(_ file: String, _ compressed: CompressedFile.Content, to archive: ArchiveWriter) throws {
        var hasher = SHA256()
        try archive.addCompressedFile(compressed, as: name + "/" + file, modificationTime: generatedAt) {
            hasher.update(bufferPointer: $0)
        }
        if hasher.finalize().hexString != compressed.compressedSHA256 {
            throw HandoverError(.archiveFailed, "\(file) changed in the working folder after it was checked")
        }
    }

    /// Signs the archive written at `path` (when signing) and returns its size.
    func finishArchive(at path: String, prehasher: PrehashingFilter?, request: RequestID) throws -> Int64 {
        if let prehasher, let key = options.signingKey {
            try Self.writeSignature(
                of: path, digest: prehasher.digest(), key: key, request: request.rawValue, generatedAt: generatedAt,
                removingOnFailure: true)
        }
        // stat, not FileManager's attributes: those look up the owner's and group's names too (reading
        // /etc/nsswitch.conf, /etc/passwd and /etc/group).
        var status = stat()
        guard stat(path, &status) == 0 else {
            throw HandoverError(errno: errno, .outputUnavailable, "cannot read the size of '\(path)'")
        }
        return Int64(status.st_size)
    }
}

extension Array where Element == UInt8 {
    /// The SHA-256 of these bytes in lowercase hexadecimal.
    var sha256Hex: String {
        SHA256.hash(data: self).hexString
    }
}

/// Encrypts an archive's bytes to age recipients on their way to the file.
final class AgeEncryptingFilter: ArchiveOutputFilter {
    private var encryptor: AgeEncryptor

    /// A filter encrypting to `recipients` with a new file key.
    /// - Throws: ``HandoverError/Code/invalidArgument`` for recipients age does not allow together.
    init(to recipients: [AgeRecipient]) throws {
        do {
            encryptor = try AgeEncryptor(recipients: recipients)
        } catch {
            throw HandoverError(.invalidArgument, "cannot encrypt the archive: \(error.message)")
        }
    }

    func start() -> [UInt8] { encryptor.header }
    func process(_ bytes: UnsafeRawBufferPointer) -> [UInt8] { encryptor.write(bytes) }
    func finish() -> [UInt8] { encryptor.finish() }
}

/// Passes the bytes on unchanged, computing minisign's prehash (BLAKE2b-512) of them for the detached signature.
final class PrehashingFilter: ArchiveOutputFilter {
    private var hasher = Minisign.Prehasher()

    func start() -> [UInt8] { [] }
    func process(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        hasher.update(bytes)
        return Array(bytes)
    }
    func finish() -> [UInt8] { [] }
    /// The prehash of everything that passed.
    func digest() -> [UInt8] { hasher.finalize() }
}
