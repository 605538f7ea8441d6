import Foundation

/// The built-in reference trainer: softmax cross-entropy averaged over each mini-batch, plain SGD, rows
/// shuffled each epoch by a seeded generator, the last batch of an epoch possibly smaller (as PyTorch's
/// `DataLoader` with `drop_last=False`).
public struct SGDTrainer: Sendable {
    public var configuration: TrainingConfiguration

    public init(configuration: TrainingConfiguration = TrainingConfiguration()) {
        self.configuration = configuration
    }

    /// Trains `model` in place on `data`. The same seed, model and data give the same result.
    public func train(_ model: inout MLP, on data: Dataset, seed: UInt64) throws(ModelError) -> TrainingReport {
        try Self.check(model, featureCount: data.featureCount, labels: data.labels)
        guard configuration.batchSize > 0, configuration.epochs >= 0 else {
            throw .notAnMLP("batch size \(configuration.batchSize) and epochs \(configuration.epochs) must be positive")
        }
        var generator = SeededGenerator(seed: seed)
        let batchSize = min(configuration.batchSize, max(data.count, 1))
        var workspace = BackpropWorkspace(layerSizes: model.layerSizes, rows: batchSize)
        var order = Array(0..<data.count)
        var losses = [Float]()
        var steps = 0
        for _ in 0..<configuration.epochs {
            generator.shuffle(&order)
            var total: Float = 0
            var batches = 0
            var start = 0
            while start < order.count {
                let end = min(start + batchSize, order.count)
                workspace.load(rows: order[start..<end], from: data)
                total += workspace.lossAndGradients(model)
                workspace.applySGD(to: &model, learningRate: configuration.learningRate)
                batches += 1
                steps += 1
                start = end
            }
            losses.append(batches > 0 ? total / Float(batches) : 0)
        }
        return TrainingReport(epochLosses: losses, sampleCount: data.count, steps: steps)
    }

    /// Mean cross-entropy of `model` on the rows and its gradient with respect to every parameter, in the
    /// model's tensor layout (unused tensors get zeros). For checks and custom optimisers.
    public static func lossAndGradients(
        of model: MLP,
        features: [Float],
        labels: [Int]
    ) throws(ModelError) -> (loss: Float, gradients: TensorSet) {
        try check(model, featureCount: features.count / max(labels.count, 1), labels: labels)
        guard !labels.isEmpty, features.count == labels.count * model.inputCount else {
            throw .shapeMismatch(name: "<input>", expected: labels.count * model.inputCount, actual: features.count)
        }
        var workspace = BackpropWorkspace(layerSizes: model.layerSizes, rows: labels.count)
        workspace.load(features: features, labels: labels)
        let loss = workspace.lossAndGradients(model)
        var gradients = model.parameters
        for index in gradients.tensors.indices {
            gradients.tensors[index].values = [Float](repeating: 0, count: gradients.tensors[index].values.count)
        }
        for k in 0..<model.layerCount {
            gradients.tensors[model.weightIndices[k]].values = workspace.weightGradients[k]
            gradients.tensors[model.biasIndices[k]].values = workspace.biasGradients[k]
        }
        return (loss, gradients)
    }

    private static func check(_ model: MLP, featureCount: Int, labels: [Int]) throws(ModelError) {
        guard featureCount == model.inputCount else {
            throw .shapeMismatch(name: "<features per row>", expected: model.inputCount, actual: featureCount)
        }
        if let bad = labels.first(where: { $0 < 0 || $0 >= model.outputCount }) {
            throw .notAnMLP("label \(bad) outside 0..<\(model.outputCount)")
        }
    }
}

/// Buffers for one mini-batch: the batch's inputs, forward activations, back-propagated deltas and gradients.
struct BackpropWorkspace {
    var forward: ForwardWorkspace
    var input: [Float]
    var labels: [Int]
    var rows = 0
    /// `deltas[k]` is ∂loss/∂(pre-activation of layer k's output), k = 1…L.
    var deltas: [[Float]]
    var weightGradients: [[Float]]
    var biasGradients: [[Float]]

    init(layerSizes: [Int], rows: Int) {
        forward = ForwardWorkspace(layerSizes: layerSizes, rows: rows)
        input = [Float](repeating: 0, count: layerSizes[0] * max(rows, 1))
        labels = []
        deltas = layerSizes.map { [Float](repeating: 0, count: $0 * max(rows, 1)) }
        weightGradients = zip(layerSizes, layerSizes.dropFirst()).map { [Float](repeating: 0, count: $0 * $1) }
        biasGradients = layerSizes.dropFirst().map { [Float](repeating: 0, count: $0) }
    }

    mutating func load(rows indices: ArraySlice<Int>, from data: Dataset) {
        let width = data.featureCount
        rows = indices.count
        labels.removeAll(keepingCapacity: true)
        data.features.withUnsafeBufferPointer { source in
            input.withUnsafeMutableBufferPointer { target in
                for (r, index) in indices.enumerated() {
                    for i in 0..<width { target[r * width + i] = source[index * width + i] }
                    labels.append(data.labels[index])
                }
            }
        }
    }

    mutating func load(features: [Float], labels: [Int]) {
        rows = labels.count
        input = features
        self.labels = labels
    }

    /// Forward and backward pass; returns the mean loss and fills the gradients.
    mutating func lossAndGradients(_ model: MLP) -> Float {
        let sizes = forward.layerSizes
        let layers = model.layerCount
        let rows = rows
        input.withUnsafeBufferPointer { x in
            forward.forward(model, input: x.baseAddress.unsafelyUnwrapped, rows: rows)
        }
        let classes = sizes[layers]
        var loss: Float = 0
        let scale = 1 / Float(rows)
        forward.activations[layers].withUnsafeBufferPointer { probabilities in
            deltas[layers].withUnsafeMutableBufferPointer { delta in
                for r in 0..<rows {
                    let label = labels[r]
                    loss -= log(max(probabilities[r * classes + label], .leastNormalMagnitude))
                    for c in 0..<classes {
                        let target: Float = c == label ? 1 : 0
                        delta[r * classes + c] = (probabilities[r * classes + c] - target) * scale
                    }
                }
            }
        }
        for k in stride(from: layers - 1, through: 0, by: -1) {
            let (inputs, outputs) = (sizes[k], sizes[k + 1])
            let layerInput = k == 0 ? input : forward.activations[k]
            let upstream = deltas[k + 1]
            for i in weightGradients[k].indices { weightGradients[k][i] = 0 }
            for i in biasGradients[k].indices { biasGradients[k][i] = 0 }
            upstream.withUnsafeBufferPointer { delta in
                layerInput.withUnsafeBufferPointer { x in
                    weightGradients[k].withUnsafeMutableBufferPointer { gw in
                        biasGradients[k].withUnsafeMutableBufferPointer { gb in
                            Dense.accumulateGradients(
                                delta: delta.baseAddress.unsafelyUnwrapped,
                                input: x.baseAddress.unsafelyUnwrapped,
                                rows: rows,
                                inputs: inputs,
                                outputs: outputs,
                                weightGradient: gw.baseAddress.unsafelyUnwrapped,
                                biasGradient: gb.baseAddress.unsafelyUnwrapped
                            )
                        }
                    }
                }
                guard k > 0 else { return }
                model.weight(k).withUnsafeBufferPointer { w in
                    layerInput.withUnsafeBufferPointer { activation in
                        deltas[k].withUnsafeMutableBufferPointer { d in
                            Dense.propagate(
                                delta: delta.baseAddress.unsafelyUnwrapped,
                                weight: w.baseAddress.unsafelyUnwrapped,
                                activation: activation.baseAddress.unsafelyUnwrapped,
                                rows: rows,
                                inputs: inputs,
                                outputs: outputs,
                                inputDelta: d.baseAddress.unsafelyUnwrapped
                            )
                        }
                    }
                }
            }
        }
        return loss * scale
    }

    func applySGD(to model: inout MLP, learningRate: Float) {
        for k in 0..<model.layerCount {
            weightGradients[k].withUnsafeBufferPointer { g in
                model.withTensorStorage(at: model.weightIndices[k]) { weight in
                    for i in 0..<weight.count { weight[i] -= learningRate * g[i] }
                }
            }
            biasGradients[k].withUnsafeBufferPointer { g in
                model.withTensorStorage(at: model.biasIndices[k]) { bias in
                    for i in 0..<bias.count { bias[i] -= learningRate * g[i] }
                }
            }
        }
    }
}
