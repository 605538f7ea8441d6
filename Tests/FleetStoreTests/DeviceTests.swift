import Foundation
import Testing

@testable import FleetStore

@Suite("Devices, heartbeats and status")
struct DeviceTests {
    @Test(arguments: CoordinatorBackend.allCases)
    func devicesAreOrderedByNameThenID(kind: CoordinatorBackend) async throws {
        try await withCoordinator(kind) { store in
            // Given devices enrolled out of order, two sharing a name
            _ = try await store.createToken(Fixtures.token(uses: 10))
            for (index, name) in [(3, "beta"), (2, "alpha"), (1, "beta"), (4, "Zulu")] {
                _ = try await store.enrol(
                    device: Fixtures.device(index, name: name),
                    tokenHash: Fixtures.hash(1),
                    now: Dates.at(1)
                )
            }

            // When / Then
            #expect(try await store.devices().map(\.id) == ["dev-4", "dev-2", "dev-1", "dev-3"])
            #expect(try await store.deviceCount() == 4)
            #expect(try await store.device(id: "nope") == nil)
            #expect(try await store.device(publicKey: Fixtures.publicKey(2))?.id == "dev-2")
            #expect(try await store.device(publicKey: Fixtures.publicKey(42)) == nil)
        }
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func heartbeatBatchOfAThousandUpdatesEveryDevice(kind: CoordinatorBackend) async throws {
        try await withCoordinator(kind) { store in
            // Given 1,000 enrolled devices
            try await Fixtures.enrolDevices(1000, in: store)

            // When one batch carries a heartbeat for each
            let updates = (0..<1000).map {
                HeartbeatUpdate(deviceID: "dev-\($0)", lastSeen: Dates.at(100 + Double($0)), reported: nil)
            }
            try await store.recordHeartbeats(updates)

            // Then every device has its own lastSeen
            let devices = try await store.devices()
            #expect(devices.count == 1000)
            for device in devices {
                let index = try #require(Int(device.id.dropFirst("dev-".count)))
                #expect(device.lastSeen == Dates.at(100 + Double(index)))
            }
        }
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func heartbeatWithReportedStateReplacesIt(kind: CoordinatorBackend) async throws {
        try await withCoordinator(kind) { store in
            // Given two devices
            try await Fixtures.enrolDevices(2, in: store)
            let models = [
                InstalledModelRecord(name: "kws", version: 3, variant: "int8", sha256: Fixtures.hash(0xC3)),
                InstalledModelRecord(name: "vad", version: 1, variant: "f32", sha256: [0x00, 0xFF]),
            ]
            let reported = ReportedState(
                agentVersion: "1.2.0",
                capabilities: ["arch": "armv7", "ram": "256"],
                installedModels: models
            )

            // When one reports its state and the other only its presence
            try await store.recordHeartbeats([
                HeartbeatUpdate(deviceID: "dev-0", lastSeen: Dates.at(10), reported: reported),
                HeartbeatUpdate(deviceID: "dev-1", lastSeen: Dates.at(11), reported: nil),
            ])

            // Then the first carries the reported state, the second keeps its enrolment state
            let first = try #require(try await store.device(id: "dev-0"))
            #expect(first.agentVersion == "1.2.0")
            #expect(first.capabilities == ["arch": "armv7", "ram": "256"])
            #expect(first.installedModels == models)
            #expect(first.lastSeen == Dates.at(10))
            let second = try #require(try await store.device(id: "dev-1"))
            #expect(second.agentVersion == "1.0.0")
            #expect(second.capabilities == ["arch": "arm64"])
            #expect(second.installedModels.isEmpty)
            #expect(second.lastSeen == Dates.at(11))
        }
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func lastSeenNeverMovesBackAndUnknownDevicesAreIgnored(kind: CoordinatorBackend) async throws {
        try await withCoordinator(kind) { store in
            try await Fixtures.enrolDevices(1, in: store)
            try await store.recordHeartbeats([HeartbeatUpdate(deviceID: "dev-0", lastSeen: Dates.at(50))])

            try await store.recordHeartbeats([
                HeartbeatUpdate(deviceID: "dev-0", lastSeen: Dates.at(40)),
                HeartbeatUpdate(deviceID: "ghost", lastSeen: Dates.at(60)),
            ])
            try await store.recordHeartbeats([])

            #expect(try await store.device(id: "dev-0")?.lastSeen == Dates.at(50))
            #expect(try await store.deviceCount() == 1)
        }
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func setStatusEmitsAnEventOnlyOnChange(kind: CoordinatorBackend) async throws {
        try await withCoordinator(kind) { store in
            // Given an enrolled (offline) device
            try await Fixtures.enrolDevices(1, in: store)
            let before = try await store.events(deviceID: "dev-0", limit: 100, afterSequence: nil)
            let cursor = try #require(before.last?.sequence)

            // When it goes online twice, then offline
            let first = try await store.setStatus(deviceID: "dev-0", status: .online, at: Dates.at(10), detail: "hello")
            let again = try await store.setStatus(deviceID: "dev-0", status: .online, at: Dates.at(11), detail: nil)
            let off = try await store.setStatus(deviceID: "dev-0", status: .offline, at: Dates.at(12), detail: nil)
            let offAgain = try await store.setStatus(deviceID: "dev-0", status: .offline, at: Dates.at(13), detail: nil)

            // Then only the two changes left events
            #expect([first, again, off, offAgain] == [true, false, true, false])
            let events = try await store.events(deviceID: "dev-0", limit: 100, afterSequence: cursor)
            #expect(events.map(\.kind) == ["online", "offline"])
            #expect(events.map(\.detail) == ["hello", ""])
            #expect(events.map(\.at) == [Dates.at(10), Dates.at(12)])
            #expect(try await store.device(id: "dev-0")?.status == .offline)
        }
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func setStatusOfUnknownDeviceIsNotFound(kind: CoordinatorBackend) async throws {
        try await withCoordinator(kind) { store in
            await #expect(throws: StoreError.notFound) {
                try await store.setStatus(deviceID: "ghost", status: .online, at: Dates.at(1), detail: nil)
            }
        }
    }
}
