import ArgumentParser

/// `fleet-bench`: benchmarks of TinyFleet's wire codec, coordinator and agent. Not timed tests: each
/// subcommand prints figures (and `--json` for scripts). See `Benchmarks/README.md` for the method.
@main
struct FleetBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet-bench",
        abstract: "Benchmarks of the TinyFleet wire codec, coordinator and agent.",
        subcommands: [
            FramingBenchmark.self,
            LoadGeneratorCommand.self,
            CoordinatorBenchmark.self,
            AgentFootprintBenchmark.self,
            DeltaBenchmarkCommand.self,
            AggregationBenchmarkCommand.self,
            FederatedBenchmarkCommand.self,
            ProtectionBenchmarkCommand.self,
            MeteringBenchmarkCommand.self,
            ConsoleBenchmark.self,
        ]
    )
}
