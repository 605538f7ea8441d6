/// One named tensor of 32-bit floats, row-major, e.g. `fc1.weight` with shape `[out, in]`.
public struct NamedTensor: Sendable, Equatable {
    public var name: String
    public var shape: [Int]
    public var values: [Float]

    /// Creates a tensor; `values.count` must equal the product of `shape` (a scalar has shape `[]`).
    public init(name: String, shape: [Int], values: [Float]) throws(ModelError) {
        let expected = shape.reduce(1, *)
        guard shape.allSatisfy({ $0 >= 0 }), expected == values.count else {
            throw .shapeMismatch(name: name, expected: expected, actual: values.count)
        }
        self.name = name
        self.shape = shape
        self.values = values
    }
}

/// A model's parameters as an ordered list of named tensors.
///
/// The order is the wire order: a flat update (`ClientUpdate.delta`) lists every tensor's values one after
/// another in this order, so `flattened()` and `init(layout:flat:)` convert between the two forms.
public struct TensorSet: Sendable, Equatable {
    public var tensors: [NamedTensor]

    public init(_ tensors: [NamedTensor]) {
        self.tensors = tensors
    }

    public var names: [String] { tensors.map(\.name) }
    public var shapes: [[Int]] { tensors.map(\.shape) }
    /// Total number of scalars over all tensors.
    public var scalarCount: Int { tensors.reduce(0) { $0 + $1.values.count } }

    public subscript(name: String) -> NamedTensor? {
        tensors.first { $0.name == name }
    }

    /// All values, tensor after tensor, in order.
    public func flattened() -> [Float] {
        var flat = [Float]()
        flat.reserveCapacity(scalarCount)
        for tensor in tensors { flat.append(contentsOf: tensor.values) }
        return flat
    }

    /// Rebuilds a tensor set with the names and shapes of `layout` from a flat buffer.
    public init(layout: TensorSet, flat: [Float]) throws(ModelError) {
        guard flat.count == layout.scalarCount else {
            throw .shapeMismatch(name: "<flat>", expected: layout.scalarCount, actual: flat.count)
        }
        var offset = 0
        var tensors = [NamedTensor]()
        tensors.reserveCapacity(layout.tensors.count)
        for tensor in layout.tensors {
            let count = tensor.values.count
            tensors.append(
                try NamedTensor(name: tensor.name, shape: tensor.shape, values: Array(flat[offset..<offset + count]))
            )
            offset += count
        }
        self.tensors = tensors
    }

    /// `self + scale·delta`, where `delta` is flat in this set's order.
    public func adding(_ delta: [Float], scale: Float = 1) throws(ModelError) -> TensorSet {
        guard delta.count == scalarCount else {
            throw .shapeMismatch(name: "<delta>", expected: scalarCount, actual: delta.count)
        }
        var result = self
        var offset = 0
        for index in result.tensors.indices {
            let count = result.tensors[index].values.count
            delta.withUnsafeBufferPointer { source in
                result.tensors[index].values.withUnsafeMutableBufferPointer { target in
                    for i in 0..<count { target[i] += scale * source[offset + i] }
                }
            }
            offset += count
        }
        return result
    }

    /// The flat difference `self − base`, the update a client uploads.
    public func delta(from base: TensorSet) throws(ModelError) -> [Float] {
        guard names == base.names, shapes == base.shapes else {
            throw .layoutMismatch
        }
        let mine = flattened()
        let theirs = base.flattened()
        var delta = [Float](repeating: 0, count: mine.count)
        for i in delta.indices { delta[i] = mine[i] - theirs[i] }
        return delta
    }

    /// The half-open ranges each tensor occupies in the flat buffer.
    public var flatRanges: [Range<Int>] {
        var offset = 0
        return tensors.map { tensor in
            defer { offset += tensor.values.count }
            return offset..<offset + tensor.values.count
        }
    }
}
