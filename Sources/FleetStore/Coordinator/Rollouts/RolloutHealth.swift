import Foundation

/// One model version's counts in a device's health summary, as stored (SPEC 5.41).
public struct HealthCounts: Sendable, Equatable, Codable {
    public var model: String
    public var version: Int
    public var queries: Int
    public var errors: Int
    /// Inference requests per latency bucket (≤ 1, 10, 100, 1000 ms, slower).
    public var latency: [Int]
    /// Answered rows per confidence bin (ten equal bins over 0…1).
    public var confidence: [Int]
    public var labelled: Int
    public var correct: Int

    public init(
        model: String,
        version: Int,
        queries: Int,
        errors: Int,
        latency: [Int],
        confidence: [Int],
        labelled: Int,
        correct: Int
    ) {
        self.model = model
        self.version = version
        self.queries = queries
        self.errors = errors
        self.latency = latency
        self.confidence = confidence
        self.labelled = labelled
        self.correct = correct
    }

    /// Adds `other`'s counts bin by bin (the model and version stay this one's).
    public mutating func add(_ other: HealthCounts) {
        queries += other.queries
        errors += other.errors
        latency = Self.add(latency, other.latency)
        confidence = Self.add(confidence, other.confidence)
        labelled += other.labelled
        correct += other.correct
    }

    private static func add(_ lhs: [Int], _ rhs: [Int]) -> [Int] {
        (0..<max(lhs.count, rhs.count)).map {
            (lhs.indices.contains($0) ? lhs[$0] : 0) + (rhs.indices.contains($0) ? rhs[$0] : 0)
        }
    }
}

/// A rollout's health gates (README "Staged rollouts"): each limit nil is a gate that is off.
public struct RolloutGatePolicy: Sendable, Equatable, Codable {
    /// Halt when the wave's error rate exceeds the control group's by more than this (percentage points).
    public var maximumErrorRateIncrease: Double?
    /// Halt when the wave's accuracy on feedback is below the control group's by more than this (percentage points).
    public var maximumAccuracyDrop: Double?
    /// Halt when the wave's mean confidence is below the control group's by more than this (0…1).
    public var maximumConfidenceDrop: Double?
    /// Halt when the wave's input drift (median feature PSI against the reference statistics of the version it runs)
    /// exceeds the control group's (against its version's reference) by more than this.
    public var maximumDriftPSI: Double?
    /// Halt when the wave's agent restarts per device (the median over its reporting devices of the starts reported
    /// since the wave started) exceed the control group's by more than this: the crash-loop gate.
    public var maximumRestartIncrease: Double?
    /// Halt when the wave's latency (the median over devices of each device's 95th-percentile request latency)
    /// exceeds the control group's by more than this many percent.
    public var maximumLatencyIncreasePercent: Double?
    /// Devices each side needs (each with at least `minimumQueries`) before a gate decides.
    public var minimumDevices: Int
    /// Queries (for accuracy: labelled queries) a device needs in the window to count.
    public var minimumQueries: Int

    public init(
        maximumErrorRateIncrease: Double? = nil,
        maximumAccuracyDrop: Double? = nil,
        maximumConfidenceDrop: Double? = nil,
        maximumDriftPSI: Double? = nil,
        maximumRestartIncrease: Double? = nil,
        maximumLatencyIncreasePercent: Double? = nil,
        minimumDevices: Int = 3,
        minimumQueries: Int = 50
    ) {
        self.maximumErrorRateIncrease = maximumErrorRateIncrease
        self.maximumAccuracyDrop = maximumAccuracyDrop
        self.maximumConfidenceDrop = maximumConfidenceDrop
        self.maximumDriftPSI = maximumDriftPSI
        self.maximumRestartIncrease = maximumRestartIncrease
        self.maximumLatencyIncreasePercent = maximumLatencyIncreasePercent
        self.minimumDevices = minimumDevices
        self.minimumQueries = minimumQueries
    }

    /// Whether any gate is on.
    public var hasGates: Bool {
        maximumErrorRateIncrease != nil || maximumAccuracyDrop != nil || maximumConfidenceDrop != nil
            || maximumDriftPSI != nil || maximumRestartIncrease != nil || maximumLatencyIncreasePercent != nil
    }
}

/// What one side of a comparison (the wave on the new version, or the control group on the previous one) showed.
public struct HealthSide: Sendable, Equatable, Codable {
    /// Devices that sent a summary for the side's version in the window.
    public var devices: Int
    public var queries: Int
    public var errors: Int
    public var labelled: Int
    public var correct: Int
    /// Agent starts the side's devices reported in the window (a crash loop shows as many).
    public var starts: Int
    /// The median over devices with enough queries of each device's error rate (percent), accuracy (percent,
    /// over devices with enough labelled queries) and mean confidence; nil without such devices.
    public var errorRatePercent: Double?
    public var accuracyPercent: Double?
    public var meanConfidence: Double?
    /// Answered queries per confidence bin, summed over the side's devices.
    public var confidence: [Int]
    /// The median over devices with enough observations in their drift reports of each device's input drift: the
    /// median over features of the sample-size-corrected PSI against the reference statistics of the side's
    /// version; nil without such devices or reference statistics.
    public var inputDriftPSI: Double?
    /// The median over the side's devices that sent a summary in the window of the agent starts each reported;
    /// nil without such devices (or in an assessment recorded before the crash-loop gate).
    public var restartsPerDevice: Double?
    /// The median over devices with enough requests of each device's 95th-percentile request latency in
    /// milliseconds, estimated from its latency buckets; nil without such devices.
    public var latencyP95Milliseconds: Double?

    public init(
        devices: Int,
        queries: Int,
        errors: Int,
        labelled: Int,
        correct: Int,
        starts: Int,
        errorRatePercent: Double?,
        accuracyPercent: Double?,
        meanConfidence: Double?,
        confidence: [Int],
        inputDriftPSI: Double? = nil,
        restartsPerDevice: Double? = nil,
        latencyP95Milliseconds: Double? = nil
    ) {
        self.devices = devices
        self.queries = queries
        self.errors = errors
        self.labelled = labelled
        self.correct = correct
        self.starts = starts
        self.errorRatePercent = errorRatePercent
        self.accuracyPercent = accuracyPercent
        self.meanConfidence = meanConfidence
        self.confidence = confidence
        self.inputDriftPSI = inputDriftPSI
        self.restartsPerDevice = restartsPerDevice
        self.latencyP95Milliseconds = latencyP95Milliseconds
    }
}

/// One gate's reading.
public struct GateReading: Sendable, Equatable, Codable {
    /// `error-rate`, `accuracy`, `confidence`, `drift-psi`, `restarts`, `latency`.
    public var gate: String
    /// `pass`, `fail`, `waiting` (not enough devices or queries on one side yet: a wave whose soak ended holds
    /// while an enabled gate waits), or `no-control` (the rollout's last wave: no device is left on the previous
    /// version to compare with, so the gate cannot decide and does not hold the wave).
    public var verdict: String
    /// The wave's and the control group's values, and the change judged against `limit` (an increase for the
    /// error rate, PSI and restarts, a drop for accuracy and confidence, a percentage increase for latency); nil
    /// while waiting.
    public var wave: Double?
    public var control: Double?
    public var change: Double?
    public var limit: Double
    public var why: String
    /// The evidence the gate counts, so a waiting gate says what it lacks: the wave's and the control group's
    /// devices with enough of it, the devices each side needs, and what a device needs to count (e.g. "at least 50
    /// labelled queries"). Absent from assessments recorded before the hold on waiting gates.
    public var waveDevices: Int?
    public var controlDevices: Int?
    public var devicesNeeded: Int?
    public var deviceNeeds: String?

    public init(
        gate: String,
        verdict: String,
        wave: Double?,
        control: Double?,
        change: Double?,
        limit: Double,
        why: String,
        waveDevices: Int? = nil,
        controlDevices: Int? = nil,
        devicesNeeded: Int? = nil,
        deviceNeeds: String? = nil
    ) {
        self.gate = gate
        self.verdict = verdict
        self.wave = wave
        self.control = control
        self.change = change
        self.limit = limit
        self.why = why
        self.waveDevices = waveDevices
        self.controlDevices = controlDevices
        self.devicesNeeded = devicesNeeded
        self.deviceNeeds = deviceNeeds
    }

    /// Whether the gate holds a wave whose soak has ended: it is enabled (it has a reading) and still waits.
    public var holdsTheWave: Bool { verdict == "waiting" }
}

/// A wave's health against its control group over the same window: the evidence and each gate's verdict.
public struct HealthAssessment: Sendable, Equatable, Codable {
    public var windowStart: Date
    public var windowEnd: Date
    public var wave: HealthSide
    public var control: HealthSide
    public var gates: [GateReading]

    public init(windowStart: Date, windowEnd: Date, wave: HealthSide, control: HealthSide, gates: [GateReading]) {
        self.windowStart = StoredDate.rounded(windowStart)
        self.windowEnd = StoredDate.rounded(windowEnd)
        self.wave = wave
        self.control = control
        self.gates = gates
    }

    /// The gates that failed.
    public var failed: [GateReading] { gates.filter { $0.verdict == "fail" } }

    /// The gates still waiting for evidence: they hold a wave whose soak has ended.
    public var waiting: [GateReading] { gates.filter(\.holdsTheWave) }
}
