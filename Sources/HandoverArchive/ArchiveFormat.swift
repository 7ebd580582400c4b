/// The container an archive is written in.
public enum ArchiveFormat: String, Sendable, Hashable, CaseIterable, Codable {
    /// Zip with deflate and UTF-8 entry names.
    case zip

    /// The file name extension, without the leading dot.
    public var fileExtension: String {
        switch self {
        case .zip: "zip"
        }
    }

    /// The IANA media type.
    public var mediaType: String {
        switch self {
        case .zip: "application/zip"
        }
    }
}
