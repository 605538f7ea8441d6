import Foundation
import Testing

/// `fleetctl device remove` with the real executables: the removed device's agent is refused and stops, the device
/// leaves `fleetctl devices`, and `--erase` erases what the coordinator held of it.
extension EndToEnd {
    @Suite(.serialized) struct DeviceRemovalTests {
        struct Removal: Decodable {
            var device: String
            var name: String
            var erased: Bool
            var sampleRows: Int
            var driftReports: Int
            var consentRecords: Int
            var otherRows: Int
        }

        struct ConsentHolding: Decodable {
            struct Record: Decodable { var sequence: UInt64 }
            var device: String
            var history: [Record]
        }

        @Test func aRemovedDeviceIsRefusedAndEraseLeavesNothingOfIt() async throws {
            try await Fleet("device-removal").run(scenario)
        }

        func scenario(_ fleet: Fleet) async throws {
            try await fleet.startCoordinator()
            let token = try await fleet.createToken(uses: 2)
            for name in ["cam", "door"] { try fleet.startAgent(name, token: token.token) }
            let online = try await eventually(timeout: .seconds(30)) {
                try await fleet.onlineNames() == ["cam", "door"]
            }
            try #require(online, "both online: \(fleet.summary)")
            for name in ["cam", "door"] {
                let granted = try await runCommand(
                    "fleet-agent",
                    ["consent", "grant", "drift-stats", "--data-dir", fleet.root + "/agent-\(name)"]
                )
                #expect(granted.status == 0, "\(granted.stderr)")
            }
            /// The devices whose consent records the coordinator holds.
            func consentDevices() async throws -> Set<String> {
                let output = try await fleet.fleetctl(["consent", "--data-dir", fleet.coordinatorDirectory, "--json"])
                let holdings = try JSONDecoder().decode([ConsentHolding].self, from: Data(output.utf8))
                return Set(holdings.filter { !$0.history.isEmpty }.map(\.device))
            }
            let ids = Dictionary(uniqueKeysWithValues: try await fleet.devices().map { ($0.name, $0.id) })
            let synced = try await eventually(timeout: .seconds(15)) {
                try await consentDevices() == Set(ids.values)
            }
            try #require(synced, "the coordinator holds both devices' consent")

            // Removed by name, without --erase: refused from then on, its data kept.
            let removed = try await JSONDecoder().decode(
                Removal.self,
                from: Data(
                    fleet.fleetctl(["device", "remove", "cam", "--data-dir", fleet.coordinatorDirectory, "--json"]).utf8
                )
            )
            #expect(removed.device == ids["cam"] && removed.name == "cam" && !removed.erased)
            #expect(try await fleet.devices().map(\.name) == ["door"])
            let cam = try #require(fleet.agents["cam"])
            let camStatus = await cam.waitForExit(timeout: .seconds(20))
            #expect(camStatus != nil && camStatus != 0, "the removed agent stops: \(cam.log.suffix(1500))")
            #expect(cam.log.contains("removed"), "and says why: \(cam.log.suffix(1500))")
            let again = try fleet.startAgent("cam", token: nil)
            let againStatus = await again.waitForExit(timeout: .seconds(20))
            #expect(againStatus != nil && againStatus != 0, "restarted, it is refused again: \(again.log.suffix(1500))")
            let camEvents = try await fleet.events().filter { $0.device == ids["cam"] }.map(\.kind)
            #expect(camEvents.contains("consent_granted") && camEvents.contains("device_removed"), "kept: \(camEvents)")

            // Removed by id with --erase: nothing of it is left but the removal event.
            let doorID = try #require(ids["door"])
            let erased = try await JSONDecoder().decode(
                Removal.self,
                from: Data(
                    fleet.fleetctl([
                        "device", "remove", doorID, "--erase", "--data-dir", fleet.coordinatorDirectory, "--json",
                    ]).utf8
                )
            )
            #expect(erased.erased && erased.consentRecords == 1 && erased.otherRows >= 1, "\(erased)")
            #expect(try await fleet.devices().isEmpty)
            await #expect(try consentDevices().isEmpty)
            let doorEvents = try await fleet.events().filter { $0.device == doorID }
            #expect(doorEvents.map(\.kind) == ["device_removed"], "\(doorEvents.map(\.kind))")
            let door = try #require(fleet.agents["door"])
            let doorStatus = await door.waitForExit(timeout: .seconds(20))
            #expect(doorStatus != nil && doorStatus != 0, "the erased device's agent stops: \(door.log.suffix(1500))")

            // An unknown device is an error that says so.
            let unknown = try await runCommand(
                "fleetctl",
                ["device", "remove", "nobody", "--data-dir", fleet.coordinatorDirectory]
            )
            #expect(unknown.status != 0 && unknown.stderr.contains("no device \"nobody\""), "\(unknown.stderr)")
        }
    }
}
