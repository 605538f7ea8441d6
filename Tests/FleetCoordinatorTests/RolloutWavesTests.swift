import Testing

@testable import FleetCoordinator

/// Wave sizing and seeded membership (README "Staged rollouts").
@Suite struct RolloutWavesTests {
    @Test func eachWaveReachesItsRoundedPercentage() {
        #expect(RolloutWaves.sizes(percentages: [34, 67, 100], eligible: 6, minimum: 1) == [2, 2, 2])
        #expect(RolloutWaves.sizes(percentages: [10, 50, 100], eligible: 20, minimum: 1) == [2, 8, 10])
        // 1% of 250 is 2.5: rounded half up to 3.
        #expect(RolloutWaves.sizes(percentages: [1, 100], eligible: 250, minimum: 1) == [3, 247])
    }

    @Test func aWaveTakesAtLeastTheMinimumWhileDevicesRemain() {
        // 1% of 20 rounds to 0: the minimum of 3 applies; 10% (2) is below what the first wave reached: 3 more.
        #expect(RolloutWaves.sizes(percentages: [1, 10, 50, 100], eligible: 20, minimum: 3) == [3, 3, 4, 10])
        // Fewer devices than the minimum: the first wave takes them all, the others are empty.
        #expect(RolloutWaves.sizes(percentages: [34, 67, 100], eligible: 2, minimum: 3) == [2, 0, 0])
        #expect(RolloutWaves.sizes(percentages: [34, 67, 100], eligible: 6, minimum: 3) == [3, 3, 0])
    }

    @Test func sizesAlwaysAddUpToTheEligibleDevices() {
        for eligible in 0...60 {
            for minimum in 1...5 {
                let sizes = RolloutWaves.sizes(percentages: [1, 10, 50, 100], eligible: eligible, minimum: minimum)
                #expect(sizes.reduce(0, +) == eligible, "\(eligible) devices, minimum \(minimum): \(sizes)")
                #expect(sizes.allSatisfy { $0 >= 0 })
            }
        }
    }

    @Test func invalidWaveListsAreRefusedWithTheRule() {
        #expect(throws: RolloutWaves.InvalidWaves.self) { try RolloutWaves.validate([]) }
        #expect(throws: RolloutWaves.InvalidWaves.self) { try RolloutWaves.validate([10, 10, 100]) }
        #expect(throws: RolloutWaves.InvalidWaves.self) { try RolloutWaves.validate([50, 10, 100]) }
        #expect(throws: RolloutWaves.InvalidWaves.self) { try RolloutWaves.validate([0, 100]) }
        #expect(throws: RolloutWaves.InvalidWaves.self) { try RolloutWaves.validate([10, 50]) }
        #expect(throws: Never.self) { try RolloutWaves.validate([1, 10, 50, 100]) }
    }

    static let devices = (1...20).map { "d-\(String($0, radix: 16))" }

    @Test func membershipIsReproducibleFromTheSeedAndIndependentOfInputOrder() {
        let sizes = [2, 8, 10]
        let first = RolloutWaves.members(devices: Self.devices, sizes: sizes, seed: 42)
        #expect(RolloutWaves.members(devices: Self.devices, sizes: sizes, seed: 42) == first)
        #expect(RolloutWaves.members(devices: Self.devices.reversed(), sizes: sizes, seed: 42) == first)
        #expect(RolloutWaves.members(devices: Self.devices, sizes: sizes, seed: 43) != first)
    }

    @Test func everyDeviceIsInExactlyOneWave() {
        for seed in UInt64(1)...50 {
            let waves = RolloutWaves.members(
                devices: Self.devices + Self.devices.prefix(3),
                sizes: [3, 7, 10],
                seed: seed
            )
            #expect(waves.map(\.count) == [3, 7, 10])
            let all = waves.flatMap { $0 }
            #expect(all.count == Set(all).count, "no device twice (seed \(seed))")
            #expect(Set(all) == Set(Self.devices), "every device once (seed \(seed))")
        }
    }

    @Test func theFirstWaveIsSpreadOverTheFleetAcrossSeeds() {
        // Random, not the first ids in order: over 200 seeds every device lands in the 2-device first wave.
        var seen: Set<String> = []
        for seed in UInt64(1)...200 {
            seen.formUnion(RolloutWaves.members(devices: Self.devices, sizes: [2, 18], seed: seed)[0])
        }
        #expect(seen == Set(Self.devices))
    }
}
