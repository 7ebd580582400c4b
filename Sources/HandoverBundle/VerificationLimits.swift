internal import HandoverBagIt

/// How much of a bundle verify holds in memory at once.
enum Limits {
    /// The largest schema file read (each is held, compiled, while the files that use it are checked).
    static let schema = 4 << 20
    /// The schema bytes held before the manifest says which files are schemas (Handover writes the manifest first).
    static let schemasBeforeManifest = 64 << 20

    /// The most bytes read of a tag file Handover writes; nil for any other file outside `data/`.
    ///
    /// The manifests grow with the number of files (about 100 bytes a file in a BagIt manifest, 300
    /// in `manifest.json`), so their limits allow some hundred thousand files; `bagit.txt` and
    /// `bag-info.txt` are a few lines. A part holds at most about 250 MiB of tag files.
    static func tagFile(_ path: String) -> Int? {
        switch path {
        case "bagit.txt", "bag-info.txt": return 1 << 20
        case "manifest.json": return 32 << 20
        case "manifest.json.minisig": return BundleVerifier.State.signatureLimit
        case "datapackage.json": return 16 << 20
        default:
            switch TagFileKind(path) {
            case .payloadManifest(let name), .tagManifest(let name):
                return BagItAlgorithm(rawValue: name) != nil ? 16 << 20 : nil
            default: return nil
            }
        }
    }
}
