// swift-tools-version: 6.1
// TrainyardML: numerics, featurizers, models, metrics and the model file format.
// No I/O dependencies: it builds and tests on its own (`swift test` in this folder),
// so the learning code can be developed and benchmarked without the server stack.
//
//   TrainyardML      shared pieces: model file format, hyper-parameters, metrics, RNG, progress
//   TrainyardTabular CSV reading, schema inference, gbdt / mlp / linear
//   TrainyardText    tokenizer, text classification, named-entity recognition
import PackageDescription

let optimize: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "TrainyardML",
    products: [
        .library(name: "TrainyardML", targets: ["TrainyardML"]),
        .library(name: "TrainyardTabular", targets: ["TrainyardTabular"]),
        .library(name: "TrainyardText", targets: ["TrainyardText"]),
        .executable(name: "tabular-bench", targets: ["tabular-bench"]),
        .executable(name: "text-bench", targets: ["text-bench"]),
    ],
    targets: [
        .target(name: "TrainyardML", swiftSettings: optimize),
        .target(name: "TrainyardTabular", dependencies: ["TrainyardML"], swiftSettings: optimize),
        .target(name: "TrainyardText", dependencies: ["TrainyardML"], swiftSettings: optimize),
        .executableTarget(name: "tabular-bench", dependencies: ["TrainyardTabular"], swiftSettings: optimize),
        .executableTarget(name: "text-bench", dependencies: ["TrainyardText"], swiftSettings: optimize),
        .testTarget(name: "TrainyardMLTests", dependencies: ["TrainyardML"]),
        .testTarget(name: "TrainyardTabularTests", dependencies: ["TrainyardTabular"]),
        .testTarget(name: "TrainyardTextTests", dependencies: ["TrainyardText"]),
    ],
    swiftLanguageModes: [.v6]
)
