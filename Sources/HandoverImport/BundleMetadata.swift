internal import Crypto
internal import HandoverArchive
internal import HandoverBundle
internal import HandoverCore

/// The small files of a bundle an import plans from: `manifest.json`, `datapackage.json` and the schemas.
struct BundleMetadata: Sendable {
    /// The bundle's root folder in the archive (`handover-<request id>`).
    var root: String
    /// `manifest.json`.
    var manifest: [UInt8]
    /// Its SHA-256, in lowercase hexadecimal.
    var manifestDigest: String
    /// `datapackage.json`, when the bundle has CSV files.
    var datapackage: [UInt8]?
    /// Every file under `data/schemas/`, by its bundle-relative path.
    var schemas: [String: [UInt8]]

    /// The most bytes one schema file may have.
    static let schemaLimit = 16 << 20
    /// The most bytes the schema files may have together.
    static let schemasLimit = 256 << 20

    /// Reads them from `parts` (a manifest of the first part that holds one).
    static func read(parts: [String], keys: VerificationKeys) async throws -> BundleMetadata {
        var root: String?
        var manifest: [UInt8]?
        var datapackage: [UInt8]?
        var schemas: [String: [UInt8]] = [:]
        var schemaBytes = 0
        for part in parts {
            try await BundleArchive.read(part, keys: keys) { reader in
                while let entry = try reader.nextEntry() {
                    guard let slash = entry.name.firstIndex(of: "/") else { continue }
                    let top = String(entry.name[..<slash])
                    if root == nil { root = top }
                    guard top == root, entry.isRegularFile else { continue }
                    let path = String(entry.name[entry.name.index(after: slash)...])
                    if path == "manifest.json" {
                        if manifest == nil { manifest = try reader.readAll() }
                    } else if path == "datapackage.json" {
                        if datapackage == nil { datapackage = try reader.readAll() }
                    } else if path.hasPrefix("data/schemas/") {
                        let bytes = try reader.readAll(limit: schemaLimit)
                        schemaBytes += bytes.count
                        guard schemaBytes <= schemasLimit else {
                            throw HandoverError(.invalidData, "the bundle's schema files hold more than 256 MiB")
                        }
                        schemas[path] = bytes
                    }
                }
            }
        }
        guard let root, let manifest else {
            throw HandoverError(.invalidData, "the archive holds no Handover bundle (no manifest.json in its folder)")
        }
        let digest = Array(SHA256.hash(data: manifest)).hexString
        return BundleMetadata(
            root: root, manifest: manifest, manifestDigest: digest, datapackage: datapackage, schemas: schemas)
    }
}
