import FleetLearning
import Foundation
import Testing

@Suite struct MultiKrumTests {
    private func update(_ values: [Float], samples: Int = 1) -> ClientUpdate {
        ClientUpdate(delta: values, sampleCount: samples)
    }

    @Test func dropsTheOutlierAndAveragesTheRestWhole() throws {
        // n = 5, f = ⌊0.2 · 5⌋ = 1: each update is scored over its 5 − 1 − 2 = 2 nearest others.
        // Scores: the four honest updates score ≤ 0.13, the far one 2 · (10.9² + 11.1²) ≈ 484.
        let updates = [
            update([1, 1]), update([1.2, 0.8]), update([0.9, 1.1]), update([1.1, 1.0]), update([-10, -10]),
        ]
        let result = try #require(
            try MultiKrum(maliciousFraction: 0.2).aggregate(base: Fixtures.flatBase(2), updates: updates)
        )
        // Mean of the four kept: ((1 + 1.2 + 0.9 + 1.1) / 4, (1 + 0.8 + 1.1 + 1.0) / 4).
        #expect(abs(result.delta[0] - 1.05) < 1e-6)
        #expect(abs(result.delta[1] - 0.975) < 1e-6)
        #expect(result.clientsUsed == 4)
        #expect(result.totalSamples == 4)
        #expect(result.metrics["droppedClients"] == 1)
    }

    @Test func keptUpdatesAreWeightedBySampleCount() throws {
        let updates = [
            update([1, 0], samples: 30), update([2, 0], samples: 10), update([1.5, 0], samples: 60),
            update([100, 100], samples: 1_000),
        ]
        // n = 4, f = ⌊0.3 · 4⌋ = 1, 1 neighbour each: [100, 100] is dropped despite its sample count.
        let result = try #require(
            try MultiKrum(maliciousFraction: 0.3).aggregate(base: Fixtures.flatBase(2), updates: updates)
        )
        // (30 · 1 + 10 · 2 + 60 · 1.5) / 100 = 1.4
        #expect(abs(result.delta[0] - 1.4) < 1e-6)
        #expect(result.delta[1] == 0)
        #expect(result.totalSamples == 100)
    }

    @Test func withNoAssumedAttackersItIsFedAvg() throws {
        let updates = [update([1, 2], samples: 1), update([3, -2], samples: 3)]
        let krum = try #require(
            try MultiKrum(maliciousFraction: 0).aggregate(base: Fixtures.flatBase(2), updates: updates)
        )
        let fedAvg = try #require(try FedAvg().aggregate(base: Fixtures.flatBase(2), updates: updates))
        for (a, b) in zip(krum.delta, fedAvg.delta) { #expect(abs(a - b) < 1e-6) }
    }

    @Test func disksSpoolGivesTheSameResultInSmallBlocks() throws {
        let directory = FileManager.default.temporaryDirectory
        let updates = (0..<7).map { k in
            update((0..<1_000).map { Float(($0 * (k + 3)) % 17) / 17 + (k == 6 ? 50 : 0) }, samples: k + 1)
        }
        let base = try Fixtures.flatBase(1_000)
        let inMemory = try #require(try MultiKrum(maliciousFraction: 0.2).aggregate(base: base, updates: updates))
        let onDisk = try #require(
            try MultiKrum(maliciousFraction: 0.2, storage: .disk(directory: directory, blockBytes: 7 * 4 * 64))
                .aggregate(base: base, updates: updates)
        )
        #expect(inMemory.delta == onDisk.delta)
        #expect(inMemory.clientsUsed == 6)
    }

    @Test func fractionMustLeaveAnHonestMajority() {
        #expect(throws: AggregationError.self) { try MultiKrum(maliciousFraction: 0.5) }
        #expect(throws: AggregationError.self) { try MultiKrum(maliciousFraction: -0.1) }
    }
}
