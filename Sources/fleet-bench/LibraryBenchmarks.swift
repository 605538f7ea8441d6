import ArgumentParser
import Foundation

/// `fleet-bench delta`: our patch sizes and speeds against xdelta3, zstd --patch-from and bsdiff, measured
/// side by side on the same model pairs in the same run.
struct DeltaBenchmarkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delta",
        abstract: "Model deltas: bytes on the wire and encode/decode time against xdelta3, zstd and bsdiff."
    )

    @Option(help: "Folder with digits-mlp-v{1,2,3}-{fp32,int8}.safetensors (default: the test fixtures).")
    var models = repositoryPath("Tests/FleetDeltaTests/Fixtures")

    @Option(help: "Timing repetitions (best of N).")
    var iterations = 20

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        try runDeltaBenchmark(modelsDirectory: models, json: json, iterations: iterations)
    }
}

/// `fleet-bench aggregation`: aggregation throughput on one core and memory while updates arrive.
struct AggregationBenchmarkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aggregation",
        abstract:
            "Aggregation on one core (update bytes read per second) and memory, beside a streaming read of the same updates, a plain loop, and the round path (decode + FedAvg) per update."
    )

    @Option(help: "Bytes per model update.")
    var modelBytes = 4_000_000

    @Option(help: "Updates to aggregate.")
    var updates = 100

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        try runAggregationBenchmark(modelBytes: modelBytes, updates: updates, json: json)
    }
}

/// A path inside this repository (the benchmarks run from a checkout).
func repositoryPath(_ relative: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(relative).path
}
