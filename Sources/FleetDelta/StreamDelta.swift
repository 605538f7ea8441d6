/// Stream mode (DELTA.md section 12): one range-coded stream of copy, literal and diff operations that a device
/// applies in order with a constant amount of RAM, reading the base at random offsets and writing the output
/// front to back (a microcontroller writing flash page by page). No deflate, no byte section, no state sized by
/// the model.
enum StreamDelta {
    /// The largest `columns` of a diff operation: the decoder keeps two sums per column.
    static let maximumColumns = 256

    /// Operation codes (2 bits).
    enum Operation: UInt32 {
        case copy = 0
        case literal = 1
        case diff = 2
    }

    /// How a diff operation predicts each new byte from the old one.
    struct Diff: Equatable {
        var signed: Bool
        var columns: Int
        /// `old / new` scale ratio in 1/65536 units, or nil for no rescaling.
        var ratio: UInt32?
    }

    /// The prediction table of a diff (DELTA.md 12.4): the old value, or `round(value * ratio / 65536)`, half away
    /// from zero, clamped to the dtype's range.
    static func predictions(signed: Bool, ratio: UInt32?) -> [Int] {
        (0..<256).map { byte in
            let value = signed ? Int(Int8(truncatingIfNeeded: byte)) : byte
            guard let ratio else { return value }
            let product = value * Int(ratio)
            let rounded = product >= 0 ? (product + 32_768) >> 16 : -((-product + 32_768) >> 16)
            return signed ? min(max(rounded, -128), 127) : min(max(rounded, 0), 255)
        }
    }

    /// The column count a diff uses for a tensor: the largest divisor of its last dimension (of its element count
    /// for rank 0 or 1) that is at most ``maximumColumns``.
    static func columns(of tensor: SafeTensor) -> Int {
        let width = TensorPlan.columns(of: tensor)
        var best = 1
        for candidate in 1...min(width, maximumColumns) where width % candidate == 0 { best = candidate }
        return best
    }
}

/// The adaptive models of a stream-mode patch, in DELTA.md 12.2's order, and the code of each field, shared by the
/// encoder, the cost estimate and the decoder.
struct StreamModels {
    var operationHigh = BitModel()
    var operationLow = [BitModel](repeating: BitModel(), count: 2)
    var lengths = StreamModels.numberCoder()
    var offsets = StreamModels.numberCoder()
    var columns = StreamModels.numberCoder()
    var signed = BitModel()
    var rescaled = BitModel()
    var literal = [BitModel](repeating: BitModel(), count: 256)
    var bytes = ByteModel()

    private static func numberCoder() -> IntegerCoder {
        IntegerCoder(lengthContexts: 1, signContexts: 1, lengthCode: .tree, maximumLength: 32, modeledBits: 0)
    }

    mutating func code<C: BinaryCoder>(_ operation: inout UInt32, _ coder: inout C) {
        var high = operation >> 1
        coder.code(&high, &operationHigh)
        var low = operation & 1
        coder.code(&low, &operationLow[Int(high)])
        operation = high << 1 | low
    }

    static func code<C: BinaryCoder>(_ value: inout Int64, with numbers: inout IntegerCoder, _ coder: inout C) {
        numbers.withView { view in view.code(&value, lengthContext: 0, signContext: 0, &coder) }
    }

    mutating func code<C: BinaryCoder>(literal byte: inout UInt8, _ coder: inout C) {
        var node = 1
        for shift in stride(from: 7, through: 0, by: -1) {
            var bit = UInt32((byte >> UInt8(shift)) & 1)
            coder.code(&bit, &literal[node])
            node = node * 2 + Int(bit)
        }
        byte = UInt8(truncatingIfNeeded: node)
    }

    /// Codes a diff's parameters (after its length and offset).
    mutating func code<C: BinaryCoder>(_ diff: inout StreamDelta.Diff, _ coder: inout C) {
        var isSigned: UInt32 = diff.signed ? 1 : 0
        coder.code(&isSigned, &signed)
        var columnCount = Int64(diff.columns)
        Self.code(&columnCount, with: &columns, &coder)
        var hasRatio: UInt32 = diff.ratio == nil ? 0 : 1
        coder.code(&hasRatio, &rescaled)
        var ratio: UInt32? = nil
        if hasRatio == 1 {
            var high = (diff.ratio ?? 0) >> 16
            coder.codeDirect(&high, count: 16)
            var low = (diff.ratio ?? 0) & 0xFFFF
            coder.codeDirect(&low, count: 16)
            ratio = high << 16 | low
        }
        diff = StreamDelta.Diff(signed: isSigned == 1, columns: Int(truncatingIfNeeded: columnCount), ratio: ratio)
    }
}

/// Encodes the body of a stream-mode patch: the output size, then the range-coded operations.
struct StreamDeltaEncoder {
    let old: [UInt8]
    let new: [UInt8]
    private let matcher: GenericMatcher

    init(old: [UInt8], new: [UInt8]) {
        self.old = old
        self.new = new
        matcher = GenericMatcher(old: old)
    }

    /// One stretch of the new file and how it may be coded.
    private enum Segment {
        /// Copies and literals found by the matcher.
        case matched(Range<Int>)
        /// A copy of equal bytes of the base.
        case copy(Range<Int>, from: Int)
        /// A paired I8/U8 tensor: a diff (with or without rescaling) or, if cheaper, copies and literals.
        case tensor(Range<Int>, from: Int, columns: Int, signed: Bool, ratio: UInt32?)
    }

    /// The models and position a coder carries from one operation to the next.
    private struct State {
        var models = StreamModels()
        var lastCopyEnd = 0
    }

    func encode(into writer: inout ByteWriter) {
        writer.writeVarint(new.count)
        var state = State()
        var encoder = RangeEncoder()
        for segment in segments() {
            switch segment {
            case .matched(let range):
                emitMatched(range, &state, &encoder)
            case .copy(let range, let from):
                emitCopy(offset: from, length: range.count, &state, &encoder)
            case .tensor(let range, let from, let columns, let signed, let ratio):
                var candidates: [StreamDelta.Diff?] = [StreamDelta.Diff(signed: signed, columns: columns, ratio: nil)]
                if ratio != nil { candidates.append(StreamDelta.Diff(signed: signed, columns: columns, ratio: ratio)) }
                candidates.append(nil)
                let costs = candidates.map { cost($0, range, from, state) }
                let cheapest = costs.indices.min { costs[$0] < costs[$1] } ?? 0
                if let best = candidates[cheapest] {
                    emitDiff(range, from: from, best, &state, &encoder)
                } else {
                    emitMatched(range, &state, &encoder)
                }
            }
        }
        writer.write(encoder.finish())
    }

    /// Cost in 1/256 bit of coding `range` as `diff` (nil: copies and literals) from `state`.
    private func cost(_ diff: StreamDelta.Diff?, _ range: Range<Int>, _ from: Int, _ state: State) -> UInt64 {
        var state = state
        var meter = CostMeter()
        if let diff {
            emitDiff(range, from: from, diff, &state, &meter)
        } else {
            emitMatched(range, &state, &meter)
        }
        return meter.cost
    }

    private func segments() -> [Segment] {
        guard let oldFile = try? SafeTensorsFile.parse(old), let newFile = try? SafeTensorsFile.parse(new) else {
            return new.isEmpty ? [] : [.matched(0..<new.count)]
        }
        let plan = TensorPlan(old: oldFile, newTensors: newFile.tensors)
        var result: [Segment] = [.matched(0..<newFile.dataOffset)]
        for tensor in newFile.tensors.sorted(by: { $0.range.lowerBound < $1.range.lowerBound })
        where !tensor.range.isEmpty {
            guard let pair = plan.pair(of: tensor) else {
                result.append(.matched(tensor.range))
                continue
            }
            if oldFile.data(of: pair) == newFile.data(of: tensor) {
                result.append(.copy(tensor.range, from: pair.range.lowerBound))
            } else if tensor.dtype == .i8 || tensor.dtype == .u8 {
                let ratio = plan.rescaleRatio(for: tensor, oldBytes: old, newBytes: new).map {
                    UInt32(($0 * 65_536).rounded())
                }
                result.append(
                    .tensor(
                        tensor.range,
                        from: pair.range.lowerBound,
                        columns: StreamDelta.columns(of: tensor),
                        signed: tensor.dtype == .i8,
                        ratio: ratio
                    )
                )
            } else {
                result.append(.matched(tensor.range))
            }
        }
        return result
    }

    private func emitMatched<C: BinaryCoder>(_ range: Range<Int>, _ state: inout State, _ coder: inout C) {
        for instruction in matcher.instructions(new[range]) {
            if !instruction.literals.isEmpty { emitLiteral(instruction.literals, &state, &coder) }
            if instruction.copyLength > 0 {
                emitCopy(offset: instruction.copyOffset, length: instruction.copyLength, &state, &coder)
            }
        }
    }

    private func emitHead<C: BinaryCoder>(
        _ operation: StreamDelta.Operation,
        length: Int,
        offset: Int?,
        _ state: inout State,
        _ coder: inout C
    ) {
        precondition(length > 0 && length < 1 << 32, "stream-mode operations are 1 byte to 4 GiB")
        var code = operation.rawValue
        state.models.code(&code, &coder)
        var value = Int64(length)
        StreamModels.code(&value, with: &state.models.lengths, &coder)
        guard let offset else { return }
        var delta = Int64(offset - state.lastCopyEnd)
        StreamModels.code(&delta, with: &state.models.offsets, &coder)
        state.lastCopyEnd = offset + length
    }

    private func emitCopy<C: BinaryCoder>(offset: Int, length: Int, _ state: inout State, _ coder: inout C) {
        emitHead(.copy, length: length, offset: offset, &state, &coder)
    }

    private func emitLiteral<C: BinaryCoder>(_ range: Range<Int>, _ state: inout State, _ coder: inout C) {
        emitHead(.literal, length: range.count, offset: nil, &state, &coder)
        for index in range {
            var byte = new[index]
            state.models.code(literal: &byte, &coder)
        }
    }

    private func emitDiff<C: BinaryCoder>(
        _ range: Range<Int>,
        from: Int,
        _ diff: StreamDelta.Diff,
        _ state: inout State,
        _ coder: inout C
    ) {
        emitHead(.diff, length: range.count, offset: from, &state, &coder)
        var parameters = diff
        state.models.code(&parameters, &coder)
        var values = Array(new[range])
        _ = state.models.bytes.code(
            old: old[from..<(from + range.count)],
            values: &values,
            signed: diff.signed,
            predictions: StreamDelta.predictions(signed: diff.signed, ratio: diff.ratio),
            columns: diff.columns,
            &coder
        )
    }
}

/// Decodes the body of a stream-mode patch in memory (the host's decoder; FleetTinyKit has the streaming one).
enum StreamDeltaDecoder {
    static func decode(old: [UInt8], patch: [UInt8], reader: inout ByteReader, limits: DeltaLimits) throws -> [UInt8] {
        let size = try reader.readVarint()
        guard size <= limits.maximumOutputSize else {
            throw DeltaError.outputTooLarge.with("patch declares \(size) bytes")
        }
        var decoder = RangeDecoder(patch, offset: reader.offset)
        var models = StreamModels()
        var output: [UInt8] = []
        output.reserveCapacity(size)
        var lastCopyEnd = 0
        while output.count < size {
            var operation: UInt32 = 0
            models.code(&operation, &decoder)
            var length64: Int64 = 0
            StreamModels.code(&length64, with: &models.lengths, &decoder)
            guard length64 >= 1, length64 <= Int64(size - output.count) else {
                throw DeltaError.corrupt.with("operation of \(length64) bytes with \(size - output.count) to go")
            }
            let length = Int(length64)
            if operation == StreamDelta.Operation.literal.rawValue {
                for _ in 0..<length {
                    var byte: UInt8 = 0
                    models.code(literal: &byte, &decoder)
                    output.append(byte)
                }
                continue
            }
            guard operation <= StreamDelta.Operation.diff.rawValue else {
                throw DeltaError.corrupt.with("operation code \(operation)")
            }
            var delta: Int64 = 0
            StreamModels.code(&delta, with: &models.offsets, &decoder)
            let offset = lastCopyEnd + Int(delta)
            guard offset >= 0, offset <= old.count - length else {
                throw DeltaError.corrupt.with("base range \(offset)+\(length) outside a base of \(old.count)")
            }
            lastCopyEnd = offset + length
            if operation == StreamDelta.Operation.copy.rawValue {
                output.append(contentsOf: old[offset..<(offset + length)])
                continue
            }
            var diff = StreamDelta.Diff(signed: false, columns: 0, ratio: nil)
            models.code(&diff, &decoder)
            guard diff.columns >= 1, diff.columns <= StreamDelta.maximumColumns else {
                throw DeltaError.corrupt.with("diff of \(diff.columns) columns")
            }
            var values = [UInt8](repeating: 0, count: length)
            guard
                models.bytes.code(
                    old: old[offset..<(offset + length)],
                    values: &values,
                    signed: diff.signed,
                    predictions: StreamDelta.predictions(signed: diff.signed, ratio: diff.ratio),
                    columns: diff.columns,
                    &decoder
                )
            else { throw DeltaError.corrupt.with("diff value outside its dtype's range") }
            output.append(contentsOf: values)
        }
        return output
    }
}
