import FleetStore
import Foundation

/// The drift gate (README "Staged rollouts"): the wave's **input** drift against the reference statistics of the
/// version it runs, compared like with like with the control group's input drift against its own version's
/// reference over the same window. A device counts when its drift reports in the window hold at least the minimum
/// of observations; each side's value is the median over those devices; the gate decides when both sides have the
/// minimum of devices, and fails only when the wave's drift exceeds the control group's by more than the limit
/// (inputs that moved for everyone are the drift alerts' business, not the version's). The confidence of the
/// answers plays no part: a more confident version passes it.
extension HealthGates {
    /// The devices of one side with at least `minimumSamples` observations, and the median of their PSI.
    static func inputDrift(
        _ devices: [String: DeviceInputDrift]?,
        minimumSamples: Int
    ) -> (devices: Int, median: Double?) {
        let values = (devices ?? [:]).values.filter { $0.samples >= minimumSamples }.map(\.psi)
        return (values.count, values.isEmpty ? nil : median(values))
    }

    static func driftGate(
        limit: Double,
        wave: [String: DeviceInputDrift]?,
        control: [String: DeviceInputDrift]?,
        minimumSamples: Int,
        minimumDevices: Int,
        controlGroupSize: Int? = nil
    ) -> GateReading {
        let waveSide = inputDrift(wave, minimumSamples: minimumSamples)
        let controlSide = inputDrift(control, minimumSamples: minimumSamples)
        let needs = "at least \(minimumSamples) observations in drift reports (drift-stats consent)"
        let evidence = GateEvidence(
            gate: "drift-psi",
            limit: limit,
            waveDevices: waveSide.devices,
            controlDevices: controlSide.devices,
            devicesNeeded: minimumDevices,
            deviceNeeds: needs
        )
        func waiting(_ why: String) -> GateReading { evidence.reading("waiting", why) }
        if controlGroupSize == 0 { return evidence.reading("no-control", noControlGroup) }
        guard wave != nil else {
            return waiting("the wave's version has no reference statistics (model push --reference-data)")
        }
        guard control != nil else {
            return waiting("the control group's version has no reference statistics (model push --reference-data)")
        }
        guard let waveValue = waveSide.median, let controlValue = controlSide.median,
            waveSide.devices >= minimumDevices, controlSide.devices >= minimumDevices
        else {
            return waiting(
                "\(waveSide.devices) wave and \(controlSide.devices) control device(s) with \(needs); "
                    + "\(minimumDevices) needed on each side"
            )
        }
        let increase = waveValue - controlValue
        let failed = increase > limit
        return evidence.reading(
            failed ? "fail" : "pass",
            "input drift (median feature PSI against the version's reference) \(format(waveValue)) on the "
                + "wave vs \(format(controlValue)) on the control group (\(waveSide.devices) vs "
                + "\(controlSide.devices) device(s)): increase \(format(increase)) \(failed ? ">" : "<=") "
                + "\(format(limit))",
            values: (waveValue, controlValue, increase)
        )
    }
}
