import Foundation
import Testing

@testable import FleetObserve

private func shifted(_ rows: [DigitsRow], _ transform: (Float) -> Float) -> [[Float]] {
    rows.map { $0.pixels.map(transform) }
}

@Test func sameDistributionIsNotDriftedAndShiftedIs() throws {
    let setup = try DigitsSetup.make()
    #expect(Digits.train.count == 1_347 && Digits.test.count == 450)
    let evaluator = DriftEvaluator(criterion: .predictionsOrMedianFeaturePSI)
    let test = try evaluator.evaluate(try setup.summary(Digits.test.map(\.pixels)), against: setup.reference)
    #expect(!test.drifted)
    #expect(test.medianFeature.psi < 0.05 && (test.predictions?.correctedJensenShannon ?? 1) < 0.05)
    let inverted = try evaluator.evaluate(try setup.summary(shifted(Digits.test) { 16 - $0 }), against: setup.reference)
    #expect(inverted.drifted)
    #expect(inverted.medianFeature.psi > 1 && (inverted.predictions?.jensenShannon ?? 0) > 0.3)
    let brighter = try evaluator.evaluate(
        try setup.summary(shifted(Digits.test) { min(16, $0 + 4) }),
        against: setup.reference
    )
    #expect(brighter.drifted)
    #expect(brighter.worstFeature.map { brighter.features[$0.index].psi } == brighter.worstFeature?.psi)
}

/// Non-IID clients against the fleet reference: the prediction mix differs on every client by construction (label
/// skew), and single features trip on all of them; the median feature PSI does not.
@Test func nonIIDClientsAndTheDefaultCriterion() throws {
    let setup = try DigitsSetup.make()
    var flagged: [DriftCriterion: Int] = [:]
    let criteria: [DriftCriterion] = [.medianFeaturePSI, .predictionsOrMedianFeaturePSI, .anyDistribution]
    var summaries: [Int: DriftSummary] = [:]
    for (client, rows) in Digits.clients {
        let summary = try setup.summary(rows.map(\.pixels))
        summaries[client] = summary
        for criterion in criteria {
            let evaluator = DriftEvaluator(criterion: criterion, minimumSamples: 0)
            if try evaluator.evaluate(summary, against: setup.reference).drifted {
                flagged[criterion, default: 0] += 1
            }
        }
    }
    print("non-IID clients flagged of \(summaries.count): \(flagged)")
    #expect(flagged[.anyDistribution] == 20)
    #expect(flagged[.predictionsOrMedianFeaturePSI] == 20)
    #expect((flagged[.medianFeaturePSI] ?? 0) <= 1)
    // With the default minimum of 50 samples, the default criterion flags none.
    let defaults = DriftEvaluator()
    let defaultFlags = try summaries.values.filter { try defaults.evaluate($0, against: setup.reference).drifted }
    #expect(defaultFlags.isEmpty)
    // Fleet-wide, the skews cancel out: nothing drifts even with the predictions in the criterion.
    let fleet = try DriftSummary.merged(Array(summaries.values))
    #expect(
        !(try DriftEvaluator(criterion: .predictionsOrMedianFeaturePSI).evaluate(fleet, against: setup.reference)
            .drifted)
    )
}

@Test func deviceAgainstItsOwnBaselineSeesItsInversion() throws {
    let setup = try DigitsSetup.make()
    let rows = Digits.clients[15] ?? []
    let half = rows.count / 2
    let baseline = try setup.reference.rebased(on: try setup.summary(rows.prefix(half).map(\.pixels)))
    // Halves of 55 rows: the prediction JS still carries sampling noise (corrected 0.18 here), so judge inputs.
    let evaluator = DriftEvaluator()
    let later = Array(rows.suffix(from: half))
    #expect(!(try evaluator.evaluate(try setup.summary(later.map(\.pixels)), against: baseline).drifted))
    #expect(try evaluator.evaluate(try setup.summary(shifted(later) { 16 - $0 }), against: baseline).drifted)
}

/// Laplace noise per count (scale 1/epsilon), applied on each device before merging, as agents would.
@Test func laplaceNoiseEffectOnDetection() throws {
    let setup = try DigitsSetup.make()
    let evaluator = DriftEvaluator()
    var lines: [String] = []
    for epsilon in [1.0, 0.1] {
        var noise = LaplaceNoise(epsilon: epsilon, generator: SeededGenerator(seed: 7))
        let test = try evaluator.evaluate(
            noise.apply(to: try setup.summary(Digits.test.map(\.pixels))),
            against: setup.reference
        )
        let inverted = try evaluator.evaluate(
            noise.apply(to: try setup.summary(shifted(Digits.test) { 16 - $0 })),
            against: setup.reference
        )
        let fleet = try DriftSummary.merged(
            try Digits.clients.values.map { noise.apply(to: try setup.summary($0.map(\.pixels))) }
        )
        let fleetReport = try evaluator.evaluate(fleet, against: setup.reference)
        lines.append(
            String(
                format:
                    "epsilon %.1f: test median PSI %.3f drifted %d; inverted %.3f drifted %d; fleet %.3f drifted %d",
                epsilon,
                test.medianFeature.psi,
                test.drifted ? 1 : 0,
                inverted.medianFeature.psi,
                inverted.drifted ? 1 : 0,
                fleetReport.medianFeature.psi,
                fleetReport.drifted ? 1 : 0
            )
        )
        #expect(inverted.drifted)
        if epsilon >= 1 {
            #expect(!test.drifted && !fleetReport.drifted)
        }
    }
    print(lines.joined(separator: "\n"))
}
