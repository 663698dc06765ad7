// swift-tools-version: 6.0
import PackageDescription

let strictness: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "hooktrace",
    products: [
        .executable(name: "hooktrace", targets: ["hooktrace"]),
        .library(name: "Hooktrace", targets: ["HooktraceFormat", "HooktraceSim", "HooktraceAnalysis", "HooktraceRender"]),
        .library(name: "HooktraceTesting", targets: ["HooktraceTesting"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CZstd",
            pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"])]
        ),
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // The layers, each depending only on those below it (docs/DESIGN.md; the tests'
        // Architecture/LayerTests fail when an import goes the wrong way).
        .target(
            name: "HooktraceFormat",
            dependencies: ["CZstd", "CZlib"],
            swiftSettings: strictness
        ),
        .target(
            name: "HooktraceSim",
            dependencies: ["HooktraceFormat"],
            swiftSettings: strictness
        ),
        .target(
            name: "HooktraceAnalysis",
            dependencies: ["HooktraceFormat", "HooktraceSim"],
            swiftSettings: strictness
        ),
        .target(
            name: "HooktraceRender",
            dependencies: ["HooktraceFormat", "HooktraceSim", "HooktraceAnalysis"],
            swiftSettings: strictness
        ),
        .target(
            name: "HooktraceLive",
            dependencies: ["HooktraceFormat", "HooktraceSim"],
            swiftSettings: strictness
        ),
        .target(
            name: "HooktraceTesting",
            dependencies: ["HooktraceFormat", "HooktraceSim", "HooktraceAnalysis", "HooktraceRender"],
            swiftSettings: strictness
        ),
        .executableTarget(
            name: "hooktrace",
            dependencies: [
                "HooktraceFormat", "HooktraceSim", "HooktraceAnalysis", "HooktraceRender", "HooktraceLive",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictness
        ),
        .executableTarget(
            name: "hooktrace-bench",
            dependencies: ["HooktraceFormat", "HooktraceSim", "HooktraceAnalysis", "HooktraceRender"],
            path: "Sources/HooktraceBench",
            swiftSettings: strictness
        ),
        .testTarget(
            name: "HooktraceTests",
            dependencies: ["HooktraceFormat", "HooktraceSim", "HooktraceAnalysis", "HooktraceRender", "HooktraceLive", "HooktraceTesting"],
            swiftSettings: strictness
        ),
        .testTarget(
            name: "HooktraceCLITests",
            dependencies: ["HooktraceFormat", "HooktraceSim", "HooktraceAnalysis", "HooktraceRender", "HooktraceLive"],
            swiftSettings: strictness
        ),
    ],
    swiftLanguageModes: [.v6]
)
