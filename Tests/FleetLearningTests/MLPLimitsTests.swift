import FleetLearning
import Testing

/// `model init` creates what the administrator asks for, within bounds checked before any allocation.
@Suite struct MLPLimitsTests {
    @Test func parameterCountIsWeightsPlusBiases() {
        #expect(MLP.parameterCount(layers: [64, 64, 10]) == 64 * 64 + 64 + 64 * 10 + 10)
        #expect(MLP.parameterCount(layers: [Int.max, 2]) == nil, "overflow is not a count")
    }

    @Test func tooManyParametersOrLayersAreRefusedBeforeAllocating() throws {
        // 2 × 4097² ≈ 33.6 million parameters (134 MB): above the bound of 16 Mi.
        #expect(throws: ModelError.self) { try MLP.initialize(layers: [4097, 4097, 4097], seed: 1) }
        #expect(throws: ModelError.self) { try MLP.initialize(layers: [65_536, 65_536, 65_536], seed: 1) }
        #expect(throws: ModelError.self) { try MLP.initialize(layers: Array(repeating: 2, count: 65), seed: 1) }
        let accepted = try MLP.initialize(layers: [1024, 1024, 10], seed: 1)
        #expect(accepted.layerSizes == [1024, 1024, 10])
    }
}
