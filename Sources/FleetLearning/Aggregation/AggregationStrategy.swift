/// How a round's client updates become one update, split as Flower's `Strategy`: the strategy is a
/// `Sendable` policy value; each round it makes an `UpdateAggregator` that takes updates one at a time as
/// they arrive and finishes with a result, or `nil` for "no update: keep the previous model".
public protocol AggregationStrategy: Sendable {
    /// A short name for logs and metrics (`fedavg`, `median`, …).
    var name: String { get }
    /// Starts a round on `base` (the model the clients trained from). `expectedClients` is a sizing hint.
    func makeAggregator(base: TensorSet, expectedClients: Int) throws -> any UpdateAggregator
}

/// One round's accumulation. Not thread-safe: feed it from one task.
public protocol UpdateAggregator {
    /// Updates accepted so far.
    var clientCount: Int { get }
    /// Bytes of update data this aggregator keeps in memory now (accumulators, pending or stored updates).
    var retainedBytes: Int { get }
    /// Takes one update; throws (and ignores it) if it does not fit the base model or is not finite.
    mutating func add(update: ClientUpdate) throws
    /// Ends the round: the aggregated update, or `nil` when too few clients took part.
    mutating func finish() throws -> AggregationResult?
}

extension AggregationStrategy {
    /// One-shot aggregation of updates held in memory (tests, simulations).
    public func aggregate(base: TensorSet, updates: [ClientUpdate]) throws -> AggregationResult? {
        var aggregator = try makeAggregator(base: base, expectedClients: updates.count)
        for update in updates { try aggregator.add(update: update) }
        return try aggregator.finish()
    }
}
