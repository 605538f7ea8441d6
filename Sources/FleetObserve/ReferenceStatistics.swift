/// A model version's reference statistics, computed once from its training rows and pushed with the model.
/// Agents bin what they see with it; the coordinator compares summaries against its proportions.
public struct ReferenceStatistics: Sendable, Hashable, Codable {
    /// Per input feature: bins and reference proportions.
    public let features: [FeatureBins]
    /// Number of classes the model predicts.
    public let classCount: Int
    /// Reference share of each predicted class (empty when computed without predictions).
    public let classProportions: [Double]
    /// Number of equal-width confidence bins over `0...1`.
    public let confidenceBins: Int
    /// Reference share of each confidence bin (empty when computed without confidences).
    public let confidenceProportions: [Double]
    /// Rows the statistics were computed from.
    public let sampleCount: Int

    public init(
        features: [FeatureBins],
        classCount: Int,
        classProportions: [Double],
        confidenceBins: Int,
        confidenceProportions: [Double],
        sampleCount: Int
    ) {
        self.features = features
        self.classCount = classCount
        self.classProportions = classProportions
        self.confidenceBins = confidenceBins
        self.confidenceProportions = confidenceProportions
        self.sampleCount = sampleCount
    }

    /// Statistics of `features` (rows × columns), and of the model's `predictions` and `confidences` on them.
    ///
    /// - Parameters:
    ///   - bins: quantile bins per feature (see ``FeatureBins``), and equal-width confidence bins.
    ///   - classCount: number of classes; predictions outside `0..<classCount` are refused.
    public static func compute(
        features rows: [[Float]],
        predictions: [Int]?,
        confidences: [Float]?,
        bins: Int = 10,
        classCount: Int
    ) throws(ObserveError) -> ReferenceStatistics {
        guard let width = rows.first?.count, width > 0 else { throw .invalidInput("no reference rows") }
        guard rows.allSatisfy({ $0.count == width }) else { throw .invalidInput("rows of different lengths") }
        guard bins >= 1, bins <= 255, classCount >= 1 else { throw .invalidInput("bins 1...255, classCount >= 1") }
        let features = (0..<width).map { column in FeatureBins.fit(column: rows.map { $0[column] }, bins: bins) }
        var classProportions: [Double] = []
        if let predictions {
            guard predictions.count == rows.count else { throw .shapeMismatch("one prediction per row expected") }
            var counts = [UInt32](repeating: 0, count: classCount)
            for label in predictions {
                guard counts.indices.contains(label) else { throw .invalidInput("class \(label) out of range") }
                counts[label] += 1
            }
            classProportions = DriftMetrics.proportions(counts) ?? []
        }
        var confidenceProportions: [Double] = []
        if let confidences {
            var counts = [UInt32](repeating: 0, count: bins)
            for value in confidences { counts[confidenceBin(value, bins: bins)] += 1 }
            confidenceProportions = DriftMetrics.proportions(counts) ?? []
        }
        return ReferenceStatistics(
            features: features,
            classCount: classCount,
            classProportions: classProportions,
            confidenceBins: bins,
            confidenceProportions: confidenceProportions,
            sampleCount: rows.count
        )
    }

    /// The equal-width bin of a confidence in `0...1` (values outside are clamped; NaN goes to bin 0).
    public static func confidenceBin(_ value: Float, bins: Int) -> Int {
        guard value.isFinite, value > 0 else { return 0 }
        return min(bins - 1, Int(value * Float(bins)))
    }
}

extension ReferenceStatistics {
    /// The same bins with proportions taken from `baseline`, a device's own first window(s).
    ///
    /// Under non-IID data a device's normal differs from the fleet's (label skew shows up in both inputs and
    /// predictions); comparing a device with its own baseline finds changes on that device rather than its skew.
    public func rebased(on baseline: DriftSummary) throws(ObserveError) -> ReferenceStatistics {
        guard baseline.featureCounts.map(\.count) == features.map(\.binCount) else {
            throw .shapeMismatch("baseline bins differ from the reference")
        }
        return ReferenceStatistics(
            features: zip(features, baseline.featureCounts).map { bins, counts in
                FeatureBins(cuts: bins.cuts, proportions: DriftMetrics.proportions(counts) ?? bins.proportions)
            },
            classCount: classCount,
            classProportions: DriftMetrics.proportions(baseline.classCounts) ?? classProportions,
            confidenceBins: confidenceBins,
            confidenceProportions: DriftMetrics.proportions(baseline.confidenceCounts) ?? confidenceProportions,
            sampleCount: Int(baseline.sampleCount)
        )
    }
}
