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

// The tabular learners' dense kernels (mlp, linear) are written with SIMD8<Float>; on x86-64
// they only become 256-bit AVX2 instructions when the target CPU has them, which roughly
// halves mlp training time. x86-64 hosts therefore build TrainyardTabular for Haswell-class
// CPUs (AVX2, 2013+); set TRAINYARD_PORTABLE_BUILD=1 to build for the x86-64 baseline instead.
// Other architectures (arm64: NEON is always there) are unaffected.
// (The portable build also defines TRAINYARD_NO_FMA: without the FMA instruction a fused
// multiply-add would be a library call, so the kernels multiply and add separately.)
#if arch(x86_64)
let tabularCPU: [SwiftSetting] = Context.environment["TRAINYARD_PORTABLE_BUILD"] == "1"
    ? [.define("TRAINYARD_NO_FMA")] : [.unsafeFlags(["-target-cpu", "haswell"])]
#else
let tabularCPU: [SwiftSetting] = []
#endif

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
        .target(name: "TrainyardTabular", dependencies: ["TrainyardML"], swiftSettings: optimize + tabularCPU),
        .target(name: "TrainyardText", dependencies: ["TrainyardML"], swiftSettings: optimize),
        .executableTarget(name: "tabular-bench", dependencies: ["TrainyardTabular"], swiftSettings: optimize),
        .executableTarget(name: "text-bench", dependencies: ["TrainyardText"], swiftSettings: optimize),
        .testTarget(name: "TrainyardMLTests", dependencies: ["TrainyardML"]),
        .testTarget(name: "TrainyardTabularTests", dependencies: ["TrainyardTabular"]),
        .testTarget(name: "TrainyardTextTests", dependencies: ["TrainyardText"]),
    ],
    swiftLanguageModes: [.v6]
)
