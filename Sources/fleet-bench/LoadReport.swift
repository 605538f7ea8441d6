/// What one `load-gen` process measured; printed as JSON with `--json` and merged by `coordinator`.
struct LoadReport: Codable, Sendable {
    var count: Int
    var firstIndex: Int
    /// Connections that completed the handshake (and the first state report).
    var established: Int
    /// Of those, still open at the end of the measured window.
    var held: Int
    var enrolled: Int
    var authenticated: Int
    /// Failures by kind: `connect: …`, `refused: <code>`, `handshake-timeout`, `closed-in-handshake`,
    /// `closed-after-ready`, `unanswered-heartbeats`.
    var failures: [String: Int]
    /// Seconds from start to the last handshake done.
    var connectSeconds: Double
    var heartbeatsSent: Int
    var acks: Int
    /// Round trips of heartbeats sent in the measured window (after the warm-up).
    var measured: LatencyHistogram
    /// Round trips of heartbeats sent after the measured window (e.g. while descriptors are exhausted).
    var tail: LatencyHistogram
    var measuredSeconds: Double
    /// Acks received per second since heartbeats started.
    var acksPerSecond: [Int]
    /// This process's own CPU (user + system) and peak RSS.
    var cpuSeconds: Double
    var maxRSSKiB: Int

    var failureTotal: Int { failures.values.reduce(0, +) }
}
