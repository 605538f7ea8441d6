import FleetClient
import FleetCoordinator
import FleetStore
import FleetWire
import Foundation

/// A rollout as `fleetctl rollouts --json` and `fleetctl rollout show --json` print it.
public struct RolloutView: Codable, Sendable, Equatable {
    public var id: Int
    public var model: String
    public var version: Int
    /// nil: whichever variant of the version fits each device.
    public var variant: String?
    /// What devices outside the started waves keep, and what an automatic rollback returns to.
    public var previousVersion: Int
    /// `running`, `paused`, `halted`, `rolled-back`, `completed`, `aborted`.
    public var state: String
    /// The newest started wave (1-based).
    public var wave: Int
    public var reason: String
    public var selector: [String: String]
    public var waveSoakMilliseconds: Int
    public var minDevicesPerWave: Int
    public var maxInstallFailuresPercent: Double
    public var autoRollback: Bool
    /// The recorded membership seed: the same seed and eligible devices give the same waves.
    public var seed: UInt64
    /// How long after its wave started a device may stay pending before it is marked `timed-out`; nil: never.
    public var deviceTimeoutMilliseconds: Int?
    public var createdAt: String
    public var updatedAt: String
    public var waves: [RolloutWaveView]
    /// The health gates (nil: a rollout started without them): limits (absent when off) and the evidence minimums.
    public var healthGates: RolloutGatePolicy?
}

/// One wave of a rollout.
public struct RolloutWaveView: Codable, Sendable, Equatable {
    public var number: Int
    /// The cumulative share of the eligible devices reached with this wave.
    public var percent: Int
    /// How many devices the wave has.
    public var devices: Int
    public var installed: Int
    /// Install failures and refusals.
    public var failed: Int
    /// Devices that had not installed the version when the device timeout passed (counted with the failures against
    /// `maxInstallFailuresPercent`).
    public var timedOut: Int
    /// The gates' reading: `not-started`, `reporting` (some devices have not reported their install yet),
    /// `waiting` (the wave is held: an enabled gate still lacks evidence), `healthy`, `unhealthy` (install failures
    /// and timeouts above the limit, or a health gate failed).
    public var health: String
    /// The latest comparison of the wave's health with the control group's: both sides' evidence and each
    /// gate's verdict (`pass`, `fail`, `waiting`); nil before the first assessment or without gates.
    public var healthCheck: HealthAssessment?
    /// `waiting`, `installing`, `soaking`, `held` (soaked, but an enabled gate still waits for evidence), `passed`,
    /// `halted`, `rolled-back`, `promoted`, `aborted`.
    public var decision: String
    /// While the wave is `held`: the gates that wait (their readings in `healthCheck` say what each lacks).
    public var heldBy: [String]?
    public var reason: String
    public var startedAt: String?
    public var settledAt: String?
    public var members: [Member]

    public struct Member: Codable, Sendable, Equatable {
        public var id: String
        public var name: String?
        /// `pending`, `installed`, `failed`, `timed-out`.
        public var outcome: String
    }
}

extension RolloutView {
    init(
        record: RolloutRecord,
        names: [String: String],
        gates: RolloutGatePolicy? = nil,
        assessments: [Int: HealthAssessment] = [:]
    ) {
        self.init(
            id: Int(record.id),
            model: record.model,
            version: record.version,
            variant: record.variant.isEmpty ? nil : record.variant,
            previousVersion: record.previousVersion,
            state: record.state.rawValue,
            wave: record.wave,
            reason: record.reason,
            selector: record.selector,
            waveSoakMilliseconds: record.soakMilliseconds,
            minDevicesPerWave: record.minimumDevicesPerWave,
            maxInstallFailuresPercent: record.maximumInstallFailurePercent,
            autoRollback: record.autoRollback,
            seed: record.seed,
            deviceTimeoutMilliseconds: record.deviceTimeoutMilliseconds,
            createdAt: ISO8601.string(record.createdAt),
            updatedAt: ISO8601.string(record.updatedAt),
            waves: record.waves.map { wave in
                let failing =
                    wave.unsuccessful > 0
                    && Double(wave.unsuccessful) * 100 / Double(max(wave.devices.count, 1))
                        > record.maximumInstallFailurePercent
                    || assessments[wave.number].map { !$0.failed.isEmpty } == true
                let health =
                    wave.startedAt == nil
                    ? "not-started"
                    : failing
                        ? "unhealthy"
                        : wave.decision == "held" ? "waiting" : wave.isSettled ? "healthy" : "reporting"
                return RolloutWaveView(
                    number: wave.number,
                    percent: wave.percent,
                    devices: wave.devices.count,
                    installed: wave.installed,
                    failed: wave.failed,
                    timedOut: wave.timedOut,
                    health: health,
                    healthCheck: assessments[wave.number],
                    decision: wave.decision,
                    heldBy: wave.decision == "held" ? assessments[wave.number]?.waiting.map(\.gate) : nil,
                    reason: wave.reason,
                    startedAt: wave.startedAt.map(ISO8601.string),
                    settledAt: wave.settledAt.map(ISO8601.string),
                    members: wave.devices.map {
                        RolloutWaveView.Member(id: $0.deviceID, name: names[$0.deviceID], outcome: $0.outcome.rawValue)
                    }
                )
            },
            healthGates: gates
        )
    }
}

/// What `fleetctl rollout start` asks for.
public struct RolloutPlan: Sendable {
    public var model: String
    public var version: Int
    public var variant: String?
    public var selector: [String: String]
    public var waves: [Int]
    public var waveSoak: Duration
    public var minDevicesPerWave: Int
    public var maxInstallFailuresPercent: Double
    public var autoRollback: Bool
    /// nil: the coordinator chooses one (and records it).
    public var seed: UInt64?
    /// A wave device not installed this long after its wave started times out; nil: never.
    public var deviceTimeout: Duration?
    /// The health gates (each limit nil: off).
    public var gates = RolloutGatePolicy()

    public init(
        model: String,
        version: Int,
        variant: String?,
        selector: [String: String],
        waves: [Int],
        waveSoak: Duration,
        minDevicesPerWave: Int,
        maxInstallFailuresPercent: Double,
        autoRollback: Bool,
        seed: UInt64?
    ) {
        self.model = model
        self.version = version
        self.variant = variant
        self.selector = selector
        self.waves = waves
        self.waveSoak = waveSoak
        self.minDevicesPerWave = minDevicesPerWave
        self.maxInstallFailuresPercent = maxInstallFailuresPercent
        self.autoRollback = autoRollback
        self.seed = seed
    }
}

extension FleetInspector {
    /// Starts a rollout; returns it as recorded (read from the data directory when there is one).
    public func startRollout(_ plan: RolloutPlan) async throws -> RolloutView {
        let started = try await target.withAdminConnection { connection in
            let reply = try await connection.request(
                .startRollout(
                    StartRollout(
                        requestID: 1,
                        model: plan.model,
                        version: plan.version,
                        variant: plan.variant ?? "",
                        selector: plan.selector,
                        waves: plan.waves,
                        soakMilliseconds: Self.milliseconds(plan.waveSoak),
                        minimumDevicesPerWave: plan.minDevicesPerWave,
                        maximumInstallFailurePercent: plan.maxInstallFailuresPercent,
                        autoRollback: plan.autoRollback,
                        seed: plan.seed ?? 0,
                        maximumErrorRateIncrease: plan.gates.maximumErrorRateIncrease ?? -1,
                        maximumAccuracyDrop: plan.gates.maximumAccuracyDrop ?? -1,
                        maximumConfidenceDrop: plan.gates.maximumConfidenceDrop ?? -1,
                        maximumDriftPSI: plan.gates.maximumDriftPSI ?? -1,
                        gateMinimumDevices: plan.gates.minimumDevices,
                        gateMinimumQueries: plan.gates.minimumQueries,
                        maximumRestartIncrease: plan.gates.maximumRestartIncrease ?? -1,
                        maximumLatencyIncreasePercent: plan.gates.maximumLatencyIncreasePercent ?? -1,
                        deviceTimeoutMilliseconds: plan.deviceTimeout.map(Self.milliseconds) ?? 0
                    )
                )
            )
            guard case .rolloutStarted(let started) = reply else { throw FleetClientError.unexpected(reply) }
            return started
        }
        if try await target.localStore() != nil { return try await rollout(id: started.rolloutID) }
        return RolloutView(
            id: started.rolloutID,
            model: plan.model,
            version: plan.version,
            variant: plan.variant,
            previousVersion: 0,
            state: RolloutRecord.State.running.rawValue,
            wave: 1,
            reason: "",
            selector: plan.selector,
            waveSoakMilliseconds: 0,
            minDevicesPerWave: plan.minDevicesPerWave,
            maxInstallFailuresPercent: plan.maxInstallFailuresPercent,
            autoRollback: plan.autoRollback,
            seed: started.seed,
            deviceTimeoutMilliseconds: plan.deviceTimeout.map(Self.milliseconds),
            createdAt: ISO8601.string(Date()),
            updatedAt: ISO8601.string(Date()),
            waves: [],
            healthGates: plan.gates
        )
    }

    static func milliseconds(_ duration: Duration) -> Int {
        let parts = duration.components
        return Int(parts.seconds) * 1000 + Int(parts.attoseconds / 1_000_000_000_000_000)
    }

    /// Pauses, resumes, aborts or promotes a rollout.
    public func controlRollout(id: Int, action: ControlRollout.Action) async throws {
        try await target.withAdminConnection { connection in
            let reply = try await connection.request(
                .controlRollout(ControlRollout(requestID: 1, rolloutID: id, action: action))
            )
            guard case .ack = reply else { throw FleetClientError.unexpected(reply) }
        }
    }

    public func rollouts() async throws -> [RolloutView] {
        let store = try await requireLocalStore("rollouts")
        let names = try await deviceNames(store)
        var views: [RolloutView] = []
        for record in try await store.rollouts() { views.append(try await view(record, store: store, names: names)) }
        return views
    }

    public func rollout(id: Int) async throws -> RolloutView {
        let store = try await requireLocalStore("rollout show")
        guard let record = try await store.rollout(id: Int64(id)) else {
            throw ControlError("no rollout \(id): `fleetctl rollouts` lists them")
        }
        return try await view(record, store: store, names: try await deviceNames(store))
    }

    private func view(
        _ record: RolloutRecord,
        store: CoordinatorStore,
        names: [String: String]
    ) async throws
        -> RolloutView
    {
        RolloutView(
            record: record,
            names: names,
            gates: try await store.rolloutGates(rolloutID: record.id),
            assessments: try await store.rolloutHealth(rolloutID: record.id)
        )
    }

    private func deviceNames(_ store: CoordinatorStore) async throws -> [String: String] {
        Dictionary(try await store.devices().map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
    }
}
