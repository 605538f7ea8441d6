/// Exponential backoff with jitter for reconnects: `base · 2^(attempt-1)`, capped, then scaled by a random
/// factor in `[1 - jitter, 1]` so that a fleet cut off together does not reconnect in lockstep.
public struct Backoff: Sendable, Equatable {
    public var base: Duration
    public var maximum: Duration
    public var jitter: Double

    public init(base: Duration = .milliseconds(500), maximum: Duration = .seconds(30), jitter: Double = 0.5) {
        self.base = base
        self.maximum = maximum
        self.jitter = jitter
    }

    /// The delay before attempt `attempt` (1-based), for a random `unit` in 0...1.
    public func delay(attempt: Int, unit: Double) -> Duration {
        let exponent = min(max(attempt - 1, 0), 30)
        let raw = base * Double(1 << exponent)
        let capped = raw > maximum ? maximum : raw
        let factor = 1 - jitter * min(max(unit, 0), 1)
        return capped * factor
    }
}
