// swift-tools-version: 6.2
import PackageDescription

/// Swift 6 language mode everywhere, with the upcoming features that make access levels explicit.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let logging = Target.Dependency.product(name: "Logging", package: "swift-log")
let crypto = Target.Dependency.product(name: "Crypto", package: "swift-crypto")
let serviceLifecycle = Target.Dependency.product(name: "ServiceLifecycle", package: "swift-service-lifecycle")

let package = Package(
    name: "Handover",
    platforms: [.macOS(.v15)],
    products: [
        // One library product per public module, so that a third-party exporter can depend on HandoverCore alone.
        /// The model: requests, scopes, table schemas, values, the `Exporter` protocol, the manifest. No I/O.
        .library(name: "HandoverCore", targets: ["HandoverCore"]),
        /// A JSON parser and a JSON Schema 2020-12 validator that know nothing of bundles.
        .library(name: "HandoverJSONSchema", targets: ["HandoverJSONSchema"]),
        /// A BagIt (RFC 8493) checker that knows nothing of bundles.
        .library(name: "HandoverBagIt", targets: ["HandoverBagIt"]),
        /// Streaming JSON, CSV and XML writers, schema generation, the XSD and Table Schema validators.
        .library(name: "HandoverFormats", targets: ["HandoverFormats"]),
        /// Archives through libarchive: atomic publication, consistent reading.
        .library(name: "HandoverArchive", targets: ["HandoverArchive"]),
        /// Runs exporters into a bundle, packs and verifies it.
        .library(name: "HandoverBundle", targets: ["HandoverBundle"]),
        /// The dataset map and its exporter over SQLite.
        .library(name: "HandoverSQL", targets: ["HandoverSQL"]),
        .library(name: "HandoverImport", targets: ["HandoverImport"]),
        /// The request store: lifecycle, leases, deadlines, the audit log; SQLite back end.
        .library(name: "HandoverStore", targets: ["HandoverStore"]),
        /// PostgreSQL: the request store's back end and the dataset-map source.
        .library(name: "HandoverPostgres", targets: ["HandoverPostgres"]),
        /// Request workers: claim, export, publish, retention.
        .library(name: "HandoverWorker", targets: ["HandoverWorker"]),
        /// Helpers for testing exporters and what surrounds them: an in-memory exporter, export-and-verify.
        .library(name: "HandoverTesting", targets: ["HandoverTesting"]),
        /// Delivery over HTTP: tokens, links, resumable downloads, the tenant page (Hummingbird).
        .library(name: "HandoverServer", targets: ["HandoverServer"]),
        /// The age file format: encryption to X25519 recipients and passphrases, streaming.
        .library(name: "HandoverAge", targets: ["HandoverAge"]),
        /// minisign keys and signatures (Ed25519, BLAKE2b).
        .library(name: "HandoverMinisign", targets: ["HandoverMinisign"]),
        /// Webhooks: signed notifications when a request completes, fails or nears its deadline.
        .library(name: "HandoverNotify", targets: ["HandoverNotify"]),
        /// The demo product's database and dataset map.
        .library(name: "HandoverDemo", targets: ["HandoverDemo"]),
        /// The command-line tool.
        .executable(name: "handover", targets: ["handover"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", "4.0.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
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
        .systemLibrary(
            name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(
            name: "CDeflate", path: "Sources/CDeflate", pkgConfig: "libdeflate", providers: [.apt(["libdeflate-dev"])]),

        // The model: requests, scopes, table schemas, values, exporters, the manifest, patterns. No I/O.
        .target(name: "HandoverCore", dependencies: [logging], swiftSettings: swiftSettings),

        // General engines that know nothing of bundles.
        // sqlite3, wrapped once (as GRDBSQLite sits under GRDB): the dataset-map source and the store use it.
        .target(name: "HandoverSQLite", dependencies: ["HandoverCore", "CSQLite"], swiftSettings: swiftSettings),
        // A streaming JSON parser and a JSON Schema 2020-12 validator.
        .target(name: "HandoverJSONSchema", dependencies: ["HandoverCore"], swiftSettings: swiftSettings),
        // A BagIt (RFC 8493) checker.
        .target(name: "HandoverBagIt", dependencies: ["HandoverCore", crypto], swiftSettings: swiftSettings),

        // Streaming JSON, CSV and XML writers, schema generation, XSD and Table Schema validation (libxml2 here only).
        .target(
            name: "HandoverFormats", dependencies: ["HandoverCore", "HandoverJSONSchema", "CLibXML2"],
            swiftSettings: swiftSettings),
        // Archives: tar through libarchive, zip written here (libdeflate's deflate on two cores, zlib for what streams);
        // atomic publication; the reader (libarchive).
        .target(
            name: "HandoverArchive", dependencies: ["HandoverCore", "CArchive", "CZlib", "CDeflate", crypto],
            swiftSettings: swiftSettings),
        // Runs the exporters into a staged bundle, writes the manifest, publishes and verifies archives.
        .target(
            name: "HandoverBundle",
            dependencies: [
                "HandoverCore", "HandoverFormats", "HandoverJSONSchema", "HandoverArchive", "HandoverBagIt",
                "HandoverAge", "HandoverMinisign", crypto, logging,
            ],
            swiftSettings: swiftSettings),

        // Sources: the dataset map and the exporter it describes, over SQLite.
        .target(
            name: "HandoverSQL", dependencies: ["HandoverCore", "HandoverSQLite", "Yams", logging],
            swiftSettings: swiftSettings),

        // Requests over time: lifecycle, leases, deadlines, the audit log; the back-end protocol and SQLite back end.
        // Knows nothing of bundles.
        .target(
            name: "HandoverImport",
            dependencies: [
                "HandoverCore", "HandoverFormats", "HandoverJSONSchema", "HandoverArchive", "HandoverBundle",
                "HandoverSQLite", crypto, logging,
            ],
            swiftSettings: swiftSettings),

        .target(
            name: "HandoverStore", dependencies: ["HandoverCore", "HandoverSQLite", crypto, logging],
            swiftSettings: swiftSettings),
        // PostgreSQL through postgres-nio: the request store's back end (workers on many machines) and the
        // dataset-map source.
        .target(
            name: "HandoverPostgres",
            dependencies: [
                "HandoverCore", "HandoverStore", "HandoverSQL", "HandoverImport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"), logging,
            ],
            swiftSettings: swiftSettings),
        // Workers: claim queued requests, export them into bundles, publish, and retention.
        .target(
            name: "HandoverWorker",
            dependencies: [
                "HandoverCore", "HandoverSQLite", "HandoverStore", "HandoverBundle", "HandoverArchive",
                serviceLifecycle, logging, crypto,
            ],
            swiftSettings: swiftSettings),

        // Delivery over HTTP: the API, downloads, links and the tenant page. Depends on the store alone.
        .target(
            name: "HandoverServer",
            dependencies: [
                "HandoverCore", "HandoverStore", crypto, logging, serviceLifecycle,
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings),

        // The age v1 file format on swift-crypto (X25519, ChaCha20-Poly1305, HKDF, scrypt). No I/O of its own.
        .target(
            name: "HandoverAge",
            dependencies: ["HandoverCore", crypto, .product(name: "CryptoExtras", package: "swift-crypto")],
            swiftSettings: swiftSettings),

        // minisign's key and signature formats on swift-crypto's Ed25519, with BLAKE2b of its own. No I/O.
        .target(
            name: "HandoverMinisign",
            dependencies: [crypto, .product(name: "CryptoExtras", package: "swift-crypto")],
            swiftSettings: swiftSettings),

        // Webhooks: the store's outbox of events, sent signed over HTTP(S) with retries (SwiftNIO).
        .target(
            name: "HandoverNotify",
            dependencies: [
                "HandoverCore", "HandoverStore", crypto, logging, serviceLifecycle,
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings),

        // Testing helpers for operators: an in-memory exporter, a helper that exports and verifies.
        .target(
            name: "HandoverTesting",
            dependencies: [
                "HandoverCore", "HandoverBundle", "HandoverArchive", "HandoverStore", "HandoverSQLite", logging,
            ],
            swiftSettings: swiftSettings),
        // The demo product: a generated sales-enablement database and its dataset map.
        .target(
            name: "HandoverDemo", dependencies: ["HandoverCore", "HandoverSQLite", "HandoverSQL"],
            swiftSettings: swiftSettings),
        // The command-line tool.
        .executableTarget(
            name: "handover",
            dependencies: [
                "HandoverCore", "HandoverBundle", "HandoverSQL", "HandoverDemo", "HandoverArchive", "HandoverBagIt",
                "HandoverStore", "HandoverWorker", "HandoverPostgres", "HandoverServer", "HandoverNotify",
                "HandoverAge", "HandoverImport", serviceLifecycle,
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"), logging,
            ],
            swiftSettings: swiftSettings),

        // One test target per module.
        .testTarget(name: "HandoverCoreTests", dependencies: ["HandoverCore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "HandoverJSONSchemaTests", dependencies: ["HandoverJSONSchema", "HandoverDemo", "TestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "HandoverBagItTests",
            dependencies: ["HandoverBagIt", "HandoverBundle", "HandoverDemo", "TestSupport", crypto],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "HandoverFormatsTests",
            dependencies: ["HandoverFormats", "HandoverJSONSchema", "HandoverDemo", "TestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "HandoverArchiveTests", dependencies: ["HandoverArchive", "TestSupport", crypto],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "HandoverBundleTests",
            dependencies: [
                "HandoverBundle", "HandoverFormats", "HandoverJSONSchema", "HandoverSQL", "HandoverSQLite",
                "HandoverDemo",
                "HandoverArchive", "TestSupport", crypto,
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "HandoverSQLTests",
            dependencies: [
                "HandoverSQL", "HandoverSQLite", "HandoverPostgres", "HandoverDemo", "TestSupport", logging,
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "HandoverImportTests",
            dependencies: [
                "HandoverImport", "HandoverBundle", "HandoverSQL", "HandoverSQLite", "HandoverPostgres", "HandoverDemo",
                "HandoverFormats", "TestSupport", logging,
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "HandoverStoreTests", dependencies: ["HandoverStore", "HandoverPostgres", "TestSupport", logging],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "HandoverPostgresTests", dependencies: ["HandoverPostgres", "HandoverStore", "TestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "HandoverWorkerTests",
            dependencies: [
                "HandoverWorker", "HandoverStore", "HandoverBundle", "HandoverArchive", "HandoverSQL", "HandoverSQLite",
                "HandoverPostgres", "HandoverDemo", "TestSupport", logging,
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "HandoverServerTests",
            dependencies: [
                "HandoverServer", "HandoverStore", "HandoverTesting", "TestSupport", logging, serviceLifecycle,
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "HandoverAgeTests", dependencies: ["HandoverAge", "TestSupport", crypto],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "HandoverMinisignTests", dependencies: ["HandoverMinisign", "TestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "HandoverNotifyTests",
            dependencies: [
                "HandoverNotify", "HandoverStore", "HandoverTesting", "TestSupport", crypto, logging,
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "HandoverTestingTests",
            dependencies: ["HandoverTesting", "HandoverBundle", "HandoverArchive", "HandoverStore", "TestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "handoverTests",
            dependencies: [
                "HandoverArchive", "HandoverBundle", "HandoverSQL", "HandoverSQLite", "HandoverDemo", "HandoverStore",
                "TestSupport",
            ],
            swiftSettings: swiftSettings),
        // Helpers shared by the tests: temporary directories, running the built binary, stores, the demo.
        .target(
            name: "TestSupport",
            dependencies: [
                "HandoverCore", "HandoverArchive", "HandoverSQL", "HandoverSQLite", "HandoverDemo", "HandoverBundle",
                "HandoverStore", "HandoverPostgres", "HandoverTesting", logging, crypto,
            ],
            path: "Tests/TestSupport",
            swiftSettings: swiftSettings),
    ]
)
