import FleetCoordinator
import Foundation
import Testing

/// The issue's first rollout test with real processes (README "Staged rollouts"): twenty agents with labelled
/// digits rows; a good v2 rolled out in waves 10/50/100 % completes and every device ends on v2, while traffic,
/// feedback and drift reports flow so that the health gates decide — every gate of the first two waves reads
/// `pass` against its control group (the last wave has none) — rather than wait.
extension EndToEnd {
    @Suite(.serialized) struct RolloutGoodVersionTests {
        static let twenty = (1...20).map { "g-\($0)" }

        /// The digits rows of one split (`train` or `test`), with the header, written to `path`.
        static func rows(of split: String, limit: Int = .max, to path: String) throws {
            let lines = try String(contentsOfFile: RolloutHealthTests.digits, encoding: .utf8)
                .split(separator: "\n")
            let header = try #require(lines.first)
            let column = try #require(header.split(separator: ",").firstIndex(of: "split"))
            let chosen = lines.dropFirst().filter { $0.split(separator: ",")[column] == split }.prefix(limit)
            try ([header] + chosen).joined(separator: "\n").appending("\n")
                .write(toFile: path, atomically: true, encoding: .utf8)
        }

        /// `fleet-agent` with `arguments` on every agent, four at a time; the exit statuses by agent.
        func onEveryAgent(_ fleet: Fleet, _ arguments: [String]) async throws -> [String: Int32] {
            var statuses: [String: Int32] = [:]
            for batch in stride(from: 0, to: Self.twenty.count, by: 4) {
                try await withThrowingTaskGroup(of: (String, Int32).self) { group in
                    for agent in Self.twenty[batch..<min(batch + 4, Self.twenty.count)] {
                        group.addTask {
                            let result = try await runCommand(
                                "fleet-agent",
                                arguments + ["--data-dir", fleet.root + "/agent-\(agent)"]
                            )
                            return (agent, result.status)
                        }
                    }
                    for try await (agent, status) in group { statuses[agent] = status }
                }
            }
            return statuses
        }

        func push(_ fleet: Fleet, version: Int, reference: String, held: Bool) async throws {
            _ = try await fleet.fleetctl(
                [
                    "model", "push", "digits-mlp", "--data-dir", fleet.coordinatorDirectory, "--version", "\(version)",
                    "--variant", "int8", "--file", "\(RolloutTests.models)/digits-mlp-v\(version)-int8.safetensors",
                    "--accuracy", version == 1 ? "0.973" : "0.978", "--min-ram", "32MiB", "--reference-data",
                    reference, "--json",
                ] + (held ? ["--no-assign"] : [])
            )
        }

        @Test func aGoodVersionCompletesInWavesOf10_50_100WhileItsGatesPass() async throws {
            let fleet = try Fleet("rollout-twenty")
            try await fleet.run { fleet in
                let base = RolloutTests()
                try await fleet.startCoordinator()
                let token = try await fleet.createToken(uses: Self.twenty.count)
                for agent in Self.twenty {
                    try fleet.startAgent(
                        agent,
                        token: token.token,
                        extra: ["--capability", "ram=48MiB", "--health-interval", "1s", "--report-interval", "1s"]
                    )
                }
                try await expectEventually(timeout: .seconds(120)) {
                    try await fleet.onlineNames().count == Self.twenty.count
                } message: {
                    "all twenty online: \(await base.describe { try await fleet.onlineNames().sorted() })"
                }
                // Every owner allows feedback (the accuracy gate) and drift statistics (the drift gate).
                for purpose in ["feedback", "drift-stats"] {
                    let statuses = try await onEveryAgent(fleet, ["consent", "grant", purpose])
                    #expect(statuses.values.allSatisfy { $0 == 0 }, "\(purpose): \(statuses)")
                }
                // v1 and v2 with reference statistics from the training rows; v2 held for the rollout.
                let reference = fleet.root + "/train.csv"
                try Self.rows(of: "train", to: reference)
                try await push(fleet, version: 1, reference: reference, held: false)
                try await expectEventually(timeout: .seconds(180)) {
                    try await base.versions(fleet).values.allSatisfy { $0 == 1 }
                } message: {
                    "every device runs v1: \(await base.describe { try await base.versions(fleet) })"
                }
                try await push(fleet, version: 2, reference: reference, held: true)
                let traffic = fleet.root + "/test.csv"
                try Self.rows(of: "test", limit: 150, to: traffic)

                let health = RolloutHealthTests()
                let started = try JSONDecoder().decode(
                    RolloutHealthTests.Rollout.self,
                    from: Data(
                        await fleet.fleetctl([
                            "rollout", "start", "digits-mlp", "--version", "2", "--waves", "10,50,100", "--wave-soak",
                            "25s", "--seed", "7", "--data-dir", fleet.coordinatorDirectory, "--json",
                        ]).utf8
                    )
                )
                #expect(
                    started.waves.map(\.members.count) == [3, 7, 10],
                    "10 % of 20 is 2, raised to the minimum of 3"
                )
                // Traffic on every device until the rollout leaves `running`: 150 labelled test rows a pass.
                let finished = try await eventually(timeout: .seconds(420), every: .milliseconds(200)) {
                    _ = try await onEveryAgent(fleet, ["infer", traffic, "--json"])
                    return try await health.show(fleet, started.id).state != "running"
                }
                let rollout = try await health.show(fleet, started.id)
                #expect(finished && rollout.state == "completed", "\(rollout.state): \(rollout.reason)")
                #expect(rollout.waves.map(\.decision) == ["passed", "passed", "passed"], "\(rollout.reason)")
                // Waves 1 and 2 were judged against their control groups, and every gate passed.
                for wave in rollout.waves.prefix(2) {
                    let check = try #require(wave.healthCheck)
                    let verdicts = Dictionary(uniqueKeysWithValues: check.gates.map { ($0.gate, $0.verdict) })
                    #expect(
                        verdicts
                            == [
                                "error-rate": "pass", "accuracy": "pass", "confidence": "pass", "drift-psi": "pass",
                                "restarts": "pass",
                            ],
                        "\(check.gates.map { "\($0.gate): \($0.verdict): \($0.why)" })"
                    )
                    #expect(check.wave.devices == wave.members.count && check.wave.labelled >= 150 * 3)
                    #expect((check.wave.accuracyPercent ?? 0) > 90 && (check.control.accuracyPercent ?? 0) > 90)
                    #expect((check.wave.inputDriftPSI ?? 1) < 0.1 && (check.control.inputDriftPSI ?? 1) < 0.1)
                }
                let last = try #require(rollout.waves.last?.healthCheck)
                // The last wave has no control group: its gates cannot decide and do not hold it.
                #expect(last.control.devices == 0 && last.gates.allSatisfy { $0.verdict == "no-control" })
                try await expectEventually(timeout: .seconds(60)) {
                    try await base.versions(fleet).values.allSatisfy { $0 == 2 }
                } message: {
                    "every device ends on v2: \(await base.describe { try await base.versions(fleet) })"
                }
                #expect(try await base.versions(fleet).count == Self.twenty.count)
            }
        }
    }
}
