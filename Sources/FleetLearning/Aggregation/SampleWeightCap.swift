/// Bounds the weight a client's own `sampleCount` buys it. FedAvg and Multi-Krum weight updates by the sample
/// count each device reports, which nothing verifies: a device claiming 2³¹ rows would be the round. With a
/// cap, each count counts at most `medianMultiple` times the median of the round's counts, so a device
/// holding K× the typical data keeps its weight while one lying by orders of magnitude does not.
public struct SampleWeightCap: Sendable, Equatable, CustomStringConvertible {
    /// At most this multiple of the round's median sample count; 0 for no cap.
    public let medianMultiple: Double

    /// 4× the median: the digits federation's honest counts lie within 0.5–2× their median.
    public static let `default` = SampleWeightCap(uncheckedMultiple: 4)
    /// No cap: every reported count is used as it is.
    public static let none = SampleWeightCap(uncheckedMultiple: 0)

    /// `multiple` must be 0 (no cap) or at least 1 (a cap below the median would reweight honest clients).
    public init(medianMultiple multiple: Double) throws(AggregationError) {
        guard multiple == 0 || (multiple >= 1 && multiple.isFinite) else {
            throw .invalidConfiguration("sample weight multiple \(multiple) must be 0 (no cap) or at least 1")
        }
        self.init(uncheckedMultiple: multiple)
    }

    private init(uncheckedMultiple: Double) { medianMultiple = uncheckedMultiple }

    /// The largest weight any of `counts` may carry, or nil when there is no cap (or no counts).
    public func limit(for counts: [Int]) -> Int? {
        guard medianMultiple > 0, !counts.isEmpty else { return nil }
        let sorted = counts.sorted()
        let middle = sorted.count / 2
        let median =
            sorted.count % 2 == 1 ? Double(sorted[middle]) : (Double(sorted[middle - 1]) + Double(sorted[middle])) / 2
        return max(1, Int(min((median * medianMultiple).rounded(.up), Double(Int32.max))))
    }

    /// Each count bounded by `limit(for: counts)`.
    public func capped(_ counts: [Int]) -> [Int] {
        guard let limit = limit(for: counts) else { return counts }
        return counts.map { min($0, limit) }
    }

    /// `4× the round's median`, or `none`.
    public var description: String {
        guard medianMultiple > 0 else { return "none" }
        let multiple = medianMultiple.rounded() == medianMultiple ? "\(Int(medianMultiple))" : "\(medianMultiple)"
        return "\(multiple)× the round's median"
    }
}
