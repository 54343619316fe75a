// swift-tools-version:6.0
import PackageDescription

// Dependencies flow one way:
//   ImageIO -> Augment -> Datasets ---------------------------------------------+
//   _CKernels -> TensorCore -> Autograd -> Distributed -> NN -> Models          |
//   Models + Datasets -> Training (the run loop: options, schedules, checkpoints, Adam)
//     -> Trainers (one file per model, the model registry) -> Evaluation (`test`) -> img2img (CLI)
//   Checkpoint (safetensors / .pth) -> Models
//   Reports (HTML pages, loss log) -> Training, Translation, Evaluation
//   Models -> Translation (folder pipeline, `generate`; networks only through ImageTranslator) -> img2img
//   Translation -> Serve (Hummingbird: page, API, metrics) -> img2img-serve (`img2img serve` execs it)
//   Distributed: the processes of a run (one, MPI ranks, in-process ranks), handed to the run and
//   to batch norm; _Files: the one atomic writer, bounded reader and output-name rule.
// Checkpoint knows nothing of tensors: it moves named float arrays. ImageIO knows nothing of
// tensors either. The CLI parses options, calls one library entry point and prints.
//   Models -> ONNX (export to ONNX through swift-protobuf; the generated onnx.pb.swift is committed)
// Modules whose name starts with `_` are internal: no stable API.
let package = Package(
    name: "img2img",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "ImageIO", targets: ["ImageIO"]),
        .library(name: "Augment", targets: ["Augment"]),
        .library(name: "Datasets", targets: ["Datasets"]),
        .library(name: "Translation", targets: ["Translation"]),
        .library(name: "TensorCore", targets: ["TensorCore"]),
        .library(name: "Autograd", targets: ["Autograd"]),
        .library(name: "Checkpoint", targets: ["Checkpoint"]),
        .library(name: "NN", targets: ["NN"]),
        .library(name: "Models", targets: ["Models"]),
        .library(name: "Training", targets: ["Training"]),
        .library(name: "Trainers", targets: ["Trainers"]),
        .library(name: "Evaluation", targets: ["Evaluation"]),
        .library(name: "Reports", targets: ["Reports"]),
        .library(name: "ONNX", targets: ["ONNX"]),
        .executable(name: "img2img", targets: ["img2img"]),
        .executable(name: "img2img-bench", targets: ["img2img-bench"]),
        // `img2img serve` runs this sibling binary, so the `img2img` product never links SwiftNIO
        // and `swift build --product img2img` (README command 1) never builds Hummingbird.
        .executable(name: "img2img-serve", targets: ["img2img-serve"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        // MARK: the HTTP server (img2img-serve and its tests only)
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.14.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // MARK: - System libraries and the C shim that owns setjmp/longjmp
        .systemLibrary(
            name: "CPNG",
            pkgConfig: "libpng",
            providers: [.apt(["libpng-dev"])]
        ),
        .systemLibrary(
            name: "CJPEG",
            providers: [.apt(["libjpeg-dev"])]
        ),
        .systemLibrary(name: "_CZlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "_CLapack", providers: [.apt(["liblapack-dev"])]),
        .target(
            name: "_CImageCodecs",
            dependencies: ["CPNG", "CJPEG"]
        ),

        // MARK: - Data path
        .target(name: "ImageIO", dependencies: ["_CImageCodecs", "_Files"], exclude: ["README.md"]),
        .target(name: "Augment", dependencies: ["ImageIO"]),
        .target(name: "Datasets", dependencies: ["ImageIO", "Augment", "_Sync", "_Files"]),
        .target(name: "Translation", dependencies: ["ImageIO", "Augment", "_Sync", "_Files", "Reports", "Models", "NN", "Autograd", "TensorCore"]),
        .target(name: "_Sync"),  // the bounded producer/consumer queue both of them use
        // The one atomic writer, bounded reader, output-name rule and skipped-file line.
        .target(name: "_Files", exclude: ["README.md"]),

        // MARK: - Conv engine
        .target(name: "_CKernels"),
        .target(name: "TensorCore", dependencies: ["_CKernels"]),
        .target(name: "Autograd", dependencies: ["TensorCore", "_CKernels"]),

        // MARK: - Processes of a run (one, MPI ranks, or in-process ranks for tests)
        .target(name: "Distributed", dependencies: ["Autograd", "TensorCore", "_CMPI"]),

        // MARK: - Layers and networks
        .target(name: "NN", dependencies: ["TensorCore", "Autograd", "Distributed"]),
        .target(name: "Models", dependencies: ["NN", "Checkpoint", "TensorCore", "Autograd"]),

        // MARK: - Export (ONNX; tools/generate_onnx_swift.sh regenerates onnx.pb.swift)
        .target(name: "ONNX", dependencies: ["Models", "NN", "TensorCore", "Checkpoint",
                                            .product(name: "SwiftProtobuf", package: "swift-protobuf")]),

        // MARK: - Checkpoints
        .target(name: "Checkpoint", dependencies: ["_Files", "_CZlib"]),

        // MARK: - Reports (every HTML page and the loss log)
        .target(name: "Reports"),

        // MARK: - Training
        // The run loop with its options, schedules, checkpoints and what every trainer shares.
        .target(name: "Training", dependencies: ["Models", "NN", "Autograd", "TensorCore", "Checkpoint", "_CKernels",
                                                "Datasets", "Augment", "ImageIO", "Reports", "Translation", "Distributed", "_Files"]),
        // The models: one file per trainer (each reads like the paper code's optimize_parameters)
        // and the registry that lists them.
        .target(name: "Trainers", dependencies: ["Training", "Models", "NN", "Autograd", "TensorCore", "Checkpoint",
                                                "Datasets", "Augment", "Distributed"]),
        // Measuring trained models: `test` (the paper code's test.py with L1/PSNR/SSIM).
        .target(name: "Evaluation", dependencies: ["Trainers", "Training", "Translation", "Models", "Checkpoint", "Datasets", "_CLapack",
                                                  "Augment", "ImageIO", "Reports", "_Files"]),
        // Open MPI loaded at run time (dlopen): data-parallel training where it is installed,
        // no build or run dependency where it is not.
        .target(name: "_CMPI", linkerSettings: [.linkedLibrary("dl")]),

        // MARK: - CLI
        .executableTarget(
            name: "img2img",
            dependencies: [
                "ImageIO", "Augment", "Datasets", "Translation", "Checkpoint", "TensorCore",
                "Models", "Training", "Trainers", "Evaluation", "Reports", "ONNX", "Distributed", "_Files",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // MARK: - HTTP server: `img2img serve` (a page and an API over the translate pipeline)
        .target(
            name: "Serve",
            dependencies: [
                "ImageIO", "Translation", "Models", "TensorCore", "_Sync",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "img2img-serve",
            dependencies: ["Serve", "TensorCore", "ImageIO", "_Files", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),

        // MARK: - Benchmark (tools/bench.sh compares it with PyTorch)
        .executableTarget(
            name: "img2img-bench",
            dependencies: ["TensorCore", "Autograd", "NN", "Models", "Training", "Trainers", "_Files",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),

        // MARK: - Experiments behind docs/ notes (tools/cgan_experiment.sh); not a product
        .executableTarget(
            name: "img2img-experiments",
            dependencies: ["TensorCore", "Autograd", "NN", "Training", "Trainers", "ImageIO", "_Files"]
        ),

        // MARK: - Tests
        // Shared by the test targets: run a built binary, the repository and fixture paths.
        .target(name: "_TestSupport", path: "Tests/_TestSupport"),
        .testTarget(name: "ImageIOTests", dependencies: ["ImageIO", "_Files", "_TestSupport"]),
        .testTarget(name: "ReportsTests", dependencies: ["Reports"]),
        .testTarget(name: "AugmentTests", dependencies: ["Augment", "ImageIO", "_TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "TranslationTests", dependencies: ["Translation", "ImageIO", "Augment", "Models", "NN", "Autograd", "TensorCore", "_TestSupport"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "ImageIO", "Augment"]),
        .testTarget(name: "EngineTests", dependencies: ["TensorCore", "Autograd", "_CKernels", "_TestSupport"],
                    exclude: ["Fixtures"]),  // read via #filePath by the tests
        .testTarget(name: "CheckpointTests", dependencies: ["Checkpoint", "ImageIO", "TensorCore", "_TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "CLITests", dependencies: ["img2img", "ImageIO", "Models", "NN", "TensorCore", "Checkpoint", "Training",
                                                   "Trainers", "_TestSupport"]),
        .testTarget(name: "ServeTests", dependencies: ["Serve", "ImageIO", "Models", "Translation", "Checkpoint", "_TestSupport"]),
        .testTarget(name: "ModelTests", dependencies: ["Models", "NN", "Checkpoint", "TensorCore", "Autograd", "_TestSupport"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "ONNXTests", dependencies: ["ONNX", "Models", "NN", "TensorCore", "Autograd", "_TestSupport",
                                                    .product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Models", "NN", "Autograd", "TensorCore", "Checkpoint",
                                                        "Datasets", "ImageIO", "Reports", "Distributed", "Trainers", "Evaluation", "Translation",
                                                        "_TestSupport"],
                    exclude: ["Fixtures"]),
    ]
)
