import Foundation

/// Adds Laplace noise to a summary's counts so that even summaries give differential privacy.
///
/// Each count gets independent noise of scale `1 / epsilon`, is rounded and clamped to `0...UInt32.max`.
/// One observation changes one bin of every histogram by 1 (L1 sensitivity 1 per histogram), so each histogram is
/// `epsilon`-differentially private and a summary of F features is `(F + 2) * epsilon` by basic composition (the
/// sample count is noised too). For a total budget B per window, pass `epsilon = B / (F + 3)`.
/// Rounding and clamping are post-processing and keep the guarantee.
public struct LaplaceNoise<Generator: RandomNumberGenerator> {
    public let epsilon: Double
    private var generator: Generator

    public init(epsilon: Double, generator: Generator) {
        precondition(epsilon > 0, "epsilon must be positive")
        self.epsilon = epsilon
        self.generator = generator
    }

    /// One draw from Laplace(0, 1/epsilon) by inverse transform.
    public mutating func sample() -> Double {
        let u = Double.random(in: -0.5..<0.5, using: &generator)
        let magnitude = -log(max(Double.leastNormalMagnitude, 1 - 2 * abs(u)))
        return (u < 0 ? -magnitude : magnitude) / epsilon
    }

    /// `summary` with every count (and the sample count) noised.
    public mutating func apply(to summary: DriftSummary) -> DriftSummary {
        var noisy = summary
        noisy.sampleCount = noised(summary.sampleCount)
        noisy.featureCounts = summary.featureCounts.map { $0.map { noised($0) } }
        noisy.classCounts = summary.classCounts.map { noised($0) }
        noisy.confidenceCounts = summary.confidenceCounts.map { noised($0) }
        return noisy
    }

    private mutating func noised(_ count: UInt32) -> UInt32 {
        let value = (Double(count) + sample()).rounded()
        return value <= 0 ? 0 : UInt32(min(value, Double(UInt32.max)))
    }
}

extension LaplaceNoise where Generator == SystemRandomNumberGenerator {
    /// Noise from the system's random generator (production).
    public init(epsilon: Double) {
        self.init(epsilon: epsilon, generator: SystemRandomNumberGenerator())
    }
}

/// SplitMix64: a small seeded generator so tests and experiments are repeatable. Not for production noise.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
