public import HandoverAge
public import HandoverArchive
public import HandoverCore
public import HandoverFormats
public import HandoverMinisign

/// What a bundle of several exporters does when one of them fails.
public enum ExporterFailurePolicy: String, Sendable, Hashable, CaseIterable {
    /// The export fails and nothing is published (the default): a bundle either holds everything or is not made.
    case failBundle = "fail"
    /// The failed exporter's files are left out, the manifest records it as `failed` with the reason (an error
    /// description, which holds no data values) and the bundle's status as `partial`, the bundle's page says so,
    /// and the bundle is published. When every exporter fails, the export fails as with ``failBundle``. A
    /// cancellation, or a failure of the output (disk, archive), always fails the export.
    case record
}

/// What happens when a file a row names (a dataset map's `file` column) is missing or cannot be read.
public enum MissingFilePolicy: String, Sendable, Hashable, CaseIterable {
    /// The export fails, naming the table, row key and field (the default): a file never silently vanishes.
    case fail
    /// The bundle is published without it: the exporter's status is `partial`, and the manifest and the page list
    /// each missing file (table, field, row key) and why.
    case record
}

/// How a bundle is written.
public struct BundleOptions: Sendable {
    /// The formats each table is written in.
    public var formats: [TableFormat]
    /// The folder the archive is published in.
    public var outputDirectory: String
    /// The archive's container format.
    public var archiveFormat: ArchiveFormat
    /// The compression level, 0 to 9, or nil for the format's default.
    public var compressionLevel: Int?
    /// Pseudonymises references to other people and the subject in the manifest; nil for a random key per bundle.
    public var pseudonymizer: (any Pseudonymizer)?
    /// The generation time to record; nil for now.
    public var generatedAt: Timestamp?
    /// The program recorded as the generator.
    public var generator: Manifest.Generator
    /// Split the bundle into parts no larger than this many bytes; nil for one archive.
    public var splitSize: Int64?
    /// The organisation sending the bundle, for `bag-info.txt`.
    public var sourceOrganization: String
    /// Told how the export progresses; nil for no reports (and no row counting beforehand).
    public var progress: ExportProgressObserver?
    /// What happens when one of several exporters fails; by default the export fails.
    public var onExporterFailure: ExporterFailurePolicy = .failBundle
    /// What happens when a file a row names is missing or unreadable; by default the export fails.
    public var missingFiles: MissingFilePolicy = .fail
    /// Whether CSV string cells that a spreadsheet would run as formulas get a leading `'` (on by default, for
    /// subject and tenant bundles alike: people open CSV files in spreadsheets); see ``CSVFormulaGuard``.
    public var csvFormulaGuard = true
    /// The age recipients every archive (or part) is encrypted to, as `….zip.age`; empty for none. The plaintext
    /// archive is never written: it is encrypted on its way to the file.
    public var recipients: [AgeRecipient] = []
    /// The minisign key that signs the manifest (`manifest.json.minisig`, a tag file) and each published archive
    /// or part (a detached `….minisig` beside it); nil for no signatures.
    public var signingKey: MinisignSecretKey?

    /// Creates options; every format, zip, default compression.
    public init(
        outputDirectory: String, formats: [TableFormat] = TableFormat.allCases, archiveFormat: ArchiveFormat = .zip,
        compressionLevel: Int? = nil, pseudonymizer: (any Pseudonymizer)? = nil, generatedAt: Timestamp? = nil,
        generator: Manifest.Generator = Manifest.Generator(name: "handover", version: HandoverVersion.current),
        splitSize: Int64? = nil, sourceOrganization: String = "Handover"
    ) {
        self.splitSize = splitSize
        self.sourceOrganization = sourceOrganization
        self.outputDirectory = outputDirectory
        self.formats = formats
        self.archiveFormat = archiveFormat
        self.compressionLevel = compressionLevel
        self.pseudonymizer = pseudonymizer
        self.generatedAt = generatedAt
        self.generator = generator
    }

    /// The output folder as given, without a trailing slash.
    var outputFolder: String {
        outputDirectory.hasSuffix("/") && outputDirectory.count > 1
            ? String(outputDirectory.dropLast()) : outputDirectory
    }

    /// Where the bundle of request `id` is published: `<folder>/handover-<id>.<format>`, or
    /// `<folder>/handover-<id>.parts` when split.
    public func publishedPath(for id: RequestID) -> String {
        outputFolder + "/" + BundleBuilder.bundleName(for: id) + (splitSize != nil ? ".parts" : archiveSuffix)
    }

    /// The end of every archive's name: `.zip`, or `.zip.age` when encrypted.
    public var archiveSuffix: String {
        "." + archiveFormat.fileExtension + (recipients.isEmpty ? "" : ".age")
    }
}
