/// The bins of one input feature, fixed by the model's reference data, with the reference proportions.
///
/// `cuts` are ascending; a value `x` falls in bin `i` = the number of cuts `<= x`. So bin 0 is `(-inf, cuts[0])`,
/// bin `i` is `[cuts[i-1], cuts[i])` and the last bin is `[cuts.last, +inf)`. NaN falls in bin 0.
///
/// ``quantileCuts(sortedValues:bins:)`` makes the cuts: the reference minimum, the `bins - 1` inner quantiles and
/// the value just above the reference maximum, without duplicates. Bin 0 (below the minimum) and the last bin (above
/// the maximum) are therefore empty in the reference and catch out-of-range values. Ties collapse quantiles, so a
/// feature has between 3 and `bins + 2` bins; a constant feature (an always-zero pixel) gets exactly 3:
/// below, equal to, and above the constant, so a pixel that starts lighting up is still seen.
public struct FeatureBins: Sendable, Hashable, Codable {
    public let cuts: [Float]
    /// Reference share of each bin (`cuts.count + 1` values summing to 1).
    public let proportions: [Double]

    public init(cuts: [Float], proportions: [Double]) {
        self.cuts = cuts
        self.proportions = proportions
    }

    public var binCount: Int { cuts.count + 1 }

    /// The bin of `value` (binary search over the cuts).
    public func bin(of value: Float) -> Int {
        guard !value.isNaN else { return 0 }
        var low = 0
        var high = cuts.count
        while low < high {
            let middle = (low + high) / 2
            if cuts[middle] <= value { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// Cuts for `bins` quantile bins of `sortedValues` (ascending, not empty, no NaN), as described above.
    static func quantileCuts(sortedValues: [Float], bins: Int) -> [Float] {
        guard let minimum = sortedValues.first, let maximum = sortedValues.last else { return [] }
        var cuts = [minimum]
        for k in 1..<max(bins, 1) {
            let value = sortedValues[min(sortedValues.count - 1, k * sortedValues.count / bins)]
            if let last = cuts.last, value > last { cuts.append(value) }
        }
        let above = maximum.nextUp
        if let last = cuts.last, above > last { cuts.append(above) }
        return cuts
    }

    /// The bins of one reference column.
    static func fit(column: [Float], bins: Int) -> FeatureBins {
        let sorted = column.filter { !$0.isNaN }.sorted()
        let cuts = quantileCuts(sortedValues: sorted, bins: bins)
        var counts = [UInt32](repeating: 0, count: cuts.count + 1)
        let shell = FeatureBins(cuts: cuts, proportions: [])
        for value in column { counts[shell.bin(of: value)] += 1 }
        return FeatureBins(cuts: cuts, proportions: DriftMetrics.proportions(counts) ?? [])
    }
}
