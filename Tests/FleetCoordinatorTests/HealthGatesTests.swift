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

    func assess(
        wave: [HealthCounts],
        control: [HealthCounts],
        policy: RolloutGatePolicy = Self.policy
    ) -> [String: GateReading] {
        let assessment = HealthGates.assess(
            policy: policy,
            wave: Self.side(wave),
            control: Self.side(control),
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
        let gates = assess(wave: bad, control: Self.healthy)
        #expect(gates.values.allSatisfy { $0.verdict == "fail" }, "\(gates)")
        #expect(gates["error-rate"]?.change == 5, "5 % of queries failed against none")
        #expect(gates["accuracy"]?.change == 55, "40 % against 95 %: a drop of 55 points")
        let confidenceDrop = try? #require(gates["confidence"]?.change)
        #expect(abs((confidenceDrop ?? 0) - 0.3) < 1e-9, "bin 6 (0.65) against bin 9 (0.95)")
        // The same numbers the other way round are improvements: nothing fails.
        let better = assess(wave: Self.healthy, control: bad)
        for gate in ["error-rate", "accuracy", "confidence"] {
            #expect(better[gate]?.verdict == "pass", "\(gate)")
        }
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

    @Test func theDriftGateComparesPooledConfidenceDistributions() {
        let shifted = [HealthCounts](repeating: Self.device(confidenceBin: 5), count: 3)
        let gates = assess(wave: shifted, control: Self.healthy)
        let psi = try? #require(gates["drift-psi"]?.change)
        #expect((psi ?? 0) > 0.25 && gates["drift-psi"]?.verdict == "fail", "disjoint bins: a large PSI")
    }
}
