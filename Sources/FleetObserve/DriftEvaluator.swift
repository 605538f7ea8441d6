import Foundation

/// Per-model drift thresholds. Defaults: PSI 0.2 (the usual "significant shift") and Jensen-Shannon distance 0.1
/// (Evidently's default distance threshold).
public struct DriftThresholds: Sendable, Hashable, Codable {
    public var psi: Double
    public var jensenShannon: Double

    public init(psi: Double = 0.2, jensenShannon: Double = 0.1) {
        self.psi = psi
        self.jensenShannon = jensenShannon
    }
}

/// How a report's per-distribution numbers become one alert. Distances are the sample-size-corrected ones.
///
/// Measured on the digits data (reference: 1,347 training rows; 20 label-skewed federated clients of 37-110 rows):
/// any single feature over a threshold flags all 20 clients and even a 50-row IID sample; the prediction
/// distribution's JS flags all 20 clients and all 4 five-client regions, because label skew *is* a shift of the
/// predicted classes; the median feature PSI flags 1 client (37 rows) and no region, while an inverted or
/// brightened test set scores 2.4 and more. Hence the default ``medianFeaturePSI``.
public enum DriftCriterion: Sendable, Hashable, Codable {
    /// The median over features of the PSI over its threshold: half the inputs must have moved. Robust to a few
    /// noisy near-constant pixels and to label skew; the default, for devices compared with the fleet reference.
    case medianFeaturePSI
    /// The median feature PSI, or the predictions' JS distance, over its threshold. For comparisons where the
    /// class mix is expected to match: fleet-wide aggregates, or a device against its own baseline
    /// (``ReferenceStatistics/rebased(on:)``).
    case predictionsOrMedianFeaturePSI
    /// Any single feature, or the predictions, with PSI or JS over a threshold. Very sensitive; noisy on small or
    /// non-IID windows.
    case anyDistribution
}

/// Compares drift summaries with a model's reference statistics.
public struct DriftEvaluator: Sendable {
    public var thresholds: DriftThresholds
    public var criterion: DriftCriterion
    /// Windows with fewer observations are reported but never flagged: below about 50 the noise correction (a
    /// second-order approximation) underestimates the spread of 10-bin histograms.
    public var minimumSamples: Int
    /// Floor for empty bins in PSI.
    public var epsilon: Double
    /// Judge distances less their no-drift expectation for the window's size (see ``DistributionDrift``).
    public var correctForSampleSize: Bool

    public init(
        thresholds: DriftThresholds = DriftThresholds(),
        criterion: DriftCriterion = .medianFeaturePSI,
        minimumSamples: Int = 50,
        epsilon: Double = DriftMetrics.defaultEpsilon,
        correctForSampleSize: Bool = true
    ) {
        self.thresholds = thresholds
        self.criterion = criterion
        self.minimumSamples = minimumSamples
        self.epsilon = epsilon
        self.correctForSampleSize = correctForSampleSize
    }

    /// PSI and JS of every feature, the predictions and the confidences, and the verdict.
    public func evaluate(
        _ summary: DriftSummary,
        against reference: ReferenceStatistics
    ) throws(ObserveError)
        -> DriftReport
    {
        guard summary.featureCounts.map(\.count) == reference.features.map(\.binCount) else {
            throw .shapeMismatch("summary features or bins differ from the reference")
        }
        let rows = Double(reference.sampleCount)
        let features = zip(reference.features, summary.featureCounts).map { bins, counts in
            compare(reference: bins.proportions, counts: counts, referenceRows: rows) ?? .unobserved
        }
        let predictions = compare(
            reference: reference.classProportions,
            counts: summary.classCounts,
            referenceRows: rows
        )
        let confidence = compare(
            reference: reference.confidenceProportions,
            counts: summary.confidenceCounts,
            referenceRows: rows
        )
        var report = DriftReport(
            sampleCount: Int(summary.sampleCount),
            features: features,
            predictions: predictions,
            confidence: confidence,
            thresholds: thresholds
        )
        report.drifted = Int(summary.sampleCount) >= minimumSamples && verdict(report)
        return report
    }

    /// Nil when the reference has no such distribution, the shapes differ, or nothing was observed.
    private func compare(reference: [Double], counts: [UInt32], referenceRows: Double) -> DistributionDrift? {
        guard reference.count == counts.count, !reference.isEmpty, let actual = DriftMetrics.proportions(counts) else {
            return nil
        }
        let observed = counts.reduce(0.0) { $0 + Double($1) }
        let populated = Double(reference.filter { $0 > 0 }.count)
        let spread = correctForSampleSize ? max(0, populated - 1) * (1 / observed + 1 / max(referenceRows, 1)) : 0
        return DistributionDrift(
            psi: DriftMetrics.psi(expected: reference, actual: actual, epsilon: epsilon),
            jensenShannon: DriftMetrics.jensenShannonDistance(p: reference, q: actual),
            expectedNoisePSI: spread,
            expectedNoiseDivergence: spread / (8 * log(2))
        )
    }

    private func verdict(_ report: DriftReport) -> Bool {
        let medianDrifted = report.medianFeature.psi > thresholds.psi
        switch criterion {
        case .medianFeaturePSI:
            return medianDrifted
        case .predictionsOrMedianFeaturePSI:
            return medianDrifted || (report.predictions?.correctedJensenShannon ?? 0) > thresholds.jensenShannon
        case .anyDistribution:
            return (report.features + [report.predictions].compactMap { $0 }).contains { $0.exceeds(thresholds) }
        }
    }
}
