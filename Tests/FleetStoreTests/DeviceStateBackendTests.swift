import Foundation
import Testing

@testable import FleetStore

/// Gateways, the `/metrics` gauges and device removal, on every backend.
@Suite struct DeviceStateBackendTests {
    func enrolThree(_ store: CoordinatorStore) async throws {
        _ = try await store.createToken(Fixtures.token(uses: 3))
        for index in 1...3 {
            _ = try await store.enrol(device: Fixtures.device(index), tokenHash: Fixtures.hash(1), now: Dates.at(1))
        }
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func aLeafsGatewayIsRecordedChangedAndClearedAndLeavesWithItsDevice(backend: CoordinatorBackend) async throws {
        try await withCoordinator(backend) { store in
            try await enrolThree(store)
            try await store.setGateway(deviceID: "dev-2", gatewayID: "dev-1")
            try await store.setGateway(deviceID: "dev-3", gatewayID: "dev-1")
            try await store.setGateway(deviceID: "dev-3", gatewayID: "dev-1")
            #expect(
                try await store.deviceGateways().map { [$0.deviceID, $0.gatewayID] } == [
                    ["dev-2", "dev-1"], ["dev-3", "dev-1"],
                ]
            )
            try await store.setGateway(deviceID: "dev-3", gatewayID: "dev-2")
            try await store.setGateway(deviceID: "dev-2", gatewayID: nil)
            #expect(try await store.deviceGateways().map { [$0.deviceID, $0.gatewayID] } == [["dev-3", "dev-2"]])
            _ = try await store.removeDevice(id: "dev-3", erase: false, at: Dates.at(2))
            #expect(try await store.deviceGateways().isEmpty, "a removed device's gateway row goes with it")
        }
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func gaugesCountDevicesByStatusAndTakeEachModelsLatestEvaluatedRound(backend: CoordinatorBackend) async throws {
        try await withCoordinator(backend) { store in
            #expect(
                try await store.fleetGauges()
                    == FleetGauges(devicesByStatus: [.online: 0, .offline: 0], latestRoundAccuracy: [:])
            )
            try await enrolThree(store)
            _ = try await store.setStatus(deviceID: "dev-1", status: .online, at: Dates.at(2), detail: nil)
            // Rounds are written by a file not yet ported: the rows the gauges read, as that file writes them.
            try await store.sqlWrite { connection in
                for (model, accuracy) in [("a", 0.5), ("a", 0.75), ("a", nil), ("b", 1.0)] as [(String, Double?)] {
                    try connection.execute(
                        #"""
                        INSERT INTO "round" ("model", "variant", "baseVersion", "status", "strategy", "seed", "startedAt",
                            "testAccuracy") VALUES (?, 'fp32', 1, 'published', 'fedavg', 7, 0, ?)
                        """#,
                        [.text(model), accuracy.map(SQLValue.real) ?? .null]
                    )
                }
            }
            let gauges = try await store.fleetGauges()
            #expect(gauges.devicesByStatus == [.online: 1, .offline: 2])
            #expect(gauges.latestRoundAccuracy == ["a": 0.75, "b": 1.0])
        }
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func removalRevokesTheKeyKeepsTheEventsAndHappensOnce(backend: CoordinatorBackend) async throws {
        try await withCoordinator(backend) { store in
            try await enrolThree(store)
            let removal = try #require(try await store.removeDevice(id: "dev-1", erase: false, at: Dates.at(4)))
            #expect(removal == DeviceRemoval(deviceID: "dev-1", name: "device 1", erased: false))
            #expect(try await store.device(id: "dev-1") == nil)
            #expect(try await store.devices().map(\.id) == ["dev-2", "dev-3"])
            #expect(try await store.isRemoved(deviceID: "dev-1"))
            #expect(!(try await store.isRemoved(deviceID: "dev-2")))
            #expect(
                try await store.events(deviceID: "dev-1", limit: 10, afterSequence: nil).map(\.kind)
                    == ["enrolled", "device_removed"]
            )
            _ = try await store.createToken(Fixtures.token(id: "tok-2", hashSeed: 2))
            await #expect(throws: StoreError.deviceKeyInUse) {
                try await store.enrol(device: Fixtures.device(1), tokenHash: Fixtures.hash(2), now: Dates.at(5))
            }
            #expect(try await store.removeDevice(id: "dev-1", erase: false, at: Dates.at(6)) == nil)
        }
    }
}
