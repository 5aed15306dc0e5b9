// swift-tools-version:6.0
// Stepwise: a plugin host for optimizers, parameter schedulers, optimizer wrappers and
// training hooks. Layers, top to bottom: the `stepwise` CLI -> the Stepwise host library
// -> the C ABI in sdk/include <- plugins (Plugins/*, or any third-party .so).
import PackageDescription
import Foundation

let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path

// Kernels are compiled optimized even in debug builds: tests and the GAN demo spend their
// time there, and -fno-math-errno lets sqrt vectorize (see DESIGN.md).
let kernelFlags: [CSetting] = [.unsafeFlags(["-O3", "-fno-math-errno", "-ffp-contract=off"])]

/// A bundled plugin: a dynamic library built from Plugins/<folder>, knowing only the ABI
/// headers and the plugin kit.
func plugin(_ name: String, folder: String, extra: [Target.Dependency] = []) -> Target {
    .target(
        name: name,
        dependencies: ["StepwiseABI", "StepwiseKit"] + extra,
        path: "Plugins/\(folder)",
        swiftSettings: [.unsafeFlags(["-Ounchecked"])],
        linkerSettings: [.unsafeFlags(["-Xlinker", "--version-script=\(packageRoot)/Plugins/exports.map"])]
    )
}

let package = Package(
    name: "Stepwise",
    products: [
        .executable(name: "stepwise", targets: ["StepwiseCLI"]),
        .library(name: "Stepwise", targets: ["Stepwise"]),
        .library(name: "StepwiseKit", targets: ["StepwiseKit"]),
        .library(name: "StepwisePluginOptimizers", type: .dynamic, targets: ["StepwiseOptimizers"]),
        .library(name: "StepwisePluginSchedulers", type: .dynamic, targets: ["StepwiseSchedulers"]),
        .library(name: "StepwisePluginWrappers", type: .dynamic, targets: ["StepwiseWrappers"]),
        .library(name: "StepwisePluginHooks", type: .dynamic, targets: ["StepwiseHooks"]),
        .library(name: "StepwisePluginDistributed", type: .dynamic, targets: ["StepwiseDistributed"]),
        // The MPI calls of the `mpi` communicator, which opens this library only when a run
        // is data parallel (see Plugins/Distributed/Plugin).
        .library(name: "StepwiseMPI", type: .dynamic, targets: ["StepwiseMPI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // The contract: C headers only. Plugins and host share nothing else.
        .target(name: "StepwiseABI", path: "sdk/include", publicHeadersPath: "."),
        .systemLibrary(name: "CFFI", path: "Sources/CFFI", pkgConfig: "libffi",
                       providers: [.apt(["libffi-dev"])]),
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),

        // Vectorized single-pass C kernels shared by the optimizer plugins.
        .target(name: "StepwiseKernels", path: "Sources/StepwiseKernels", cSettings: kernelFlags),
        // Helpers for writing plugins in Swift against the C headers; no global state.
        .target(name: "StepwiseKit", dependencies: ["StepwiseABI"], path: "Sources/StepwiseKit"),
        // The host library: loader, registries, configs, builders, runner, checkpoints.
        .target(
            name: "Stepwise",
            // StepwiseKernels: `stepwise bench` probes bandwidth with the kernels' own code generation.
            dependencies: ["StepwiseABI", "StepwiseKernels", .product(name: "Yams", package: "Yams")],
            path: "Sources/Stepwise"
        ),
        // Example model code (dense layers over OpenBLAS) used by the GAN example.
        // StepwiseKernels: the dense layers' fused epilogues (bias, activation, bf16 rounding).
        .target(name: "StepwiseModels", dependencies: ["COpenBLAS", "StepwiseKernels"], path: "Sources/StepwiseModels",
                swiftSettings: [.unsafeFlags(["-Ounchecked"])]),
        // The GAN example (a library, so tests can drive it).
        .target(name: "StepwiseExamples", dependencies: ["Stepwise", "StepwiseModels"],
                path: "Sources/StepwiseExamples"),
        .executableTarget(
            name: "StepwiseCLI",
            dependencies: [
                "Stepwise", "StepwiseModels", "StepwiseExamples",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/StepwiseCLI"
        ),

        plugin("StepwiseOptimizers", folder: "Optimizers", extra: ["StepwiseKernels"]),
        plugin("StepwiseSchedulers", folder: "Schedulers", extra: ["CFFI"]),
        plugin("StepwiseWrappers", folder: "Wrappers"),
        plugin("StepwiseHooks", folder: "Hooks"),
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c",
                       providers: [.apt(["libopenmpi-dev"])]),
        // A plugin in C against the headers only, as a third-party plugin would be.
        .target(name: "StepwiseDistributed", dependencies: ["StepwiseABI"], path: "Plugins/Distributed/Plugin", publicHeadersPath: ".",
                cSettings: [.unsafeFlags(["-fvisibility=hidden"])],
                linkerSettings: [.linkedLibrary("dl"), .linkedLibrary("pthread"),
                                 .unsafeFlags(["-Xlinker", "--version-script=\(packageRoot)/Plugins/exports.map"])]),
        .target(name: "StepwiseMPI", dependencies: ["CMPI"], path: "Plugins/Distributed/Backend",
                cSettings: [.unsafeFlags(["-fvisibility=hidden"])]),

        // Tests load the plugins with dlopen from the build folder; no test target depends
        // on a plugin target.
        .testTarget(name: "StepwiseTests", dependencies: ["Stepwise", "StepwiseKit"],
                    path: "Tests/StepwiseTests"),
        .testTarget(name: "StepwiseKernelsTests", dependencies: ["StepwiseKernels"],
                    path: "Tests/StepwiseKernelsTests"),
        .testTarget(name: "StepwiseModelsTests", dependencies: ["StepwiseModels"],
                    path: "Tests/StepwiseModelsTests"),
        .testTarget(name: "StepwiseExamplesTests", dependencies: ["StepwiseExamples", "Stepwise", "StepwiseModels"],
                    path: "Tests/StepwiseExamplesTests"),
    ]
)
