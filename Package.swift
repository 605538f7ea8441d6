// swift-tools-version: 6.1
import PackageDescription

let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "TinyFleet",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "fleet-coordinator", targets: ["fleet-coordinator"]),
        .executable(name: "fleet-agent", targets: ["fleet-agent"]),
        .executable(name: "fleetctl", targets: ["fleetctl"]),
        .executable(name: "fleet-bench", targets: ["fleet-bench"]),
        // Simulated leaves (FleetTinyKit built for the host) for tests and benchmarks of a gateway.
        .executable(name: "fleet-tiny-sim", targets: ["fleet-tiny-sim"]),
        // The fuzz targets' bodies, for the libFuzzer package in Fuzz/ (see Fuzz/README.md).
        .library(name: "FleetFuzzing", targets: ["FleetFuzzing"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl", exact: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates", exact: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", exact: "1.7.4"),
        .package(url: "https://github.com/apple/swift-crypto", exact: "4.5.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", exact: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        // Metrics: swift-metrics' API, rendered in Prometheus' text format by swift-prometheus; served over HTTP with
        // Hummingbird 2 (without its default traits: swift-configuration support is not needed).
        .package(url: "https://github.com/apple/swift-metrics", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1", traits: []),
        // PostgreSQL backend of the coordinator store (issue 12): Vapor's PostgreSQL client, the one on the package
        // mirror, pinned exactly like every other dependency so CI builds what was tested.
        .package(url: "https://github.com/vapor/postgres-nio", exact: "1.33.2"),
    ],
    targets: [
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        // libzstd is linked into fleet-bench only, to compare delta decoding with zstd's in-process decoder.
        .systemLibrary(name: "CZstd", providers: [.apt(["libzstd-dev"])]),
        .target(
            name: "FleetWire",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict
        ),
        .target(name: "FleetDelta", dependencies: ["CZlib"], swiftSettings: strict),
        .target(name: "FleetLearning", swiftSettings: strict),
        .target(name: "FleetObserve", swiftSettings: strict),
        // The microcontroller kit: Embedded Swift sources, also built for the host (Scripts/tinykit-embedded.sh).
        .target(name: "FleetTinyKit", swiftSettings: strict),
        .target(
            name: "FleetCommandLine",
            dependencies: [
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(name: "FleetModelIO", dependencies: ["FleetDelta", "FleetLearning"], swiftSettings: strict),
        .target(
            name: "FleetFuzzing",
            dependencies: ["FleetWire", "FleetDelta", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict
        ),
        .target(
            name: "FleetTrust",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),
        .target(
            name: "FleetStore",
            dependencies: [
                "FleetTrust",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            swiftSettings: strict
        ),
        // The store's PostgreSQL executor, apart from FleetStore so the agent (SQLite only) never builds postgres-nio.
        .target(
            name: "FleetStorePostgres",
            dependencies: [
                "FleetStore", "FleetTrust",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "FleetClient",
            dependencies: [
                "FleetWire", "FleetTrust",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "FleetCoordinator",
            dependencies: [
                "FleetCommandLine", "FleetModelIO", "FleetLearning",
                "FleetWire", "FleetStore", "FleetStorePostgres", "FleetTrust", "FleetDelta", "FleetObserve",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "FleetAgent",
            dependencies: [
                "FleetModelIO", "FleetLearning",
                "FleetWire", "FleetStore", "FleetTrust", "FleetClient", "FleetDelta", "FleetObserve",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "FleetControl",
            dependencies: [
                "FleetCommandLine", "FleetModelIO", "FleetLearning",
                "FleetWire", "FleetStore", "FleetStorePostgres", "FleetTrust", "FleetClient", "FleetCoordinator",
                "FleetAgent", "FleetDelta", "FleetObserve",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "fleet-coordinator",
            dependencies: [
                "FleetCommandLine",
                "FleetWire",
                "FleetCoordinator",
                "FleetStorePostgres",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "fleet-agent",
            dependencies: [
                "FleetCommandLine",
                "FleetWire",
                "FleetAgent",
                "FleetLearning",
                "FleetModelIO",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "fleetctl",
            dependencies: [
                "FleetCommandLine",
                "FleetWire",
                "FleetControl",
                "FleetCoordinator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "fleet-bench",
            dependencies: [
                "FleetDelta", "FleetLearning", "FleetModelIO", "CZstd",
                "FleetWire", "FleetClient", "FleetTrust", "FleetAgent", "FleetStore", "FleetTinyKit",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "fleet-tiny-sim",
            dependencies: [
                "FleetTinyKit", "FleetDelta", "FleetTrust", "FleetWire", "FleetClient", "FleetLearning",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "FleetWireTests",
            dependencies: [
                "FleetWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "FleetDeltaTests",
            dependencies: ["FleetDelta"],
            resources: [.copy("Fixtures")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "FleetLearningTests",
            dependencies: ["FleetLearning"],
            resources: [.copy("Fixtures")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "FleetWire", "FleetClient", "FleetTrust", "FleetDelta", "FleetCoordinator", "FleetModelIO",
                "FleetLearning", "fleet-coordinator", "fleet-agent", "fleetctl", "fleet-tiny-sim",
                "PostgresTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "FleetCoordinatorTests",
            dependencies: [
                "FleetCoordinator", "FleetStore", "FleetTrust", "FleetWire", "FleetObserve", "FleetDelta",
                "FleetLearning", "FleetModelIO",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "FleetAgentTests",
            dependencies: [
                "FleetAgent", "FleetClient", "FleetWire", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "FleetTrustTests", dependencies: ["FleetTrust"], swiftSettings: strict),
        // Protocol/vectors read by an independent decoder (Protocol/conformance/check_vectors.py, not FleetWire),
        // and the README's references to files of the repository.
        .testTarget(name: "DocumentationTests", swiftSettings: strict),
        .testTarget(
            name: "FleetFuzzingTests",
            dependencies: ["FleetFuzzing", "FleetDelta", "FleetWire"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "FleetObserveTests",
            dependencies: ["FleetObserve"],
            resources: [.copy("Fixtures")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "FleetTinyKitTests",
            dependencies: [
                "FleetTinyKit", "FleetWire", "FleetDelta", "FleetModelIO", "FleetLearning", "FleetTrust",
                "FleetObserve", "FleetCoordinator", "FleetAgent",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            resources: [.copy("Fixtures")],
            swiftSettings: strict
        ),
        .testTarget(name: "FleetAgentInstallTests", dependencies: ["FleetAgent"], swiftSettings: strict),
        // A PostgreSQL server for the tests (a throwaway cluster, or TINYFLEET_TEST_POSTGRES): the store tests and
        // the end-to-end tests of `fleet-coordinator --database` share it.
        .target(
            name: "PostgresTestSupport",
            dependencies: [
                "FleetStorePostgres", .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/PostgresTestSupport",
            swiftSettings: strict
        ),
        .testTarget(
            name: "FleetStoreTests",
            dependencies: [
                "FleetStore", "FleetStorePostgres", "PostgresTestSupport", "FleetTrust",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
    ]
)
