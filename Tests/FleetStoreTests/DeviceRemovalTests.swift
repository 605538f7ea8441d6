import Foundation
import Testing

@testable import FleetStore

@Suite("Removing a device")
struct DeviceRemovalTests {
    /// Enrols device 1 and gives it a consent record, a sample batch and the enrolment event.
    func storeWithADevice(_ store: CoordinatorStore) async throws {
        _ = try await store.createToken(Fixtures.token(uses: 3))
        _ = try await store.enrol(device: Fixtures.device(1), tokenHash: Fixtures.hash(1), now: Dates.at(1))
        _ = try await store.enrol(device: Fixtures.device(2), tokenHash: Fixtures.hash(1), now: Dates.at(1))
        try await store.appendConsentRecord(
            StoredConsentRecord(
                deviceID: "dev-1",
                sequence: 1,
                purpose: "samples",
                action: "grant",
                until: nil,
                issuedAt: Dates.at(2),
                record: [1, 2, 3],
                receivedAt: Dates.at(2)
            ),
            after: nil,
            eraseSamples: false
        )
        let batch = SampleBatchRecord(
            deviceID: "dev-1",
            idempotencyKey: "k",
            model: "m",
            rowCount: 7,
            compressedCSV: [9, 9],
            consentSequence: 0,
            receivedAt: Dates.at(3)
        )
        #expect(
            try await store.insertSampleBatch(batch, maximumRowsPerDevice: 100) { _ in 1 }
                == .stored(consentSequence: 1)
        )
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func removalRevokesTheKeyAndKeepsTheDataUnlessErased(backend: CoordinatorBackend) async throws {
        try await withCoordinator(backend) { store in
            try await storeWithADevice(store)
            let removal = try #require(try await store.removeDevice(id: "dev-1", erase: false, at: Dates.at(4)))
            #expect(removal == DeviceRemoval(deviceID: "dev-1", name: "device 1", erased: false))
            #expect(try await store.device(id: "dev-1") == nil)
            #expect(try await store.devices().map(\.id) == ["dev-2"])
            #expect(try await store.isRemoved(deviceID: "dev-1"))
            #expect(try await store.sampleRowCount(deviceID: "dev-1") == 7, "kept without --erase")
            #expect(try await store.consentRecords(deviceID: "dev-1").count == 1)
            // The key cannot enrol again, whatever the token.
            _ = try await store.createToken(Fixtures.token(id: "tok-2", hashSeed: 2))
            await #expect(throws: StoreError.deviceKeyInUse) {
                try await store.enrol(device: Fixtures.device(1), tokenHash: Fixtures.hash(2), now: Dates.at(5))
            }
            #expect(try await store.removeDevice(id: "dev-1", erase: false, at: Dates.at(6)) == nil)
        }
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func eraseDeletesEverythingHeldOfTheDevice(backend: CoordinatorBackend) async throws {
        try await withCoordinator(backend) { store in
            try await storeWithADevice(store)
            let removal = try #require(try await store.removeDevice(id: "dev-1", erase: true, at: Dates.at(4)))
            #expect(removal.erased && removal.sampleRows == 7 && removal.consentRecords == 1)
            #expect(removal.otherRows >= 1, "its enrolment event at least")
            #expect(try await store.sampleRowCount(deviceID: "dev-1") == 0)
            #expect(try await store.consentRecords(deviceID: "dev-1").isEmpty)
            let events = try await store.events(deviceID: "dev-1", limit: 10, afterSequence: nil)
            #expect(events.map(\.kind) == ["device_removed"], "only the removal itself is recorded")
            #expect(try await store.device(id: "dev-2") != nil, "other devices are untouched")
        }
    }
}
