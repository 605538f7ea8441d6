import Foundation

/// Distances between two binned distributions.
public enum DriftMetrics {
    /// The default floor for empty bins in ``psi(expected:actual:epsilon:)``, as in Evidently.
    public static let defaultEpsilon = 1e-4

    /// Counts as proportions summing to 1, or nil when all counts are zero.
    public static func proportions(_ counts: [UInt32]) -> [Double]? {
        let total = counts.reduce(0.0) { $0 + Double($1) }
        guard total > 0 else { return nil }
        return counts.map { Double($0) / total }
    }

    /// Population Stability Index: `sum_i (a_i - e_i) * ln(a_i / e_i)`, natural log.
    ///
    /// Smoothing: each proportion below `epsilon` is replaced by `epsilon` (no renormalisation), so an empty bin
    /// on one side contributes `(p - epsilon) * ln(p / epsilon)` instead of infinity. This is Evidently's
    /// convention (it replaces zero shares by 0.0001). Both vectors must have the same length.
    /// Rule of thumb: below 0.1 stable, 0.1 to 0.2 moderate, above 0.2 significant shift.
    public static func psi(expected: [Double], actual: [Double], epsilon: Double = defaultEpsilon) -> Double {
        precondition(expected.count == actual.count, "PSI needs vectors of the same length")
        var sum = 0.0
        for (e, a) in zip(expected, actual) {
            let expectedShare = max(e, epsilon)
            let actualShare = max(a, epsilon)
            sum += (actualShare - expectedShare) * log(actualShare / expectedShare)
        }
        return sum
    }

    /// Jensen-Shannon distance with base-2 logarithms: the square root of
    /// `JSD = (KL(p || m) + KL(q || m)) / 2`, `m = (p + q) / 2`; always in `0...1`.
    ///
    /// Both vectors are first normalised to sum to 1. No smoothing is needed: a term with `p_i = 0` contributes 0,
    /// and `m_i > 0` wherever `p_i > 0` or `q_i > 0`. Identical distributions give 0; disjoint ones give 1.
    /// Returns 1 when either vector sums to 0 (nothing to compare with is treated as maximal difference).
    public static func jensenShannonDistance(p: [Double], q: [Double]) -> Double {
        precondition(p.count == q.count, "Jensen-Shannon needs vectors of the same length")
        let pSum = p.reduce(0, +)
        let qSum = q.reduce(0, +)
        guard pSum > 0, qSum > 0 else { return 1 }
        var divergence = 0.0
        for (rawP, rawQ) in zip(p, q) {
            let pi = rawP / pSum
            let qi = rawQ / qSum
            let mi = (pi + qi) / 2
            if pi > 0 { divergence += 0.5 * pi * log2(pi / mi) }
            if qi > 0 { divergence += 0.5 * qi * log2(qi / mi) }
        }
        return min(1, max(0, divergence)).squareRoot()
    }
}
