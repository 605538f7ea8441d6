import FleetLearning
import Foundation
import Testing

@Suite struct AggregationTests {
    private func update(_ values: [Float], samples: Int = 1) -> ClientUpdate {
        ClientUpdate(delta: values, sampleCount: samples)
    }

    @Test func fedAvgWeightsBySampleCount() throws {
        let base = try Fixtures.flatBase(3)
        let result = try FedAvg().aggregate(
            base: base,
            updates: [
                update([1, 2, 3], samples: 10), update([4, 5, 6], samples: 30), update([-1, 0, 1], samples: 60),
            ]
        )
        // (10·[1,2,3] + 30·[4,5,6] + 60·[-1,0,1]) / 100
        let expected: [Float] = [0.7, 1.7, 2.7]
        let delta = try #require(result?.delta)
        for (a, b) in zip(delta, expected) { #expect(abs(a - b) < 1e-6) }
        #expect(result?.clientsUsed == 3)
        #expect(result?.totalSamples == 100)
    }

    @Test func fedAvgFusesAnyNumberOfUpdates() throws {
        // 1…9 updates exercise the 1-, 2-, 3- and 4-way fused paths and odd lengths (vector tail).
        for count in 1...9 {
            let length = 21
            let updates = (0..<count).map { k in
                update((0..<length).map { Float($0 * (k + 1)) }, samples: k + 1)
            }
            let result = try #require(try FedAvg().aggregate(base: Fixtures.flatBase(length), updates: updates))
            let totalWeight = Float((1...count).reduce(0, +))
            for i in 0..<length {
                let expected = (1...count).reduce(Float(0)) { $0 + Float($1) * Float(i * $1) } / totalWeight
                #expect(abs(result.delta[i] - expected) <= 1e-4 * max(1, abs(expected)))
            }
        }
    }

    @Test func fedAvgWithTooFewClientsKeepsTheModel() throws {
        let base = try Fixtures.flatBase(2)
        #expect(
            try FedAvg(minimumClients: 3).aggregate(base: base, updates: [update([1, 1]), update([2, 2])]) == nil
        )
        #expect(try FedAvg().aggregate(base: base, updates: []) == nil)
    }

    @Test func aggregatorsRejectBadUpdates() throws {
        let base = try Fixtures.flatBase(2)
        let strategies: [any AggregationStrategy] = [
            FedAvg(), FedMedian(), try FedTrimmedMean(), try NormClipping(wrapping: FedAvg(), maxNorm: 1),
            try MultiKrum(),
        ]
        for strategy in strategies {
            var aggregator = try strategy.makeAggregator(base: base, expectedClients: 2)
            #expect(throws: AggregationError.sizeMismatch(expected: 2, actual: 3)) {
                try aggregator.add(update: update([1, 2, 3]))
            }
            #expect(throws: AggregationError.invalidSampleCount(0)) {
                try aggregator.add(update: update([1, 2], samples: 0))
            }
            try aggregator.add(update: update([1, 2]))
            #expect(aggregator.clientCount == 1)
        }
        for strategy in strategies {
            var aggregator = try strategy.makeAggregator(base: base, expectedClients: 1)
            for bad: Float in [.nan, .infinity, -.infinity] {
                #expect(throws: AggregationError.nonFiniteUpdate) { try aggregator.add(update: update([bad, 1])) }
            }
        }
    }

    /// A NaN or infinite update is refused alone: every strategy finishes with the others' aggregate.
    @Test func nonFiniteUpdateIsRefusedAloneAndTheRoundFinishes() throws {
        let base = try Fixtures.flatBase(2)
        let strategies: [any AggregationStrategy] = [
            FedAvg(), FedMedian(), try FedTrimmedMean(trimFraction: 0),
            try NormClipping(wrapping: FedAvg(), maxNorm: 100),
            try MultiKrum(maliciousFraction: 0),
        ]
        for strategy in strategies {
            var aggregator = try strategy.makeAggregator(base: base, expectedClients: 4)
            try aggregator.add(update: update([1, 2]))
            for bad: [Float] in [[.nan, 0], [0, .infinity], [-.infinity, -.infinity]] {
                #expect(throws: AggregationError.nonFiniteUpdate) { try aggregator.add(update: update(bad)) }
            }
            try aggregator.add(update: update([3, 4]))
            let result = try #require(try aggregator.finish(), "\(strategy.name)")
            #expect(result.clientsUsed == 2, "\(strategy.name)")
            #expect(result.delta == [2, 3], "\(strategy.name): \(result.delta)")
        }
    }

    @Test func screenRefusesAbsurdlyScaledUpdatesAndKeepsPoisonedButPlausibleOnes() throws {
        let base = try TensorSet([NamedTensor(name: "w", shape: [4], values: [3, 0, 4, 0])])  // norm 5
        let screen = UpdateScreen(base: base)
        #expect(screen.maximumNorm == 5_000)
        // A sign-flipped ×10 update of an honest step stays for the robust strategies to weigh.
        #expect(try screen.check(update([-30, 0, -40, 0])) == 50)
        #expect(throws: AggregationError.updateTooLarge(norm: 6_000, limit: 5_000)) {
            try screen.check(update([0, 6_000, 0, 0]))
        }
        // Finite values whose squares overflow are too large, not silently infinite.
        #expect(throws: (any Error).self) { try screen.check(update([1e30, 0, 0, 0])) }
        #expect(throws: AggregationError.nonFiniteUpdate) { try screen.check(update([.nan, 0, 0, 0])) }
        #expect(throws: AggregationError.nonFiniteUpdate) {
            try screen.check(ClientUpdate(delta: [1, 0, 0, 0], sampleCount: 1, scale: .infinity))
        }
        // A base of zeros still admits ordinary first steps.
        let zeros = UpdateScreen(base: try TensorSet([NamedTensor(name: "w", shape: [2], values: [0, 0])]))
        #expect(zeros.maximumNorm == 1_000)
    }

    @Test func medianWithOddAndEvenCounts() throws {
        let base = try Fixtures.flatBase(2)
        let odd = try FedMedian().aggregate(
            base: base,
            updates: [update([1, -5]), update([100, 0], samples: 50), update([3, 2])]
        )
        #expect(odd?.delta == [3, 0])
        let even = try FedMedian().aggregate(
            base: base,
            updates: [update([1, -5]), update([100, 0]), update([3, 2]), update([4, 7])]
        )
        #expect(even?.delta == [3.5, 1])  // mean of the two middle values: (3+4)/2, (0+2)/2
    }

    @Test func trimmedMeanDropsBothTails() throws {
        let base = try Fixtures.flatBase(1)
        let values: [Float] = [-100, 1, 2, 3, 4, 5, 6, 7, 8, 1000]
        let updates = values.map { update([$0]) }
        // trimFraction 0.1 of 10: drop one each side, mean of 1…8 = 4.5.
        #expect(try FedTrimmedMean(trimFraction: 0.1).aggregate(base: base, updates: updates)?.delta == [4.5])
        // 0.25 of 10: ⌊2.5⌋ = 2 each side, mean of 2…7 = 4.5.
        #expect(try FedTrimmedMean(trimFraction: 0.25).aggregate(base: base, updates: updates)?.delta == [4.5])
        // 0: plain mean.
        let mean = values.reduce(0, +) / 10
        #expect(try FedTrimmedMean(trimFraction: 0).aggregate(base: base, updates: updates)?.delta == [mean])
        #expect(throws: AggregationError.self) { try FedTrimmedMean(trimFraction: 0.5) }
    }

    @Test func clippingScalesLargeUpdatesToTheBound() throws {
        let base = try Fixtures.flatBase(2)
        let clipping = try NormClipping(wrapping: FedAvg(), maxNorm: 5)
        // [30, 40] has norm 50 → clipped to [3, 4]; [0.6, 0.8] has norm 1 → unchanged. Equal weights.
        let result = try #require(
            try clipping.aggregate(base: base, updates: [update([30, 40]), update([0.6, 0.8])])
        )
        #expect(abs(result.delta[0] - 1.8) < 1e-6)
        #expect(abs(result.delta[1] - 2.4) < 1e-6)
        #expect(result.metrics["clippedClients"] == 1)
        #expect(abs((result.metrics["meanUpdateNorm"] ?? 0) - 25.5) < 1e-5)
        #expect(result.metrics["maxUpdateNorm"] == 50)
        // Clipping composes with a coordinate-wise strategy too: median of [3,4], [0.6,0.8], [1,0].
        let median = try NormClipping(wrapping: FedMedian(), maxNorm: 5)
        let robust = try median.aggregate(
            base: base,
            updates: [update([30, 40]), update([0.6, 0.8]), update([1, 0])]
        )
        #expect(robust?.delta == [1, 0.8])
    }

    @Test func medianNormBoundScalesOutsizedUpdates() throws {
        let base = try Fixtures.flatBase(1)
        // Norms 1, 2, 100: median norm 2, bound 1× → the 100 becomes 2; trimmed mean (no trim) = (1+2+2)/3.
        let strategy = try FedTrimmedMean(trimFraction: 0, medianNormBound: 1)
        let result = try strategy.aggregate(base: base, updates: [update([1]), update([2]), update([-100])])
        let delta = try #require(result?.delta.first)
        #expect(abs(delta - (1 + 2 - 2) / 3) < 1e-6)
        #expect(result?.metrics["clippedClients"] == 1)
    }

    @Test func diskSpillGivesTheSameResultAsMemory() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "fleet-spill-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var generator = SeededGenerator(seed: 7)
        let length = 1_001
        let updates = (0..<7).map { k in
            ClientUpdate(
                delta: (0..<length).map { _ in generator.nextFloat(symmetric: 1) },
                sampleCount: 5 + k,
                scale: k == 3 ? 0.5 : 1
            )
        }
        let base = try Fixtures.flatBase(length)
        // 7 clients × 4 bytes × 37 coordinates per block: many blocks, a short last one.
        let disk = UpdateStorage.disk(directory: directory, blockBytes: 7 * 4 * 37)
        for (inMemory, onDisk) in [
            (FedMedian() as any AggregationStrategy, FedMedian(storage: disk) as any AggregationStrategy),
            (try FedTrimmedMean(trimFraction: 0.2), try FedTrimmedMean(trimFraction: 0.2, storage: disk)),
        ] {
            let expected = try inMemory.aggregate(base: base, updates: updates)?.delta
            let actual = try onDisk.aggregate(base: base, updates: updates)?.delta
            #expect(expected != nil)
            #expect(expected == actual)
        }
        // The spill files are gone once the rounds finish.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
    }

    @Test func memoryStorageEnforcesItsBound() throws {
        let strategy = FedMedian(storage: .memory(limitBytes: 2 * 4 * 10))
        var aggregator = try strategy.makeAggregator(base: Fixtures.flatBase(10), expectedClients: 3)
        try aggregator.add(update: update([Float](repeating: 1, count: 10)))
        try aggregator.add(update: update([Float](repeating: 2, count: 10)))
        #expect(throws: AggregationError.storageLimitExceeded(limitBytes: 80)) {
            try aggregator.add(update: update([Float](repeating: 3, count: 10)))
        }
        #expect(try aggregator.finish()?.delta == [Float](repeating: 1.5, count: 10))
    }

    @Test func clientMetricsAreSampleWeighted() throws {
        let base = try Fixtures.flatBase(1)
        let updates = [
            ClientUpdate(delta: [0], sampleCount: 1, metrics: ["loss": 1]),
            ClientUpdate(delta: [0], sampleCount: 3, metrics: ["loss": 2]),
        ]
        #expect(try FedAvg().aggregate(base: base, updates: updates)?.metrics["loss"] == 1.75)
    }
}

@Suite struct SelectionTests {
    /// Median and trimmed mean by selection agree with sorting, for many sizes, ties and orders.
    @Test func agreesWithSorting() throws {
        var generator = SeededGenerator(seed: 21)
        for n in 1...70 {
            for round in 0..<4 {
                let values: [Float] = (0..<n).map { _ in
                    round == 3 ? Float(generator.nextInt(below: 3)) : generator.nextFloat(symmetric: 10)
                }
                let sorted = values.sorted()
                let median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
                for fraction in [0.0, 0.1, 0.25, 0.45] {
                    let trim = Int((fraction * Double(n)).rounded(.down))
                    let expected = sorted[trim..<(n - trim)].reduce(0, +) / Float(n - 2 * trim)
                    let base = try Fixtures.flatBase(1)
                    let updates = values.map { ClientUpdate(delta: [$0], sampleCount: 1) }
                    let actual = try FedTrimmedMean(trimFraction: fraction).aggregate(base: base, updates: updates)
                    #expect(abs((actual?.delta.first ?? .nan) - expected) <= 1e-4 * max(1, abs(expected)))
                    if fraction == 0 {
                        #expect(try FedMedian().aggregate(base: base, updates: updates)?.delta == [median])
                    }
                }
            }
        }
    }
}

@Suite struct SampleWeightCapTests {
    @Test func aLiedSampleCountWeighsAtMostFourMedians() throws {
        let counts = [80, 95, 110, 2_147_483_647]
        // Median (95 + 110) / 2 = 102.5: the cap is 410; honest counts are untouched.
        #expect(SampleWeightCap.default.limit(for: counts) == 410)
        #expect(SampleWeightCap.default.capped(counts) == [80, 95, 110, 410])
        #expect(SampleWeightCap.none.capped(counts) == counts)
        // In FedAvg the liar's update now weighs 410 of 695 instead of all but 1e-7 of the round.
        let base = try Fixtures.flatBase(1)
        let capped = SampleWeightCap.default.capped(counts)
        let updates = zip([Float(0), 0, 0, 100], capped).map { ClientUpdate(delta: [$0], sampleCount: $1) }
        let result = try #require(try FedAvg().aggregate(base: base, updates: updates))
        #expect(abs(result.delta[0] - 100 * 410 / 695) < 1e-3)
    }

    @Test func multiplesBelowOneAreRefused() throws {
        #expect(throws: AggregationError.self) { try SampleWeightCap(medianMultiple: 0.5) }
        #expect(throws: AggregationError.self) { try SampleWeightCap(medianMultiple: .infinity) }
        #expect(try SampleWeightCap(medianMultiple: 0) == .none)
    }
}
