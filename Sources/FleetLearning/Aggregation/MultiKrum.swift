/// Multi-Krum (Blanchard et al. 2017; Flower's `Krum` with `num_clients_to_keep`). With n updates and at most
/// f = ⌊maliciousFraction · n⌋ of them assumed malicious, each update is scored by the sum of squared distances
/// to its n − f − 2 nearest other updates; the n − f lowest-scoring updates are kept whole and averaged,
/// weighted by sample count (FedAvg over the kept updates).
///
/// Scaled or sign-flipped updates lie far from every honest update and are dropped entirely, so the honest
/// updates keep their full signal. Median and trimmed mean instead decide coordinate by coordinate, and on
/// non-IID data that can lose the signal of the few clients that hold a class. Needs all of a round's updates
/// together: see `UpdateStorage` for the memory bound. Distances cost O(n² · model size).
public struct MultiKrum: AggregationStrategy {
    public var maliciousFraction: Double
    public var storage: UpdateStorage
    public var minimumClients: Int

    public init(
        maliciousFraction: Double = 0.3,
        storage: UpdateStorage = .default,
        minimumClients: Int = 1
    ) throws(AggregationError) {
        guard maliciousFraction >= 0, maliciousFraction < 0.5 else {
            throw .invalidConfiguration("maliciousFraction \(maliciousFraction) must be in [0, 0.5)")
        }
        self.maliciousFraction = maliciousFraction
        self.storage = storage
        self.minimumClients = max(minimumClients, 1)
    }

    public var name: String { "multi-krum" }

    public func makeAggregator(base: TensorSet, expectedClients: Int) throws -> any UpdateAggregator {
        MultiKrumAggregator(
            spool: try UpdateSpool(scalarCount: base.scalarCount, storage: storage),
            maliciousFraction: maliciousFraction,
            minimumClients: minimumClients
        )
    }
}

struct MultiKrumAggregator: UpdateAggregator {
    let spool: UpdateSpool
    let maliciousFraction: Double
    let minimumClients: Int
    private var sampleCounts: [Int] = []
    private var clientMetrics: [[String: Double]] = []
    private var isFinished = false

    init(spool: UpdateSpool, maliciousFraction: Double, minimumClients: Int) {
        self.spool = spool
        self.maliciousFraction = maliciousFraction
        self.minimumClients = minimumClients
    }

    var clientCount: Int { spool.count }
    var retainedBytes: Int { spool.retainedBytes }

    mutating func add(update: ClientUpdate) throws {
        guard !isFinished else { throw AggregationError.finished }
        _ = try spool.validatedNorm(of: update)
        try spool.append(update.delta, scale: update.scale)
        sampleCounts.append(update.sampleCount)
        clientMetrics.append(update.metrics)
    }

    mutating func finish() throws -> AggregationResult? {
        guard !isFinished else { throw AggregationError.finished }
        isFinished = true
        defer { spool.close() }
        let n = spool.count
        guard n >= minimumClients, n > 0 else { return nil }
        let dropped = min(Int((maliciousFraction * Double(n)).rounded(.down)), n - 1)
        let kept = try keptClients(n: n, dropped: dropped)
        let keptSamples = kept.reduce(0) { $0 + sampleCounts[$1] }
        let weights = kept.map { Float(Double(sampleCounts[$0]) / Double(keptSamples)) }
        var result = [Float](repeating: 0, count: spool.scalarCount)
        try spool.forEachBlock { range, values in
            let width = range.count
            result.withUnsafeMutableBufferPointer { output in
                for (client, weight) in zip(kept, weights) {
                    let row = client * width
                    for c in 0..<width { output[range.lowerBound + c] += weight * values[row + c] }
                }
            }
        }
        guard result.allSatisfy(\.isFinite) else { throw AggregationError.nonFiniteResult }
        var metrics = MetricsAccumulator()
        for client in kept { metrics.add(clientMetrics[client], weight: sampleCounts[client]) }
        var means = metrics.means
        means["droppedClients"] = Double(n - kept.count)
        return AggregationResult(delta: result, clientsUsed: kept.count, totalSamples: keptSamples, metrics: means)
    }

    /// The `n − dropped` clients with the lowest Krum scores, in client order.
    private func keptClients(n: Int, dropped: Int) throws -> [Int] {
        guard dropped > 0, n > 2 else { return Array(0..<n) }
        let distances = try pairwiseSquaredDistances(n: n)
        let neighbours = min(max(n - dropped - 2, 1), n - 1)
        let scores = (0..<n).map { i -> Double in
            let others = (0..<n).filter { $0 != i }.map { distances[i * n + $0] }.sorted()
            return others.prefix(neighbours).reduce(0, +)
        }
        let ranked = (0..<n).sorted { (scores[$0], $0) < (scores[$1], $1) }
        return ranked.prefix(n - dropped).sorted()
    }

    /// `n × n` squared L2 distances between the stored updates, one pass over the spool.
    private func pairwiseSquaredDistances(n: Int) throws -> [Double] {
        var distances = [Double](repeating: 0, count: n * n)
        try spool.forEachBlock { range, values in
            let width = range.count
            for i in 0..<n {
                for j in (i + 1)..<n {
                    var sum: Double = 0
                    for c in 0..<width {
                        let difference = Double(values[i * width + c] - values[j * width + c])
                        sum += difference * difference
                    }
                    distances[i * n + j] += sum
                    distances[j * n + i] += sum
                }
            }
        }
        return distances
    }
}
