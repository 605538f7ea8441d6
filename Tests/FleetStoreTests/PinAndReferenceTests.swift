import Foundation
import Testing

@testable import FleetStore

/// Version pins and reference packages, on every backend.
@Suite struct PinAndReferenceTests {
    @Test(arguments: CoordinatorBackend.allCases)
    func aDevicesOwnPinWinsOverTheFleetWideOneAndUnpinningIsRecorded(backend: CoordinatorBackend) async throws {
        try await withCoordinator(backend) { store in
            #expect(try await store.pin(deviceID: "dev-1", model: "m") == nil)
            let fleet = ModelPin(
                deviceID: ModelPin.everyDevice,
                model: "m",
                version: 2,
                rollback: false,
                pinnedAt: Dates.at(1)
            )
            let own = ModelPin(deviceID: "dev-1", model: "m", version: 1, rollback: true, pinnedAt: Dates.at(2))
            try await store.setPin(fleet)
            #expect(try await store.pin(deviceID: "dev-1", model: "m") == fleet)
            try await store.setPin(own)
            #expect(try await store.pin(deviceID: "dev-1", model: "m") == own)
            #expect(try await store.pin(deviceID: "dev-2", model: "m") == fleet)
            #expect(try await store.pin(deviceID: "dev-1", model: "other") == nil)
            let replaced = ModelPin(deviceID: "dev-1", model: "m", version: 3, rollback: false, pinnedAt: Dates.at(3))
            try await store.setPin(replaced)
            #expect(try await store.pin(deviceID: "dev-1", model: "m") == replaced)
            #expect(try await store.removePin(deviceID: "dev-1", model: "m"))
            #expect(!(try await store.removePin(deviceID: "dev-1", model: "m")))
            #expect(try await store.pin(deviceID: "dev-1", model: "m") == fleet)
            let events = try await store.events(after: 0, limit: 10)
            #expect(events.map(\.kind) == ["pinned", "pinned", "pinned", "unpinned"])
            #expect(events.map(\.detail).first == "m v2 for every device")
            #expect(events.map(\.detail)[1] == "m v1 (rollback)")
            await #expect(throws: StoreError.invalidArgument) {
                try await store.setPin(
                    ModelPin(deviceID: "dev-1", model: "m", version: 0, rollback: false, pinnedAt: Dates.at(4))
                )
            }
        }
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func referencePackagesAreReplacedAndTheNewestIsFound(backend: CoordinatorBackend) async throws {
        try await withCoordinator(backend) { store in
            #expect(try await store.latestReferenceStatistics(model: "m") == nil)
            try await store.setReferenceStatistics(model: "m", version: 1, statistics: [1], at: Dates.at(1))
            try await store.setReferenceStatistics(model: "m", version: 3, statistics: [3], at: Dates.at(2))
            try await store.setReferenceStatistics(model: "m", version: 1, statistics: [1, 1], at: Dates.at(3))
            #expect(try await store.referenceStatistics(model: "m", version: 1) == [1, 1])
            #expect(try await store.referenceStatistics(model: "m", version: 2) == nil)
            let latest = try #require(try await store.latestReferenceStatistics(model: "m"))
            #expect(latest.version == 3 && latest.statistics == [3])
        }
    }
}
