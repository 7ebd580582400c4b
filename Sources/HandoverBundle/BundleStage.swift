internal import HandoverArchive
internal import HandoverCore

#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Darwin)
    internal import Darwin
#endif

/// The files of a bundle being built, by their path in the bundle, between writing them and packing the archive.
///
/// What Handover makes whole in memory (schemas, the page, the manifest, the data package) is held as it is. Data
/// files and the files rows name are written through ``sink(_:compression:)`` and kept in memory while they are small
/// and the export's allowance lasts, else in numbered working files (see ``StagingArea``). Nothing is laid out on
/// disk as the bundle is: the archive is made from here.
final class BundleStage {
    let area: StagingArea
    private var files: [String: StagedBytes] = [:]

    /// A stage whose files that do not stay in memory go into the private working folder `folder`.
    init(
        folder: String, fileLimit: Int = StagingArea.defaultFileLimit, memoryLimit: Int = StagingArea.defaultMemoryLimit
    ) {
        area = StagingArea(folder: folder, fileLimit: fileLimit, memoryLimit: memoryLimit)
    }

    /// A new file at `path` in the bundle; once closed, ``keep(_:)`` records it.
    func sink(_ path: String, compression: ContentCompression? = nil) throws -> FileSink {
        try FileSink(path: path, staging: area, compression: compression)
    }

    /// Records a closed file (not a compressed one: those are the compression's) under its path.
    func keep(_ sink: FileSink) {
        if let staged = sink.staged { files[sink.path] = staged }
    }

    /// Holds `bytes` in memory as the file at `path`.
    func hold(_ bytes: [UInt8], at path: String) {
        files[path] = .memory(bytes)
    }

    /// The file at `path`: nil when none was kept there.
    subscript(path: String) -> StagedBytes? { files[path] }

    /// Forgets every file under the folder `prefix` (a failed exporter's), removing its working files.
    func remove(under prefix: String) {
        for (path, staged) in files where path.hasPrefix(prefix + "/") {
            if let file = staged.path { unlink(file) }
            files[path] = nil
        }
    }
}
