/// Update-norm clipping as a decorator over another strategy, as Flower's `DPFedAvgFixed` wraps one: each
/// update whose L2 norm exceeds `maxNorm` is scaled down to `maxNorm` before the wrapped strategy sees it.
/// The rescaling is passed on as `ClientUpdate.scale`, so no update is copied; memory is the wrapped
/// strategy's (streaming over FedAvg). Updates with non-finite values are rejected with an error.
public struct NormClipping: AggregationStrategy {
    public var wrapped: any AggregationStrategy
    public var maxNorm: Float

    public init(wrapping strategy: any AggregationStrategy, maxNorm: Float) throws(AggregationError) {
        guard maxNorm > 0, maxNorm.isFinite else { throw .invalidConfiguration("maxNorm \(maxNorm) must be positive") }
        self.wrapped = strategy
        self.maxNorm = maxNorm
    }

    public var name: String { "clipped-\(wrapped.name)" }

    public func makeAggregator(base: TensorSet, expectedClients: Int) throws -> any UpdateAggregator {
        ClippingAggregator(
            inner: try wrapped.makeAggregator(base: base, expectedClients: expectedClients),
            maxNorm: maxNorm,
            scalarCount: base.scalarCount
        )
    }
}

struct ClippingAggregator: UpdateAggregator {
    var inner: any UpdateAggregator
    let maxNorm: Float
    let scalarCount: Int
    private var clipped = 0
    private var normSum: Double = 0
    private var largestNorm: Double = 0

    init(inner: any UpdateAggregator, maxNorm: Float, scalarCount: Int) {
        self.inner = inner
        self.maxNorm = maxNorm
        self.scalarCount = scalarCount
    }

    var clientCount: Int { inner.clientCount }
    var retainedBytes: Int { inner.retainedBytes }

    mutating func add(update: ClientUpdate) throws {
        let norm = try UpdateScreen(scalarCount: scalarCount).check(update)
        var update = update
        if norm > Double(maxNorm) {
            update.scale *= Float(Double(maxNorm) / norm)
        }
        try inner.add(update: update)
        if norm > Double(maxNorm) { clipped += 1 }
        normSum += norm
        largestNorm = max(largestNorm, norm)
    }

    mutating func finish() throws -> AggregationResult? {
        let count = inner.clientCount
        guard var result = try inner.finish() else { return nil }
        result.metrics["clippedClients"] = Double(clipped)
        result.metrics["meanUpdateNorm"] = count > 0 ? normSum / Double(count) : 0
        result.metrics["maxUpdateNorm"] = largestNorm
        result.metrics["clipNorm"] = Double(maxNorm)
        return result
    }
}
