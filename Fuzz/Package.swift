// swift-tools-version: 6.1
// libFuzzer executables for TinyFleet's parsers of outside bytes. Not part of the main package: they only link
// with the fuzzer runtime. Build (from this folder):
//   swift build -c release -Xswiftc -sanitize=fuzzer,address
// and see README.md for running them.
import PackageDescription

let package = Package(
    name: "TinyFleetFuzz",
    dependencies: [.package(name: "TinyFleet", path: "..")],
    targets: [
        .target(
            name: "FuzzEntryPoints",
            dependencies: [.product(name: "FleetFuzzing", package: "TinyFleet")],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(name: "fuzz-wire", dependencies: ["FuzzEntryPoints"]),
        .executableTarget(name: "fuzz-safetensors", dependencies: ["FuzzEntryPoints"]),
        .executableTarget(name: "fuzz-delta", dependencies: ["FuzzEntryPoints"]),
    ]
)
