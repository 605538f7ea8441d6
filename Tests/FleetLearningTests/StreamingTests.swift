import FleetLearning
import Testing

/// FedAvg and clipping keep O(model) memory: one accumulator plus at most four pending updates (held by
/// reference), whatever the number of clients.
@Suite struct StreamingTests {
    @Test(arguments: ["fedavg", "clipped"])
    func retainedBytesDoNotGrowWithClients(_ kind: String) throws {
        let length = 1_000
        let modelBytes = length * 4
        let base = try Fixtures.flatBase(length)
        let strategy: any AggregationStrategy =
            kind == "fedavg" ? FedAvg() : try NormClipping(wrapping: FedAvg(), maxNorm: 1)
        var peaks = [Int: Int]()
        for clients in [1, 10, 100] {
            var aggregator = try strategy.makeAggregator(base: base, expectedClients: clients)
            var peak = 0
            for k in 0..<clients {
                // A fresh array per client, as decoded from the wire.
                try aggregator.add(
                    update: ClientUpdate(delta: [Float](repeating: Float(k), count: length), sampleCount: 1)
                )
                peak = max(peak, aggregator.retainedBytes)
                #expect(aggregator.retainedBytes <= 4 * modelBytes)  // accumulator + up to 3 pending
            }
            peaks[clients] = peak
            _ = try aggregator.finish()
        }
        #expect(peaks[10] == peaks[100])
        #expect(peaks[100] == 4 * modelBytes)
    }

    @Test func coordinateWiseMemoryIsTheStoredUpdates() throws {
        // The in-memory store holds every update (bounded by its limit); the disk store holds none.
        let length = 100
        let base = try Fixtures.flatBase(length)
        var inMemory = try FedMedian().makeAggregator(base: base, expectedClients: 10)
        for _ in 0..<10 {
            try inMemory.add(update: ClientUpdate(delta: [Float](repeating: 1, count: length), sampleCount: 1))
        }
        #expect(inMemory.retainedBytes == 10 * length * 4)
    }
}
