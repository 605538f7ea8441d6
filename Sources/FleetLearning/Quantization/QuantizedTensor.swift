/// A tensor stored as 8-bit integers with one per-tensor scale: `w = q·scale` (symmetric, as in the
/// `*-int8.safetensors` models, whose scale sits in a scalar F32 tensor `<name>_scale`).
package struct QuantizedTensor: Sendable, Equatable {
    package var name: String
    package var shape: [Int]
    package var values: [Int8]
    package var scale: Float

    package init(name: String, shape: [Int], values: [Int8], scale: Float) {
        self.name = name
        self.shape = shape
        self.values = values
        self.scale = scale
    }

    package func dequantized() throws(ModelError) -> NamedTensor {
        let scale = scale
        return try NamedTensor(name: name, shape: shape, values: values.map { Float($0) * scale })
    }
}

extension TensorSet {
    /// Float tensors from int8 ones, in the same order (for inference with int8 models).
    package init(dequantizing tensors: [QuantizedTensor]) throws(ModelError) {
        var result = [NamedTensor]()
        for tensor in tensors { result.append(try tensor.dequantized()) }
        self.init(result)
    }
}
