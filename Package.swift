// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "fieldlog",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "OutreachCore", targets: ["OutreachCore"]),
        .executable(name: "fieldlog", targets: ["fieldlog"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // zlib from the system (gzip for bundles); the shim wraps zlib's macros.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .target(
            name: "OutreachCore",
            dependencies: [
                "CZlib",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The sync server's logic and storage, apart from HTTP so tests and benchmarks drive it directly.
        .target(
            name: "SyncServerKit",
            dependencies: [
                "OutreachCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .executableTarget(
            name: "fieldlog",
            dependencies: [
                "OutreachCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Benchmarks: `swift run -c release fieldlog-bench` (never run as tests).
        .executableTarget(
            name: "fieldlog-bench",
            dependencies: [
                "OutreachCore",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        // Core and sync-server logic (the sync tests reuse the core's test keys and helpers).
        .testTarget(
            name: "OutreachCoreTests",
            dependencies: ["OutreachCore", "SyncServerKit"]
        ),
        .testTarget(
            name: "FieldlogCLITests",
            dependencies: ["OutreachCore"]
        ),
    ]
)
