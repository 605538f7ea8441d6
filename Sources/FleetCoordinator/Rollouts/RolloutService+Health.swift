import FleetStore
import FleetWire
import Foundation

/// A refused health gate setting, with the rule.
struct GatePolicyError: Error, CustomStringConvertible {
    var description: String
}

extension RolloutService {
    /// The gate policy a start request asks for; negative limits are gates that are off.
    static func gatePolicy(_ request: StartRollout) throws(GatePolicyError) -> RolloutGatePolicy {
        func limit(
            _ value: Double,
            _ flag: String,
            _ range: ClosedRange<Double>,
            _ rule: String
        ) throws(GatePolicyError)
            -> Double?
        {
            guard value >= 0 else { return nil }
            guard range.contains(value) else { throw GatePolicyError(description: "\(flag) is \(rule)") }
            return value
        }
        let policy = RolloutGatePolicy(
            maximumErrorRateIncrease: try limit(
                request.maximumErrorRateIncrease,
                "--max-error-rate",
                0...100,
                "a percentage from 0% to 100%"
            ),
            maximumAccuracyDrop: try limit(
                request.maximumAccuracyDrop,
                "--max-accuracy-drop",
                0...100,
                "in percentage points, 0 to 100"
            ),
            maximumConfidenceDrop: try limit(
                request.maximumConfidenceDrop,
                "--max-confidence-drop",
                0...1,
                "a confidence difference from 0 to 1"
            ),
            maximumDriftPSI: try limit(request.maximumDriftPSI, "--max-drift-psi", 0...1000, "a PSI from 0 to 1000"),
            maximumRestartIncrease: try limit(
                request.maximumRestartIncrease,
                "--max-restarts",
                0...Double(HealthSummary.maximumStarts),
                "a number of restarts per device from 0 to \(HealthSummary.maximumStarts)"
            ),
            maximumLatencyIncreasePercent: try limit(
                request.maximumLatencyIncreasePercent,
                "--max-latency-increase",
                0...100_000,
                "a percentage from 0% to 100000%"
            ),
            minimumDevices: request.gateMinimumDevices,
            minimumQueries: request.gateMinimumQueries
        )
        guard policy.minimumDevices >= 1 else { throw GatePolicyError(description: "--gate-min-devices is at least 1") }
        guard policy.minimumQueries >= 1 else { throw GatePolicyError(description: "--gate-min-queries is at least 1") }
        return policy
    }

    /// Assesses the current wave's health against the control group (the rollout's waves not started yet) since
    /// the wave started, records the assessment when it changed, and returns it (nil: no gates).
    func assessHealth(_ rollout: RolloutRecord, now: Date) async throws -> HealthAssessment? {
        guard let policy = try await store.rolloutGates(rolloutID: rollout.id), policy.hasGates else { return nil }
        let wave = rollout.waves[rollout.wave - 1]
        guard let since = wave.startedAt else { return nil }
        let waveDevices = wave.devices.map(\.deviceID)
        let controlDevices = rollout.waves.filter { $0.startedAt == nil }.flatMap(\.devices).map(\.deviceID)
        var waveDrift: [String: DeviceInputDrift]?
        var controlDrift: [String: DeviceInputDrift]?
        if policy.maximumDriftPSI != nil {
            let drift = DriftAssessor(store: store, minimumSamples: policy.minimumQueries)
            waveDrift = try await drift.inputDrift(
                model: rollout.model,
                version: rollout.version,
                deviceIDs: waveDevices,
                since: since
            )
            controlDrift = try await drift.inputDrift(
                model: rollout.model,
                version: rollout.previousVersion,
                deviceIDs: controlDevices,
                since: since
            )
        }
        let assessment = HealthGates.assess(
            policy: policy,
            wave: try await store.healthTotals(
                model: rollout.model,
                version: rollout.version,
                deviceIDs: waveDevices,
                since: since
            ),
            control: try await store.healthTotals(
                model: rollout.model,
                version: rollout.previousVersion,
                deviceIDs: controlDevices,
                since: since
            ),
            waveStarts: try await store.healthStarts(deviceIDs: waveDevices, since: since),
            controlStarts: try await store.healthStarts(deviceIDs: controlDevices, since: since),
            waveDrift: waveDrift,
            controlDrift: controlDrift,
            controlGroupSize: controlDevices.count,
            windowStart: since,
            windowEnd: now
        )
        let previous = try await store.rolloutHealth(rolloutID: rollout.id)[wave.number]
        if previous?.wave != assessment.wave || previous?.control != assessment.control
            || previous?.gates != assessment.gates
        {
            try await store.saveRolloutHealth(rolloutID: rollout.id, wave: wave.number, assessment: assessment)
        }
        return assessment
    }
}
