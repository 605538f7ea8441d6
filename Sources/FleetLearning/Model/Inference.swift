/// The predicted class of one row and the softmax probability the model gives it.
public struct Prediction: Sendable, Equatable {
    public var label: Int
    public var confidence: Float
    /// The full softmax output.
    public var probabilities: [Float]
}

extension MLP {
    /// Softmax outputs for `rowCount` rows of `inputCount` features laid out row after row.
    public func probabilities(features: [Float], rowCount: Int) throws(ModelError) -> [Float] {
        guard features.count == rowCount * inputCount else {
            throw .shapeMismatch(name: "<input>", expected: rowCount * inputCount, actual: features.count)
        }
        var workspace = ForwardWorkspace(layerSizes: layerSizes, rows: Swift.min(rowCount, 256))
        var output = [Float](repeating: 0, count: rowCount * outputCount)
        var start = 0
        while start < rowCount {
            let rows = Swift.min(256, rowCount - start)
            features.withUnsafeBufferPointer { input in
                workspace.forward(self, input: input.baseAddress.unsafelyUnwrapped + start * inputCount, rows: rows)
            }
            workspace.copyOutput(rows: rows, into: &output, at: start * outputCount)
            start += rows
        }
        return output
    }

    /// Predictions for a batch of rows, each of `inputCount` features.
    public func predict(rows: [[Float]]) throws(ModelError) -> [Prediction] {
        var flat = [Float]()
        flat.reserveCapacity(rows.count * inputCount)
        for row in rows {
            guard row.count == inputCount else {
                throw .shapeMismatch(name: "<input row>", expected: inputCount, actual: row.count)
            }
            flat.append(contentsOf: row)
        }
        return try predict(features: flat, rowCount: rows.count)
    }

    /// Predictions for every row of a dataset.
    public func predict(_ data: Dataset) throws(ModelError) -> [Prediction] {
        try predict(features: data.features, rowCount: data.count)
    }

    /// Predictions for `rowCount` rows laid out row after row.
    public func predict(features: [Float], rowCount: Int) throws(ModelError) -> [Prediction] {
        let probabilities = try probabilities(features: features, rowCount: rowCount)
        let classes = outputCount
        return (0..<rowCount).map { r in
            let row = Array(probabilities[r * classes..<(r + 1) * classes])
            var best = 0
            for c in 1..<classes where row[c] > row[best] { best = c }
            return Prediction(label: best, confidence: row[best], probabilities: row)
        }
    }

    /// The fraction of rows whose predicted label equals the dataset's label.
    public func accuracy(on data: Dataset) throws(ModelError) -> Double {
        guard !data.isEmpty else { return 0 }
        let predictions = try predict(data)
        let correct = zip(predictions, data.labels).count { $0.label == $1 }
        return Double(correct) / Double(data.count)
    }
}

/// Activation buffers for a forward pass over up to `capacity` rows, reused across batches.
struct ForwardWorkspace {
    let layerSizes: [Int]
    let capacity: Int
    /// `activations[0]` is unused (the input is read in place); `activations[k]` is layer k's output.
    var activations: [[Float]]
    var transposed: [Float]

    init(layerSizes: [Int], rows: Int) {
        self.layerSizes = layerSizes
        self.capacity = Swift.max(rows, 1)
        activations = layerSizes.map { [Float](repeating: 0, count: $0 * Swift.max(rows, 1)) }
        transposed = [Float](repeating: 0, count: zip(layerSizes, layerSizes.dropFirst()).map(*).max() ?? 0)
    }

    /// Runs the network on `rows` rows at `input`; leaves softmax probabilities in the last activation.
    mutating func forward(_ model: MLP, input: UnsafePointer<Float>, rows: Int) {
        precondition(rows <= capacity, "batch larger than the workspace")
        let layers = model.layerCount
        for k in 0..<layers {
            let (inputs, outputs) = (layerSizes[k], layerSizes[k + 1])
            let weight = model.weight(k)
            let bias = model.bias(k)
            let source: [Float] = k == 0 ? [] : activations[k]
            weight.withUnsafeBufferPointer { w in
                bias.withUnsafeBufferPointer { b in
                    source.withUnsafeBufferPointer { previous in
                        transposed.withUnsafeMutableBufferPointer { t in
                            activations[k + 1].withUnsafeMutableBufferPointer { out in
                                Dense.forward(
                                    input: k == 0 ? input : previous.baseAddress.unsafelyUnwrapped,
                                    rows: rows,
                                    inputs: inputs,
                                    weight: w.baseAddress.unsafelyUnwrapped,
                                    bias: b.baseAddress.unsafelyUnwrapped,
                                    outputs: outputs,
                                    transposed: t.baseAddress.unsafelyUnwrapped,
                                    output: out.baseAddress.unsafelyUnwrapped,
                                    relu: k < layers - 1
                                )
                            }
                        }
                    }
                }
            }
        }
        activations[layers].withUnsafeMutableBufferPointer { out in
            Dense.softmax(out.baseAddress.unsafelyUnwrapped, rows: rows, classes: layerSizes[layers])
        }
    }

    func copyOutput(rows: Int, into output: inout [Float], at offset: Int) {
        let width = layerSizes[layerSizes.count - 1]
        let last = activations[activations.count - 1]
        output.replaceSubrange(offset..<offset + rows * width, with: last[0..<rows * width])
    }
}
