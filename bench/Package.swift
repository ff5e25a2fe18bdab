// swift-tools-version: 6.1
// Benchmarks for Vigil: their own package, so that CI need not build them. Each executable
// prints a table that sets Vigil beside a peer measured in the same run; see README.md.
import PackageDescription

let package = Package(
    name: "VigilBench",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Vigil", path: ".."),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // What the Kafka benchmarks share: the transactional pipe loop, the handbook data, a
        // runtime instance on a thread.
        .target(
            name: "BenchSupport",
            dependencies: [
                .product(name: "VigilKafka", package: "Vigil"),
                .product(name: "VigilRuntime", package: "Vigil"),
                .product(name: "VigilTopology", package: "Vigil"),
                .product(name: "VigilModels", package: "Vigil"),
                .product(name: "VigilCodec", package: "Vigil"),
                .product(name: "VigilPipeline", package: "Vigil"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "PipeBench",
            dependencies: [
                "BenchSupport",
                .product(name: "VigilKafka", package: "Vigil"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "FeatureBench",
            dependencies: [
                .product(name: "VigilFeatures", package: "Vigil"),
                .product(name: "VigilTopology", package: "Vigil"),
                .product(name: "VigilPipeline", package: "Vigil"),
                .product(name: "VigilCodec", package: "Vigil"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "EndToEndBench",
            dependencies: [
                "BenchSupport",
                .product(name: "VigilKafka", package: "Vigil"),
                .product(name: "VigilRuntime", package: "Vigil"),
                .product(name: "VigilTopology", package: "Vigil"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // The allocator `vigil` runs on (ProcessAllocator; Vigil's Package.swift).
            linkerSettings: [.linkedLibrary("jemalloc", .when(platforms: [.linux]))]
        ),
        .executableTarget(
            name: "RestoreBench",
            dependencies: [
                "BenchSupport",
                .product(name: "VigilKafka", package: "Vigil"),
                .product(name: "VigilRuntime", package: "Vigil"),
                .product(name: "VigilTopology", package: "Vigil"),
                .product(name: "VigilPipeline", package: "Vigil"),
                .product(name: "VigilFeatures", package: "Vigil"),
                .product(name: "VigilCodec", package: "Vigil"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "ExplainBench",
            dependencies: [
                .product(name: "VigilModels", package: "Vigil"),
                .product(name: "VigilPipeline", package: "Vigil"),
                .product(name: "VigilReplay", package: "Vigil"),
                .product(name: "VigilTopology", package: "Vigil"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "AnomalyBench",
            dependencies: [
                .product(name: "VigilFeatures", package: "Vigil"),
                .product(name: "VigilTopology", package: "Vigil"),
                .product(name: "VigilPipeline", package: "Vigil"),
                .product(name: "VigilModels", package: "Vigil"),
                .product(name: "VigilCodec", package: "Vigil"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "StageBench",
            dependencies: [
                .product(name: "VigilKafka", package: "Vigil"),
                .product(name: "VigilRuntime", package: "Vigil"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "VigilFeatures", package: "Vigil"),
                .product(name: "VigilTopology", package: "Vigil"),
                .product(name: "VigilPipeline", package: "Vigil"),
                .product(name: "VigilCodec", package: "Vigil"),
                .product(name: "VigilModels", package: "Vigil"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "KeyExplosionBench",
            dependencies: [
                "BenchSupport",
                .product(name: "VigilKafka", package: "Vigil"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "VigilFeatures", package: "Vigil"),
                .product(name: "VigilTopology", package: "Vigil"),
                .product(name: "VigilPipeline", package: "Vigil"),
                .product(name: "VigilCodec", package: "Vigil"),
                .product(name: "VigilModels", package: "Vigil"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "StalledBrokerBench",
            dependencies: [
                "BenchSupport",
                .product(name: "VigilKafka", package: "Vigil"),
                .product(name: "VigilTopology", package: "Vigil"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "KernelBench",
            dependencies: [
                .product(name: "VigilModels", package: "Vigil"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
