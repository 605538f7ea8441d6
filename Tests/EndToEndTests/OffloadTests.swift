import Foundation
import Testing

/// Hybrid edge–cloud inference with real processes (SPEC 15a.6): a device whose RAM fits no variant answers
/// `infer --offload auto` through the coordinator, metered in its ledger at the grant's cloud price; a device that
/// fits a variant answers locally at the edge price.
extension EndToEnd {
    @Suite(.serialized) struct OffloadTests {
        @Test func aDeviceThatFitsNoVariantOffloadsAndIsBilledAtTheCloudPrice() async throws {
            try await MeteringHarness.run("offload") { harness in
                let fleet = harness.fleet
                try await harness.start(
                    ["small", "big"],
                    push: ["--min-ram", "64MiB"],
                    agentArguments: ["small": ["--capability", "ram=1MiB"], "big": ["--capability", "ram=1GiB"]]
                )
                for name in ["small", "big"] {
                    try await harness.grant([
                        name, "digits-mlp", "--queries", "10", "--price", "1/1000", "--cloud-price", "5/1000",
                        "--currency", "USD",
                    ])
                    let delivered = try await eventually(timeout: .seconds(10)) {
                        try await harness.quota(name)?.granted == 10
                    }
                    try #require(delivered)
                }
                let rows = fleet.root + "/rows.csv"
                let header = (0..<64).map { "p\($0)" }.joined(separator: ",")
                let line = [String](repeating: "4", count: 64).joined(separator: ",")
                try ([header] + [String](repeating: line, count: 3)).joined(separator: "\n").appending("\n")
                    .write(toFile: rows, atomically: true, encoding: .utf8)
                struct View: Decodable {
                    var predictions: [Int]
                    var via: String
                }
                for (name, via) in [("small", "cloud"), ("big", "daemon")] {
                    let result = try await runCommand(
                        "fleet-agent",
                        [
                            "infer", "--data-dir", harness.directory(name), "--local-socket", harness.socket(name),
                            "--offload", "auto", "--model", "digits-mlp", "--feature-scale", "0.0625", rows, "--json",
                        ]
                    )
                    #expect(result.status == 0, "\(name): \(result.stderr)")
                    let view = try JSONDecoder().decode(View.self, from: Data(result.stdout.utf8))
                    #expect(view.predictions.count == 3 && view.via == via, "\(name): \(result.stdout)")
                }
                var usage: [MeteringHarness.Usage] = []
                let billed = try await eventually(timeout: .seconds(10), every: .milliseconds(200)) {
                    usage = try await harness.usage()
                    return usage.count == 2 && usage.allSatisfy { $0.queries == 3 }
                }
                try #require(billed, "\(usage)")
                let small = try #require(usage.first { $0.name == "small" })
                let big = try #require(usage.first { $0.name == "big" })
                #expect(small.cloudQueries == 3 && small.amountMicros == 15_000 && small.remaining == 7)
                #expect(big.cloudQueries == 0 && big.amountMicros == 3_000 && big.remaining == 7)
            }
        }
    }
}
