/// A log-linear latency histogram in nanoseconds, in the manner of HdrHistogram: values below 128 ns have
/// their own bucket, and each power of two above is split into 64 buckets (1.6 % resolution). Two
/// histograms merge by adding counts, so the load generators' results can be combined exactly.
struct LatencyHistogram: Codable, Sendable {
    private static let subBucketBits = 6
    private static let subBuckets = 1 << subBucketBits
    /// Enough buckets for 2^40 ns (18 minutes).
    private static let bucketCount = (40 - subBucketBits + 2) * subBuckets

    private(set) var counts: [Int]
    private(set) var total = 0
    private(set) var maximum: Int64 = 0

    init() {
        counts = [Int](repeating: 0, count: Self.bucketCount)
    }

    mutating func record(nanoseconds value: Int64) {
        let clamped = max(0, value)
        counts[Self.index(of: clamped)] += 1
        total += 1
        maximum = max(maximum, clamped)
    }

    mutating func merge(_ other: LatencyHistogram) {
        for index in counts.indices { counts[index] += other.counts[index] }
        total += other.total
        maximum = max(maximum, other.maximum)
    }

    /// The value at quantile `q` (0…1): the upper edge of the bucket that holds it, capped at the maximum.
    func percentile(_ q: Double) -> Int64? {
        guard total > 0 else { return nil }
        let rank = max(1, Int((q * Double(total)).rounded(.up)))
        var seen = 0
        for (index, count) in counts.enumerated() where count > 0 {
            seen += count
            if seen >= rank { return min(Self.upperEdge(of: index), maximum) }
        }
        return maximum
    }

    private static func index(of value: Int64) -> Int {
        if value < Int64(2 * subBuckets) { return Int(value) }
        let magnitude = 63 - value.leadingZeroBitCount
        let shift = magnitude - subBucketBits
        let index = (shift + 1) * subBuckets + Int(value >> Int64(shift)) - subBuckets
        return min(index, bucketCount - 1)
    }

    private static func upperEdge(of index: Int) -> Int64 {
        if index < 2 * subBuckets { return Int64(index) }
        let shift = index / subBuckets - 1
        let mantissa = Int64(index % subBuckets + subBuckets)
        return ((mantissa + 1) << Int64(shift)) - 1
    }

    /// Sparse form for JSON: `[[bucket, count], ...]`.
    private enum CodingKeys: String, CodingKey {
        case buckets
        case total
        case maximum
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        for pair in try container.decode([[Int]].self, forKey: .buckets) where pair.count == 2 {
            if pair[0] >= 0 && pair[0] < counts.count { counts[pair[0]] += pair[1] }
        }
        total = try container.decode(Int.self, forKey: .total)
        maximum = try container.decode(Int64.self, forKey: .maximum)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        let sparse = counts.enumerated().filter { $0.element > 0 }.map { [$0.offset, $0.element] }
        try container.encode(sparse, forKey: .buckets)
        try container.encode(total, forKey: .total)
        try container.encode(maximum, forKey: .maximum)
    }
}
