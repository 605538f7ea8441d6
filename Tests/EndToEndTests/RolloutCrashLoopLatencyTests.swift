import FleetDelta
import Foundation
import Testing

/// The crash-loop and latency gates with real agents (README "Staged rollouts"), six agents on v1, a rollout of v2
/// in waves 50/100 with only the gate under test on:
/// - crash loop: once the first wave runs v2, the test kills and restarts its three agents as a crash-looping
///   supervisor would; their health summaries report the starts, the wave's restarts per device exceed the control
///   group's by more than `--max-restarts 3`, the rollout halts and `--auto-rollback` returns the wave to v1, while
///   the other devices never fetch v2;
/// - latency: v2 is v1 widened 64-fold with zero weights (the same answers, about 60 times the arithmetic), so its
///   requests take far longer on the device than v1's on the control group; `--max-latency-increase 200%` halts
///   it. The gate judges a ratio of p95 latencies measured on the same machine at the same time, so a loaded
///   machine slows both sides alike.
extension EndToEnd {
    @Suite(.serialized) struct RolloutCrashLoopLatencyTests {
        static let agentArguments = ["--capability", "ram=48MiB", "--health-interval", "1s"]

        /// Only the gate under test on.
        static let otherGatesOff = [
            "--max-error-rate", "off", "--max-accuracy-drop", "off", "--max-confidence-drop", "off", "--max-drift-psi",
            "off",
        ]

        let health = RolloutHealthTests()

        func show(_ fleet: Fleet, _ id: Int) async throws -> RolloutHealthTests.Rollout {
            try await health.show(fleet, id)
        }

        /// One `fleet-agent infer` of `rows` on each agent (a request of up to 500 rows each).
        func infer(_ fleet: Fleet, _ rows: String) async throws {
            for agent in RolloutTests.six {
                _ = try await runCommand(
                    "fleet-agent",
                    ["infer", rows, "--json", "--data-dir", fleet.root + "/agent-\(agent)"]
                )
            }
        }

        /// Waits for the first wave to install v2; returns its agents' names.
        func firstWaveInstalled(_ fleet: Fleet, _ rollout: RolloutTests.Rollout) async throws -> [String] {
            let base = RolloutTests()
            try await expectEventually(timeout: .seconds(120)) {
                try await show(fleet, rollout.id).waves[0].installed == rollout.waves[0].devices
            } message: {
                "wave 1 installed: \(await base.describe { try await show(fleet, rollout.id) })"
            }
            let names = Dictionary(try await fleet.devices().map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
            return rollout.waves[0].members.compactMap { names[$0.id] }.sorted()
        }

        @Test func aWaveWhoseAgentsCrashLoopHaltsOnTheCrashLoopGateAndRollsBack() async throws {
            let base = RolloutTests()
            let fleet = try await health.startFleet("rollout-crashloop")
            try await fleet.run { fleet in
                let started = try await base.rollOutHeldV2(
                    fleet,
                    [
                        "--waves", "50,100", "--wave-soak", "10m",
                        "--min-devices-per-wave", "1", "--seed", "5", "--gate-min-devices", "3", "--max-restarts", "3",
                        "--auto-rollback",
                    ] + Self.otherGatesOff
                )
                let wave = try await firstWaveInstalled(fleet, started)
                #expect(wave.count == 3)
                let waveIDs = Set(started.waves[0].members.map(\.id))
                // Every device answers a few queries, so the control group sends summaries (with no start) too.
                let traffic = fleet.root + "/test.csv"
                try RolloutGoodVersionTests.rows(of: "test", limit: 20, to: traffic)
                try await infer(fleet, traffic)

                // The wave's agents crash and are restarted, every few seconds, until the coordinator decides.
                var restarts = 0
                let decided = try await eventually(timeout: .seconds(240), every: .seconds(3)) {
                    if try await show(fleet, started.id).state != "running" { return true }
                    for agent in wave {
                        fleet.agents[agent]?.kill9()
                        try fleet.startAgent(agent, token: nil, extra: Self.agentArguments)
                    }
                    restarts += 1
                    return false
                }
                let rollout = try await show(fleet, started.id)
                #expect(decided && rollout.state == "rolled-back", "\(rollout.state): \(rollout.reason)")
                #expect(rollout.reason.contains("agent restarts per device"), "\(rollout.reason)")
                let check = try #require(rollout.waves[0].healthCheck)
                #expect(
                    check.gates.map(\.gate) == ["restarts"] && check.gates.first?.verdict == "fail",
                    "\(check.gates.map { "\($0.gate): \($0.verdict): \($0.why)" })"
                )
                #expect((check.wave.restartsPerDevice ?? 0) > 3, "more than 3 restarts per wave device")
                #expect(check.control.restartsPerDevice == 0 && check.control.devices == 3)
                #expect(restarts >= 4, "the supervisor restarted the wave \(restarts) times before the halt")
                #expect(rollout.waves[1].startedAt == nil && rollout.waves[0].decision == "rolled-back")

                // The wave returns to v1 through the rollback directive; no other device ever fetched v2.
                try await expectEventually(timeout: .seconds(90)) {
                    try await base.versions(fleet).values.allSatisfy { $0 == 1 }
                } message: {
                    "every device back on v1: \(await base.describe { try await base.versions(fleet) })"
                }
                let v2 = try await base.transfers(fleet).filter { $0.version == 2 }
                #expect(!v2.isEmpty && v2.allSatisfy { waveIDs.contains($0.deviceID) }, "\(v2.map(\.deviceID))")
                let kinds = try await fleet.events().map(\.kind)
                #expect(kinds.contains("rollout_halted") && kinds.contains("rollout_rolled_back"))
            }
        }

        /// digits-mlp v1 (int8) with its first hidden layer widened from 256 to 256 × `factor` units whose weights
        /// and biases are zero: the same function, `factor` times the arithmetic in its first two layers.
        static func widened(by factor: Int, to path: String) throws {
            let bytes = try [UInt8](
                Data(contentsOf: URL(fileURLWithPath: "\(RolloutTests.models)/digits-mlp-v1-int8.safetensors"))
            )
            let file = try SafeTensorsFile.parse(bytes)
            var writer = SafeTensorsWriter(metadata: file.metadata)
            for tensor in file.tensors {
                let data = [UInt8](file.data(of: tensor))
                switch tensor.name {
                case "fc1.weight", "fc1.bias":
                    // Rows of fc1 (and its biases) are hidden units: zero units after the trained ones.
                    let shape = [tensor.shape[0] * factor] + tensor.shape.dropFirst()
                    let zeros = [UInt8](repeating: 0, count: data.count * (factor - 1))
                    try writer.add(name: tensor.name, dtype: tensor.dtype, shape: shape, bytes: data + zeros)
                case "fc2.weight":
                    // Each row of fc2 reads the hidden units: zero weights for the new ones.
                    let width = tensor.shape[1] * tensor.dtype.byteWidth
                    var widened: [UInt8] = []
                    widened.reserveCapacity(data.count * factor)
                    for row in 0..<tensor.shape[0] {
                        widened += data[row * width..<(row + 1) * width]
                        widened += [UInt8](repeating: 0, count: width * (factor - 1))
                    }
                    try writer.add(
                        name: tensor.name,
                        dtype: tensor.dtype,
                        shape: [tensor.shape[0], tensor.shape[1] * factor],
                        bytes: widened
                    )
                default:
                    try writer.add(name: tensor.name, dtype: tensor.dtype, shape: tensor.shape, bytes: data)
                }
            }
            try Data(writer.build()).write(to: URL(fileURLWithPath: path))
        }

        @Test func aMuchSlowerVersionHaltsOnTheLatencyGate() async throws {
            let base = RolloutTests()
            let fleet = try await health.startFleet("rollout-latency")
            try await fleet.run { fleet in
                let slow = fleet.root + "/digits-mlp-v2-wide.safetensors"
                try Self.widened(by: 64, to: slow)
                _ = try await fleet.fleetctl([
                    "model", "push", "digits-mlp", "--data-dir", fleet.coordinatorDirectory, "--version", "2",
                    "--variant", "int8", "--file", slow, "--accuracy", "0.973", "--min-ram", "32MiB", "--no-assign",
                    "--json",
                ])
                let started = try await base.rollout(
                    fleet,
                    [
                        "start", "digits-mlp", "--version", "2", "--waves", "50,100", "--wave-soak", "10m",
                        "--min-devices-per-wave", "1", "--seed", "5", "--gate-min-devices", "3", "--gate-min-queries",
                        "5", "--max-restarts", "off", "--max-latency-increase", "200%",
                    ] + Self.otherGatesOff
                )
                _ = try await firstWaveInstalled(fleet, started)
                let waveIDs = Set(started.waves[0].members.map(\.id))
                // One-row requests on every device's local socket until the gate decides (it needs 5 timed requests
                // a device): small enough that v1's stay in the lowest latency buckets on a loaded machine, while
                // the wide v2's take about 64 times as long, a decade or two higher.
                let row = (0..<64).map { Double($0 % 17) / 16 }
                let decided = try await eventually(timeout: .seconds(300), every: .milliseconds(200)) {
                    for agent in RolloutTests.six {
                        for _ in 0..<3 {
                            let answer = try await LocalSocketProbe.request(
                                ["op": "infer", "rows": [row]],
                                path: fleet.root + "/agent-\(agent)/agent.sock"
                            )
                            #expect(answer.ok, "\(agent): \(answer.fields)")
                        }
                    }
                    return try await show(fleet, started.id).state != "running"
                }
                let rollout = try await show(fleet, started.id)
                #expect(decided && rollout.state == "halted", "\(rollout.state): \(rollout.reason)")
                #expect(rollout.reason.contains("p95 latency (ms)"), "\(rollout.reason)")
                let check = try #require(rollout.waves[0].healthCheck)
                #expect(
                    check.gates.map(\.gate) == ["latency"] && check.gates.first?.verdict == "fail",
                    "\(check.gates.map { "\($0.gate): \($0.verdict): \($0.why)" })"
                )
                let wave = try #require(check.wave.latencyP95Milliseconds)
                let control = try #require(check.control.latencyP95Milliseconds)
                #expect(wave > 3 * control, "p95 \(wave) ms on the wave vs \(control) ms on the control group")
                // Halted without --auto-rollback: the wave keeps v2, no other device ever fetched it.
                #expect(rollout.waves[1].startedAt == nil && rollout.waves[0].decision == "halted")
                let v2 = try await base.transfers(fleet).filter { $0.version == 2 }
                #expect(!v2.isEmpty && v2.allSatisfy { waveIDs.contains($0.deviceID) }, "\(v2.map(\.deviceID))")
            }
        }
    }
}
