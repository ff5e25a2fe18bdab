// swift-tools-version: 6.1
import Foundation
import PackageDescription

// librdkafka >= 2.2 is required (Debian 12's 2.0.2 cannot talk to current brokers). When the
// system has none that new, `scripts/setup` builds one into a cache folder; this manifest then
// compiles against it and bakes its directory into the binaries' rpath, so that a Debian
// librdkafka1 on the library path can never be loaded instead.
let rdkafkaPrefix: String? = {
    let environment = ProcessInfo.processInfo.environment
    if let prefix = environment["VIGIL_RDKAFKA_PREFIX"], !prefix.isEmpty { return prefix }
    let cache = environment["VIGIL_CACHE"] ?? (environment["HOME"].map { $0 + "/.cache/vigil" } ?? "")
    let prefix = cache + "/librdkafka-2.8.0"
    return FileManager.default.fileExists(atPath: prefix + "/include/librdkafka/rdkafka.h") ? prefix : nil
}()

let rdkafkaSwiftSettings: [SwiftSetting] = rdkafkaPrefix.map { [.unsafeFlags(["-Xcc", "-I\($0)/include"])] } ?? []
let rdkafkaLinkerSettings: [LinkerSetting] = rdkafkaPrefix.map {
    [.unsafeFlags(["-L\($0)/lib", "-Xlinker", "-rpath", "-Xlinker", "\($0)/lib"])]
} ?? []

// jemalloc serves the `vigil` executable's malloc on Linux (ProcessAllocator says why; `vigil
// --version` names it and a test checks it). Nothing of it is called by name: the link must not
// use --as-needed, or the library would be dropped. `VIGIL_ALLOCATOR=system` leaves it out
// (scripts/test does for sanitizer builds: their runtime serves malloc, and jemalloc's C++
// operator new would still come before libstdc++'s and take allocations the sanitizer never sees).
let allocatorLinkerSettings: [LinkerSetting] =
    ProcessInfo.processInfo.environment["VIGIL_ALLOCATOR"] == "system" ? [] : [.linkedLibrary("jemalloc", .when(platforms: [.linux]))]

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Vigil",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "vigil", targets: ["vigil"]),
        .library(name: "VigilKafka", targets: ["VigilKafka"]),
        .library(name: "VigilCodec", targets: ["VigilCodec"]),
        .library(name: "VigilTopology", targets: ["VigilTopology"]),
        .library(name: "VigilFeatures", targets: ["VigilFeatures"]),
        .library(name: "VigilPipeline", targets: ["VigilPipeline"]),
        .library(name: "VigilReplay", targets: ["VigilReplay"]),
        .library(name: "VigilModels", targets: ["VigilModels"]),
        .library(name: "VigilRuntime", targets: ["VigilRuntime"]),
        .library(name: "VigilDrift", targets: ["VigilDrift"]),
        .library(name: "VigilAnomaly", targets: ["VigilAnomaly"]),
        .library(name: "VigilEvaluation", targets: ["VigilEvaluation"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // C libraries from the system.
        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: rdkafkaPrefix == nil ? "rdkafka" : nil,
            providers: [.apt(["librdkafka-dev (>= 2.2), or run scripts/setup"])]
        ),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        // OpenBLAS's LAPACK symbols (it ships no header for them).
        .systemLibrary(name: "CLAPACK", providers: [.apt(["libopenblas-dev"])]),

        // One module per concern.
        .target(
            name: "VigilKafka",
            dependencies: ["CRdKafka", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict + rdkafkaSwiftSettings,
            linkerSettings: rdkafkaLinkerSettings
        ),
        .target(name: "VigilCodec", dependencies: ["CLZ4"], swiftSettings: strict),
        .target(name: "VigilTopology", dependencies: ["Yams"], swiftSettings: strict),
        .target(name: "VigilFeatures", dependencies: ["VigilCodec", "VigilTopology", "VigilAnomaly", "CVigilKernels"], swiftSettings: strict),
        // Streaming anomaly detectors whose per-key state the feature engine keeps.
        .target(name: "VigilAnomaly", dependencies: ["VigilCodec", "VigilTopology", "CLAPACK"], swiftSettings: strict),
        // Small-GEMM microkernels for narrow dense layers (C for per-function target attributes),
        // the cache prefetch hint the feature engine issues ahead of each event, and the
        // branch-free search the drift monitor runs per value.
        .target(name: "CVigilKernels"),
        // Which C allocator serves malloc, and glibc's setting for a stream processor
        // (ProcessAllocator): mallopt needs <malloc.h>, which Swift's Glibc module does not
        // carry, and malloc's bound address and RTLD_DEFAULT are C's.
        .target(name: "CVigilAllocator"),
        .target(name: "VigilModels", dependencies: ["COpenBLAS", "VigilCodec", "CVigilKernels"], swiftSettings: strict),
        .target(
            name: "VigilPipeline",
            dependencies: ["VigilTopology", "VigilFeatures", "VigilModels", "VigilCodec", "VigilDrift", "CVigilKernels"],
            swiftSettings: strict
        ),
        .target(
            name: "VigilReplay",
            dependencies: ["VigilPipeline", "VigilTopology", "VigilFeatures", "VigilModels", "VigilCodec", "VigilDrift"],
            swiftSettings: strict
        ),
        .target(name: "VigilDrift", dependencies: ["CVigilKernels"], swiftSettings: strict),
        // Judging a replay against labels: metrics, the champion-versus-challenger bootstrap, and
        // the reports (fraud: AUC, AP, card precision; anomaly: F1/FAR/MAR, NAB).
        .target(name: "VigilEvaluation", dependencies: ["VigilPipeline", "VigilTopology", "VigilFeatures", "VigilDrift"], swiftSettings: strict),
        .target(
            name: "VigilRuntime",
            dependencies: [
                "VigilKafka", "VigilPipeline", "VigilDrift", "VigilReplay", "Yams", "CVigilAllocator",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict + rdkafkaSwiftSettings,
            linkerSettings: rdkafkaLinkerSettings
        ),
        .executableTarget(
            name: "vigil",
            dependencies: [
                "VigilKafka", "VigilTopology", "VigilFeatures", "VigilPipeline", "VigilModels",
                "VigilRuntime", "VigilDrift", "VigilCodec", "VigilReplay", "VigilEvaluation",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict + rdkafkaSwiftSettings,
            linkerSettings: rdkafkaLinkerSettings + allocatorLinkerSettings
        ),

        // Fuzzing (scripts/fuzz): the harness every fuzz target runs, and its driver — libFuzzer
        // when built with -sanitize=fuzzer -DVIGIL_FUZZING, a corpus replayer otherwise.
        .target(
            name: "VigilFuzzHarness",
            dependencies: ["VigilCodec", "VigilFeatures", "VigilModels", "VigilPipeline", "VigilTopology"],
            swiftSettings: strict
        ),
        .executableTarget(name: "vigil-fuzz", dependencies: ["VigilFuzzHarness"], path: "Sources/vigil-fuzz", swiftSettings: strict),

        .target(
            name: "VigilTestSupport",
            dependencies: ["VigilKafka", .product(name: "Logging", package: "swift-log")],
            path: "Tests/VigilTestSupport",
            swiftSettings: strict + rdkafkaSwiftSettings,
            linkerSettings: rdkafkaLinkerSettings
        ),
        .testTarget(
            name: "VigilKafkaTests",
            dependencies: ["VigilKafka", "VigilTestSupport"],
            swiftSettings: strict + rdkafkaSwiftSettings,
            linkerSettings: rdkafkaLinkerSettings
        ),
        .testTarget(
            name: "VigilRuntimeTests",
            dependencies: [
                "VigilRuntime", "VigilKafka", "VigilTopology", "VigilPipeline", "VigilCodec", "VigilFeatures", "VigilModels",
                "VigilTestSupport", "Yams",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict + rdkafkaSwiftSettings,
            linkerSettings: rdkafkaLinkerSettings
        ),
        .testTarget(
            name: "VigilFeaturesTests",
            dependencies: ["VigilFeatures", "VigilTopology", "VigilPipeline", "VigilCodec", "VigilReplay", "VigilModels", "VigilTestSupport", "VigilFuzzHarness"],
            swiftSettings: strict + rdkafkaSwiftSettings,
            linkerSettings: rdkafkaLinkerSettings
        ),
        .testTarget(
            name: "VigilModelsTests",
            dependencies: ["VigilModels"],
            resources: [.copy("Fixtures")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "VigilEvaluationTests",
            dependencies: ["VigilEvaluation", "VigilPipeline", "VigilReplay", "VigilTopology", "VigilModels", "VigilDrift", "VigilTestSupport"],
            resources: [.copy("Fixtures")],
            swiftSettings: strict + rdkafkaSwiftSettings,
            linkerSettings: rdkafkaLinkerSettings
        ),
        .testTarget(
            name: "VigilAnomalyTests",
            dependencies: ["VigilAnomaly", "VigilFeatures", "VigilTopology", "VigilReplay", "VigilTestSupport"],
            resources: [.copy("Fixtures")],
            swiftSettings: strict + rdkafkaSwiftSettings,
            linkerSettings: rdkafkaLinkerSettings
        ),
        .testTarget(
            name: "VigilDriftTests",
            dependencies: ["VigilDrift", "CLZ4", "VigilTopology", "VigilPipeline", "VigilReplay", "VigilModels", "VigilCodec", "VigilTestSupport"],
            resources: [.copy("Fixtures")],
            swiftSettings: strict + rdkafkaSwiftSettings,
            linkerSettings: rdkafkaLinkerSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
