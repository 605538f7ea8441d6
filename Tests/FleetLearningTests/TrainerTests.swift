import FleetLearning
import Foundation
import Testing

@Suite struct TrainerTests {
    @Test func seededGeneratorIsSplitMix64() {
        // Reference outputs of SplitMix64 seeded with 0 (as in Vigna's splitmix64.c).
        var generator = SeededGenerator(seed: 0)
        #expect(generator.next() == 0xE220_A839_7B1D_CDAF)
        #expect(generator.next() == 0x6E78_9E6A_A1B9_65F4)
    }

    @Test func initialisationIsSeededAndBounded() throws {
        let a = try MLP.initialize(layers: [64, 64, 10], seed: 3)
        let b = try MLP.initialize(layers: [64, 64, 10], seed: 3)
        let c = try MLP.initialize(layers: [64, 64, 10], seed: 4)
        #expect(a == b)
        #expect(a != c)
        #expect(a.parameters.names == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"])
        #expect(a.parameters.shapes == [[64, 64], [64], [10, 64], [10]])
        let bound: Float = 1 / 8
        #expect(a.parameters.flattened().allSatisfy { abs($0) <= bound })
        // Spread over the whole range, not collapsed.
        let fc1 = try #require(a.parameters["fc1.weight"]?.values)
        #expect((fc1.max() ?? 0) > 0.9 * bound && (fc1.min() ?? 0) < -0.9 * bound)
        #expect(throws: ModelError.self) { try MLP.initialize(layers: [64], seed: 0) }
    }

    @Test func rejectsTensorsThatAreNotAChain() throws {
        let tensors = TensorSet([
            try NamedTensor(name: "fc1.weight", shape: [4, 3], values: [Float](repeating: 0, count: 12)),
            try NamedTensor(name: "fc1.bias", shape: [4], values: [0, 0, 0, 0]),
            try NamedTensor(name: "fc2.weight", shape: [2, 5], values: [Float](repeating: 0, count: 10)),
            try NamedTensor(name: "fc2.bias", shape: [2], values: [0, 0]),
        ])
        #expect(throws: ModelError.self) { try MLP(parameters: tensors) }
        #expect(throws: ModelError.self) { try NamedTensor(name: "x", shape: [2, 2], values: [1]) }
    }

    /// Analytic gradients of the Float trainer against central finite differences of a Double forward pass.
    @Test func gradientsMatchFiniteDifferences() throws {
        let model = try MLP.initialize(layers: [5, 7, 6, 3], seed: 11)
        var generator = SeededGenerator(seed: 5)
        let rows = 4
        let features = (0..<rows * 5).map { _ in generator.nextFloat(symmetric: 1) }
        let labels = [0, 2, 1, 2]
        let (loss, gradients) = try SGDTrainer.lossAndGradients(of: model, features: features, labels: labels)
        let parameters = model.parameters.tensors.map { $0.values.map(Double.init) }
        #expect(abs(Double(loss) - Self.loss(parameters, features, labels)) < 1e-5)
        let epsilon = 1e-5
        var worst = 0.0
        for (t, tensor) in parameters.enumerated() {
            for i in tensor.indices {
                var plus = parameters
                var minus = parameters
                plus[t][i] += epsilon
                minus[t][i] -= epsilon
                let numeric = (Self.loss(plus, features, labels) - Self.loss(minus, features, labels)) / (2 * epsilon)
                let analytic = Double(gradients.tensors[t].values[i])
                worst = max(worst, abs(numeric - analytic) / max(1e-3, abs(numeric) + abs(analytic)))
            }
        }
        #expect(worst < 1e-3, "worst relative gradient error \(worst)")
    }

    /// Mean cross-entropy in Double for tensors [w1, b1, w2, b2, …] in nn.Linear layout.
    private static func loss(_ p: [[Double]], _ features: [Float], _ labels: [Int]) -> Double {
        let layers = p.count / 2
        var total = 0.0
        let inputs = features.count / labels.count
        for (r, label) in labels.enumerated() {
            var x = features[r * inputs..<(r + 1) * inputs].map(Double.init)
            for k in 0..<layers {
                let (w, b) = (p[2 * k], p[2 * k + 1])
                let outputs = b.count
                var y = b
                for o in 0..<outputs {
                    for i in x.indices { y[o] += w[o * x.count + i] * x[i] }
                }
                x = k < layers - 1 ? y.map { max($0, 0) } : y
            }
            let peak = x.max() ?? 0
            let logSum = log(x.reduce(0) { $0 + exp($1 - peak) }) + peak
            total += logSum - x[label]
        }
        return total / Double(labels.count)
    }

    @Test func lossGoesDownOnAToySet() throws {
        // Two Gaussian-ish blobs per class in 4 dimensions.
        var generator = SeededGenerator(seed: 1)
        var features = [Float]()
        var labels = [Int]()
        for n in 0..<120 {
            let label = n % 3
            for d in 0..<4 { features.append((d == label ? 1 : 0) + generator.nextFloat(symmetric: 0.3)) }
            labels.append(label)
        }
        let data = try Dataset(featureCount: 4, features: features, labels: labels)
        var model = try MLP.initialize(layers: [4, 16, 3], seed: 2)
        let before = try model.accuracy(on: data)
        let report = try SGDTrainer(configuration: TrainingConfiguration(learningRate: 0.2, batchSize: 8, epochs: 30))
            .train(&model, on: data, seed: 9)
        let losses = report.epochLosses
        #expect(losses.count == 30)
        #expect((losses.last ?? 1) < 0.25 * (losses.first ?? 0))
        #expect(try model.accuracy(on: data) > max(0.95, before))
        #expect(report.steps == 30 * 15)
        // Same seed, same result.
        var again = try MLP.initialize(layers: [4, 16, 3], seed: 2)
        _ = try SGDTrainer(configuration: TrainingConfiguration(learningRate: 0.2, batchSize: 8, epochs: 30))
            .train(&again, on: data, seed: 9)
        #expect(again == model)
    }

    @Test func trainerRejectsDataThatDoesNotFit() throws {
        var model = try MLP.initialize(layers: [4, 3], seed: 0)
        let wrongWidth = try Dataset(featureCount: 3, features: [0, 0, 0], labels: [0])
        #expect(throws: ModelError.self) { try SGDTrainer().train(&model, on: wrongWidth, seed: 0) }
        let badLabel = try Dataset(featureCount: 4, features: [0, 0, 0, 0], labels: [7])
        #expect(throws: ModelError.self) { try SGDTrainer().train(&model, on: badLabel, seed: 0) }
    }
}
