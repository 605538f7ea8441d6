import Foundation

/// What an agent sends for one reporting window: counts only, binned with the model's ``ReferenceStatistics``.
public struct DriftSummary: Sendable, Hashable {
    public var windowStart: Date
    public var windowEnd: Date
    /// Observations in the window.
    public var sampleCount: UInt32
    /// Per feature, the count of each bin (shapes follow ``ReferenceStatistics/features``).
    public var featureCounts: [[UInt32]]
    /// Count of each predicted class.
    public var classCounts: [UInt32]
    /// Count of each equal-width confidence bin over `0...1`.
    public var confidenceCounts: [UInt32]

    public init(
        windowStart: Date,
        windowEnd: Date,
        sampleCount: UInt32,
        featureCounts: [[UInt32]],
        classCounts: [UInt32],
        confidenceCounts: [UInt32]
    ) {
        self.windowStart = windowStart
        self.windowEnd = windowEnd
        self.sampleCount = sampleCount
        self.featureCounts = featureCounts
        self.classCounts = classCounts
        self.confidenceCounts = confidenceCounts
    }

    /// An empty summary shaped for `reference`.
    public init(empty reference: ReferenceStatistics, windowStart: Date, windowEnd: Date) {
        self.init(
            windowStart: windowStart,
            windowEnd: windowEnd,
            sampleCount: 0,
            featureCounts: reference.features.map { [UInt32](repeating: 0, count: $0.binCount) },
            classCounts: [UInt32](repeating: 0, count: reference.classCount),
            confidenceCounts: [UInt32](repeating: 0, count: reference.confidenceBins)
        )
    }

    /// Whether `other` has the same features, bins, classes and confidence bins.
    public func hasSameShape(as other: DriftSummary) -> Bool {
        featureCounts.map(\.count) == other.featureCounts.map(\.count) && classCounts.count == other.classCounts.count
            && confidenceCounts.count == other.confidenceCounts.count
    }

    /// The sum of `summaries` (per region, or fleet-wide): counts added bin by bin, saturating at `UInt32.max`;
    /// the window spans the earliest start to the latest end.
    public static func merged(_ summaries: [DriftSummary]) throws(ObserveError) -> DriftSummary {
        guard var result = summaries.first else { throw .invalidInput("nothing to merge") }
        for summary in summaries.dropFirst() {
            guard summary.hasSameShape(as: result) else { throw .shapeMismatch("summaries of different shapes") }
            result.windowStart = min(result.windowStart, summary.windowStart)
            result.windowEnd = max(result.windowEnd, summary.windowEnd)
            result.sampleCount = add(result.sampleCount, summary.sampleCount)
            for feature in result.featureCounts.indices {
                result.featureCounts[feature] = add(result.featureCounts[feature], summary.featureCounts[feature])
            }
            result.classCounts = add(result.classCounts, summary.classCounts)
            result.confidenceCounts = add(result.confidenceCounts, summary.confidenceCounts)
        }
        return result
    }

    private static func add(_ lhs: UInt32, _ rhs: UInt32) -> UInt32 {
        let (sum, overflow) = lhs.addingReportingOverflow(rhs)
        return overflow ? .max : sum
    }

    private static func add(_ lhs: [UInt32], _ rhs: [UInt32]) -> [UInt32] {
        zip(lhs, rhs).map { add($0, $1) }
    }
}
