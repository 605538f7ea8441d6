/// Coordinate-wise median of the client deltas (Yin et al. 2018; Flower's `FedMedian`). Unweighted: each
/// client counts once whatever its sample count. With an even count, the mean of the two middle values.
/// Needs all of a round's updates together: see `UpdateStorage` for the memory bound.
public struct FedMedian: AggregationStrategy {
    public var storage: UpdateStorage
    public var minimumClients: Int
    /// When set, each update is first scaled down to at most this multiple of the round's median update
    /// norm (adaptive norm bounding): outsized updates lose their leverage before the median.
    public var medianNormBound: Float?

    public init(storage: UpdateStorage = .default, minimumClients: Int = 1, medianNormBound: Float? = nil) {
        self.storage = storage
        self.minimumClients = max(minimumClients, 1)
        self.medianNormBound = medianNormBound
    }

    public var name: String { "median" }

    public func makeAggregator(base: TensorSet, expectedClients: Int) throws -> any UpdateAggregator {
        try CoordinateWiseAggregator(
            statistic: .median,
            spool: UpdateSpool(scalarCount: base.scalarCount, storage: storage),
            minimumClients: minimumClients,
            medianNormBound: medianNormBound
        )
    }
}

/// Coordinate-wise trimmed mean (Yin et al. 2018; Flower's `FedTrimmedAvg`): per coordinate, drop the
/// ⌊trimFraction·n⌋ smallest and largest client values and average the rest. Unweighted.
public struct FedTrimmedMean: AggregationStrategy {
    public var trimFraction: Double
    public var storage: UpdateStorage
    public var minimumClients: Int
    /// When set, each update is first scaled down to at most this multiple of the round's median update
    /// norm (adaptive norm bounding), so values that survive the trim carry no outsized weight.
    public var medianNormBound: Float?

    public init(
        trimFraction: Double = 0.2,
        storage: UpdateStorage = .default,
        minimumClients: Int = 1,
        medianNormBound: Float? = nil
    ) throws(AggregationError) {
        guard trimFraction >= 0, trimFraction < 0.5 else {
            throw .invalidConfiguration("trimFraction \(trimFraction) must be in [0, 0.5)")
        }
        if let bound = medianNormBound, !(bound > 0 && bound.isFinite) {
            throw .invalidConfiguration("medianNormBound \(bound) must be positive")
        }
        self.trimFraction = trimFraction
        self.storage = storage
        self.minimumClients = max(minimumClients, 1)
        self.medianNormBound = medianNormBound
    }

    public var name: String { "trimmed-mean" }

    public func makeAggregator(base: TensorSet, expectedClients: Int) throws -> any UpdateAggregator {
        try CoordinateWiseAggregator(
            statistic: .trimmedMean(fraction: trimFraction),
            spool: UpdateSpool(scalarCount: base.scalarCount, storage: storage),
            minimumClients: minimumClients,
            medianNormBound: medianNormBound
        )
    }
}

struct CoordinateWiseAggregator: UpdateAggregator {
    enum Statistic {
        case median
        case trimmedMean(fraction: Double)
    }

    let statistic: Statistic
    let spool: UpdateSpool
    let minimumClients: Int
    let medianNormBound: Float?
    private var totalSamples = 0
    private var metrics = MetricsAccumulator()
    private var isFinished = false
    /// Each stored update's L2 norm (after its scale).
    private var norms: [Double] = []

    init(statistic: Statistic, spool: UpdateSpool, minimumClients: Int, medianNormBound: Float? = nil) {
        self.statistic = statistic
        self.spool = spool
        self.minimumClients = minimumClients
        self.medianNormBound = medianNormBound
    }

    var clientCount: Int { spool.count }
    var retainedBytes: Int { spool.retainedBytes }

    mutating func add(update: ClientUpdate) throws {
        guard !isFinished else { throw AggregationError.finished }
        let norm = try spool.validatedNorm(of: update)
        try spool.append(update.delta, scale: update.scale)
        norms.append(norm)
        totalSamples += update.sampleCount
        metrics.add(update.metrics, weight: update.sampleCount)
    }

    mutating func finish() throws -> AggregationResult? {
        guard !isFinished else { throw AggregationError.finished }
        isFinished = true
        defer { spool.close() }
        let n = spool.count
        guard n >= minimumClients, n > 0 else { return nil }
        let trim: Int
        switch statistic {
        case .median: trim = -1
        case .trimmedMean(let fraction): trim = Int((fraction * Double(n)).rounded(.down))
        }
        let factors = clipFactors()
        var result = [Float](repeating: 0, count: spool.scalarCount)
        var column = [Float](repeating: 0, count: n)
        try spool.forEachBlock { range, values in
            let width = range.count
            column.withUnsafeMutableBufferPointer { scratch in
                result.withUnsafeMutableBufferPointer { output in
                    for c in 0..<width {
                        for k in 0..<n { scratch[k] = values[k * width + c] * factors[k] }
                        output[range.lowerBound + c] = Self.statistic(of: scratch, trim: trim)
                    }
                }
            }
        }
        var metrics = metrics.means
        if trim >= 0 { metrics["trimmedPerSide"] = Double(trim) }
        if medianNormBound != nil { metrics["clippedClients"] = Double(factors.count { $0 < 1 }) }
        return AggregationResult(delta: result, clientsUsed: n, totalSamples: totalSamples, metrics: metrics)
    }

    /// Per-update factors bounding each norm to `medianNormBound` × the median norm (all 1 when unset).
    private func clipFactors() -> [Float] {
        guard let bound = medianNormBound, !norms.isEmpty else { return [Float](repeating: 1, count: norms.count) }
        let sorted = norms.sorted()
        let middle = sorted.count / 2
        let median = sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
        let limit = Double(bound) * median
        return norms.map { $0 > limit && $0 > 0 ? Float(limit / $0) : 1 }
    }

    /// Median (`trim < 0`) or trimmed mean of the values, by selection (expected O(n)); reorders them.
    static func statistic(of values: UnsafeMutableBufferPointer<Float>, trim: Int) -> Float {
        let n = values.count
        if trim < 0 {
            let upper = n / 2
            Selection.select(upper, in: values, from: 0, to: n)
            guard n % 2 == 0 else { return values[upper] }
            // Everything before `upper` is ≤ values[upper]; the lower middle is their maximum.
            var lower = values[0]
            for k in 1..<upper { lower = max(lower, values[k]) }
            return (lower + values[upper]) / 2
        }
        if trim > 0 {
            // The `trim` largest to the end, then the `trim` smallest to the front.
            Selection.select(n - trim, in: values, from: 0, to: n)
            Selection.select(trim, in: values, from: 0, to: n - trim)
        }
        var sum: Float = 0
        for k in trim..<(n - trim) { sum += values[k] }
        return sum / Float(n - 2 * trim)
    }
}

/// Quickselect with a median-of-three pivot and insertion sort for short ranges.
enum Selection {
    /// Reorders `values[from..<to]` so that `values[k]` is the element a sort would put there, with no larger
    /// element before it and no smaller one after it.
    static func select(_ k: Int, in values: UnsafeMutableBufferPointer<Float>, from: Int, to: Int) {
        var (low, high) = (from, to - 1)
        while high - low > 16 {
            let middle = low + (high - low) / 2
            if values[middle] < values[low] { values.swapAt(middle, low) }
            if values[high] < values[low] { values.swapAt(high, low) }
            if values[high] < values[middle] { values.swapAt(high, middle) }
            let pivot = values[middle]
            var (i, j) = (low, high)
            while i <= j {
                while values[i] < pivot { i += 1 }
                while pivot < values[j] { j -= 1 }
                if i <= j {
                    values.swapAt(i, j)
                    i += 1
                    j -= 1
                }
            }
            if k <= j {
                high = j
            } else if k >= i {
                low = i
            } else {
                return
            }
        }
        guard low < high else { return }
        for a in (low + 1)...high {
            let value = values[a]
            var b = a - 1
            while b >= low && values[b] > value {
                values[b + 1] = values[b]
                b -= 1
            }
            values[b + 1] = value
        }
    }
}
