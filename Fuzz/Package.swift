// swift-tools-version: 6.2
import PackageDescription

// libFuzzer targets for Handover's readers of untrusted input, built by `make fuzz` with
// `-sanitize=fuzzer,address` (never by `make test`). SwiftPM links an executable's `main` to a function named
// after its module (`fuzz_json_main`); each target defines it and hands its test function to libFuzzer's driver.
let settings: [SwiftSetting] = [.unsafeFlags(["-parse-as-library"])]

func fuzzer(_ name: String, _ products: [String]) -> Target {
    .executableTarget(
        name: name,
        dependencies: ["FuzzSupport", "FuzzDriver"] + products.map { .product(name: $0, package: "Handover") },
        path: "Sources/" + name, swiftSettings: settings)
}

let package = Package(
    name: "HandoverFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "Handover", path: "..")],
    targets: [
        // libFuzzer's driver, called from the `main` SwiftPM gives each executable (`<module>_main`).
        .target(name: "FuzzDriver", path: "Sources/FuzzDriver"),
        // The table every format fuzzer checks against, and the bridge from libFuzzer's buffer.
        .target(
            name: "FuzzSupport", dependencies: [.product(name: "HandoverCore", package: "Handover")],
            path: "Sources/FuzzSupport"),
        // A bundle archive (zip or tar, any compression) through ArchiveReader and BundleVerifier.
        fuzzer("fuzz-bundle", ["HandoverBundle", "HandoverCore"]),
        // JSON text through the parser, then a table's JSON Schema (whole and streaming).
        fuzzer("fuzz-json", ["HandoverJSONSchema", "HandoverFormats", "HandoverCore"]),
        // A CSV file through the Table Schema validator.
        fuzzer("fuzz-csv", ["HandoverFormats", "HandoverCore"]),
        // An XML file through the XML Schema validator (libxml2).
        fuzzer("fuzz-xml", ["HandoverFormats", "HandoverCore"]),
        // A dataset map (YAML).
        fuzzer("fuzz-map", ["HandoverSQL"]),
        // An age file (binary or armored) and age key files.
        fuzzer("fuzz-age", ["HandoverAge"]),
        // minisign public keys, signatures and secret keys.
        fuzzer("fuzz-minisign", ["HandoverMinisign"]),
    ]
)
