import FleetStore
import Foundation

/// The arithmetic of the health gates (README "Staged rollouts"): a wave's devices on the new version against
/// the control group (devices of the rollout's later waves, on the previous version) over the same window.
///
/// Each side's error rate, accuracy and mean confidence is the **median over its devices** of each device's own
/// value, counting only devices with at least `minimumQueries` queries (labelled queries for accuracy, answered
/// ones for confidence) in the window; a gate decides only when both sides have at least `minimumDevices` such
/// devices, so one noisy device neither halts nor passes a wave. The drift gate compares input drift, each side
/// against its own version's reference statistics (HealthGates+Drift.swift); the crash-loop and latency gates read
/// agent starts and latency buckets (HealthGates+Restarts.swift).
enum HealthGates {
    static func assess(
        policy: RolloutGatePolicy,
        wave: [String: HealthCounts],
        control: [String: HealthCounts],
        waveStarts: [String: Int] = [:],
        controlStarts: [String: Int] = [:],
        waveDrift: [String: DeviceInputDrift]? = nil,
        controlDrift: [String: DeviceInputDrift]? = nil,
        controlGroupSize: Int? = nil,
        windowStart: Date,
        windowEnd: Date
    ) -> HealthAssessment {
        let minimum = max(policy.minimumQueries, 1)
        let waveSide = side(wave, starts: waveStarts, drift: waveDrift, minimumQueries: minimum)
        let controlSide = side(control, starts: controlStarts, drift: controlDrift, minimumQueries: minimum)
        var gates: [GateReading] = []
        let devices = max(policy.minimumDevices, 1)
        func compare(
            _ gate: String,
            limit: Double?,
            _ metric: (Evidence) -> (values: [Double], unit: String),
            label: String? = nil,
            change: (Double, Double) -> Double,
            worse: String
        ) {
            guard let limit else { return }
            let (waveValues, unit) = metric(Evidence(wave, minimum, starts: waveStarts))
            let (controlValues, _) = metric(Evidence(control, minimum, starts: controlStarts))
            let evidence = GateEvidence(
                gate: gate,
                limit: limit,
                waveDevices: waveValues.count,
                controlDevices: controlValues.count,
                devicesNeeded: devices,
                deviceNeeds: unit
            )
            if controlGroupSize == 0 {
                gates.append(evidence.reading("no-control", noControlGroup))
                return
            }
            guard waveValues.count >= devices, controlValues.count >= devices else {
                gates.append(
                    evidence.reading(
                        "waiting",
                        "\(waveValues.count) wave and \(controlValues.count) control device(s) with \(unit); "
                            + "\(devices) needed on each side"
                    )
                )
                return
            }
            let waveValue = median(waveValues)
            let controlValue = median(controlValues)
            let delta = change(waveValue, controlValue)
            let failed = delta > limit
            gates.append(
                evidence.reading(
                    failed ? "fail" : "pass",
                    "\(label ?? gate) \(format(waveValue)) on the wave vs \(format(controlValue)) on the control group "
                        + "(\(waveValues.count) vs \(controlValues.count) device(s)): \(worse) "
                        + "\(format(delta)) \(failed ? ">" : "<=") \(format(limit))",
                    values: (waveValue, controlValue, delta)
                )
            )
        }
        compare(
            "error-rate",
            limit: policy.maximumErrorRateIncrease,
            { ($0.errorRates, "at least \(minimum) queries") },
            change: { $0 - $1 },
            worse: "increase"
        )
        compare(
            "accuracy",
            limit: policy.maximumAccuracyDrop,
            { ($0.accuracies, "at least \(minimum) labelled queries") },
            change: { $1 - $0 },
            worse: "drop"
        )
        compare(
            "confidence",
            limit: policy.maximumConfidenceDrop,
            { ($0.confidences, "at least \(minimum) answered queries") },
            change: { $1 - $0 },
            worse: "drop"
        )
        if let limit = policy.maximumDriftPSI {
            gates.append(
                driftGate(
                    limit: limit,
                    wave: waveDrift,
                    control: controlDrift,
                    minimumSamples: minimum,
                    minimumDevices: devices,
                    controlGroupSize: controlGroupSize
                )
            )
        }
        compare(
            "restarts",
            limit: policy.maximumRestartIncrease,
            { ($0.restarts, "a health summary in the window") },
            label: "agent restarts per device",
            change: { $0 - $1 },
            worse: "increase"
        )
        compare(
            "latency",
            limit: policy.maximumLatencyIncreasePercent,
            { ($0.latencies, "at least \(minimum) timed requests") },
            label: "p95 latency (ms)",
            change: { latencyIncreasePercent(wave: $0, control: $1) },
            worse: "increase (%)"
        )
        return HealthAssessment(
            windowStart: windowStart,
            windowEnd: windowEnd,
            wave: waveSide,
            control: controlSide,
            gates: gates
        )
    }

    /// What a gate counted on each side against what it needs, for each of its readings.
    struct GateEvidence {
        var gate: String
        var limit: Double
        var waveDevices: Int
        var controlDevices: Int
        var devicesNeeded: Int
        var deviceNeeds: String

        /// A reading with this evidence; `values` (wave, control, change) once the gate decided.
        func reading(_ verdict: String, _ why: String, values: (Double, Double, Double)? = nil) -> GateReading {
            GateReading(
                gate: gate,
                verdict: verdict,
                wave: values?.0,
                control: values?.1,
                change: values?.2,
                limit: limit,
                why: why,
                waveDevices: waveDevices,
                controlDevices: controlDevices,
                devicesNeeded: devicesNeeded,
                deviceNeeds: deviceNeeds
            )
        }
    }

    /// Why a gate of the rollout's last wave cannot decide.
    static let noControlGroup =
        "no control group: every device of the rollout is in a started wave, none is left on the previous version "
        + "to compare with; the gate does not hold the last wave (the earlier waves were judged)"

    /// The per-device values of one side, each from a device with enough queries.
    struct Evidence {
        var errorRates: [Double] = []
        var accuracies: [Double] = []
        var confidences: [Double] = []
        /// The agent starts of each device that sent a summary in the window.
        var restarts: [Double] = []
        /// Each device's 95th-percentile request latency (ms), from devices with enough timed requests.
        var latencies: [Double] = []

        init(_ devices: [String: HealthCounts], _ minimum: Int, starts: [String: Int] = [:]) {
            restarts = starts.values.map(Double.init)
            for counts in devices.values {
                if counts.queries >= minimum {
                    errorRates.append(Double(counts.errors) * 100 / Double(counts.queries))
                }
                if counts.labelled >= minimum {
                    accuracies.append(Double(counts.correct) * 100 / Double(counts.labelled))
                }
                let answered = counts.confidence.reduce(0, +)
                if answered >= minimum {
                    confidences.append(HealthGates.meanConfidence(counts.confidence, answered: answered))
                }
                if counts.latency.reduce(0, +) >= minimum, let p95 = HealthGates.latencyP95(counts.latency) {
                    latencies.append(p95)
                }
            }
        }
    }

    static func side(
        _ devices: [String: HealthCounts],
        starts: [String: Int],
        drift: [String: DeviceInputDrift]? = nil,
        minimumQueries: Int
    ) -> HealthSide {
        let evidence = Evidence(devices, minimumQueries, starts: starts)
        var total = HealthCounts(
            model: "",
            version: 0,
            queries: 0,
            errors: 0,
            latency: [],
            confidence: [],
            labelled: 0,
            correct: 0
        )
        for counts in devices.values { total.add(counts) }
        return HealthSide(
            devices: devices.count,
            queries: total.queries,
            errors: total.errors,
            labelled: total.labelled,
            correct: total.correct,
            starts: starts.values.reduce(0, +),
            errorRatePercent: evidence.errorRates.isEmpty ? nil : median(evidence.errorRates),
            accuracyPercent: evidence.accuracies.isEmpty ? nil : median(evidence.accuracies),
            meanConfidence: evidence.confidences.isEmpty ? nil : median(evidence.confidences),
            confidence: total.confidence,
            inputDriftPSI: inputDrift(drift, minimumSamples: minimumQueries).median,
            restartsPerDevice: evidence.restarts.isEmpty ? nil : median(evidence.restarts),
            latencyP95Milliseconds: evidence.latencies.isEmpty ? nil : median(evidence.latencies)
        )
    }

    /// The mean confidence estimated from the bins' midpoints (ten bins over 0…1: within 0.05 of the true mean).
    static func meanConfidence(_ bins: [Int], answered: Int) -> Double {
        guard answered > 0, !bins.isEmpty else { return 0 }
        let width = 1 / Double(bins.count)
        return bins.enumerated().reduce(0.0) { $0 + Double($1.element) * (Double($1.offset) + 0.5) * width }
            / Double(answered)
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    static func format(_ value: Double) -> String {
        String(format: "%.3g", value)
    }
}
