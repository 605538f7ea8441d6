import FleetCoordinator
import Foundation
import Testing

/// Staged rollouts with real processes (README "Staged rollouts"): a version pushed with `--no-assign` reaches the
/// devices wave by wave from a recorded seed; pause, resume, abort and promote from the command line; a coordinator
/// killed mid-wave carries on; install failures halt a rollout and `--auto-rollback` returns the wave to v1, while
/// devices outside the started waves never fetch the new version.
extension EndToEnd {
    @Suite(.serialized) struct RolloutTests {
        static let models = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("FleetDeltaTests/Fixtures").path

        struct Rollout: Decodable {
            struct Wave: Decodable {
                struct Member: Decodable {
                    var id: String
                    var name: String?
                    var outcome: String
                }
                var number: Int
                var percent: Int
                var devices: Int
                var installed: Int
                var failed: Int
                /// Absent from rollouts shown by a fleetctl older than the device timeout.
                var timedOut: Int?
                var health: String
                var decision: String
                var reason: String
                var startedAt: String?
                var members: [Member]
            }
            var id: Int
            var model: String
            var version: Int
            var state: String
            var wave: Int
            var reason: String
            var seed: UInt64
            var waves: [Wave]
        }

        struct DeviceModels: Decodable {
            struct Installed: Decodable {
                var name: String
                var version: Int
            }
            var id: String
            var name: String
            var installedModels: [Installed]
        }

        struct TransferRecord: Decodable {
            var deviceID: String
            var version: Int
            var completedAt: String
        }

        struct Pushed: Decodable { var assignedDevices: Int }

        func push(
            _ fleet: Fleet,
            version: Int,
            variant: String,
            minRam: String,
            accuracy: String,
            held: Bool
        ) async throws
            -> Pushed
        {
            try JSONDecoder().decode(
                Pushed.self,
                from: Data(
                    await fleet.fleetctl(
                        [
                            "model", "push", "digits-mlp", "--data-dir", fleet.coordinatorDirectory, "--version",
                            "\(version)", "--variant", variant, "--file",
                            "\(Self.models)/digits-mlp-v\(version)-\(variant).safetensors", "--accuracy", accuracy,
                            "--min-ram", minRam, "--json",
                        ] + (held ? ["--no-assign"] : [])
                    ).utf8
                )
            )
        }

        func devices(_ fleet: Fleet) async throws -> [DeviceModels] {
            try JSONDecoder().decode(
                [DeviceModels].self,
                from: Data(await fleet.fleetctl(["devices", "--data-dir", fleet.coordinatorDirectory, "--json"]).utf8)
            )
        }

        /// Device name → the digits-mlp version the coordinator last heard it runs.
        func versions(_ fleet: Fleet) async throws -> [String: Int] {
            Dictionary(
                try await devices(fleet).map {
                    ($0.name, $0.installedModels.first { $0.name == "digits-mlp" }?.version ?? 0)
                },
                uniquingKeysWith: { first, _ in first }
            )
        }

        func transfers(_ fleet: Fleet) async throws -> [TransferRecord] {
            try JSONDecoder().decode(
                [TransferRecord].self,
                from: Data(
                    await fleet.fleetctl(["transfers", "--data-dir", fleet.coordinatorDirectory, "--json"]).utf8
                )
            )
        }

        func rollout(_ fleet: Fleet, _ arguments: [String]) async throws -> Rollout {
            try JSONDecoder().decode(
                Rollout.self,
                from: Data(
                    await fleet.fleetctl(
                        ["rollout"] + arguments + ["--data-dir", fleet.coordinatorDirectory, "--json"]
                    ).utf8
                )
            )
        }

        func show(_ fleet: Fleet, _ id: Int) async throws -> Rollout { try await rollout(fleet, ["show", "\(id)"]) }

        /// Publishes digits-mlp v2 (int8) without assigning it (`--no-assign`), then starts its rollout:
        /// `rollout start digits-mlp --version 2` followed by `arguments`.
        func rollOutHeldV2(_ fleet: Fleet, _ arguments: [String]) async throws -> Rollout {
            let pushed = try await push(
                fleet,
                version: 2,
                variant: "int8",
                minRam: "32MiB",
                accuracy: "0.978",
                held: true
            )
            #expect(pushed.assignedDevices == 0, "--no-assign assigns v2 to no device")
            return try await rollout(fleet, ["start", "digits-mlp", "--version", "2"] + arguments)
        }

        func control(
            _ fleet: Fleet,
            _ action: String,
            _ id: Int
        ) async throws -> (status: Int32, stdout: String, stderr: String) {
            try await runCommand("fleetctl", ["rollout", action, "\(id)", "--data-dir", fleet.coordinatorDirectory])
        }

        /// Six agents of `kind` (ram per name), all running v1 (int8, or fp32 for the ones with 1 GiB).
        func startFleet(
            _ name: String,
            small: [String],
            big: [String] = [],
            agentArguments: [String] = [],
            heartbeat: (interval: String, offlineTimeout: String)? = nil
        )
            async throws -> Fleet
        {
            let fleet = try Fleet(name)
            if let heartbeat {
                fleet.heartbeat = heartbeat.interval
                fleet.offlineTimeout = heartbeat.offlineTimeout
            }
            try await fleet.startCoordinator()
            let token = try await fleet.createToken(uses: small.count + big.count)
            for agent in big {
                try fleet.startAgent(agent, token: token.token, extra: ["--capability", "ram=1GiB"] + agentArguments)
            }
            for agent in small {
                try fleet.startAgent(agent, token: token.token, extra: ["--capability", "ram=48MiB"] + agentArguments)
            }
            #expect(
                try await eventually(timeout: .seconds(60)) {
                    try await fleet.onlineNames().count == small.count + big.count
                }
            )
            if !big.isEmpty {
                _ = try await push(fleet, version: 1, variant: "fp32", minRam: "128MiB", accuracy: "0.971", held: false)
                #expect(
                    try await eventually(timeout: .seconds(90)) {
                        try await big.allSatisfy { try await versions(fleet)[$0] == 1 }
                    }
                )
            }
            _ = try await push(fleet, version: 1, variant: "int8", minRam: "32MiB", accuracy: "0.973", held: false)
            try await expectEventually(timeout: .seconds(90)) {
                try await (small + big).allSatisfy { try await versions(fleet)[$0] == 1 }
            } message: {
                "every device runs v1: \(await describe { try await versions(fleet) })"
            }
            return fleet
        }

        /// For failure messages: what `body` gives, or why it could not.
        func describe(_ body: () async throws -> Any) async -> String {
            do { return "\(try await body())" } catch { return "(\(error))" }
        }

        static let six = ["a-1", "a-2", "a-3", "a-4", "a-5", "a-6"]

        /// Every health gate off: for the tests about waves, membership and controls, whose devices see no
        /// traffic; with the gates on, their waves would be held for want of evidence (README "Staged rollouts").
        static let gatesOff = [
            "--max-error-rate", "off", "--max-accuracy-drop", "off", "--max-confidence-drop", "off", "--max-drift-psi",
            "off", "--max-restarts", "off",
        ]

        static func date(_ text: String?) -> Date? { text.flatMap { ISO8601DateFormatter().date(from: $0) } }

        @Test func aGoodVersionCompletesWaveByWaveAndNoDeviceFetchesItBeforeItsWave() async throws {
            let fleet = try await startFleet("rollout-good", small: Self.six)
            try await fleet.run { fleet in
                let started = try await rollOutHeldV2(
                    fleet,
                    [
                        "--waves", "34,67,100", "--wave-soak", "1s",
                        "--min-devices-per-wave", "1", "--seed", "7",
                    ] + Self.gatesOff
                )
                #expect(started.state == "running" && started.wave == 1 && started.seed == 7)
                #expect(started.waves.map(\.devices) == [2, 2, 2], "34/67/100 % of 6 devices")
                // The recorded membership is the one the seed gives: reproducible.
                let ids = try await devices(fleet).map(\.id)
                let expected = RolloutWaves.members(devices: ids, sizes: [2, 2, 2], seed: 7).map(Set.init)
                #expect(started.waves.map { Set($0.members.map(\.id)) } == expected)

                try await expectEventually(timeout: .seconds(180)) {
                    try await show(fleet, started.id).state == "completed"
                } message: {
                    "completed: \(await describe { try await show(fleet, started.id) })"
                }
                let done = try await show(fleet, started.id)
                for wave in done.waves {
                    #expect(wave.decision == "passed" && wave.health == "healthy", "\(wave)")
                    #expect(wave.installed == wave.devices && wave.failed == 0, "\(wave)")
                }
                try await expectEventually(timeout: .seconds(60)) {
                    try await versions(fleet).values.allSatisfy { $0 == 2 }
                } message: {
                    "every device ends on v2: \(await describe { try await versions(fleet) })"
                }
                // No device installed v2 before its wave started.
                let waveStart = Dictionary(
                    done.waves.flatMap { wave in wave.members.map { ($0.id, Self.date(wave.startedAt)) } },
                    uniquingKeysWith: { first, _ in first }
                )
                let v2 = try await transfers(fleet).filter { $0.version == 2 }
                #expect(Set(v2.map(\.deviceID)) == Set(ids))
                for transfer in v2 {
                    let started = try #require(waveStart[transfer.deviceID] ?? nil)
                    let completed = try #require(Self.date(transfer.completedAt))
                    #expect(
                        completed >= started,
                        "\(transfer.deviceID) got v2 at \(completed), its wave began \(started)"
                    )
                }
                let kinds = try await fleet.events().map(\.kind)
                #expect(kinds.filter { $0 == "rollout_wave_started" }.count == 3)
                #expect(kinds.filter { $0 == "rollout_wave_passed" }.count == 3)
                #expect(kinds.contains("rollout_started") && kinds.contains("rollout_completed"))
            }
        }

        @Test func pauseResumePromoteAbortFromTheCommandLineAndAKilledCoordinatorCarriesOn() async throws {
            let fleet = try await startFleet("rollout-control", small: Self.six)
            try await fleet.run { fleet in
                let started = try await rollOutHeldV2(
                    fleet,
                    [
                        "--waves", "34,67,100", "--wave-soak", "1h",
                        "--min-devices-per-wave", "1",
                    ]
                )
                let first = Set(started.waves[0].members.map(\.id))
                // Health gate limits out of range are refused with the flag's rule.
                for (gate, value) in [
                    ("--max-error-rate", "101%"), ("--max-accuracy-drop", "101"), ("--max-confidence-drop", "2"),
                    ("--max-drift-psi", "many"),
                ] {
                    let refused = try await runCommand(
                        "fleetctl",
                        [
                            "rollout", "start", "digits-mlp", "--version", "2", gate, value, "--data-dir",
                            fleet.coordinatorDirectory,
                        ]
                    )
                    #expect(refused.status != 0 && refused.stderr.contains(gate), "\(gate): \(refused)")
                }
                // Killed mid-wave (right after the first wave was assigned), then started again on the same port.
                fleet.coordinator?.kill9()
                try await fleet.startCoordinator(port: fleet.port)
                let names = Dictionary(
                    try await devices(fleet).map { ($0.id, $0.name) },
                    uniquingKeysWith: { a, _ in a }
                )
                try await expectEventually(timeout: .seconds(120)) {
                    let wave = try await show(fleet, started.id).waves[0]
                    return wave.installed == 2 && wave.decision == "soaking"
                } message: {
                    "the first wave installs and settles after the restart: \(await describe { try await show(fleet, started.id) })"
                }
                var now = try await show(fleet, started.id)
                #expect(now.state == "running" && now.wave == 1 && now.seed == started.seed)
                #expect(Set(now.waves[0].members.map(\.id)) == first, "the same members after the restart")
                // The others still run v1 and never fetched v2.
                try await expectEventually(timeout: .seconds(30)) {
                    let running = try await versions(fleet)
                    return names.allSatisfy { running[$0.value] == (first.contains($0.key) ? 2 : 1) }
                } message: {
                    "the first wave runs v2, the others v1: \(await describe { try await versions(fleet) })"
                }
                #expect(
                    try await transfers(fleet).filter { $0.version == 2 }.allSatisfy { first.contains($0.deviceID) }
                )

                #expect(try await control(fleet, "pause", started.id).status == 0)
                #expect(try await show(fleet, started.id).state == "paused")
                let again = try await control(fleet, "pause", started.id)
                #expect(again.status != 0 && again.stderr.contains("only a running rollout"), "\(again)")
                #expect(try await control(fleet, "resume", started.id).status == 0)
                #expect(try await show(fleet, started.id).state == "running")
                #expect(try await control(fleet, "promote", started.id).status == 0)
                now = try await show(fleet, started.id)
                #expect(now.state == "completed" && now.waves.dropFirst().allSatisfy { $0.decision == "promoted" })
                try await expectEventually(timeout: .seconds(90)) {
                    try await versions(fleet).values.allSatisfy { $0 == 2 }
                } message: {
                    "promoted: every device on v2: \(await describe { try await versions(fleet) })"
                }

                // Abort: the first wave keeps v3, the others stay on v2 and never fetch v3.
                _ = try await push(fleet, version: 3, variant: "int8", minRam: "32MiB", accuracy: "0.982", held: true)
                let third = try await rollout(
                    fleet,
                    [
                        "start", "digits-mlp", "--version", "3", "--waves", "34,67,100", "--wave-soak", "1h",
                        "--min-devices-per-wave", "1",
                    ]
                )
                let wave = Set(third.waves[0].members.map(\.id))
                #expect(
                    try await eventually(timeout: .seconds(90)) {
                        try await show(fleet, third.id).waves[0].installed == 2
                    }
                )
                #expect(try await control(fleet, "abort", third.id).status == 0)
                now = try await show(fleet, third.id)
                #expect(now.state == "aborted" && now.waves.dropFirst().allSatisfy { $0.startedAt == nil })
                let resumed = try await control(fleet, "resume", third.id)
                #expect(resumed.status != 0 && resumed.stderr.contains("aborted"), "\(resumed)")
                try await expectEventually(timeout: .seconds(30)) {
                    let running = try await versions(fleet)
                    return names.allSatisfy { running[$0.value] == (wave.contains($0.key) ? 3 : 2) }
                } message: {
                    "the aborted rollout's first wave keeps v3, the others v2: \(await describe { try await versions(fleet) })"
                }
                #expect(try await transfers(fleet).filter { $0.version == 3 }.allSatisfy { wave.contains($0.deviceID) })
                let kinds = try await fleet.events().map(\.kind)
                for kind in ["rollout_paused", "rollout_resumed", "rollout_completed", "rollout_aborted"] {
                    #expect(kinds.contains(kind), "event \(kind)")
                }
            }
        }

        @Test func installFailuresHaltTheRolloutAndAutoRollbackReturnsTheWaveToV1() async throws {
            let big = ["big-1", "big-2", "big-3"]
            let small = ["small-1", "small-2", "small-3"]
            let fleet = try await startFleet("rollout-halt", small: small, big: big)
            try await fleet.run { fleet in
                _ = try await push(fleet, version: 2, variant: "fp32", minRam: "128MiB", accuracy: "0.980", held: true)
                _ = try await push(fleet, version: 2, variant: "int8", minRam: "32MiB", accuracy: "0.978", held: true)
                // The v2 int8 blob is corrupted on the coordinator: every small device refuses it (hash-mismatch).
                let int8 = try Data(contentsOf: URL(fileURLWithPath: "\(Self.models)/digits-mlp-v2-int8.safetensors"))
                let blob = try #require(
                    try FileManager.default.subpathsOfDirectory(atPath: fleet.coordinatorDirectory + "/blobs")
                        .map { fleet.coordinatorDirectory + "/blobs/" + $0 }
                        .first { (try? Data(contentsOf: URL(fileURLWithPath: $0))) == int8 }
                )
                var tampered = int8
                tampered[tampered.count - 100] ^= 0x5A
                try tampered.write(to: URL(fileURLWithPath: blob))

                // A seed whose first wave (3 of 6) mixes both kinds: a device that installs v2 and one that refuses it.
                let all = try await devices(fleet)
                let bigIDs = Set(all.filter { big.contains($0.name) }.map(\.id))
                let seed = try #require(
                    (UInt64(1)...1000).first { seed in
                        let first = RolloutWaves.members(devices: all.map(\.id), sizes: [3, 3], seed: seed)[0]
                        return first.contains { bigIDs.contains($0) } && first.contains { !bigIDs.contains($0) }
                    }
                )
                let started = try await rollout(
                    fleet,
                    [
                        "start", "digits-mlp", "--version", "2", "--waves", "50,100", "--wave-soak", "1s",
                        "--min-devices-per-wave", "1", "--max-install-failures", "20%", "--auto-rollback", "--seed",
                        "\(seed)",
                    ] + Self.gatesOff
                )
                let first = Set(started.waves[0].members.map(\.id))
                #expect(first == Set(RolloutWaves.members(devices: all.map(\.id), sizes: [3, 3], seed: seed)[0]))
                try await expectEventually(timeout: .seconds(120)) {
                    try await show(fleet, started.id).state == "rolled-back"
                } message: {
                    "rolled back: \(await describe { try await show(fleet, started.id) })"
                }
                let halted = try await show(fleet, started.id)
                #expect(halted.waves[0].failed >= 1 && halted.waves[0].health == "unhealthy", "\(halted.waves[0])")
                #expect(halted.waves[0].decision == "rolled-back" && halted.reason.contains("refused"), "\(halted)")
                #expect(halted.waves[1].startedAt == nil && halted.waves[1].decision == "waiting")
                // Every device ends on v1: the wave's devices through the rollback directive, the others untouched.
                try await expectEventually(timeout: .seconds(90)) {
                    try await versions(fleet).values.allSatisfy { $0 == 1 }
                } message: {
                    "every device on v1: \(await describe { try await versions(fleet) })"
                }
                #expect(
                    try await transfers(fleet).filter { $0.version == 2 }.allSatisfy { first.contains($0.deviceID) }
                )
                let events = try await fleet.events()
                #expect(events.contains { $0.kind == "rollout_halted" })
                #expect(events.contains { $0.kind == "rollout_rolled_back" })
                let refusals = events.filter { $0.kind == "install_refused" && $0.detail.hasPrefix("digits-mlp v2 ") }
                    .compactMap(\.device)
                #expect(!refusals.isEmpty && refusals.allSatisfy { first.contains($0) && !bigIDs.contains($0) })
                let rollbacks = events.filter { $0.kind == "pinned" && $0.detail.contains("(rollback)") }
                #expect(Set(rollbacks.compactMap(\.device)) == first, "the first wave's devices are sent back to v1")
            }
        }
    }
}
