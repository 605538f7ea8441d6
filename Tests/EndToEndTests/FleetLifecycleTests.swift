import Foundation
import Testing

/// The foundation scenario with real processes on loopback: enrol three agents, lose one to `kill -9`,
/// restart the coordinator, and check that the fleet heals itself with nothing lost.
extension EndToEnd {
    @Suite(.serialized) struct FleetLifecycleTests {
        @Test func enrolHeartbeatOfflineAndCoordinatorRestart() async throws {
            let fleet = try Fleet("lifecycle")
            defer { fleet.cleanUp() }
            try await fleet.startCoordinator()

            // Regions come from the administrator's tokens; a device's own labels fill in the rest.
            for (name, region) in [("edge-1", "eu"), ("edge-2", "us"), ("edge-3", "ap")] {
                let token = try await fleet.createToken(uses: 1, labels: ["fleet=e2e", "region=\(region)"])
                try fleet.startAgent(name, token: token.token, extra: ["--label", "room=\(name)"])
            }
            let allOnline = try await eventually(timeout: .seconds(30)) {
                try await fleet.onlineNames() == ["edge-1", "edge-2", "edge-3"]
            }
            #expect(allOnline, "three agents online: \(fleet.summary)")
            let before = try await fleet.devices()
            #expect(before.count == 3)
            #expect(before.first { $0.name == "edge-2" }?.labels == ["fleet": "e2e", "region": "us", "room": "edge-2"])
            #expect(before.allSatisfy { $0.lastSeen != nil && $0.capabilities["arch"] != nil })

            // kill -9 one agent: it goes offline within the announced timeout (1.5 s), plus one presence flush (1 s).
            let killedAt = ContinuousClock.now
            fleet.agents["edge-3"]?.kill9()
            let wentOffline = try await eventually(timeout: .seconds(20), every: .milliseconds(50)) {
                try await fleet.devices().first { $0.name == "edge-3" }?.status == "offline"
            }
            let offlineAfter = ContinuousClock.now - killedAt
            #expect(wentOffline)
            // The coordinator's own measure: silence at the moment it marked the device offline ("no heartbeat for Ns")
            // is the announced 1.5 s timeout plus at most one presence flush (1 s), rounded to whole seconds.
            let edgeThree = try #require(before.first { $0.name == "edge-3" }?.id)
            let offline = try #require(try await fleet.events().last { $0.kind == "offline" && $0.device == edgeThree })
            let silence = Int(offline.detail.split(separator: " ").last?.dropLast() ?? "") ?? .max
            #expect(silence <= 3, "marked offline after \(silence) s of silence: \(offline.detail)")
            // Seen by this test (which shells out to fleetctl while other tests load the machine): well within bounds.
            #expect(offlineAfter < .seconds(15), "offline seen after \(offlineAfter)")
            #expect(try await fleet.onlineNames() == ["edge-1", "edge-2"])

            // Restart the coordinator on the same port: the agents reconnect by themselves.
            let port = fleet.port
            let eventsBefore = try await fleet.events()
            await fleet.coordinator?.terminate()
            let whileDown = try await fleet.devices()  // read-only SQLite while the coordinator is down
            #expect(whileDown.count == 3)
            try await fleet.startCoordinator(port: port)
            let reconnected = try await eventually(timeout: .seconds(30)) {
                try await fleet.onlineNames() == ["edge-1", "edge-2"]
            }
            #expect(reconnected, "agents reconnected: \(fleet.summary)")

            let after = try await fleet.devices()
            #expect(Set(after.map(\.id)) == Set(before.map(\.id)))
            for device in before {
                #expect(after.first { $0.id == device.id }?.labels == device.labels)
            }
            let eventsAfter = try await fleet.events()
            let sequencesAfter = Set(eventsAfter.map(\.sequence))
            #expect(
                eventsBefore.allSatisfy { sequencesAfter.contains($0.sequence) },
                "no event lost across the restart"
            )
            #expect(eventsAfter.filter { $0.kind == "enrolled" }.count == 3)
            #expect(
                eventsAfter.contains { $0.kind == "offline" && $0.device == before.first { $0.name == "edge-3" }?.id }
            )
            #expect(fleet.agents["edge-1"]?.isRunning == true)
            await fleet.stopAll()
        }

        @Test func usedTokenIsRefusedAndTheAgentSaysWhatToDo() async throws {
            let fleet = try Fleet("token")
            defer { fleet.cleanUp() }
            try await fleet.startCoordinator()
            let token = try await fleet.createToken()
            try fleet.startAgent("first", token: token.token)
            #expect(try await eventually(timeout: .seconds(20)) { try await fleet.onlineNames() == ["first"] })

            let second = try fleet.startAgent("second", token: token.token)
            let status = await second.waitForExit(timeout: .seconds(20))
            #expect(status != nil && status != 0, "the second agent gives up")
            #expect(second.log.contains("token-used"), "log names the error: \(second.log)")
            #expect(second.log.contains("fleetctl token create"), "log says what to do: \(second.log)")
            #expect(try await fleet.devices().count == 1)
            #expect(
                try await fleet.events().contains { $0.kind == "enrol_refused" && $0.detail.contains("token-used") }
            )
            #expect(fleet.coordinator?.isRunning == true)
            await fleet.stopAll()
        }
    }
}
