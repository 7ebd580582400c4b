internal import Foundation
internal import HandoverArchive
internal import HandoverBundle
public import HandoverCore
public import HandoverStore

/// What purging did with one expired request's archive.
public struct PurgeOutcome: Sendable {
    /// What happened.
    public enum Result: String, Sendable {
        /// The archive was deleted and the request recorded as expired.
        case deleted
        /// The archive was already gone; the request was recorded as expired.
        case alreadyGone
        /// Nothing was done (the reason says why); the request stays completed.
        case skipped
    }

    /// The request.
    public var request: RequestID
    /// The archive's path.
    public var archive: String?
    /// What happened.
    public var result: Result
    /// Why, when skipped.
    public var reason: String?
}

extension RequestStore {
    /// Deletes the archives of completed requests whose retention period has ended, and records each
    /// request as expired in the audit log.
    ///
    /// An archive is deleted only if its name is the one Handover gives the request's bundle
    /// (`handover-<id>.<format>` or `handover-<id>.parts`), so that a damaged or tampered store cannot
    /// point the purge at another file. When the archive's folder is not there at all (it is on another
    /// machine), the request is skipped rather than recorded as expired with its archive still in place.
    public func purgeExpired(actor: String, at now: Timestamp) async throws -> [PurgeOutcome] {
        var outcomes: [PurgeOutcome] = []
        for stored in try await expiring(at: now) {
            let id = stored.request.id
            guard let archive = stored.archive, Self.isBundleName(archive, of: id) else {
                outcomes.append(
                    PurgeOutcome(
                        request: id, archive: stored.archive, result: .skipped,
                        reason: "the recorded archive is not named as a bundle of this request"))
                continue
            }
            let folder = (archive as NSString).deletingLastPathComponent
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder.isEmpty ? "." : folder, isDirectory: &isFolder),
                isFolder.boolValue
            else {
                outcomes.append(
                    PurgeOutcome(
                        request: id, archive: archive, result: .skipped,
                        reason: "the archive's folder is not on this machine"))
                continue
            }
            let result: PurgeOutcome.Result
            if FileManager.default.fileExists(atPath: archive) {
                do {
                    // The detached signature first: a signature without its archive is harmless, the reverse is not.
                    if FileManager.default.fileExists(atPath: archive + ".minisig") {
                        try FileManager.default.removeItem(atPath: archive + ".minisig")
                    }
                    try FileManager.default.removeItem(atPath: archive)
                } catch {
                    outcomes.append(
                        PurgeOutcome(
                            request: id, archive: archive, result: .skipped, reason: "the archive cannot be deleted"))
                    continue
                }
                result = .deleted
            } else {
                result = .alreadyGone
            }
            try await markExpired(
                id, actor: actor, detail: result == .deleted ? "archive deleted" : "archive was already gone", at: now)
            outcomes.append(PurgeOutcome(request: id, archive: archive, result: result, reason: nil))
        }
        return outcomes
    }

    static func isBundleName(_ path: String, of id: RequestID) -> Bool {
        let name = (path as NSString).lastPathComponent
        let stem = BundleBuilder.bundleName(for: id) + "."
        guard name.hasPrefix(stem) else { return false }
        let suffix = name.dropFirst(stem.count)
        return suffix == "parts"
            || ArchiveFormat.allCases.contains { $0.fileExtension == suffix || $0.fileExtension + ".age" == suffix }
    }
}
