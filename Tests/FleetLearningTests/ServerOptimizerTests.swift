import FleetLearning
import Foundation
import Testing

@Suite struct ServerOptimizerTests {
    @Test func fedAdamFirstStepByHand() throws {
        let base = TensorSet([try NamedTensor(name: "w", shape: [2], values: [1, -1])])
        var optimizer = ServerOptimizer(.adam(learningRate: 0.1, beta1: 0.9, beta2: 0.99, tau: 0.001))
        let next = try optimizer.apply(delta: [0.2, -0.4], to: base)
        // m = 0.1·Δ = [0.02, −0.04]; v = 0.01·Δ² = [0.0004, 0.0016]; √v = [0.02, 0.04]
        // η_t = 0.1·√(1−0.99)/(1−0.9) = 0.1·0.1/0.1 = 0.1
        // x = x + 0.1·m/(√v + τ) = 1 + 0.1·0.02/0.021, −1 − 0.1·0.04/0.041
        let expected: [Float] = [1 + 0.1 * 0.02 / 0.021, -1 - 0.1 * 0.04 / 0.041]
        let values = try #require(next["w"]?.values)
        for (a, b) in zip(values, expected) { #expect(abs(a - b) < 1e-5) }
        #expect(optimizer.step == 1)

        // Second step with the same Δ: m = 0.9m + 0.1Δ = 0.19Δ, v = 0.99v + 0.01Δ² = 0.0199Δ²,
        // η_t = 0.1·√(1−0.99²)/(1−0.9²).
        let second = try optimizer.apply(delta: [0.2, -0.4], to: next)
        let eta = 0.1 * (1 - 0.99 * 0.99).squareRoot() / (1 - 0.81)
        let m0 = 0.19 * 0.2
        let v0 = 0.0199 * 0.04
        let expected0 = Double(values[0]) + eta * m0 / (v0.squareRoot() + 0.001)
        #expect(abs(Double(second["w"]?.values[0] ?? 0) - expected0) < 1e-5)
    }

    @Test func momentumAccumulatesVelocity() throws {
        let base = TensorSet([try NamedTensor(name: "w", shape: [1], values: [0])])
        var optimizer = ServerOptimizer(.momentum(learningRate: 1, momentum: 0.5))
        let first = try optimizer.apply(delta: [1], to: base)  // v = 1, x = 1
        let second = try optimizer.apply(delta: [1], to: first)  // v = 1.5, x = 2.5
        #expect(first["w"]?.values == [1])
        #expect(second["w"]?.values == [2.5])
    }

    @Test func plainSGDAddsTheDelta() throws {
        let base = TensorSet([try NamedTensor(name: "w", shape: [2], values: [1, 2])])
        var optimizer = ServerOptimizer()
        #expect(try optimizer.apply(delta: [0.5, -1], to: base)["w"]?.values == [1.5, 1])
        #expect(throws: ModelError.self) { try optimizer.apply(delta: [1], to: base) }
    }
}
