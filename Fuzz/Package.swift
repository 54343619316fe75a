// swift-tools-version:6.0
// libFuzzer targets for img2img's readers of untrusted files. A package of its own, so the
// main package's `swift build` / `swift test` never see them and stay free of unsafeFlags.
// Build and run them with tools/fuzz.sh, which adds the fuzzer flags on the command line:
//
//   swift build --package-path Fuzz --scratch-path .build-fuzz --product FuzzImage \
//       -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld ... (see the script)
//
// The dependency goes through the symlink .fuzz/img2img -> .. (made by the script), so the
// package's identity is "img2img" whatever the checkout's folder is called.
import PackageDescription

let package = Package(
    name: "img2img-fuzz",
    dependencies: [.package(path: "../.fuzz/img2img")],
    targets: [
        .target(name: "FuzzDriver"),
        // image decoding: PNG, JPEG, detection by content; strict and lenient
        .executableTarget(name: "FuzzImage", dependencies: ["FuzzDriver", .product(name: "ImageIO", package: "img2img")]),
        // Checkpoint.SafeTensors.decode
        .executableTarget(name: "FuzzSafeTensors", dependencies: ["FuzzDriver", .product(name: "Checkpoint", package: "img2img")]),
        // CheckpointFile.decode: zip .pth, legacy pickle .pth (and safetensors by content)
        .executableTarget(name: "FuzzPth", dependencies: ["FuzzDriver", .product(name: "Checkpoint", package: "img2img")]),
        // the JSON the CLI reads back: ModelConfig, the training-checkpoint metadata, the run state
        .executableTarget(name: "FuzzConfig", dependencies: [
            "FuzzDriver",
            .product(name: "Models", package: "img2img"), .product(name: "Training", package: "img2img"),
            .product(name: "Trainers", package: "img2img"), .product(name: "Checkpoint", package: "img2img"),
        ]),
    ]
)
