/// Federated averaging: the mean of the client deltas weighted by their sample counts (McMahan et al.;
/// Flower's `FedAvg` / `aggregate`). Streaming: memory is one accumulator plus up to four pending updates,
/// whatever the number of clients. An update with a NaN or infinity is refused alone (`nonFiniteUpdate`).
public struct FedAvg: AggregationStrategy {
    /// Fewer accepted updates than this gives `nil` (keep the old model).
    public var minimumClients: Int

    public init(minimumClients: Int = 1) {
        self.minimumClients = max(minimumClients, 1)
    }

    public var name: String { "fedavg" }

    public func makeAggregator(base: TensorSet, expectedClients: Int) throws -> any UpdateAggregator {
        FedAvgAggregator(scalarCount: base.scalarCount, minimumClients: minimumClients)
    }
}

/// Accumulates `Σ nₖ·sₖ·Δₖ` (n samples, s the update's scale), four updates per pass over the accumulator,
/// and divides by `Σ nₖ` at the end. Pending updates are held by reference (copy-on-write), never copied.
struct FedAvgAggregator: UpdateAggregator {
    static let fusedUpdates = 4

    let scalarCount: Int
    let minimumClients: Int
    private var accumulator: [Float]
    private var pending: [(values: [Float], weight: Float)] = []
    private var totalSamples = 0
    private var metrics = MetricsAccumulator()
    private var isFinished = false
    private(set) var clientCount = 0

    init(scalarCount: Int, minimumClients: Int) {
        self.scalarCount = scalarCount
        self.minimumClients = minimumClients
        accumulator = [Float](repeating: 0, count: scalarCount)
        pending.reserveCapacity(Self.fusedUpdates)
    }

    var retainedBytes: Int {
        (accumulator.count + pending.reduce(0) { $0 + $1.values.count }) * MemoryLayout<Float>.stride
    }

    mutating func add(update: ClientUpdate) throws {
        guard !isFinished else { throw AggregationError.finished }
        try UpdateScreen(scalarCount: scalarCount).checkValues(update)
        let weight = Float(update.sampleCount) * update.scale
        guard weight.isFinite else { throw AggregationError.nonFiniteUpdate }
        pending.append((update.delta, weight))
        totalSamples += update.sampleCount
        clientCount += 1
        metrics.add(update.metrics, weight: update.sampleCount)
        if pending.count == Self.fusedUpdates { flush() }
    }

    private mutating func flush() {
        guard !pending.isEmpty else { return }
        let count = scalarCount
        let batch = pending
        pending.removeAll(keepingCapacity: true)
        guard count > 0 else { return }
        accumulator.withUnsafeMutableBufferPointer { acc in
            guard let target = acc.baseAddress else { return }
            withPointers(to: batch.map(\.values)) { sources in
                VectorKernels.accumulate(into: target, sources: sources, weights: batch.map(\.weight), count: count)
            }
        }
    }

    mutating func finish() throws -> AggregationResult? {
        guard !isFinished else { throw AggregationError.finished }
        isFinished = true
        guard clientCount >= minimumClients, totalSamples > 0 else {
            pending.removeAll()
            return nil
        }
        flush()
        let inverse = 1 / Float(totalSamples)
        var delta = accumulator
        accumulator = []
        let finite = delta.withUnsafeMutableBufferPointer { values -> Bool in
            for i in values.indices { values[i] *= inverse }
            return values.baseAddress.map { VectorKernels.allFinite($0, values.count) } ?? true
        }
        guard finite else { throw AggregationError.nonFiniteResult }
        return AggregationResult(
            delta: delta,
            clientsUsed: clientCount,
            totalSamples: totalSamples,
            metrics: metrics.means
        )
    }
}

/// Calls `body` with base pointers of up to four arrays (empty arrays are not expected here).
func withPointers<R>(to arrays: [[Float]], _ body: ([UnsafePointer<Float>]) -> R) -> R {
    func recurse(_ index: Int, _ collected: [UnsafePointer<Float>]) -> R {
        guard index < arrays.count else { return body(collected) }
        return arrays[index].withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return recurse(index + 1, collected) }
            return recurse(index + 1, collected + [base])
        }
    }
    return recurse(0, [])
}
