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
        .library(name: "HooktraceCore", targets: ["HooktraceCore"]),
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
        .target(
            name: "HooktraceCore",
            dependencies: ["CZstd", "CZlib"],
            swiftSettings: strictness
        ),
        .target(
            name: "HooktraceTesting",
            dependencies: ["HooktraceCore"],
            swiftSettings: strictness
        ),
        .executableTarget(
            name: "hooktrace",
            dependencies: [
                "HooktraceCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictness
        ),
        .executableTarget(
            name: "hooktrace-bench",
            dependencies: ["HooktraceCore"],
            path: "Sources/HooktraceBench",
            swiftSettings: strictness
        ),
        .testTarget(
            name: "HooktraceCoreTests",
            dependencies: ["HooktraceCore", "HooktraceTesting"],
            swiftSettings: strictness
        ),
        .testTarget(
            name: "HooktraceCLITests",
            dependencies: ["HooktraceCore"],
            swiftSettings: strictness
        ),
    ],
    swiftLanguageModes: [.v6]
)
