/// A fully connected ReLU network in PyTorch `nn.Linear` layout: layer k has `fc{k}.weight` `[out, in]` and
/// `fc{k}.bias` `[out]`, `y = x·Wᵀ + b`, ReLU between layers, softmax on the output.
public struct MLP: Sendable, Equatable {
    /// The parameters, in the order they were given (the order of flat updates).
    public private(set) var parameters: TensorSet
    /// Layer widths, input first: `[64, 64, 10]`.
    public let layerSizes: [Int]
    let weightIndices: [Int]
    let biasIndices: [Int]

    /// Wraps named tensors, checking that `fc1`…`fcN` form a chain. Other tensors are kept but unused.
    public init(parameters: TensorSet) throws(ModelError) {
        var weights = [Int]()
        var biases = [Int]()
        var sizes = [Int]()
        var layer = 1
        while let w = parameters.tensors.firstIndex(where: { $0.name == "fc\(layer).weight" }) {
            guard let b = parameters.tensors.firstIndex(where: { $0.name == "fc\(layer).bias" }) else {
                throw .missingTensor("fc\(layer).bias")
            }
            let wShape = parameters.tensors[w].shape
            guard wShape.count == 2, parameters.tensors[b].shape == [wShape[0]] else {
                throw .notAnMLP("fc\(layer) has weight shape \(wShape), bias \(parameters.tensors[b].shape)")
            }
            if let previous = sizes.last, previous != wShape[1] {
                throw .notAnMLP("fc\(layer) takes \(wShape[1]) inputs but the previous layer gives \(previous)")
            }
            if sizes.isEmpty { sizes.append(wShape[1]) }
            sizes.append(wShape[0])
            weights.append(w)
            biases.append(b)
            layer += 1
        }
        guard !weights.isEmpty else { throw .missingTensor("fc1.weight") }
        self.parameters = parameters
        self.layerSizes = sizes
        self.weightIndices = weights
        self.biasIndices = biases
    }

    /// The most widths ``initialize(layers:seed:)`` accepts (input and output included).
    public static let maximumLayerCount = 64
    /// The most weights and biases ``initialize(layers:seed:)`` creates: 64 MiB of float32.
    public static let maximumParameterCount = 16 << 20

    /// Weights and biases of an MLP with these widths; nil when the count overflows.
    public static func parameterCount(layers: [Int]) -> Int? {
        var total = 0
        for k in layers.indices.dropFirst() {
            let (weights, overflow) = layers[k - 1].multipliedReportingOverflow(by: layers[k])
            let (layer, overflowLayer) = weights.addingReportingOverflow(layers[k])
            let (sum, overflowSum) = total.addingReportingOverflow(layer)
            guard !overflow, !overflowLayer, !overflowSum else { return nil }
            total = sum
        }
        return total
    }

    /// Seeded PyTorch-style initialisation: weight and bias of a layer with `in` inputs are drawn from
    /// U(−1/√in, 1/√in). The same seed gives the same model on every platform.
    public static func initialize(layers: [Int], seed: UInt64) throws(ModelError) -> MLP {
        guard layers.count >= 2, layers.allSatisfy({ $0 > 0 }) else {
            throw .notAnMLP("layers \(layers) need at least an input and an output width, all positive")
        }
        guard layers.count <= maximumLayerCount, let count = parameterCount(layers: layers),
            count <= maximumParameterCount
        else {
            throw .notAnMLP(
                "\(layers.count) layers of widths up to \(layers.max() ?? 0) are too large: at most "
                    + "\(maximumLayerCount) layers and \(maximumParameterCount) parameters (weights and biases)"
            )
        }
        var generator = SeededGenerator(seed: seed)
        var tensors = [NamedTensor]()
        for k in 1..<layers.count {
            let (inputs, outputs) = (layers[k - 1], layers[k])
            let bound = 1 / Float(inputs).squareRoot()
            let weight = (0..<inputs * outputs).map { _ in generator.nextFloat(symmetric: bound) }
            let bias = (0..<outputs).map { _ in generator.nextFloat(symmetric: bound) }
            tensors.append(try NamedTensor(name: "fc\(k).weight", shape: [outputs, inputs], values: weight))
            tensors.append(try NamedTensor(name: "fc\(k).bias", shape: [outputs], values: bias))
        }
        return try MLP(parameters: TensorSet(tensors))
    }

    public var inputCount: Int { layerSizes[0] }
    public var outputCount: Int { layerSizes[layerSizes.count - 1] }
    var layerCount: Int { weightIndices.count }

    /// Replaces the parameters with another set of the same layout (e.g. after aggregation).
    public mutating func replaceParameters(with newParameters: TensorSet) throws(ModelError) {
        guard newParameters.names == parameters.names, newParameters.shapes == parameters.shapes else {
            throw .layoutMismatch
        }
        parameters = newParameters
    }

    /// Applies `body` to the storage of the tensor at `index` in `parameters`.
    mutating func withTensorStorage<R>(at index: Int, _ body: (UnsafeMutableBufferPointer<Float>) -> R) -> R {
        parameters.tensors[index].values.withUnsafeMutableBufferPointer { body($0) }
    }

    func weight(_ k: Int) -> [Float] { parameters.tensors[weightIndices[k]].values }
    func bias(_ k: Int) -> [Float] { parameters.tensors[biasIndices[k]].values }
}
