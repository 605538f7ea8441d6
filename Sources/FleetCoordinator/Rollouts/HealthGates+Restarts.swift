import FleetWire
import Foundation

/// The crash-loop and latency gates (README "Staged rollouts"), compared like with like with the control group as
/// the other gates are: each side's value is a median over its devices, a gate decides once both sides have the
/// minimum of devices, and it fails only in its bad direction.
///
/// - **Restarts** (`restarts`): a device's value is the agent starts its health summaries reported since the wave
///   started (a crash loop shows as many); it counts once it sent a summary in the window. The gate fails when the
///   wave's median exceeds the control group's by more than the limit.
/// - **Latency** (`latency`): a device's value is its 95th-percentile request latency, estimated from its latency
///   buckets (≤ 1, 10, 100, 1000 ms, slower) as Prometheus' `histogram_quantile` does: linearly within the bucket
///   that holds the 95th percentile, and the highest bound (1000 ms) when that is the open last bucket. It counts
///   with at least the minimum of timed requests. The gate fails when the wave's median exceeds the control's by
///   more than the limit, in percent of the control's. The buckets are a decade wide: a slowdown shows when it
///   moves requests across a bound, not within a bucket.
extension HealthGates {
    /// The 95th percentile of the requests counted in `buckets` (``HealthEntry/latencyBoundsMilliseconds`` and one
    /// more for slower requests), in milliseconds; nil without requests.
    static func latencyP95(_ buckets: [Int]) -> Double? {
        quantile(0.95, buckets, bounds: HealthEntry.latencyBoundsMilliseconds.map(Double.init))
    }

    /// The `q` quantile of a histogram whose bucket `i` counts values up to `bounds[i]` (above the previous bound;
    /// from 0 for the first), the bucket after the last bound counting the rest.
    static func quantile(_ q: Double, _ buckets: [Int], bounds: [Double]) -> Double? {
        let total = buckets.reduce(0, +)
        guard total > 0, !bounds.isEmpty else { return nil }
        let rank = q * Double(total)
        var below = 0
        for (index, count) in buckets.enumerated() {
            guard Double(below + count) >= rank, count > 0 else {
                below += count
                continue
            }
            guard index < bounds.count else { return bounds[bounds.count - 1] }
            let lower = index == 0 ? 0 : bounds[index - 1]
            return lower + (bounds[index] - lower) * (rank - Double(below)) / Double(count)
        }
        return bounds[bounds.count - 1]
    }

    /// How much slower the wave is than the control group, in percent of the control's latency.
    static func latencyIncreasePercent(wave: Double, control: Double) -> Double {
        (wave - control) / max(control, 0.001) * 100
    }
}
