import Foundation
import Testing

@testable import FleetStore

@Suite("Delivery log and delta cache")
struct DeliveryTests {
    @Test(arguments: CoordinatorBackend.allCases)
    func transfersAreLoggedOldestFirstAndFiltered(backend: CoordinatorBackend) async throws {
        try await withCoordinator(backend) { store in
            // Given four transfers over two devices and two models
            let new = [
                ModelFixtures.transfer("dev-a", "kws", 1, at: 1),
                ModelFixtures.transfer("dev-b", "kws", 1, at: 2),
                ModelFixtures.transfer("dev-a", "kws", 2, encoding: "delta", baseVersion: 1, wireBytes: 40, at: 3),
                ModelFixtures.transfer("dev-a", "vad", 7, at: 4),
            ]
            var records: [TransferRecord] = []
            for transfer in new {
                records.append(try await store.recordTransfer(transfer))
            }

            // Then every field reads back, sequences increase
            #expect(records.map(\.sequence) == records.map(\.sequence).sorted())
            #expect(Set(records.map(\.sequence)).count == 4)
            let delta = records[2]
            #expect(delta.encoding == "delta" && delta.baseVersion == 1 && delta.wireBytes == 40)
            #expect(delta.fullBytes == 800 && delta.fileBytes == 1000 && delta.resumedFrom == 0)
            #expect(delta.startedAt == Dates.at(3) && delta.completedAt == Dates.at(4.5))

            // And the filters combine
            #expect(try await store.transfers(deviceID: nil, model: nil) == records)
            #expect(try await store.transfers(deviceID: "dev-a", model: nil) == [records[0], records[2], records[3]])
            #expect(try await store.transfers(deviceID: nil, model: "kws") == Array(records[0...2]))
            #expect(try await store.transfers(deviceID: "dev-a", model: "kws") == [records[0], records[2]])
            #expect(try await store.transfers(deviceID: "dev-c", model: nil).isEmpty)

            // And the log pages forward
            let page = try await store.transfers(
                deviceID: nil,
                model: nil,
                afterSequence: records[0].sequence,
                limit: 2
            )
            #expect(page == [records[1], records[2]])
            #expect(try await store.transfers(deviceID: nil, model: nil, afterSequence: nil, limit: 0).isEmpty)
        }
    }

    /// The console's model page: per version and variant, the transfers, the deltas among them, the wire bytes and
    /// what full transfers would have cost (a transfer's wire bytes when they exceed its full size).
    @Test(arguments: CoordinatorBackend.allCases)
    func transferTotalsSumEachVersionAndVariant(backend: CoordinatorBackend) async throws {
        try await withCoordinator(backend) { store in
            var oversized = ModelFixtures.transfer("dev-b", "kws", 2, wireBytes: 900)
            oversized.variant = "fp32"
            for transfer in [
                ModelFixtures.transfer("dev-a", "kws", 1), ModelFixtures.transfer("dev-b", "kws", 1),
                ModelFixtures.transfer("dev-a", "kws", 2, encoding: "delta", baseVersion: 1, wireBytes: 40),
                ModelFixtures.transfer("dev-c", "kws", 2, encoding: "delta", baseVersion: 1, wireBytes: 60), oversized,
                ModelFixtures.transfer("dev-a", "vad", 7),
            ] {
                _ = try await store.recordTransfer(transfer)
            }
            let totals = try await store.transferTotals(model: "kws")
            #expect(
                totals == [
                    TransferTotals(
                        version: 2,
                        variant: "fp32",
                        transfers: 1,
                        deltaTransfers: 0,
                        wireBytes: 900,
                        fullBytes: 900
                    ),
                    TransferTotals(
                        version: 2,
                        variant: "int8",
                        transfers: 2,
                        deltaTransfers: 2,
                        wireBytes: 100,
                        fullBytes: 1_600
                    ),
                    TransferTotals(
                        version: 1,
                        variant: "int8",
                        transfers: 2,
                        deltaTransfers: 0,
                        wireBytes: 1_000,
                        fullBytes: 1_600
                    ),
                ]
            )
            #expect(try await store.transferTotals(model: "unknown").isEmpty)
        }
    }

    @Test
    func invalidTransfersAreRefused() async throws {
        let store = try CoordinatorStore.inMemory()
        var negative = ModelFixtures.transfer("dev-a", "kws", 1)
        negative.wireBytes = -1

        await #expect(throws: StoreError.invalidArgument) {
            try await store.recordTransfer(ModelFixtures.transfer("dev-a", "kws", 1, encoding: "zstd"))
        }
        await #expect(throws: StoreError.invalidArgument) { try await store.recordTransfer(negative) }
        #expect(try await store.transfers(deviceID: nil, model: nil).isEmpty)
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func deltaCacheUpsertAndLookup(backend: CoordinatorBackend) async throws {
        try await withCoordinator(backend) { store in
            let v1 = ModelFixtures.digest("v1")
            let v2 = ModelFixtures.digest("v2")
            let v3 = ModelFixtures.digest("v3")
            #expect(try await store.cachedDelta(fromSHA256: v1, toSHA256: v2) == nil)

            // When a delta is stored
            let first = DeltaCacheRecord(
                fromSHA256: v1,
                toSHA256: v2,
                encoding: "xor-zlib",
                path: "deltas/a",
                size: 42,
                payloadSHA256: ModelFixtures.digest("payload-a"),
                createdAt: Dates.at(5)
            )
            try await store.storeCachedDelta(first)

            // Then it is found by its pair, in that direction only
            #expect(try await store.cachedDelta(fromSHA256: v1, toSHA256: v2) == first)
            #expect(try await store.cachedDelta(fromSHA256: v2, toSHA256: v1) == nil)

            // When the same pair is stored again, Then it replaces the entry
            var second = first
            second.path = "deltas/b"
            second.size = 41
            second.payloadSHA256 = ModelFixtures.digest("payload-b")
            second.createdAt = Dates.at(6)
            try await store.storeCachedDelta(second)
            #expect(try await store.cachedDelta(fromSHA256: v1, toSHA256: v2) == second)

            // And entries involving a blob can be dropped together
            var onward = second
            onward.fromSHA256 = v2
            onward.toSHA256 = v3
            try await store.storeCachedDelta(onward)
            var unrelated = second
            unrelated.fromSHA256 = v1
            unrelated.toSHA256 = v3
            try await store.storeCachedDelta(unrelated)
            #expect(try await store.removeCachedDeltas(involvingSHA256: v2) == [second, onward])
            #expect(try await store.cachedDelta(fromSHA256: v1, toSHA256: v2) == nil)
            #expect(try await store.cachedDelta(fromSHA256: v1, toSHA256: v3) == unrelated)
        }
    }

    @Test
    func invalidDeltaEntriesAreRefused() async throws {
        let store = try CoordinatorStore.inMemory()
        let bad = DeltaCacheRecord(
            fromSHA256: [1],
            toSHA256: ModelFixtures.digest("v2"),
            encoding: "xor-zlib",
            path: "deltas/a",
            size: 1,
            payloadSHA256: ModelFixtures.digest("p"),
            createdAt: Dates.at(1)
        )
        await #expect(throws: StoreError.invalidArgument) { try await store.storeCachedDelta(bad) }
    }
}
