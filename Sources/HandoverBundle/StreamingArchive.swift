internal import Foundation
internal import HandoverArchive
internal import HandoverCore

/// A bundle's archive written while the bundle is being made, on a thread of its own: each payload file goes in as
/// soon as it is complete (the schemas first, a table's files when the exporter finishes the table), so that
/// compressing one table overlaps writing and checking the next; the page, the documents and the BagIt tag files,
/// which need every digest, go in last.
///
/// The archive is written under a temporary name and takes its final name only in ``close(manifest:work:)``;
/// ``abort()`` (or any failure) leaves nothing under the final name. Only for a bundle of one part: a split bundle
/// needs every file's size before it can choose the parts, and is packed from the working folder at the end.
final class StreamingArchive: @unchecked Sendable {
    private enum Job {
        case payload(path: String, sha256: String, content: Manifest.ContentRecord?)
        case close(tags: String)
        case abort
    }

    private let packager: BundlePackager
    private let path: String
    private let prehasher: PrehashingFilter?
    /// The archive's filters (encryption, the signature's prehash); used by the archive's thread only.
    private let filters: [any ArchiveOutputFilter]
    private let condition = NSCondition()
    /// Jobs not yet taken by the archive's thread (guarded by `condition`).
    private var jobs: [Job] = []
    /// How the archive's thread ended: nil while it runs.
    private var outcome: Result<Void, HandoverError>?
    /// Every payload file added, in order.
    private var added: [String] = []

    /// Starts writing the archive of `packager`'s bundle to `path` (which must not exist).
    /// - Throws: ``HandoverError/Code/invalidArgument`` for recipients that cannot be encrypted to.
    init(packager: BundlePackager, path: String) throws {
        self.packager = packager
        self.path = path
        (filters, prehasher) = try packager.archiveFilters()
        let options = packager.options
        let thread = Thread { [self] in
            let result: Result<Void, HandoverError>
            do {
                try ArchiveWriter.write(
                    to: path, format: options.archiveFormat, compressionLevel: options.compressionLevel,
                    filters: self.filters
                ) { archive in try run(archive) }
                result = .success(())
            } catch let error as HandoverError {
                result = .failure(error)
            } catch {
                result = .failure(HandoverError(.archiveFailed, "the archive could not be written"))
            }
            condition.lock()
            outcome = result
            condition.broadcast()
            condition.unlock()
        }
        thread.name = "handover-archive"
        thread.start()
    }

    /// Queues the complete, staged payload file `file` (its SHA-256 `sha256`, checked as it goes in).
    /// - Throws: The archive's failure, once it has failed.
    func add(_ file: String, sha256: String, content: Manifest.ContentRecord? = nil) throws {
        try enqueue(.payload(path: file, sha256: sha256, content: content))
    }

    /// Adds the page, the documents and the tag files of a bag holding every payload file of `manifest`, waits for
    /// the archive to be complete under its final name, and signs it when signing.
    /// - Returns: The archive's size.
    /// - Throws: ``HandoverError/Code/internalError`` when a file the manifest lists was never added; what writing
    ///   the archive threw.
    func close(manifest: Manifest, work: String) throws -> Int64 {
        let digests = BundlePackager.digests(of: manifest)
        for document in manifest.documents {
            try add(document.path, sha256: document.sha256)
        }
        let listed = Set(manifest.payload.map(\.path))
        let missing = listed.subtracting(condition.withLock { added })
        guard missing.isEmpty else {
            abort()
            throw HandoverError(.internalError, "\(missing.count) files of the bundle were not packed")
        }
        let tags = work + "/tags-1"
        do {
            try packager.writeTagFiles(
                into: tags, manifest: manifest, payload: manifest.payload.map(\.path), digests: digests, part: nil)
        } catch {
            abort()
            throw error
        }
        try enqueue(.close(tags: tags))
        try wait().get()
        return try packager.finishArchive(at: path, prehasher: prehasher, request: manifest.request.id)
    }

    /// Stops the archive: nothing appears under its final name. Waits for its thread.
    func abort() {
        condition.lock()
        jobs.append(.abort)
        condition.broadcast()
        condition.unlock()
        _ = wait()
    }

    private func enqueue(_ job: Job) throws {
        condition.lock()
        defer { condition.unlock() }
        if case .failure(let error) = outcome { throw error }
        guard outcome == nil else { throw HandoverError(.internalError, "the archive is already closed") }
        if case .payload(let path, _, _) = job { added.append(path) }
        jobs.append(job)
        condition.broadcast()
    }

    private func wait() -> Result<Void, HandoverError> {
        condition.lock()
        defer { condition.unlock() }
        while outcome == nil { condition.wait() }
        return outcome!
    }

    /// The archive's thread: adds files as they are queued until closed or aborted.
    private func run(_ archive: ArchiveWriter) throws {
        let packager = self.packager
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            switch job {
            case .payload(let file, let sha256, let content):
                try packager.addPayload(file, to: archive, sha256: sha256, content: content)
            case .abort:
                throw HandoverError(.cancelled, "the export was stopped")
            case .close(let tags):
                for file in packager.documents {
                    try packager.addPayload(file, to: archive, sha256: nil, content: nil)
                }
                for file in BundlePackager.tagFiles {
                    try archive.addFile(
                        from: tags + "/" + file, as: packager.name + "/" + file,
                        modificationTime: packager.generatedAt)
                }
                return
            }
        }
    }
}
