import FleetTrust
import Foundation
import Testing

@testable import FleetStore

/// Quota grants and usage receipts (`Protocol/METERING.md`) on every backend, and `device remove --erase`
/// leaving none of the device's (SPEC 5.38).
@Suite struct MeteringErasureTests {
    static let key = ReleaseKey.generate()

    static func grant(
        _ store: CoordinatorStore,
        device: String,
        model: String = "m",
        queries: UInt64 = 10
    )
        async throws -> SignedQuotaGrant
    {
        try await store.addQuotaGrant(deviceID: device, model: model, at: Dates.at(2)) { sequence in
            try SignedQuotaGrant.sign(
                QuotaGrant(deviceID: device, model: model, sequence: sequence, queries: queries, issuedAt: Dates.at(2)),
                with: key
            )
        }
    }

    static func receipt(device: String, position: UInt64, count: UInt64, windowEnd: Double) -> UsageReceiptRecord {
        UsageReceiptRecord(
            deviceID: device,
            position: position,
            hash: [UInt8(position), 1],
            model: "m",
            grantSequence: 1,
            kind: 0,
            count: count,
            priceMicros: 5,
            currency: "USD",
            windowStart: Dates.at(windowEnd - 1),
            windowEnd: Dates.at(windowEnd),
            receivedAt: Dates.at(windowEnd + 1),
            flags: position == 1 ? ["late", "grace"] : [],
            record: [2, UInt8(position)]
        )
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func grantsTakeConsecutiveSequencesAndReadBackByDevice(backend: CoordinatorBackend) async throws {
        try await withCoordinator(backend) { store in
            let first = try await Self.grant(store, device: "dev-1")
            let second = try await Self.grant(store, device: "dev-2")
            let third = try await Self.grant(store, device: "dev-1", queries: 20)
            #expect([first, second, third].map(\.grant.sequence) == [1, 2, 3])
            #expect(try await store.quotaGrants() == [first, second, third])
            #expect(try await store.quotaGrants(deviceID: "dev-1") == [first, third])
            #expect(try await store.quotaGrants(deviceID: "dev-1", afterSequence: 1) == [third])
            #expect(try await store.quotaGrants(deviceID: "dev-1", limit: 1) == [first])
            #expect(try await store.quotaGrant(sequence: 2) == second)
            #expect(try await store.quotaGrant(sequence: 9) == nil)
        }
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func receiptsReadBackWithTheirEventsAndDailyTotals(backend: CoordinatorBackend) async throws {
        try await withCoordinator(backend) { store in
            #expect(try await store.usageHead(deviceID: "dev-1") == nil)
            let day: Double = 86_400
            let receipts = [
                Self.receipt(device: "dev-1", position: 0, count: 3, windowEnd: 10),
                Self.receipt(device: "dev-1", position: 1, count: 4, windowEnd: 20),
                Self.receipt(device: "dev-1", position: 2, count: 5, windowEnd: 20 + 2 * day),
            ]
            let event = NewEvent(at: Dates.at(30), deviceID: "dev-1", kind: "usage_flagged", detail: "late")
            try await store.appendUsageReceipts(receipts, events: [event])
            try await store.appendUsageReceipts(
                [Self.receipt(device: "dev-2", position: 0, count: 7, windowEnd: 10)],
                events: []
            )
            #expect(try await store.usageHead(deviceID: "dev-1") == receipts[2])
            #expect(try await store.usageReceipt(deviceID: "dev-1", position: 1) == receipts[1])
            #expect(try await store.usageReceipt(deviceID: "dev-1", position: 1)?.flags == ["late", "grace"])
            #expect(try await store.usageReceipts(deviceID: "dev-1") == receipts)
            #expect(try await store.usageReceipts().map(\.deviceID) == ["dev-1", "dev-1", "dev-1", "dev-2"])
            #expect(try await store.usageReceipts(since: Dates.at(20), until: Dates.at(21)) == [receipts[1]])
            #expect(try await store.usageReceipts(model: "other").isEmpty)
            #expect(
                try await store.events(deviceID: "dev-1", limit: 10, afterSequence: nil).map(\.kind)
                    == ["usage_flagged"]
            )
            let firstDay = Int64(StoredDate.milliseconds(Dates.at(10)) / 86_400_000)
            let daily = try await store.dailyUsage(deviceID: "dev-1", sinceDay: firstDay)
            let expected: [Int64: UInt64] =
                Int64(StoredDate.milliseconds(Dates.at(20)) / 86_400_000) == firstDay
                ? [firstDay: 7, firstDay + 2: 5] : [firstDay: 3, firstDay + 1: 4, firstDay + 2: 5]
            #expect(daily == expected)
            #expect(try await store.dailyUsage(deviceID: "dev-1", sinceDay: firstDay + 2) == [firstDay + 2: 5])
        }
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func eraseDeletesTheDevicesGrantsAndReceipts(backend: CoordinatorBackend) async throws {
        try await withCoordinator(backend) { store in
            _ = try await store.createToken(Fixtures.token(uses: 3))
            _ = try await store.enrol(device: Fixtures.device(1), tokenHash: Fixtures.hash(1), now: Dates.at(1))
            _ = try await store.enrol(device: Fixtures.device(2), tokenHash: Fixtures.hash(1), now: Dates.at(1))
            for device in ["dev-1", "dev-2"] {
                _ = try await Self.grant(store, device: device)
                try await store.appendUsageReceipts(
                    [Self.receipt(device: device, position: 0, count: 3, windowEnd: 3)],
                    events: []
                )
            }
            let removal = try #require(try await store.removeDevice(id: "dev-1", erase: true, at: Dates.at(4)))
            #expect(removal.erased && removal.sampleRows == 0)
            #expect(removal.otherRows >= 3, "a grant, a receipt and its enrolment event")
            #expect(try await store.quotaGrants(deviceID: "dev-1").isEmpty)
            #expect(try await store.usageReceipts(deviceID: "dev-1").isEmpty)
            #expect(
                try await store.events(deviceID: "dev-1", limit: 10, afterSequence: nil).map(\.kind)
                    == ["device_removed"]
            )
            #expect(try await store.quotaGrants(deviceID: "dev-2").count == 1, "other devices are untouched")
            #expect(try await store.usageReceipts(deviceID: "dev-2").map(\.amountMicros) == [15])
        }
    }
}
