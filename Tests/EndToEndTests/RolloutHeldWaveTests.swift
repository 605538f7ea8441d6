import Foundation
import Testing

/// The hold on waiting gates with real processes (README "Staged rollouts"): six agents, a rollout of v2 in waves
/// 34/67/100 with the gates the fleet can feed (error rate, confidence, restarts; accuracy and drift off). Without
/// traffic the first wave's gates have no evidence when its soak ends: it is held, `rollout show` says which gates
/// wait and what they lack, and `fleetctl rollout promote` passes it. The second wave is held too, until traffic
/// on every device lets its gates decide: it then passes by itself, and the last wave (no control group left)
/// completes the rollout.
extension EndToEnd {
    @Suite(.serialized) struct RolloutHeldWaveTests {
        let health = RolloutHealthTests()

        func show(_ fleet: Fleet, _ id: Int) async throws -> RolloutHealthTests.Rollout {
            try await health.show(fleet, id)
        }

        @Test func aWaveWithoutTrafficIsHeldUntilPromotedOrUntilTrafficLetsItsGatesPass() async throws {
            let base = RolloutTests()
            let fleet = try await health.startFleet("rollout-held")
            try await fleet.run { fleet in
                let started = try await base.rollOutHeldV2(
                    fleet,
                    [
                        "--waves", "34,67,100", "--wave-soak", "1s",
                        "--min-devices-per-wave", "1", "--seed", "3", "--gate-min-devices", "2", "--gate-min-queries",
                        "20", "--max-accuracy-drop", "off", "--max-drift-psi", "off",
                    ]
                )
                #expect(started.waves.map(\.devices) == [2, 2, 2])
                let id = started.id

                // No traffic: wave 1 installs and soaks, then is held rather than passed on no evidence.
                try await expectEventually(timeout: .seconds(120)) {
                    try await show(fleet, id).waves[0].decision == "held"
                } message: {
                    "wave 1 held: \(await base.describe { try await show(fleet, id) })"
                }
                var now = try await show(fleet, id)
                let first = now.waves[0]
                #expect(now.state == "running" && now.wave == 1 && first.installed == 2, "\(now.reason)")
                #expect(first.health == "waiting", "a held wave is not called healthy: \(first.health)")
                #expect(now.waves[1].startedAt == nil, "wave 2 does not start while wave 1 is held")
                let holding = Set(first.heldBy ?? [])
                #expect(holding.isSuperset(of: ["error-rate", "confidence"]), "\(holding)")
                #expect(!holding.contains("accuracy") && !holding.contains("drift-psi"), "off gates never hold")
                #expect(now.reason.contains("`fleetctl rollout promote \(id)` passes it"), "\(now.reason)")
                let confidence = try #require(first.healthCheck?.gates.first { $0.gate == "confidence" })
                #expect(confidence.verdict == "waiting" && confidence.waveDevices == 0, "\(confidence)")
                #expect(confidence.devicesNeeded == 2 && confidence.deviceNeeds == "at least 20 answered queries")
                let text = try await fleet.fleetctl([
                    "rollout", "show", "\(id)", "--data-dir", fleet.coordinatorDirectory,
                ])
                #expect(text.contains("held (") && text.contains("confidence: waiting: 0 wave and"), "\(text)")
                // `fleetctl rollouts` lists it, running, with the hold as its reason.
                let listed = try JSONDecoder().decode(
                    [RolloutTests.Rollout].self,
                    from: Data(
                        try await fleet.fleetctl(["rollouts", "--data-dir", fleet.coordinatorDirectory, "--json"]).utf8
                    )
                )
                #expect(listed.map(\.id) == [id] && listed.first?.state == "running", "\(listed.map(\.state))")
                #expect(listed.first?.reason.contains("wave 1 held") == true, "\(listed.map(\.reason))")

                // The operator passes it: wave 2 starts, installs, and is held in turn.
                let promoted = try await base.control(fleet, "promote", id)
                #expect(promoted.status == 0 && promoted.stdout.contains("held wave 1 passed"), "\(promoted)")
                now = try await show(fleet, id)
                #expect(now.state == "running" && now.wave == 2 && now.waves[0].decision == "passed", "\(now.reason)")
                #expect(now.waves[2].startedAt == nil)
                // The controls print the rollout with --json, as `rollout show --json` does.
                for (action, state) in [("pause", "paused"), ("resume", "running")] {
                    let shown = try await base.rollout(fleet, [action, "\(id)"])
                    #expect(shown.id == id && shown.state == state, "\(action): \(shown.state)")
                }
                try await expectEventually(timeout: .seconds(120)) {
                    try await show(fleet, id).waves[1].decision == "held"
                } message: {
                    "wave 2 held: \(await base.describe { try await show(fleet, id) })"
                }

                // Traffic on every device: wave 2's gates get their evidence and it passes by itself; the last wave
                // has no control group, so it passes after its soak and the rollout completes.
                let traffic = fleet.root + "/test.csv"
                try RolloutGoodVersionTests.rows(of: "test", limit: 100, to: traffic)
                let finished = try await eventually(timeout: .seconds(240), every: .milliseconds(500)) {
                    for agent in RolloutTests.six {
                        _ = try await runCommand(
                            "fleet-agent",
                            ["infer", traffic, "--json", "--data-dir", fleet.root + "/agent-\(agent)"]
                        )
                    }
                    return try await show(fleet, id).state != "running"
                }
                now = try await show(fleet, id)
                #expect(finished && now.state == "completed", "\(now.state): \(now.reason)")
                #expect(now.waves.map(\.decision) == ["passed", "passed", "passed"], "\(now.waves.map(\.reason))")
                #expect(now.waves[1].reason.contains("held until its gates had the evidence to pass"))
                let second = try #require(now.waves[1].healthCheck)
                #expect(
                    second.gates.allSatisfy { $0.verdict == "pass" } && second.gates.count == 3,
                    "\(second.gates.map { "\($0.gate): \($0.verdict): \($0.why)" })"
                )
                let last = try #require(now.waves[2].healthCheck)
                #expect(last.gates.allSatisfy { $0.verdict == "no-control" }, "\(last.gates.map(\.verdict))")
                let kinds = try await fleet.events().map(\.kind)
                #expect(kinds.filter { $0 == "rollout_wave_held" }.count == 2, "one event per hold")
                #expect(kinds.filter { $0 == "rollout_wave_promoted" }.count == 1)
                try await expectEventually(timeout: .seconds(60)) {
                    try await base.versions(fleet).values.allSatisfy { $0 == 2 }
                } message: {
                    "every device ends on v2: \(await base.describe { try await base.versions(fleet) })"
                }
            }
        }
    }
}
