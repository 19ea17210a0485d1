// swift-tools-version: 6.1
// Trainyard: training-to-serving for machine-learning models, as one Swift binary.
//
// Targets stack by dependency (docs/architecture.md):
//   TrainyardCore     domain types, spec, errors, configuration, the ports (protocols)
//   TrainyardML…      numerics and models (the standalone package in Packages/TrainyardML)
//   TrainyardStorage  SQLite metadata store + queue, filesystem artifact store
//   TrainyardRuntime  queue workers, job runner, staging, the command (bring-your-own) trainer
//   TrainyardLearners the native learners behind the Trainer port (tabular, text, NER)
//   TrainyardServer   HTTP: control API, inference, operations
//   TrainyardApp      the one application builder: configuration → backends → runtime → serving → HTTP
//                     (the only target that knows the concrete backend types)
//   trainyard         the CLI
import PackageDescription

let swiftSettings: [SwiftSetting] = []

let package = Package(
    name: "Trainyard",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "trainyard", targets: ["trainyard"]),
        .library(name: "TrainyardCore", targets: ["TrainyardCore"]),
    ],
    dependencies: [
        .package(path: "Packages/TrainyardML"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0", traits: [.defaults, "YAML"]),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    ],
    targets: [
        .target(
            name: "TrainyardCore",
            dependencies: [
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Configuration", package: "swift-configuration"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TrainyardStorage",
            dependencies: [
                "TrainyardCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // fork/exec of bring-your-own programs from one long-lived thread (parent-death signal,
        // signal mask reset, process group, user switch, Landlock); see ChildSpawn.c.
        .target(name: "CChildSpawn"),
        .target(
            name: "TrainyardRuntime",
            dependencies: [
                "TrainyardCore",
                "CChildSpawn",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TrainyardLearners",
            dependencies: [
                "TrainyardCore",
                "TrainyardRuntime",
                .product(name: "TrainyardTabular", package: "TrainyardML"),
                .product(name: "TrainyardText", package: "TrainyardML"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TrainyardServing",
            dependencies: [
                "TrainyardCore",
                "TrainyardRuntime",
                "TrainyardLearners",
                .product(name: "TrainyardTabular", package: "TrainyardML"),
                .product(name: "TrainyardText", package: "TrainyardML"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TrainyardServer",
            dependencies: [
                "TrainyardCore",
                "TrainyardRuntime",
                "TrainyardServing",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TrainyardApp",
            dependencies: [
                "TrainyardCore",
                "TrainyardStorage",
                "TrainyardRuntime",
                "TrainyardLearners",
                "TrainyardServing",
                "TrainyardServer",
                "TrainyardPostgres",
                "TrainyardAWSBackends",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "trainyard",
            dependencies: [
                "TrainyardCore",
                "TrainyardApp",
                "TrainyardRuntime",
                "TrainyardLearners",
                "TrainyardServer",
                "TrainyardServing",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "trainyard-bench",
            dependencies: ["TrainyardCore", "TrainyardApp", "TrainyardRuntime", .product(name: "Logging", package: "swift-log")],
            path: "Sources/trainyard-bench",
            swiftSettings: swiftSettings
        ),
        // AWS spoken directly, no SDK: Signature Version 4, the credentials chain, a retrying
        // transport, and the S3 and SQS clients. Knows nothing of Trainyard's domain.
        .target(
            name: "TrainyardAWS",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The PostgreSQL metadata store (queue + registry + triggers) behind the MetadataStore port.
        .target(
            name: "TrainyardPostgres",
            dependencies: [
                "TrainyardCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The AWS backends behind Trainyard's ports: the S3 artifact store, s3:// data and the
        // SQS message source for triggers.
        .target(
            name: "TrainyardAWSBackends",
            dependencies: [
                "TrainyardCore",
                "TrainyardAWS",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Where tests find PostgreSQL and the S3/SQS endpoint (started by scripts/services), and
        // whether a missing one skips (locally) or fails (TRAINYARD_REQUIRE_SERVICES=1, CI).
        .target(name: "TrainyardTestServices", swiftSettings: swiftSettings),
        // Helpers shared by the serving and server tests (registering real versions).
        .target(
            name: "TrainyardTestSupport",
            dependencies: ["TrainyardCore", "TrainyardRuntime", "TrainyardApp", "TrainyardTestServices",
                           .product(name: "TrainyardTabular", package: "TrainyardML"),
                           .product(name: "TrainyardText", package: "TrainyardML")],
            swiftSettings: swiftSettings
        ),
        // End-to-end through the real binary: exit codes, crash recovery, the quickstart.
        .testTarget(name: "TrainyardCLITests", dependencies: ["trainyard", "TrainyardTestSupport", "TrainyardTestServices"]),
        .testTarget(name: "TrainyardLearnersTests", dependencies: ["TrainyardLearners", "TrainyardRuntime", "TrainyardApp"]),
        .testTarget(name: "TrainyardCoreTests", dependencies: ["TrainyardCore"]),
        .testTarget(name: "TrainyardAWSTests", dependencies: ["TrainyardAWS", "TrainyardTestServices"]),
        .testTarget(name: "TrainyardStorageTests", dependencies: ["TrainyardStorage", "TrainyardPostgres", "TrainyardAWSBackends", "TrainyardAWS",
                                                                  "TrainyardTestServices"]),
        .testTarget(name: "TrainyardRuntimeTests", dependencies: ["TrainyardRuntime", "TrainyardStorage", "TrainyardApp", "TrainyardTestSupport", "TrainyardTestServices",
                                                                  .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "TrainyardServingTests", dependencies: ["TrainyardServing", "TrainyardStorage", "TrainyardApp", "TrainyardTestSupport"]),
        .testTarget(name: "TrainyardAppTests", dependencies: ["TrainyardApp", "TrainyardStorage", "TrainyardTestSupport"]),
        .testTarget(
            name: "TrainyardServerTests",
            dependencies: [
                "TrainyardServer",
                "TrainyardApp",
                "TrainyardTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
