/// One client's contribution to a round: the change it made to the round's base model.
public struct ClientUpdate: Sendable {
    /// `trained − base`, flat, in the base `TensorSet`'s tensor order.
    public var delta: [Float]
    /// Rows the client trained on; FedAvg's weight.
    public var sampleCount: Int
    /// Client-reported numbers (e.g. `loss`); aggregated as a sample-weighted mean.
    public var metrics: [String: Double]
    /// A factor the aggregators apply to `delta` as they read it, so decorators such as norm clipping can
    /// rescale an update without copying it. 1 for updates as received.
    public var scale: Float

    public init(delta: [Float], sampleCount: Int, metrics: [String: Double] = [:], scale: Float = 1) {
        self.delta = delta
        self.sampleCount = sampleCount
        self.metrics = metrics
        self.scale = scale
    }
}

/// A round's outcome: the aggregated update to add to the base model, and what went into it.
public struct AggregationResult: Sendable {
    /// The aggregated delta, flat, in the base model's tensor order (a pseudo-gradient for server optimisers).
    public var delta: [Float]
    public var clientsUsed: Int
    public var totalSamples: Int
    /// Strategy figures (e.g. `clippedClients`, `meanUpdateNorm`) and the sample-weighted means of client metrics.
    public var metrics: [String: Double]

    public init(delta: [Float], clientsUsed: Int, totalSamples: Int, metrics: [String: Double] = [:]) {
        self.delta = delta
        self.clientsUsed = clientsUsed
        self.totalSamples = totalSamples
        self.metrics = metrics
    }

    /// `base + delta`: the next global model with no server optimiser.
    public func applied(to base: TensorSet) throws(ModelError) -> TensorSet {
        try base.adding(delta)
    }
}

/// Sample-weighted means of client metrics.
struct MetricsAccumulator {
    private var sums: [String: Double] = [:]
    private var weights: [String: Double] = [:]

    mutating func add(_ metrics: [String: Double], weight: Int) {
        for (key, value) in metrics where value.isFinite {
            sums[key, default: 0] += value * Double(weight)
            weights[key, default: 0] += Double(weight)
        }
    }

    var means: [String: Double] {
        sums.reduce(into: [:]) { result, entry in
            if let weight = weights[entry.key], weight > 0 { result[entry.key] = entry.value / weight }
        }
    }
}
