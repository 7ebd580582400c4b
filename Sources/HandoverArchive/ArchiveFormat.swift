import HandoverCore

/// The container an archive is written in.
public enum ArchiveFormat: String, Sendable, Hashable, CaseIterable, Codable {
    /// Zip with deflate, zip64 when needed, UTF-8 entry names.
    case zip
    /// A pax tar compressed with gzip: one gzip member per 512 KiB of tar, compressed on up to two threads, each
    /// member giving its length in an extra field (so that a reader checks every member's CRC-32).
    case tgz
    /// A pax tar compressed with xz: one xz stream per 512 KiB of tar, compressed on up to two threads; level 0 by
    /// default (a 256 KiB dictionary, about 3 MiB per encoder), so that an export stays under 64 MiB.
    case txz
    /// A pax tar compressed with Zstandard: one frame per 512 KiB of tar, compressed on up to two threads; level 3
    /// by default.
    case tzst

    /// The file name extension, without the leading dot.
    public var fileExtension: String {
        switch self {
        case .zip: "zip"
        case .tgz: "tar.gz"
        case .txz: "tar.xz"
        case .tzst: "tar.zst"
        }
    }

    /// The IANA media type.
    public var mediaType: String {
        switch self {
        case .zip: "application/zip"
        case .tgz: "application/gzip"
        case .txz: "application/x-xz"
        case .tzst: "application/zstd"
        }
    }

    /// The compression levels the format accepts.
    public var compressionLevels: ClosedRange<Int> {
        switch self {
        case .zip, .tgz, .txz: 0...9
        case .tzst: 1...19
        }
    }

    /// Parses `zip`, `tgz`, `txz` or `tzst` (also `tar.gz`, `tar.xz`, `tar.zst`).
    /// - Throws: ``HandoverError/Code/invalidArgument`` for anything else.
    public init(parsing text: String) throws {
        if let format = ArchiveFormat(rawValue: text)
            ?? ArchiveFormat.allCases.first(where: { $0.fileExtension == text })
        {
            self = format
        } else {
            throw HandoverError(.invalidArgument, "unknown archive format; use zip, tgz, txz or tzst")
        }
    }
}
