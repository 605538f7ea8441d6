/// PSI and Jensen-Shannon distance of one distribution against its reference, with the values expected from
/// sampling alone.
///
/// Small windows look drifted even when nothing changed: with `k` populated reference bins, `n` observations and
/// `m` reference rows, a no-drift sample has on average PSI ≈ `(k - 1)(1/n + 1/m)` and Jensen-Shannon
/// divergence ≈ `(k - 1)(1/n + 1/m) / (8 ln 2)` (second-order expansion: both are χ²-like; the JS divergence is the
/// square of the distance). For k = 10 and n = 50 that is PSI 0.18 and JS distance 0.18, at or over the defaults.
/// ``correctedPSI`` and ``correctedJensenShannon`` subtract that expectation; the evaluator judges those.
public struct DistributionDrift: Sendable, Hashable, Codable {
    public let psi: Double
    public let jensenShannon: Double
    /// Expected PSI without drift, for these sample sizes.
    public let expectedNoisePSI: Double
    /// Expected Jensen-Shannon divergence (distance squared) without drift, for these sample sizes.
    public let expectedNoiseDivergence: Double

    public init(psi: Double, jensenShannon: Double, expectedNoisePSI: Double = 0, expectedNoiseDivergence: Double = 0) {
        self.psi = psi
        self.jensenShannon = jensenShannon
        self.expectedNoisePSI = expectedNoisePSI
        self.expectedNoiseDivergence = expectedNoiseDivergence
    }

    /// A feature with no observations in the window.
    public static let unobserved = DistributionDrift(psi: 0, jensenShannon: 0)

    /// PSI less its no-drift expectation, at least 0.
    public var correctedPSI: Double { max(0, psi - expectedNoisePSI) }
    /// The distance whose square is the divergence less its no-drift expectation, at least 0.
    public var correctedJensenShannon: Double {
        max(0, jensenShannon * jensenShannon - expectedNoiseDivergence).squareRoot()
    }

    /// Whether either corrected distance is over its threshold.
    public func exceeds(_ thresholds: DriftThresholds) -> Bool {
        correctedPSI > thresholds.psi || correctedJensenShannon > thresholds.jensenShannon
    }
}

/// The result of comparing one summary (a device, a region or the fleet) with the reference.
public struct DriftReport: Sendable, Hashable {
    public let sampleCount: Int
    /// Per input feature, in the reference's order.
    public let features: [DistributionDrift]
    /// The predicted-class distribution, when both sides have one.
    public let predictions: DistributionDrift?
    /// The confidence distribution, when both sides have one.
    public let confidence: DistributionDrift?
    public let thresholds: DriftThresholds
    /// The evaluator's verdict (see ``DriftCriterion``); false below the minimum sample count.
    public internal(set) var drifted = false

    init(
        sampleCount: Int,
        features: [DistributionDrift],
        predictions: DistributionDrift?,
        confidence: DistributionDrift?,
        thresholds: DriftThresholds
    ) {
        self.sampleCount = sampleCount
        self.features = features
        self.predictions = predictions
        self.confidence = confidence
        self.thresholds = thresholds
    }

    /// The feature with the highest PSI, and that PSI.
    public var worstFeature: (index: Int, psi: Double)? {
        features.indices.max { features[$0].psi < features[$1].psi }.map { ($0, features[$0].psi) }
    }

    /// The median over features of the corrected PSI and, separately, of the corrected JS distance
    /// (upper median for even counts; the noise fields are zero).
    public var medianFeature: DistributionDrift {
        guard !features.isEmpty else { return .unobserved }
        let middle = features.count / 2
        return DistributionDrift(
            psi: features.map(\.correctedPSI).sorted()[middle],
            jensenShannon: features.map(\.correctedJensenShannon).sorted()[middle]
        )
    }

    /// Features whose PSI or JS is over its threshold.
    public var driftedFeatures: [Int] {
        features.indices.filter { features[$0].exceeds(thresholds) }
    }
}
