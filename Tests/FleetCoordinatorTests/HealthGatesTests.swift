import FleetStore
import Foundation
import Testing

@testable import FleetCoordinator

/// The health gates' arithmetic: medians over devices with enough queries, minimums on both sides before any
/// decision, and each gate's direction (README "Staged rollouts").
@Suite struct HealthGatesTests {
    static let policy = RolloutGatePolicy(
        maximumErrorRateIncrease: 1,
        maximumAccuracyDrop: 2,
        maximumConfidenceDrop: 0.05,
        maximumDriftPSI: 0.25,
        minimumDevices: 3,
        minimumQueries: 50
    )

    /// A device's counts: `queries` answered with every confidence in `confidenceBin`, `errors` of them failed,
    /// `labelled` of them with feedback, `correct` right.
    static func device(
        queries: Int = 100,
        errors: Int = 0,
        confidenceBin: Int = 9,
        labelled: Int = 100,
        correct: Int = 95
    ) -> HealthCounts {
        var confidence = [Int](repeating: 0, count: 10)
        confidence[confidenceBin] = queries - errors
        return HealthCounts(
            model: "m",
            version: 1,
            queries: queries,
            errors: errors,
            latency: [1, 0, 0, 0, 0],
            confidence: confidence,
            labelled: labelled,
            correct: correct
        )
    }

    static func side(_ devices: [HealthCounts]) -> [String: HealthCounts] {
        Dictionary(uniqueKeysWithValues: devices.enumerated().map { ("d-\($0.offset)", $0.element) })
    }

    /// Each device's input drift (median feature PSI against its version's reference) over `samples` observations.
    static func drift(_ psi: [Double], samples: Int = 100) -> [String: DeviceInputDrift] {
        Dictionary(
            uniqueKeysWithValues: psi.enumerated().map {
                ("d-\($0.offset)", DeviceInputDrift(psi: $0.element, samples: samples))
            }
        )
    }

    /// The gates' readings; each side's input drift is `waveDrift` / `controlDrift` (default: 0.02 on every
    /// device of the side, in line with its version's reference).
    func assess(
        wave: [HealthCounts],
        control: [HealthCounts],
        waveDrift: [String: DeviceInputDrift]? = nil,
        controlDrift: [String: DeviceInputDrift]? = nil,
        policy: RolloutGatePolicy = Self.policy
    ) -> [String: GateReading] {
        let assessment = HealthGates.assess(
            policy: policy,
            wave: Self.side(wave),
            control: Self.side(control),
            waveDrift: waveDrift ?? Self.drift(wave.map { _ in 0.02 }),
            controlDrift: controlDrift ?? Self.drift(control.map { _ in 0.02 }),
            windowStart: Date(timeIntervalSince1970: 0),
            windowEnd: Date(timeIntervalSince1970: 60)
        )
        return Dictionary(uniqueKeysWithValues: assessment.gates.map { ($0.gate, $0) })
    }

    static let healthy = [HealthCounts](repeating: device(), count: 3)

    @Test func aSimilarWavePassesEveryGate() {
        let gates = assess(wave: Self.healthy, control: Self.healthy + [Self.device(correct: 93)])
        #expect(gates.count == 4)
        #expect(gates.values.allSatisfy { $0.verdict == "pass" }, "\(gates)")
        #expect(gates["accuracy"]?.wave == 95 && gates["accuracy"]?.control == 95)
        #expect(gates["drift-psi"]?.change == 0)
    }

    @Test func oneNoisyDeviceNeitherHaltsNorPassesAWave() {
        // One wave device fails every query, is always wrong and unsure: the medians of three ignore it.
        let noisy = Self.device(errors: 40, confidenceBin: 2, correct: 5)
        let gates = assess(wave: [Self.device(), Self.device(), noisy], control: Self.healthy)
        for gate in ["error-rate", "accuracy", "confidence"] {
            #expect(gates[gate]?.verdict == "pass", "\(gate): \(gates[gate] as Any)")
        }
        // And one bad device alone (the others not reporting yet) decides nothing.
        let alone = assess(wave: [noisy], control: Self.healthy)
        #expect(alone.values.allSatisfy { $0.verdict == "waiting" }, "\(alone)")
    }

    @Test func aBadWaveFailsEachGateInItsDirection() {
        let bad = [HealthCounts](repeating: Self.device(errors: 5, confidenceBin: 6, correct: 40), count: 3)
        let gates = assess(wave: bad, control: Self.healthy, waveDrift: Self.drift([0.5, 0.6, 0.7]))
        #expect(gates.values.allSatisfy { $0.verdict == "fail" }, "\(gates)")
        #expect(gates["error-rate"]?.change == 5, "5 % of queries failed against none")
        #expect(gates["accuracy"]?.change == 55, "40 % against 95 %: a drop of 55 points")
        let confidenceDrop = try? #require(gates["confidence"]?.change)
        #expect(abs((confidenceDrop ?? 0) - 0.3) < 1e-9, "bin 6 (0.65) against bin 9 (0.95)")
        // The same numbers the other way round are improvements: nothing fails.
        let better = assess(wave: Self.healthy, control: bad, controlDrift: Self.drift([0.5, 0.6, 0.7]))
        #expect(better.count == 4 && better.values.allSatisfy { $0.verdict == "pass" }, "\(better)")
    }

    @Test func minimumsOfDevicesAndQueriesAreRespectedOnBothSides() {
        let bad = [HealthCounts](repeating: Self.device(correct: 0), count: 3)
        // Two control devices only: no decision, however bad the wave.
        var gates = assess(wave: bad, control: Array(Self.healthy.prefix(2)))
        #expect(gates["accuracy"]?.verdict == "waiting" && gates["accuracy"]?.change == nil)
        // Three control devices, but one has 49 labelled queries (< 50): still waiting.
        gates = assess(wave: bad, control: Array(Self.healthy.prefix(2)) + [Self.device(labelled: 49, correct: 49)])
        #expect(gates["accuracy"]?.verdict == "waiting", "\(gates["accuracy"] as Any)")
        #expect(gates["error-rate"]?.verdict == "pass", "its 100 queries count for the error rate")
        // With 50 it counts, and the wave fails.
        gates = assess(wave: bad, control: Array(Self.healthy.prefix(2)) + [Self.device(labelled: 50, correct: 50)])
        #expect(gates["accuracy"]?.verdict == "fail")
        // Without feedback the accuracy gate waits while the label-free gates decide.
        let unlabelled = [HealthCounts](repeating: Self.device(labelled: 0, correct: 0), count: 3)
        gates = assess(wave: unlabelled, control: unlabelled)
        #expect(gates["accuracy"]?.verdict == "waiting" && gates["confidence"]?.verdict == "pass")
    }

    @Test func limitsAreStrictAndGatesCanBeOff() {
        // Exactly the limit passes: 93 % against 95 % is a drop of 2 points.
        let atLimit = [HealthCounts](repeating: Self.device(correct: 93), count: 3)
        #expect(assess(wave: atLimit, control: Self.healthy)["accuracy"]?.verdict == "pass")
        let beyond = [HealthCounts](repeating: Self.device(correct: 92), count: 3)
        #expect(assess(wave: beyond, control: Self.healthy)["accuracy"]?.verdict == "fail")
        let off = assess(wave: beyond, control: Self.healthy, policy: RolloutGatePolicy(maximumConfidenceDrop: 0.05))
        #expect(off.keys.sorted() == ["confidence"], "only the gates that are on are read")
    }

    @Test func aMoreConfidentBetterVersionPassesEveryGate() {
        // The wave answers everything with confidence in 0.9…1 and is right more often; the control group's answers
        // sit in 0.6…0.7. Its inputs are as far from its version's reference as the control's are from theirs.
        let better = [HealthCounts](repeating: Self.device(confidenceBin: 9, correct: 98), count: 3)
        let older = [HealthCounts](repeating: Self.device(confidenceBin: 6, correct: 95), count: 4)
        let gates = assess(
            wave: better,
            control: older,
            waveDrift: Self.drift([0.03, 0.01, 0.02]),
            controlDrift: Self.drift([0.02, 0.04, 0.01, 0.02])
        )
        #expect(gates.count == 4 && gates.values.allSatisfy { $0.verdict == "pass" }, "\(gates)")
        let drift = gates["drift-psi"]
        #expect(drift?.wave == 0.02 && drift?.control == 0.02 && drift?.change == 0, "medians of each side")
        #expect(drift?.why.contains("input drift") == true, "\(drift as Any)")
        let confidence = try? #require(gates["confidence"]?.change)
        #expect(abs((confidence ?? 0) + 0.3) < 1e-9, "a rise of 0.3 is a negative drop")
    }

    @Test func aWaveWhoseInputsDriftFromItsReferenceFailsTheDriftGateAlone() {
        // Same answers on both sides; the wave's devices see inputs far from the reference of the version they run.
        let gates = assess(wave: Self.healthy, control: Self.healthy, waveDrift: Self.drift([0.9, 1.2, 0.4]))
        #expect(gates.values.filter { $0.verdict == "fail" }.map(\.gate) == ["drift-psi"], "\(gates)")
        let drift = gates["drift-psi"]
        #expect(drift?.wave == 0.9 && drift?.control == 0.02, "\(drift as Any)")
        #expect(abs((drift?.change ?? 0) - 0.88) < 1e-9 && drift?.limit == 0.25)
        // Inputs that moved as much for the control group are not the version's doing: like with like passes.
        let everywhere = assess(
            wave: Self.healthy,
            control: Self.healthy,
            waveDrift: Self.drift([0.9, 1.2, 0.4]),
            controlDrift: Self.drift([1.0, 0.8, 0.7])
        )
        #expect(everywhere["drift-psi"]?.verdict == "pass", "\(everywhere["drift-psi"] as Any)")
        // Exactly the limit passes; just over it fails.
        let half = Self.drift([0.5, 0.5, 0.5])
        let atLimit = assess(
            wave: Self.healthy,
            control: Self.healthy,
            waveDrift: half,
            controlDrift: Self.drift([0.25, 0.25, 0.25])
        )
        #expect(atLimit["drift-psi"]?.verdict == "pass", "\(atLimit["drift-psi"] as Any)")
        let over = assess(
            wave: Self.healthy,
            control: Self.healthy,
            waveDrift: half,
            controlDrift: Self.drift([0.24, 0.24, 0.24])
        )
        #expect(over["drift-psi"]?.verdict == "fail")
    }

    @Test func theDriftGateWaitsForReferencesDevicesAndObservations() {
        let drifted = Self.drift([0.9, 1.2, 0.4])
        // Devices whose drift reports hold fewer than --gate-min-queries observations do not count.
        let few = assess(
            wave: Self.healthy,
            control: Self.healthy,
            waveDrift: Self.drift([0.9, 1.2, 0.4], samples: 49)
        )
        #expect(few["drift-psi"]?.verdict == "waiting" && few["drift-psi"]?.change == nil)
        #expect(few["drift-psi"]?.why.contains("0 wave and 3 control device(s)") == true, "\(few as Any)")
        // Two drifted devices of three: one short of the minimum.
        var two = drifted
        two["d-2"] = nil
        #expect(assess(wave: Self.healthy, control: Self.healthy, waveDrift: two)["drift-psi"]?.verdict == "waiting")
        // A version without reference statistics: nothing to judge input drift against, on either side.
        let noReference = HealthGates.driftGate(
            limit: 0.25,
            wave: nil,
            control: Self.drift([0.02, 0.02, 0.02]),
            minimumSamples: 50,
            minimumDevices: 3
        )
        #expect(noReference.verdict == "waiting" && noReference.why.contains("reference statistics"))
        let noControlReference = HealthGates.driftGate(
            limit: 0.25,
            wave: drifted,
            control: nil,
            minimumSamples: 50,
            minimumDevices: 3
        )
        #expect(noControlReference.verdict == "waiting" && noControlReference.why.contains("control group's version"))
        // The evidence of each side carries its median input drift.
        let assessment = HealthGates.assess(
            policy: Self.policy,
            wave: Self.side(Self.healthy),
            control: Self.side(Self.healthy),
            waveDrift: drifted,
            controlDrift: nil,
            windowStart: Date(timeIntervalSince1970: 0),
            windowEnd: Date(timeIntervalSince1970: 60)
        )
        #expect(assessment.wave.inputDriftPSI == 0.9 && assessment.control.inputDriftPSI == nil)
    }
}
