/// The adaptive models of a stream-mode patch (DELTA.md section 12) in fixed storage, and the decoding of each
/// field: operation codes, numbers, literal bytes and diff residuals. About 2.7 KB.
struct TinyStreamModels: Sendable {
    /// Zero flag, sign, and the 5-level length tree (index 2 + node) of one number coder (DELTA.md 7, tree, 32).
    typealias NumberModels = InlineArray<34, TinyBitModel>

    var operationHigh = TinyBitModel()
    var operationLow = InlineArray<2, TinyBitModel>(repeating: TinyBitModel())
    var lengths = NumberModels(repeating: TinyBitModel())
    var offsets = NumberModels(repeating: TinyBitModel())
    var columns = NumberModels(repeating: TinyBitModel())
    var signed = TinyBitModel()
    var rescaled = TinyBitModel()
    var literal = InlineArray<256, TinyBitModel>(repeating: TinyBitModel())
    /// The byte integer coder (DELTA.md 8.2): zero 6, sign 9 (from 6), length 6 x 8 (from 15), mantissa
    /// 9 x 7 x 4 (from 63).
    var bytes = InlineArray<315, TinyBitModel>(repeating: TinyBitModel())

    /// Decodes a 2-bit operation code.
    mutating func operation(_ decoder: inout TinyRangeDecoder, _ input: inout TinyInputWindow) -> UInt32 {
        let high = decoder.bit(&operationHigh, &input)
        let low = decoder.bit(&operationLow[Int(high)], &input)
        return high << 1 | low
    }

    /// Decodes a signed number (|value| < 2^32) with one of the number coders.
    static func number(
        _ models: inout NumberModels,
        _ decoder: inout TinyRangeDecoder,
        _ input: inout TinyInputWindow
    ) -> Int64 {
        guard decoder.bit(&models[0], &input) == 1 else { return 0 }
        let negative = decoder.bit(&models[1], &input) == 1
        var node = 1
        for _ in 0..<5 { node = node * 2 + Int(decoder.bit(&models[2 + node], &input)) }
        var rest = node - 32
        var magnitude: UInt64 = 1
        while rest > 0 {
            let chunk = min(rest, 16)
            rest -= chunk
            magnitude = magnitude << UInt64(chunk) | UInt64(decoder.direct(chunk, &input))
        }
        return negative ? -Int64(magnitude) : Int64(magnitude)
    }

    /// Decodes a literal byte (a bit tree, most significant bit first).
    mutating func literalByte(_ decoder: inout TinyRangeDecoder, _ input: inout TinyInputWindow) -> UInt8 {
        var node = 1
        for _ in 0..<8 { node = node * 2 + Int(decoder.bit(&literal[node], &input)) }
        return UInt8(truncatingIfNeeded: node)
    }

    /// Decodes a diff residual with length context `lengthContext` (0...5) and sign context `signContext` (0...8).
    mutating func residual(
        lengthContext: Int,
        signContext: Int,
        _ decoder: inout TinyRangeDecoder,
        _ input: inout TinyInputWindow
    ) -> Int {
        guard decoder.bit(&bytes[lengthContext], &input) == 1 else { return 0 }
        let negative = decoder.bit(&bytes[6 + signContext], &input) == 1
        var length = 1
        while length < 8, decoder.bit(&bytes[15 + lengthContext * 8 + length], &input) == 1 { length += 1 }
        var magnitude = 1
        for position in 0..<(length - 1) {
            let previous = position == 0 ? 0 : magnitude & 3
            let bit = decoder.bit(&bytes[63 + (length * 7 + position) * 4 + previous], &input)
            magnitude = magnitude * 2 + Int(bit)
        }
        return negative ? -magnitude : magnitude
    }
}
