import FleetLearning
import FleetModelIO
import Foundation

/// Personalisation: the device keeps its own copy of the last layer, fine-tuned on its rows on top of each new
/// global model (the body stays global). Only the last layer trains: the rows go through the global body once,
/// and the head is trained as a one-layer softmax model on those hidden features.
struct PersonalHead {
    /// Fine-tunes the last layer of `global` on `data`; returns the head's tensors (named as in the model) and the
    /// local accuracy of the global model with the personal head.
    static func fineTune(
        global: TensorSet,
        data: Dataset,
        configuration: TrainingConfiguration,
        seed: UInt64
    ) throws -> (head: [NamedTensor], accuracy: Double) {
        let layers = MLP.layerCount(global)
        guard layers >= 2, let headWeight = global["fc\(layers).weight"], let headBias = global["fc\(layers).bias"]
        else {
            throw AgentError("personalisation needs an MLP with at least two layers")
        }
        let hidden = try bodyFeatures(global, layers: layers - 1, data: data)
        var head = try MLP(
            parameters: TensorSet([
                try NamedTensor(name: "fc1.weight", shape: headWeight.shape, values: headWeight.values),
                try NamedTensor(name: "fc1.bias", shape: headBias.shape, values: headBias.values),
            ])
        )
        _ = try SGDTrainer(configuration: configuration).train(&head, on: hidden, seed: seed)
        let accuracy = try head.accuracy(on: hidden)
        guard let weight = head.parameters["fc1.weight"], let bias = head.parameters["fc1.bias"] else {
            throw AgentError("personal head lost its tensors")
        }
        return (
            [
                try NamedTensor(name: "fc\(layers).weight", shape: weight.shape, values: weight.values),
                try NamedTensor(name: "fc\(layers).bias", shape: bias.shape, values: bias.values),
            ],
            accuracy
        )
    }

    /// The activations after the first `layers` layers (ReLU), as a dataset with the same labels.
    static func bodyFeatures(_ model: TensorSet, layers: Int, data: Dataset) throws -> Dataset {
        var current = data.features
        var width = data.featureCount
        for layer in 1...layers {
            guard let weight = model["fc\(layer).weight"], let bias = model["fc\(layer).bias"], weight.shape.count == 2,
                weight.shape[1] == width
            else { throw AgentError("fc\(layer) does not fit the body") }
            let outputs = weight.shape[0]
            var next = [Float](repeating: 0, count: data.count * outputs)
            for row in 0..<data.count {
                for output in 0..<outputs {
                    var sum = bias.values[output]
                    for input in 0..<width {
                        sum += current[row * width + input] * weight.values[output * width + input]
                    }
                    next[row * outputs + output] = max(0, sum)
                }
            }
            current = next
            width = outputs
        }
        return try Dataset(featureCount: width, features: current, labels: data.labels)
    }
}

extension MLP {
    /// The number of `fcN` layers in a tensor set.
    static func layerCount(_ tensors: TensorSet) -> Int {
        var count = 0
        while tensors["fc\(count + 1).weight"] != nil { count += 1 }
        return count
    }
}
