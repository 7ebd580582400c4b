public import HandoverCore

/// What an export produced.
public struct BundleResult: Sendable {
    /// The published archive, or for a split bundle the folder holding its parts.
    public var archivePath: String
    /// The archives written: the one archive, or every part in order.
    public var parts: [String]
    /// The size of the archive, or of all parts together, in bytes.
    public var archiveBytes: Int64
    /// The manifest written into the bundle.
    public var manifest: Manifest
}
