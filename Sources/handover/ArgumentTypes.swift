// The conformances of public types to a public protocol are public, so these modules are imported publicly
// (nothing imports this executable module, so this exports nothing).
public import ArgumentParser
public import HandoverArchive
public import HandoverBundle
public import HandoverCore
public import HandoverFormats
public import HandoverImport
public import HandoverStore

// The command line parses its closed sets of values itself: `--help` lists them, and a bad value is refused
// with the valid ones listed (exit 64) before a command starts any work. The conformances are declared here,
// in the executable, so that the library modules need not depend on swift-argument-parser. (They are not
// marked `@retroactive`: the types are declared in this package, where the compiler refuses the mark.)

extension ArchiveFormat: ExpressibleByArgument {
    /// `zip`, `tgz`, `txz` or `tzst`; the file name extensions `tar.gz`, `tar.xz` and `tar.zst` are accepted too.
    public init?(argument: String) {
        guard let format = try? ArchiveFormat(parsing: argument) else { return nil }
        self = format
    }
}

extension Purpose: ExpressibleByArgument {}

extension RequestState: ExpressibleByArgument {}

/// The value of `--formats`: table formats as a comma-separated list, such as `json,csv`.
///
/// A list of one option value (the syntax the README documents) rather than a repeated option, parsed into
/// formats at parse time: an unknown name is refused with the valid ones listed.
struct FormatList: ExpressibleByArgument, Sendable, Equatable {
    /// The formats, each once, in the order given.
    var formats: [TableFormat]

    /// Every format: the default.
    static let all = FormatList(formats: TableFormat.allCases)

    init(formats: [TableFormat]) { self.formats = formats }

    /// Parses `json,csv`; nil when a name is unknown or the list is empty.
    init?(argument: String) {
        guard let formats = try? TableFormat.parseList(argument) else { return nil }
        self.formats = formats
    }

    /// The names a list may hold, for `--help` and for the error naming a bad value.
    static var allValueStrings: [String] { TableFormat.allCases.map(\.rawValue) }

    /// Shell completion offers each name (a list is typed by hand).
    static var defaultCompletionKind: CompletionKind { .list(allValueStrings) }

    var defaultValueDescription: String { formats.map(\.rawValue).joined(separator: ",") }
}

extension ArchiveFormat {
    /// Throws a usage error (exit 64) when `level` is not a compression level of this format.
    func validate(compressionLevel level: Int?) throws {
        guard let level, !compressionLevels.contains(level) else { return }
        throw ValidationError(
            "a compression level for \(rawValue) is \(compressionLevels.lowerBound) to \(compressionLevels.upperBound)")
    }
}

/// A switch given as `on` or `off`.
enum Switch: String, ExpressibleByArgument, CaseIterable, Sendable {
    case on, off

    /// Whether it is on.
    var isOn: Bool { self == .on }
}

extension MissingFilePolicy: ExpressibleByArgument {}

extension TableFormat: ExpressibleByArgument {}
extension TableNaming: ExpressibleByArgument {}
extension FilePathForm: ExpressibleByArgument {}
