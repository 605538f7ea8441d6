/// What encoder and decoder both derive from the two headers: the coding order, the old tensor paired with
/// each new tensor, and which I8/U8 tensors have scales to rescale by (DELTA.md, "Tensor mode").
struct TensorPlan {
    /// Indices into `newTensors`: first every one-element tensor, then the rest, each in data-offset order.
    let order: [Int]
    let newTensors: [SafeTensor]
    private let oldByName: [String: SafeTensor]
    private let newByName: [String: SafeTensor]

    init(old: SafeTensorsFile, newTensors: [SafeTensor]) {
        self.newTensors = newTensors
        var byName: [String: SafeTensor] = [:]
        for tensor in old.tensors { byName[tensor.name] = tensor }
        oldByName = byName
        var newNames: [String: SafeTensor] = [:]
        for tensor in newTensors { newNames[tensor.name] = tensor }
        newByName = newNames
        let indices = Array(newTensors.indices)
        order =
            indices.filter { newTensors[$0].elementCount == 1 } + indices.filter { newTensors[$0].elementCount != 1 }
    }

    /// The old tensor with the same name, dtype and shape, if any.
    func pair(of tensor: SafeTensor) -> SafeTensor? {
        guard let old = oldByName[tensor.name], old.dtype == tensor.dtype, old.shape == tensor.shape else {
            return nil
        }
        return old
    }

    /// Columns used by the models: the last dimension (the whole tensor for rank 0 or 1).
    static func columns(of tensor: SafeTensor) -> Int {
        tensor.shape.count >= 2 ? max(tensor.shape[tensor.shape.count - 1], 1) : max(tensor.elementCount, 1)
    }

    /// The `old / new` ratio of `<name>_scale` F32 scalars when `tensor` is an I8 or U8 tensor of more than
    /// one element and both files hold such a scale.
    /// `newBytes` must already contain the new scale (one-element tensors are coded first).
    func rescaleRatio(for tensor: SafeTensor, oldBytes: [UInt8], newBytes: [UInt8]) -> Double? {
        // Only multi-element tensors: their one-element scales are always coded before them.
        guard tensor.dtype == .i8 || tensor.dtype == .u8, tensor.elementCount > 1 else { return nil }
        let scaleName = tensor.name + "_scale"
        guard let oldScale = oldByName[scaleName], oldScale.dtype == .f32, oldScale.elementCount == 1,
            let newScale = newByName[scaleName], newScale.dtype == .f32,
            newScale.elementCount == 1
        else { return nil }
        return ByteModel.ratio(
            oldScale: Self.float(oldBytes, at: oldScale.range.lowerBound),
            newScale: Self.float(newBytes, at: newScale.range.lowerBound)
        )
    }

    private static func float(_ bytes: [UInt8], at offset: Int) -> Float {
        var bits: UInt32 = 0
        for index in 0..<4 { bits |= UInt32(bytes[offset + index]) << UInt32(8 * index) }
        return Float(bitPattern: bits)
    }
}

/// How one tensor is coded; the raw values are the 2-bit method codes of DELTA.md.
enum TensorMethod: UInt32 {
    case model = 0
    case zlib = 1
    case raw = 2
    case generic = 3
}

/// The adaptive models shared by all tensors of one patch, in the order DELTA.md lists them.
struct TensorModels {
    var unchanged = BitModel()
    var methodHigh = BitModel()
    var methodLow = [BitModel](repeating: BitModel(), count: 2)
    var rescaled = BitModel()
    var float32 = Float32Model()
    var bytes = ByteModel()

    mutating func codeMethod<C: BinaryCoder>(_ method: inout TensorMethod, _ coder: inout C) {
        var high = method.rawValue >> 1
        coder.code(&high, &methodHigh)
        var low = method.rawValue & 1
        coder.code(&low, &methodLow[Int(high)])
        method = TensorMethod(rawValue: high << 1 | low) ?? .raw
    }
}
