// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "fieldlog",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "OutreachCore", targets: ["OutreachCore"]),
        .executable(name: "fieldlog", targets: ["fieldlog"]),
        .executable(name: "fieldlog-net", targets: ["fieldlog-net"]),
        .executable(name: "SyncServer", targets: ["SyncServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // zlib from the system (gzip for bundles); the shim wraps zlib's macros.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        // The one SQLite setting Swift cannot make (sqlite3_config is variadic).
        .target(name: "CSQLiteTuning", path: "Sources/CSQLiteTuning", linkerSettings: [.linkedLibrary("sqlite3")]),
        .target(
            name: "OutreachCore",
            dependencies: [
                "CZlib",
                "CSQLiteTuning",
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
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The sync server's PostgreSQL storage (issue 12): apart, so laptops never link postgres-nio.
        .target(
            name: "SyncServerPostgres",
            dependencies: [
                "OutreachCore",
                "SyncServerKit",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The device side of sync over HTTP (fieldlog and the benchmarks).
        .target(
            name: "SyncClient",
            dependencies: [
                "OutreachCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .executableTarget(
            name: "SyncServer",
            dependencies: [
                "SyncServerKit",
                "SyncServerPostgres",
                "OutreachCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The offline commands and what every command shares (options, sessions, output).
        .target(
            name: "FieldlogCLI",
            dependencies: [
                "OutreachCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // What a van worker runs all evening: no HTTP code linked, so it starts fast. It hands
        // init, sync and demo to fieldlog-net, installed beside it (in a development build tree
        // it builds fieldlog-net first if `swift run fieldlog` did not).
        .executableTarget(
            name: "fieldlog",
            dependencies: [
                "FieldlogCLI",
                "OutreachCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The commands that reach a sync server or run one (init, sync, demo).
        .executableTarget(
            name: "fieldlog-net",
            dependencies: [
                "FieldlogCLI",
                "OutreachCore",
                "SyncClient",
                "SyncServerKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Benchmarks: `swift run -c release fieldlog-bench` (never run as tests).
        .executableTarget(
            name: "fieldlog-bench",
            dependencies: [
                "OutreachCore",
                "SyncClient",
                "SyncServerKit",
                "SyncServerPostgres",
                "PostgresTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        // A fresh PostgreSQL database per test, on the server Scripts/with-postgres starts.
        .target(
            name: "PostgresTestSupport",
            dependencies: [
                "OutreachCore",
                "SyncServerKit",
                "SyncServerPostgres",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/PostgresTestSupport"
        ),
        // Core and sync-server logic (the sync tests reuse the core's test keys and helpers).
        .testTarget(
            name: "OutreachCoreTests",
            dependencies: ["OutreachCore", "SyncServerKit", "SyncServerPostgres", "SyncClient", "PostgresTestSupport",
                           .product(name: "AsyncHTTPClient", package: "async-http-client")]
        ),
        .testTarget(
            name: "FieldlogCLITests",
            dependencies: ["OutreachCore", "SyncServerKit", "SyncServerPostgres", "SyncClient", "PostgresTestSupport", .product(name: "AsyncHTTPClient", package: "async-http-client")]
        ),
    ]
)
