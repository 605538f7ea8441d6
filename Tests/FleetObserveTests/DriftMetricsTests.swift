import Foundation
import Testing

@testable import FleetObserve

@Test func psiAndJensenShannonOnHandComputedHistograms() {
    // expected [0.5, 0.5], actual [0.25, 0.75]
    // PSI = (0.25 - 0.5) ln(0.25 / 0.5) + (0.75 - 0.5) ln(0.75 / 0.5)
    //     = (-0.25)(-0.693147) + (0.25)(0.405465) = 0.173287 + 0.101366 = 0.274653
    #expect(abs(DriftMetrics.psi(expected: [0.5, 0.5], actual: [0.25, 0.75]) - 0.274653) < 1e-6)
    // m = [0.375, 0.625]
    // KL(p || m) = 0.5 log2(0.5 / 0.375) + 0.5 log2(0.5 / 0.625) = 0.207519 - 0.160964 = 0.046554
    // KL(q || m) = 0.25 log2(0.25 / 0.375) + 0.75 log2(0.75 / 0.625) = -0.146241 + 0.197276 = 0.051035
    // JSD = (0.046554 + 0.051035) / 2 = 0.048795; distance = sqrt(0.048795) = 0.220896
    #expect(abs(DriftMetrics.jensenShannonDistance(p: [0.5, 0.5], q: [0.25, 0.75]) - 0.220896) < 1e-6)
    // Empty reference bin, smoothed with epsilon 0.0001: expected [0.5, 0.5, 0], actual [0.5, 0.25, 0.25]
    // PSI = 0 + (0.25 - 0.5) ln(0.5) + (0.25 - 0.0001) ln(0.25 / 0.0001)
    //     = 0.173287 + 0.2499 * 7.824046 = 0.173287 + 1.955229 = 2.128516
    #expect(abs(DriftMetrics.psi(expected: [0.5, 0.5, 0], actual: [0.5, 0.25, 0.25]) - 2.128516) < 1e-6)
}

@Test func identicalIsZeroAndDisjointIsOne() {
    let p = [0.1, 0.2, 0.3, 0.4]
    #expect(DriftMetrics.psi(expected: p, actual: p) == 0)
    #expect(DriftMetrics.jensenShannonDistance(p: p, q: p) == 0)
    #expect(DriftMetrics.jensenShannonDistance(p: [0.5, 0.5, 0, 0], q: [0, 0, 0.3, 0.7]) == 1)
    // Unnormalised inputs are normalised first.
    #expect(abs(DriftMetrics.jensenShannonDistance(p: [1, 1], q: [2, 6]) - 0.220896) < 1e-6)
    #expect(DriftMetrics.proportions([0, 0]) == nil)
}

@Test func quantileBinsHandleConstantAndTiedFeatures() throws {
    let rows: [[Float]] = (0..<100).map { index in [0, Float(index), Float(index % 3)] }
    let reference = try ReferenceStatistics.compute(
        features: rows,
        predictions: nil,
        confidences: nil,
        bins: 10,
        classCount: 2
    )
    let constant = reference.features[0]
    #expect(constant.cuts == [0, Float(0).nextUp])
    #expect(constant.proportions == [0, 1, 0])
    #expect(constant.bin(of: -1) == 0 && constant.bin(of: 0) == 1 && constant.bin(of: 16) == 2)
    let ramp = reference.features[1]
    #expect(ramp.binCount == 12, "10 quantile bins plus below-minimum and above-maximum")
    #expect(ramp.proportions.first == 0 && ramp.proportions.last == 0)
    #expect(ramp.proportions.dropFirst().dropLast().allSatisfy { abs($0 - 0.1) < 1e-9 })
    let tied = reference.features[2]
    #expect(tied.cuts == [0, 1, 2, Float(2).nextUp], "ties collapse quantiles")
    #expect(reference.classProportions.isEmpty && reference.classCount == 2)
}

@Test func noiseCorrectionRemovesTheSmallSampleBias() {
    // k = 10 equal bins, n = 50, m = 1000: expected PSI 9 (1/50 + 1/1000) = 0.189.
    let drift = DistributionDrift(
        psi: 0.25,
        jensenShannon: 0.2,
        expectedNoisePSI: 0.189,
        expectedNoiseDivergence: 0.034
    )
    #expect(abs(drift.correctedPSI - 0.061) < 1e-9)
    #expect(abs(drift.correctedJensenShannon - (0.04 - 0.034).squareRoot()) < 1e-9)
}
