/// Why an installed model cannot be run.
public enum TinyModelError: Error, Equatable, Sendable {
    /// No active model, or a flash read failed.
    case unreadable
    /// The safetensors header is malformed, too deep or has a field too long for the bounded parser.
    case malformedHeader
    /// The tensors are not an int8 MLP `fc1 ... fcK` (I8 `fcK.weight [out, in]` and `fcK.bias [out]`, each with an
    /// F32 scalar `_scale`; each layer's inputs the previous one's outputs), or lie outside the data section.
    case notAnInt8MLP
    /// More layers or wider layers than ``TinyModelLayout/maximumLayers`` or the caller's buffers allow.
    case tooLarge
}

/// One dense layer of an installed int8 MLP: where its tensors are in flash and their scales.
public struct TinyDenseLayer: Sendable {
    public var inputs = 0
    public var outputs = 0
    /// Flash offset of the `outputs x inputs` I8 weights (row o is output o, PyTorch `nn.Linear` layout).
    public var weightOffset = 0
    /// Flash offset of the `outputs` I8 biases.
    public var biasOffset = 0
    public var weightScale: Float = 0
    public var biasScale: Float = 0
}

/// The layers of the int8 MLP in a slot, found by parsing the file's safetensors header from flash with a bounded
/// parser: no allocation, a 32-byte read buffer, keys up to 48 bytes, nesting up to 8 (the digits int8 variant's
/// `fc1.weight`, `fc1.weight_scale`, `fc1.bias`, `fc1.bias_scale`, ... as `Sources/FleetModelIO` writes them).
public struct TinyModelLayout: Sendable {
    /// Most layers a layout holds.
    public static let maximumLayers = 8

    public private(set) var layerCount = 0
    private var layers = InlineArray<8, TinyDenseLayer>(repeating: TinyDenseLayer())

    /// Layer `index` (0-based: `fc1` is 0).
    public subscript(index: Int) -> TinyDenseLayer { layers[index] }

    /// Inputs of the first layer.
    public var inputs: Int { layerCount > 0 ? layers[0].inputs : 0 }
    /// Outputs (classes) of the last layer.
    public var outputs: Int { layerCount > 0 ? layers[layerCount - 1].outputs : 0 }
    /// The widest layer input or output: the size of each of the two activation buffers inference needs.
    public var widest: Int {
        var widest = 0
        for index in 0..<layerCount { widest = max(widest, max(layers[index].inputs, layers[index].outputs)) }
        return widest
    }

    /// Parses the model of `length` bytes at flash `offset`.
    public init<Flash: TinyFlash>(flash: Flash, offset: Int, length: Int) throws(TinyModelError) {
        var prefix = InlineArray<8, UInt8>(repeating: 0)
        guard length >= 8, withUnsafeMutableBytes(of: &prefix, { flash.read(at: offset, into: $0) }) else {
            throw .unreadable
        }
        var headerLength = 0
        for index in 0..<8 {
            // Headers of 2 GiB and more are refused, so the length fits a 32-bit `Int`.
            guard index < 3 || prefix[index] == 0 || (index == 3 && prefix[index] < 0x80) else {
                throw .malformedHeader
            }
            headerLength |= Int(prefix[index]) << (8 * index)
        }
        guard headerLength <= length - 8 else { throw .malformedHeader }
        let dataOffset = offset + 8 + headerLength
        var parser = TinyHeaderParser(
            cursor: TinyFlashCursor(flash: flash, offset: offset + 8, end: dataOffset),
            dataSize: length - 8 - headerLength
        )
        var found = InlineArray<8, TinyLayerTensors>(repeating: TinyLayerTensors())
        try parser.parse { (layer, part, tensor) throws(TinyModelError) in
            guard layer < Self.maximumLayers else { throw .tooLarge }
            guard !found[layer].has(part) else { throw .malformedHeader }
            found[layer].set(part, tensor)
        }
        while layerCount < Self.maximumLayers, found[layerCount].isComplete { layerCount += 1 }
        guard layerCount > 0 else { throw .notAnInt8MLP }
        for index in layerCount..<Self.maximumLayers where found[index].any { throw .notAnInt8MLP }
        for index in 0..<layerCount {
            let tensors = found[index]
            guard tensors.isWellShaped, index == 0 || tensors.weightColumns == layers[index - 1].outputs,
                tensors.weightRows > 0, tensors.weightColumns > 0
            else { throw .notAnInt8MLP }
            layers[index] = TinyDenseLayer(
                inputs: tensors.weightColumns,
                outputs: tensors.weightRows,
                weightOffset: dataOffset + tensors.weightBegin,
                biasOffset: dataOffset + tensors.biasBegin,
                weightScale: try Self.float(flash, at: dataOffset + tensors.weightScaleBegin),
                biasScale: try Self.float(flash, at: dataOffset + tensors.biasScaleBegin)
            )
        }
    }

    private static func float<Flash: TinyFlash>(_ flash: Flash, at offset: Int) throws(TinyModelError) -> Float {
        var bits: UInt32 = 0
        guard withUnsafeMutableBytes(of: &bits, { flash.read(at: offset, into: $0) }) else { throw .unreadable }
        return Float(bitPattern: UInt32(littleEndian: bits))
    }
}

/// One tensor entry of the header, as far as inference needs it.
struct TinyTensorEntry: Sendable {
    enum DType: Sendable { case i8, f32, other }

    var dtype = DType.other
    var rank = 0
    var dimension0 = 0
    var dimension1 = 0
    var elements = 1
    var begin = 0
    var end = 0

    var isF32Scalar: Bool { dtype == .f32 && elements == 1 && rank <= 1 }
}

/// The four tensors of one layer, as they are found: only what the layout keeps of each entry (where it starts,
/// the weight's and bias's dimensions) and whether each has the dtype and shape an int8 MLP needs. Eight of these
/// are on the stack while the header is parsed (32 bytes each on a 32-bit chip; the four whole entries took 116).
struct TinyLayerTensors: Sendable {
    enum Part: Int {
        case weight = 0
        case weightScale, bias, biasScale
    }

    private(set) var weightRows = 0
    private(set) var weightColumns = 0
    private(set) var biasLength = 0
    private(set) var weightBegin = 0
    private(set) var biasBegin = 0
    private(set) var weightScaleBegin = 0
    private(set) var biasScaleBegin = 0
    private var seen: UInt8 = 0
    /// One bit a part, as `seen`: the entry had the dtype and rank its part needs (I8 rank 2 weights, I8 rank 1
    /// biases, F32 scalar scales).
    private var shaped: UInt8 = 0

    func has(_ part: Part) -> Bool { seen & (1 << UInt8(part.rawValue)) != 0 }
    var isComplete: Bool { seen == 15 }
    var any: Bool { seen != 0 }
    /// Every part has its dtype and rank, and the bias is as long as the weights have rows.
    var isWellShaped: Bool { shaped == 15 && biasLength == weightRows }

    mutating func set(_ part: Part, _ entry: TinyTensorEntry) {
        seen |= 1 << UInt8(part.rawValue)
        let fits: Bool
        switch part {
        case .weight:
            fits = entry.dtype == .i8 && entry.rank == 2
            (weightRows, weightColumns, weightBegin) = (entry.dimension0, entry.dimension1, entry.begin)
        case .weightScale:
            fits = entry.isF32Scalar
            weightScaleBegin = entry.begin
        case .bias:
            fits = entry.dtype == .i8 && entry.rank == 1
            (biasLength, biasBegin) = (entry.dimension0, entry.begin)
        case .biasScale:
            fits = entry.isF32Scalar
            biasScaleBegin = entry.begin
        }
        if fits { shaped |= 1 << UInt8(part.rawValue) }
    }
}
