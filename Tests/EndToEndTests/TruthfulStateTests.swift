import Foundation
import Testing

/// What `fleetctl` says about devices is true: a stopped coordinator's last view is labelled as such, a cleanly
/// stopped agent is offline at once, and the capabilities an agent was started with survive its restarts.
extension EndToEnd {
    @Suite(.serialized) struct TruthfulStateTests {
        struct Device: Decodable {
            var name: String
            var status: String
            var statusAsOf: String?
            var capabilities: [String: String]
            var ramBytes: UInt64?
        }

        func devices(_ fleet: Fleet) async throws -> (devices: [Device], stderr: String) {
            let result = try await runCommand(
                "fleetctl",
                ["devices", "--data-dir", fleet.coordinatorDirectory, "--json"]
            )
            #expect(result.status == 0, "\(result)")
            return (try JSONDecoder().decode([Device].self, from: Data(result.stdout.utf8)), result.stderr)
        }

        @Test func devicesOfAStoppedCoordinatorAreNotShownOnline() async throws {
            let fleet = try Fleet("coordinator-down")
            defer { fleet.cleanUp() }
            try await fleet.startCoordinator()
            try fleet.startAgent("edge", token: try await fleet.createToken().token)
            #expect(try await eventually(timeout: .seconds(20)) { try await fleet.onlineNames() == ["edge"] })
            let running = try await devices(fleet)
            #expect(running.devices.first?.statusAsOf == nil && running.stderr.isEmpty, "\(running)")

            await fleet.coordinator?.terminate()
            let stopped = try await devices(fleet)
            let device = try #require(stopped.devices.first)
            #expect(device.status == "unknown", "not \"online\" while the coordinator is down")
            let asOf = try #require(device.statusAsOf)
            #expect(ISO8601DateFormatter().date(from: asOf) != nil, "an ISO 8601 instant: \(asOf)")
            #expect(stopped.stderr.contains("the coordinator is not reachable"), "\(stopped.stderr)")
            #expect(stopped.stderr.contains("connection refused") && stopped.stderr.contains("s ago"))
            let table = try await runCommand("fleetctl", ["devices", "--data-dir", fleet.coordinatorDirectory])
            #expect(table.stdout.contains("unknown") && !table.stdout.contains("online"), "\(table.stdout)")

            try await fleet.startCoordinator(port: fleet.port)
            #expect(try await eventually(timeout: .seconds(30)) { try await fleet.onlineNames() == ["edge"] })
            await #expect(try devices(fleet).devices.first?.statusAsOf == nil)
            await fleet.stopAll()
        }

        @Test func aCleanAgentStopSaysGoodbyeAndTheDeviceIsOfflineAtOnce() async throws {
            let fleet = try Fleet("goodbye")
            defer { fleet.cleanUp() }
            // A timeout far beyond the test's wait: only the goodbye can mark the device offline in time.
            fleet.offlineTimeout = "120s"
            try await fleet.startCoordinator()
            let token = try await fleet.createToken(uses: 2)
            try fleet.startAgent("polite", token: token.token)
            try fleet.startAgent("crashed", token: token.token)
            #expect(
                try await eventually(timeout: .seconds(20)) { try await fleet.onlineNames() == ["polite", "crashed"] }
            )

            await fleet.agents["polite"]?.terminate()
            fleet.agents["crashed"]?.kill9()
            let offline = try await eventually(timeout: .seconds(20)) {
                try await fleet.devices().first { $0.name == "polite" }?.status == "offline"
            }
            #expect(offline, "offline after SIGTERM: \(fleet.summary)")
            let politeID = try #require(try await fleet.devices().first { $0.name == "polite" }?.id)
            let event = try #require(try await fleet.events().last { $0.kind == "offline" && $0.device == politeID })
            #expect(event.detail == "goodbye: the agent stopped")
            // kill -9 sends nothing: that device stays online until its (long) heartbeat timeout.
            #expect(try await fleet.devices().first { $0.name == "crashed" }?.status == "online")
            await fleet.stopAll()
        }

        @Test func capabilityOverridesSurviveRestartsAsLabelsDo() async throws {
            let fleet = try Fleet("capabilities")
            defer { fleet.cleanUp() }
            try await fleet.startCoordinator()
            func device() async throws -> Device? { try await devices(fleet).devices.first }

            try fleet.startAgent(
                "small",
                token: try await fleet.createToken().token,
                extra: ["--capability", "ram=48MiB"]
            )
            #expect(try await eventually(timeout: .seconds(20)) { try await device()?.ramBytes == 50_331_648 })
            await fleet.agents["small"]?.terminate()

            // Restarted as the README shows (no --capability): the override holds; a new one merges in.
            try fleet.startAgent("small", token: nil, extra: ["--capability", "accelerator=npu"])
            let merged = try await eventually(timeout: .seconds(20)) {
                try await device()?.capabilities["accelerator"] == "npu"
            }
            let mergedDevice = try? await device()
            #expect(merged, "\(String(describing: mergedDevice))")
            await #expect(try device()?.ramBytes == 50_331_648, "ram=48MiB kept across the restart")
            await fleet.agents["small"]?.terminate()

            // `--capability ram=` drops the override: the detected RAM is reported again.
            try fleet.startAgent("small", token: nil, extra: ["--capability", "ram="])
            let dropped = try await eventually(timeout: .seconds(20)) {
                try await device().map { $0.status == "online" && $0.ramBytes != 50_331_648 } ?? false
            }
            let droppedDevice = try? await device()
            #expect(dropped, "\(String(describing: droppedDevice))")
            await #expect(try device()?.capabilities["accelerator"] == "npu")
            await fleet.stopAll()
        }
    }
}
