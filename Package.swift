// swift-tools-version: 6.1
import PackageDescription

/// Swift 6 language mode everywhere, with the upcoming features that make access levels explicit.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Handover",
    platforms: [.macOS(.v15)],
    products: [
        /// The library that request workers embed.
        .library(
            name: "Handover",
            targets: [
                "HandoverCore", "HandoverFormats", "HandoverArchive", "HandoverBundle", "HandoverSQL", "HandoverService",
                "HandoverPostgres",
            ]),
        /// The command-line tool.
        .executable(name: "handover", targets: ["handover"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // C libraries, each wrapped once and imported by exactly one Swift module.
        .systemLibrary(
            name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(
            name: "CLibXML2", path: "Sources/CLibXML2", pkgConfig: "libxml-2.0",
            providers: [.apt(["libxml2-dev"])]),
        .systemLibrary(
            name: "CArchive", path: "Sources/CArchive", pkgConfig: "libarchive",
            providers: [.apt(["libarchive-dev"])]),

        // The model: requests, scopes, table schemas, values, exporters, the manifest. No I/O.
        .target(
            name: "HandoverCore",
            dependencies: [.product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings),
        // Streaming JSON, CSV and XML writers (libxml2 lives here and nowhere else).
        .target(
            name: "HandoverFormats",
            dependencies: ["HandoverCore", "CLibXML2"],
            swiftSettings: swiftSettings),
        // Archives through libarchive: the writer with atomic publication, and the reader.
        .target(
            name: "HandoverArchive",
            dependencies: ["HandoverCore", "CArchive"],
            swiftSettings: swiftSettings),
        // SQLite: the connection wrapper, the dataset map and the exporter it describes.
        .target(
            name: "HandoverSQL",
            dependencies: [
                "HandoverCore", "CSQLite", "Yams",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        // Runs the exporters into a staged bundle, writes the manifest and publishes the archive.
        .target(
            name: "HandoverBundle",
            dependencies: [
                "HandoverCore", "HandoverFormats", "HandoverArchive",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        // Requests over time: the request store (core and the SQLite back end), lifecycle, leases, deadlines,
        // the audit log, and the worker that turns queued requests into published bundles.
        .target(
            name: "HandoverService",
            dependencies: [
                "HandoverCore", "HandoverSQL", "HandoverBundle", "HandoverArchive",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        // The request store's PostgreSQL back end, for workers on many machines (postgres-nio).
        .target(
            name: "HandoverPostgres",
            dependencies: [
                "HandoverCore", "HandoverService",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        // The demo product: a generated sales-enablement database and its dataset map.
        .target(
            name: "HandoverDemo",
            dependencies: ["HandoverCore", "HandoverSQL"],
            swiftSettings: swiftSettings),
        // The command-line tool.
        .executableTarget(
            name: "handover",
            dependencies: [
                "HandoverCore", "HandoverBundle", "HandoverSQL", "HandoverDemo", "HandoverArchive", "HandoverService",
                "HandoverPostgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),

        // One test target per module.
        .testTarget(name: "HandoverCoreTests", dependencies: ["HandoverCore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "HandoverFormatsTests", dependencies: ["HandoverFormats", "TestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "HandoverServiceTests",
            dependencies: [
                "HandoverService", "HandoverPostgres", "HandoverBundle", "HandoverSQL", "HandoverDemo", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "HandoverPostgresTests", dependencies: ["HandoverPostgres", "HandoverService", "TestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "HandoverArchiveTests",
            dependencies: ["HandoverArchive", "TestSupport", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "HandoverSQLTests", dependencies: ["HandoverSQL", "HandoverDemo", "TestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "HandoverBundleTests",
            dependencies: [
                "HandoverBundle", "HandoverFormats", "HandoverSQL", "HandoverDemo", "HandoverArchive", "TestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "handoverTests",
            dependencies: [
                "HandoverArchive", "HandoverBundle", "HandoverSQL", "HandoverDemo", "HandoverService", "TestSupport",
            ],
            swiftSettings: swiftSettings),
        // Helpers shared by the tests: temporary directories, running the built binary.
        .target(
            name: "TestSupport",
            dependencies: [
                "HandoverCore", "HandoverArchive", "HandoverSQL", "HandoverDemo", "HandoverBundle", "HandoverService",
                "HandoverPostgres", .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/TestSupport",
            swiftSettings: swiftSettings),
    ]
)
