import FleetCoordinator
import Foundation
import Testing

/// Health gates with real processes (README "Staged rollouts"): six agents on a good v2 run labelled digits rows
/// through `fleet-agent infer`; a bad v3 that installs and runs is rolled out in waves 50/100 with
/// `--auto-rollback`. It halts in the first wave, on the accuracy gate when the owners granted `feedback` consent
/// (v3's output rows rotated: every answer wrong, with v2's confidence) and on the confidence gate when they did
/// not (v3's first-layer rows rotated: wrong and unsure); the wave returns to v2 and the other devices never fetch
/// v3. Six agents, not twenty: the machine running the suite has two cores.
extension EndToEnd {
    @Suite(.serialized) struct RolloutHealthTests {
        static let digits = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("FleetObserveTests/Fixtures/digits.csv").path

        /// A rollout as `rollout show --json` prints it, with the health checks (RolloutHeldWaveTests and
        /// RolloutCrashLoopLatencyTests read it too).
        struct Rollout: Decodable {
            struct Wave: Decodable {
                struct Member: Decodable { var id: String }
                struct Check: Decodable {
                    struct Side: Decodable {
                        var devices: Int
                        var queries: Int
                        var labelled: Int
                        var starts: Int
                        var accuracyPercent: Double?
                        var meanConfidence: Double?
                        var inputDriftPSI: Double?
                        var restartsPerDevice: Double?
                        var latencyP95Milliseconds: Double?
                    }
                    struct Gate: Decodable {
                        var gate: String
                        var verdict: String
                        var why: String
                        var waveDevices: Int?
                        var controlDevices: Int?
                        var devicesNeeded: Int?
                        var deviceNeeds: String?
                    }
                    var wave: Side
                    var control: Side
                    var gates: [Gate]
                }
                var number: Int
                var devices: Int
                var installed: Int
                var health: String
                var decision: String
                var heldBy: [String]?
                var reason: String
                var startedAt: String?
                var members: [Member]
                var healthCheck: Check?
            }
            struct Gates: Decodable, Equatable {
                var maximumErrorRateIncrease: Double?
                var maximumAccuracyDrop: Double?
                var maximumConfidenceDrop: Double?
                var maximumDriftPSI: Double?
                var minimumDevices: Int
                var minimumQueries: Int
            }
            var id: Int
            var state: String
            var wave: Int
            var reason: String
            var waves: [Wave]
            var healthGates: Gates?
        }

        struct Inferred: Decodable {
            var version: Int
            var feedback: Int?
        }

        /// The first `count` rows of the digits file, with their labels.
        static func labelledRows(_ count: Int, to path: String) throws {
            let lines = try String(contentsOfFile: digits, encoding: .utf8).split(separator: "\n").prefix(count + 1)
            try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        }

        /// v2 int8 with the rows of `tensors` rotated by one (each tensor's first dimension): the model installs and
        /// runs, and answers wrongly.
        static func rotatedRows(of tensors: [String], to path: String) throws {
            let source = RolloutTests.models + "/digits-mlp-v2-int8.safetensors"
            var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: source)))
            let headerLength = Int(bytes[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
            let header = try #require(
                try JSONSerialization.jsonObject(with: Data(bytes[8..<8 + headerLength])) as? [String: Any]
            )
            for name in tensors {
                let tensor = try #require(header[name] as? [String: Any])
                let offsets = try #require(tensor["data_offsets"] as? [Int])
                let rows = try #require((tensor["shape"] as? [Int])?.first)
                let start = 8 + headerLength + offsets[0]
                let data = Array(bytes[start..<8 + headerLength + offsets[1]])
                let width = data.count / rows
                let rotated = Array(data[width...] + data[..<width])
                bytes.replaceSubrange(start..<start + data.count, with: rotated)
            }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
        }

        func show(_ fleet: Fleet, _ id: Int) async throws -> Rollout {
            try await JSONDecoder().decode(
                Rollout.self,
                from: Data(
                    fleet.fleetctl(["rollout", "show", "\(id)", "--data-dir", fleet.coordinatorDirectory, "--json"])
                        .utf8
                )
            )
        }

        func describe(_ body: () async throws -> Any) async -> String { await RolloutTests().describe(body) }

        /// Six agents running v1 of digits-mlp, sending health summaries every second.
        func startFleet(_ name: String) async throws -> Fleet {
            try await RolloutTests().startFleet(
                name,
                small: RolloutTests.six,
                agentArguments: ["--health-interval", "1s"]
            )
        }

        /// Moves the fleet to v2, then runs a bad v3 rollout and returns it once it has left `running`, with what
        /// `fleet-agent infer` reported on each agent's last pass.
        func rollOutBadVersion(
            _ fleet: Fleet,
            rotating tensors: [String],
            feedback: Bool,
            gates: [String]
        ) async throws -> (rollout: Rollout, inferred: [String: Inferred]) {
            let base = RolloutTests()
            let six = RolloutTests.six
            _ = try await base.push(fleet, version: 2, variant: "int8", minRam: "32MiB", accuracy: "0.978", held: false)
            try await expectEventually(timeout: .seconds(90)) {
                try await base.versions(fleet).values.allSatisfy { $0 == 2 }
            } message: {
                "every device runs v2: \(await describe { try await base.versions(fleet) })"
            }
            let bad = fleet.root + "/digits-mlp-v3-int8.safetensors"
            try Self.rotatedRows(of: tensors, to: bad)
            _ = try await fleet.fleetctl([
                "model", "push", "digits-mlp", "--data-dir", fleet.coordinatorDirectory, "--version", "3", "--variant",
                "int8", "--file", bad, "--accuracy", "0.990", "--min-ram", "32MiB", "--no-assign", "--json",
            ])
            let rows = fleet.root + "/labelled.csv"
            try Self.labelledRows(300, to: rows)
            func directory(_ agent: String) -> String { fleet.root + "/agent-\(agent)" }
            if feedback {
                for agent in six {
                    let granted = try await runCommand(
                        "fleet-agent",
                        ["consent", "grant", "feedback", "--data-dir", directory(agent)]
                    )
                    #expect(granted.status == 0, "\(granted)")
                }
            }
            let started = try await JSONDecoder().decode(
                Rollout.self,
                from: Data(
                    fleet.fleetctl(
                        [
                            "rollout", "start", "digits-mlp", "--version", "3", "--waves", "50,100", "--wave-soak",
                            "10m", "--min-devices-per-wave", "1", "--seed", "11", "--auto-rollback",
                            "--gate-min-devices", "3", "--gate-min-queries", "100", "--data-dir",
                            fleet.coordinatorDirectory, "--json",
                        ] + gates
                    ).utf8
                )
            )
            // Traffic on every device until the gates decide: 300 labelled rows per pass and device.
            var inferred: [String: Inferred] = [:]
            let decided = try await eventually(timeout: .seconds(240), every: .milliseconds(500)) {
                for agent in six {
                    let result = try await runCommand(
                        "fleet-agent",
                        ["infer", "--data-dir", directory(agent), rows, "--json"]
                    )
                    // A pass may meet a device swapping models: only complete answers are kept.
                    if result.status == 0,
                        let answer = try? JSONDecoder().decode(Inferred.self, from: Data(result.stdout.utf8))
                    {
                        inferred[agent] = answer
                    }
                }
                return try await show(fleet, started.id).state != "running"
            }
            let shown = try await show(fleet, started.id)
            #expect(decided, "the gates decided: \(shown)")
            return (shown, inferred)
        }

        /// The wave is back on v2 and no device outside it ever fetched v3.
        func expectRolledBack(_ fleet: Fleet, _ rollout: Rollout) async throws {
            let base = RolloutTests()
            let first = Set(rollout.waves[0].members.map(\.id))
            #expect(first.count == 3 && rollout.waves[1].startedAt == nil, "\(rollout.waves.map(\.decision))")
            try await expectEventually(timeout: .seconds(90)) {
                try await base.versions(fleet).values.allSatisfy { $0 == 2 }
            } message: {
                "every device back on v2: \(await describe { try await base.versions(fleet) })"
            }
            let v3 = try await base.transfers(fleet).filter { $0.version == 3 }
            #expect(!v3.isEmpty && v3.allSatisfy { first.contains($0.deviceID) }, "\(v3.map(\.deviceID))")
            let kinds = try await fleet.events().map(\.kind)
            #expect(kinds.contains("rollout_halted") && kinds.contains("rollout_rolled_back"))
        }

        @Test func aWorseVersionHaltsOnTheAccuracyGateWithFeedback() async throws {
            let fleet = try await startFleet("rollout-accuracy")
            try await fleet.run { fleet in
                let (rollout, inferred) = try await rollOutBadVersion(
                    fleet,
                    rotating: ["fc3.weight", "fc3.bias"],
                    feedback: true,
                    gates: []
                )
                #expect(rollout.state == "rolled-back", "\(rollout.reason)")
                let wave = rollout.waves[0]
                #expect(wave.decision == "rolled-back" && wave.health == "unhealthy", "\(wave.decision)")
                #expect(rollout.reason.contains("health gate: accuracy"), "\(rollout.reason)")
                let check = try #require(wave.healthCheck)
                #expect(check.gates.filter { $0.verdict == "fail" }.map(\.gate) == ["accuracy"], "\(check.gates)")
                // The defaults, and the minimums given on the command line.
                #expect(
                    rollout.healthGates
                        == Rollout.Gates(
                            maximumErrorRateIncrease: 1,
                            maximumAccuracyDrop: 2,
                            maximumConfidenceDrop: 0.05,
                            maximumDriftPSI: 0.25,
                            minimumDevices: 3,
                            minimumQueries: 100
                        )
                )
                // Every answer of v3 is wrong, with v2's confidence: only the labels show it.
                #expect((check.wave.accuracyPercent ?? 100) < 10 && (check.control.accuracyPercent ?? 0) > 90)
                #expect(check.gates.contains { $0.gate == "confidence" && $0.verdict == "pass" })
                #expect(check.wave.devices == 3 && check.control.devices == 3 && check.wave.labelled >= 900)
                #expect(inferred.count == 6 && inferred.values.allSatisfy { $0.feedback == 300 }, "\(inferred)")
                // The table prints the evidence too.
                let text = try await fleet.fleetctl([
                    "rollout", "show", "\(rollout.id)", "--data-dir", fleet.coordinatorDirectory,
                ])
                #expect(
                    text.contains("  accuracy: fail: accuracy ") && text.contains("  confidence: pass: "),
                    "\(text)"
                )
                try await expectRolledBack(fleet, rollout)
            }
        }

        @Test func aWorseVersionHaltsOnTheConfidenceGateWithoutFeedback() async throws {
            let fleet = try await startFleet("rollout-confidence")
            try await fleet.run { fleet in
                let (rollout, inferred) = try await rollOutBadVersion(
                    fleet,
                    rotating: ["fc1.weight", "fc1.bias"],
                    feedback: false,
                    gates: ["--max-drift-psi", "off"]
                )
                #expect(rollout.state == "rolled-back", "\(rollout.reason)")
                #expect(rollout.reason.contains("health gate: confidence"), "\(rollout.reason)")
                let check = try #require(rollout.waves[0].healthCheck)
                #expect(check.gates.filter { $0.verdict == "fail" }.map(\.gate) == ["confidence"], "\(check.gates)")
                #expect(check.gates.contains { $0.gate == "accuracy" && $0.verdict == "waiting" }, "no labels")
                #expect(!check.gates.contains { $0.gate == "drift-psi" } && rollout.healthGates?.maximumDriftPSI == nil)
                #expect(check.wave.labelled == 0 && check.control.labelled == 0)
                #expect((check.wave.meanConfidence ?? 1) < 0.8 && (check.control.meanConfidence ?? 0) > 0.9)
                #expect(
                    inferred.count == 6 && inferred.values.allSatisfy { $0.feedback == 0 },
                    "no consent: \(inferred)"
                )
                try await expectRolledBack(fleet, rollout)
            }
        }
    }
}
