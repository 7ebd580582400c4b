import Foundation
import HandoverArchive
import HandoverBundle
import HandoverCore
import HandoverSQL

/// Reads and parses a dataset map file; relative file roots (`file: {root: media}`) are taken from the map's
/// folder.
func readMap(_ path: String) throws -> DatasetMap {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw HandoverError(.sourceUnavailable, "cannot read the dataset map '\(path)'")
    }
    guard let text = String(data: data, encoding: .utf8) else {
        throw HandoverError(.invalidDatasetMap, "'\(path)' is not UTF-8 text")
    }
    let folder = URL(fileURLWithPath: path).standardizedFileURL.deletingLastPathComponent().path
    return try DatasetMap(yaml: text, source: path).resolvingFileRoots(relativeTo: folder)
}

/// The options `export` and `worker` share: where, which formats, which archive, parts, sender and pseudonyms.
func bundleOptions(
    out: String, formats: FormatList, archive: ArchiveFormat, splitSize: String?, organization: String,
    pseudonymizer: KeyedPseudonymizer
) throws -> BundleOptions {
    var options = BundleOptions(outputDirectory: out, formats: formats.formats)
    options.archiveFormat = archive
    options.splitSize = try splitSize.map(parseSize)
    options.sourceOrganization = organization
    options.pseudonymizer = pseudonymizer
    return options
}

/// The pseudonymizer keyed by `path`, or by the installation's key file when nil (see ``defaultKeyFile()``).
func loadPseudonymizer(_ path: String?) throws -> KeyedPseudonymizer {
    try KeyedPseudonymizer(key: try readKey(path ?? defaultKeyFile()))
}

func readKey(_ path: String) throws -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw HandoverError(.invalidArgument, "cannot read the pseudonym key file '\(path)'")
    }
    guard (16...1024).contains(data.count) else {
        throw HandoverError(
            .invalidArgument, "a pseudonym key file holds 16 to 1024 bytes of secret; '\(path)' holds \(data.count)")
    }
    return Array(data)
}

/// The installation's pseudonym key file: `$HANDOVER_PSEUDONYM_KEY_FILE`, or `~/.config/handover/pseudonym.key`,
/// created with 32 random bytes (mode 0600) when missing, so that pseudonyms are stable across bundles.
func defaultKeyFile() throws -> String {
    let environment = ProcessInfo.processInfo.environment
    if let path = environment["HANDOVER_PSEUDONYM_KEY_FILE"], !path.isEmpty { return path }
    let config = environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (NSHomeDirectory() + "/.config")
    let folder = config + "/handover"
    let path = folder + "/pseudonym.key"
    if !FileManager.default.fileExists(atPath: path) {
        var generator = SystemRandomNumberGenerator()
        let key = Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
        do {
            try FileManager.default.createDirectory(
                atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            guard FileManager.default.createFile(atPath: path, contents: key, attributes: [.posixPermissions: 0o600])
            else {
                throw CocoaError(.fileWriteUnknown)
            }
        } catch {
            throw HandoverError(
                .outputUnavailable, "cannot create the pseudonym key file '\(path)'; give --pseudonym-key-file")
        }
    }
    return path
}
