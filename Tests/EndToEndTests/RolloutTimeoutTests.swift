import Foundation
import Testing

/// The per-device timeout with real processes (README "Staged rollouts"): an agent that is offline when its wave
/// starts does not hold the wave open; it is marked timed out (an event names it), the rollout completes within
/// `--max-install-failures`, and when the agent comes back it installs the version and its outcome reads installed.
extension EndToEnd {
    @Suite(.serialized) struct RolloutTimeoutTests {
        static let four = ["t-1", "t-2", "t-3", "t-4"]

        @Test func anOfflineDeviceTimesOutSoTheRolloutCompletesAndItInstallsWhenItReturns() async throws {
            let base = RolloutTests()
            let fleet = try await base.startFleet("rollout-timeout", small: Self.four)
            try await fleet.run { fleet in
                await fleet.agents["t-4"]?.terminate()
                try await expectEventually(timeout: .seconds(30)) {
                    try await !fleet.onlineNames().contains("t-4")
                } message: {
                    "t-4 offline: \(fleet.summary)"
                }
                // One wave of all four; 20 s leaves the three online agents ample time to install on a loaded machine.
                let started = try await base.rollOutHeldV2(
                    fleet,
                    [
                        "--waves", "100", "--wave-soak", "0",
                        "--min-devices-per-wave", "1", "--device-timeout", "20s", "--max-install-failures", "30%",
                    ]
                )
                #expect(started.waves.map(\.devices) == [4])
                let offline = try #require(try await fleet.devices().first { $0.name == "t-4" }?.id)

                try await expectEventually(timeout: .seconds(120)) {
                    try await base.show(fleet, started.id).state == "completed"
                } message: {
                    "completed: \(await base.describe { try await base.show(fleet, started.id) })"
                }
                let done = try await base.show(fleet, started.id)
                let wave = try #require(done.waves.first)
                #expect(wave.installed == 3 && wave.failed == 0 && wave.timedOut == 1, "\(wave)")
                #expect(wave.members.first { $0.id == offline }?.outcome == "timed-out", "\(wave.members)")
                #expect(wave.reason.contains("3 installed, 0 failed, 1 timed out"), "\(wave.reason)")
                let timedOut = try await fleet.events().filter { $0.kind == "rollout_device_timed_out" }
                #expect(timedOut.map(\.device) == [offline], "\(timedOut)")
                #expect(timedOut.first?.detail.contains("not installed within 20s") == true, "\(timedOut)")

                // Back online, t-4 installs v2 (the completed rollout released it) and its outcome follows.
                try fleet.startAgent("t-4", token: nil, extra: ["--capability", "ram=48MiB"])
                try await expectEventually(timeout: .seconds(90)) {
                    try await base.versions(fleet)["t-4"] == 2
                } message: {
                    "t-4 runs v2: \(await base.describe { try await base.versions(fleet) })"
                }
                try await expectEventually(timeout: .seconds(30)) {
                    try await base.show(fleet, started.id).waves.first?.members.first { $0.id == offline }?.outcome
                        == "installed"
                } message: {
                    "t-4 installed: \(await base.describe { try await base.show(fleet, started.id).waves })"
                }
            }
        }
    }
}
