import FleetTrust
import Foundation
import Testing

@testable import FleetStore

/// `device remove --erase` leaves no quota grant or usage receipt of the device (SPEC 5.38).
@Suite struct MeteringErasureTests {
    @Test func eraseDeletesTheDevicesGrantsAndReceipts() async throws {
        let store = try CoordinatorStore.inMemory()
        _ = try await store.createToken(Fixtures.token(uses: 3))
        _ = try await store.enrol(device: Fixtures.device(1), tokenHash: Fixtures.hash(1), now: Dates.at(1))
        _ = try await store.enrol(device: Fixtures.device(2), tokenHash: Fixtures.hash(1), now: Dates.at(1))
        let key = ReleaseKey.generate()
        for device in ["dev-1", "dev-2"] {
            _ = try await store.addQuotaGrant(deviceID: device, model: "m", at: Dates.at(2)) { sequence in
                try SignedQuotaGrant.sign(
                    QuotaGrant(deviceID: device, model: "m", sequence: sequence, queries: 10, issuedAt: Dates.at(2)),
                    with: key
                )
            }
            let receipt = UsageReceiptRecord(
                deviceID: device,
                position: 0,
                hash: [1],
                model: "m",
                grantSequence: 1,
                kind: 0,
                count: 3,
                priceMicros: 5,
                currency: "USD",
                windowStart: Dates.at(3),
                windowEnd: Dates.at(3),
                receivedAt: Dates.at(3),
                flags: [],
                record: [2]
            )
            try await store.appendUsageReceipts([receipt], events: [])
        }
        let removal = try #require(try await store.removeDevice(id: "dev-1", erase: true, at: Dates.at(4)))
        #expect(removal.otherRows >= 2)
        #expect(try await store.quotaGrants(deviceID: "dev-1").isEmpty)
        #expect(try await store.usageReceipts(deviceID: "dev-1").isEmpty)
        #expect(try await store.quotaGrants(deviceID: "dev-2").count == 1, "other devices are untouched")
        #expect(try await store.usageReceipts(deviceID: "dev-2").map(\.amountMicros) == [15])
    }
}
