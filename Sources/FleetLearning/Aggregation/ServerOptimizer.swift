import Foundation

/// How the coordinator turns a round's aggregated delta (a pseudo-gradient pointing downhill) into the next
/// model. Keeps its moment state between rounds; it is `Codable` so the coordinator can persist it.
///
/// - `sgd(learningRate:)`: `x ← x + η·Δ` (η = 1 is plain FedAvg).
/// - `momentum(learningRate:momentum:)`: FedAvgM (Hsu et al. 2019; Flower's `FedAvgM`):
///   `v ← β·v + Δ`, `x ← x + η·v`.
/// - `adam(learningRate:beta1:beta2:tau:)`: FedAdam (Reddi et al. 2021; Flower's `FedAdam`):
///   `m ← β₁m + (1−β₁)Δ`, `v ← β₂v + (1−β₂)Δ²`, `x ← x + η·√(1−β₂ᵗ)/(1−β₁ᵗ) · m/(√v + τ)`.
public struct ServerOptimizer: Sendable, Codable, Equatable {
    public enum Method: Sendable, Codable, Equatable {
        case sgd(learningRate: Float)
        case momentum(learningRate: Float, momentum: Float)
        case adam(learningRate: Float, beta1: Float, beta2: Float, tau: Float)
    }

    public var method: Method
    public private(set) var step = 0
    private var firstMoment: [Float] = []
    private var secondMoment: [Float] = []

    public init(_ method: Method = .sgd(learningRate: 1)) {
        self.method = method
    }

    /// FedAdam with Flower's β₁ 0.9 and β₂ 0.99, and τ 1e-3 (Flower: 1e-9; a larger τ damps coordinates whose
    /// updates are tiny).
    public static func adam(learningRate: Float = 0.01) -> ServerOptimizer {
        ServerOptimizer(.adam(learningRate: learningRate, beta1: 0.9, beta2: 0.99, tau: 1e-3))
    }

    /// Forgets the moment state (e.g. when the model's layout changes).
    public mutating func reset() {
        step = 0
        firstMoment = []
        secondMoment = []
    }

    /// The next model from `base` and an aggregated `delta` (flat, in `base`'s order).
    public mutating func apply(delta: [Float], to base: TensorSet) throws(ModelError) -> TensorSet {
        guard delta.count == base.scalarCount else {
            throw .shapeMismatch(name: "<delta>", expected: base.scalarCount, actual: delta.count)
        }
        if firstMoment.count != delta.count { reset() }
        step += 1
        switch method {
        case .sgd(let learningRate):
            return try base.adding(delta, scale: learningRate)
        case .momentum(let learningRate, let momentum):
            if firstMoment.isEmpty { firstMoment = [Float](repeating: 0, count: delta.count) }
            for i in delta.indices { firstMoment[i] = momentum * firstMoment[i] + delta[i] }
            return try base.adding(firstMoment, scale: learningRate)
        case .adam(let learningRate, let beta1, let beta2, let tau):
            if firstMoment.isEmpty {
                firstMoment = [Float](repeating: 0, count: delta.count)
                secondMoment = [Float](repeating: 0, count: delta.count)
            }
            let t = Float(step)
            let corrected = learningRate * (1 - pow(beta2, t)).squareRoot() / (1 - pow(beta1, t))
            var direction = [Float](repeating: 0, count: delta.count)
            for i in delta.indices {
                firstMoment[i] = beta1 * firstMoment[i] + (1 - beta1) * delta[i]
                secondMoment[i] = beta2 * secondMoment[i] + (1 - beta2) * delta[i] * delta[i]
                direction[i] = firstMoment[i] / (secondMoment[i].squareRoot() + tau)
            }
            return try base.adding(direction, scale: corrected)
        }
    }
}
