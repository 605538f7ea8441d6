import Foundation

/// A staged rollout as recorded: its policy, the membership seed, its state and its waves.
public struct RolloutRecord: Sendable, Equatable, Codable {
    public enum State: String, Sendable, Codable, CaseIterable {
        case running, paused, halted
        case rolledBack = "rolled-back"
        case completed, aborted

        /// Running, paused or halted: the rollout still holds its version back from the devices of later waves.
        public var isActive: Bool { self == .running || self == .paused || self == .halted }
    }

    public var id: Int64
    public var model: String
    public var version: Int
    /// Empty: whichever variant of the version fits each device.
    public var variant: String
    /// The version devices outside started waves keep, and the one an automatic rollback returns to.
    public var previousVersion: Int
    public var selector: [String: String]
    public var soakMilliseconds: Int
    public var minimumDevicesPerWave: Int
    public var maximumInstallFailurePercent: Double
    public var autoRollback: Bool
    public var seed: UInt64
    /// A wave device still pending this long after its wave started is marked timed out (counted with the failures);
    /// nil: never (also every rollout recorded before the timeout existed).
    public var deviceTimeoutMilliseconds: Int?
    public var state: State
    /// The newest started wave (1-based); 0 before the first.
    public var wave: Int
    public var reason: String
    public var createdAt: Date
    public var updatedAt: Date
    public var waves: [RolloutWave]

    public init(
        id: Int64,
        model: String,
        version: Int,
        variant: String,
        previousVersion: Int,
        selector: [String: String],
        soakMilliseconds: Int,
        minimumDevicesPerWave: Int,
        maximumInstallFailurePercent: Double,
        autoRollback: Bool,
        seed: UInt64,
        state: State,
        wave: Int,
        reason: String,
        createdAt: Date,
        updatedAt: Date,
        waves: [RolloutWave],
        deviceTimeoutMilliseconds: Int? = nil
    ) {
        self.id = id
        self.model = model
        self.version = version
        self.variant = variant
        self.previousVersion = previousVersion
        self.selector = selector
        self.soakMilliseconds = soakMilliseconds
        self.minimumDevicesPerWave = minimumDevicesPerWave
        self.maximumInstallFailurePercent = maximumInstallFailurePercent
        self.autoRollback = autoRollback
        self.seed = seed
        self.deviceTimeoutMilliseconds = deviceTimeoutMilliseconds
        self.state = state
        self.wave = wave
        self.reason = reason
        self.createdAt = StoredDate.rounded(createdAt)
        self.updatedAt = StoredDate.rounded(updatedAt)
        self.waves = waves
    }
}

/// One wave of a rollout.
public struct RolloutWave: Sendable, Equatable, Codable {
    /// 1-based.
    public var number: Int
    /// The cumulative share of the eligible devices reached with this wave.
    public var percent: Int
    public var devices: [RolloutDevice]
    public var startedAt: Date?
    /// When every device of the wave had installed or failed (the soak runs from here).
    public var settledAt: Date?
    /// `waiting`, `installing`, `soaking`, `passed`, `halted`, `rolled-back`, `promoted`, `aborted`.
    public var decision: String
    public var reason: String

    public init(
        number: Int,
        percent: Int,
        devices: [RolloutDevice],
        startedAt: Date?,
        settledAt: Date?,
        decision: String,
        reason: String
    ) {
        self.number = number
        self.percent = percent
        self.devices = devices
        self.startedAt = startedAt.map(StoredDate.rounded)
        self.settledAt = settledAt.map(StoredDate.rounded)
        self.decision = decision
        self.reason = reason
    }

    public var installed: Int { devices.count(where: { $0.outcome == .installed }) }
    public var failed: Int { devices.count(where: { $0.outcome == .failed }) }
    public var timedOut: Int { devices.count(where: { $0.outcome == .timedOut }) }
    /// Failed, refused or timed out: what `maximumInstallFailurePercent` limits.
    public var unsuccessful: Int { failed + timedOut }
    /// Whether every device has installed, failed or timed out.
    public var isSettled: Bool { installed + unsuccessful == devices.count }
}

/// A device of a wave and what became of the rollout's version on it.
public struct RolloutDevice: Sendable, Equatable, Codable {
    public enum Outcome: String, Sendable, Codable {
        case pending, installed, failed
        /// Not installed within the rollout's device timeout; an install or a failure reported later replaces it.
        case timedOut = "timed-out"
    }

    public var deviceID: String
    public var outcome: Outcome

    public init(deviceID: String, outcome: Outcome) {
        self.deviceID = deviceID
        self.outcome = outcome
    }
}
