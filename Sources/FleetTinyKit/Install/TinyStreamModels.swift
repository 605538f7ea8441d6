/// The adaptive models of a stream-mode patch (DELTA.md section 12) in fixed storage, and the decoding of each
/// field: operation codes, numbers, literal bytes and diff residuals. The 678 models are packed in 21 bits each:
/// their 16-bit probabilities in one array, their counts (at most 30: 5 bits) in a bit-packed other, 1,781 bytes,
/// where one ``TinyBitModel`` value each (two bytes of probability, one of count, one of padding) took 2,712 and
/// a byte for each count 2,034.
struct TinyStreamModels: Sendable {
    /// Where each model lives in the two arrays.
    enum Index {
        static let operationHigh = 0
        static let operationLow = 1  // 2
        /// Zero flag, sign, and the 5-level length tree (index 2 + node) of one number coder (DELTA.md 7, tree, 32).
        static let lengths = 3  // 34 each
        static let offsets = lengths + numberModels
        static let columns = offsets + numberModels
        static let signed = columns + numberModels
        static let rescaled = signed + 1
        static let literal = rescaled + 1  // 256
        /// The byte integer coder (DELTA.md 8.2): zero 6, sign 9 (from 6), length 6 x 8 (from 15), mantissa
        /// 9 x 7 x 4 (from 63).
        static let bytes = literal + 256  // 315
        static let count = bytes + 315
        static let numberModels = 34
    }

    private var probabilities = InlineArray<678, UInt16>(repeating: 32_768)
    /// Model i's count in bits 5 i ..< 5 i + 5 (little-endian): 3,390 bits, and one byte more, as a count is read
    /// and written through two bytes.
    private var counts = InlineArray<425, UInt8>(repeating: 0)

    /// Every model back to `p = 32768, count = 0`, in place.
    mutating func reset() {
        for index in 0..<Index.count { probabilities[index] = 32_768 }
        for index in 0..<425 { counts[index] = 0 }
    }

    /// Model `index`'s count. `mutating` though it only reads: a read of an InlineArray through a borrowed `self`
    /// copies the array (and the models with it) onto the stack in Embedded Swift 6.3 (``TinyColumnSums``).
    private mutating func count(_ index: Int) -> UInt8 {
        let bit = 5 * index
        let pair = UInt16(counts[bit >> 3]) | UInt16(counts[(bit >> 3) + 1]) << 8
        return UInt8(truncatingIfNeeded: pair >> UInt16(bit & 7)) & 31
    }

    private mutating func setCount(_ index: Int, _ count: UInt8) {
        let bit = 5 * index
        let shift = UInt16(bit & 7)
        let pair = UInt16(counts[bit >> 3]) | UInt16(counts[(bit >> 3) + 1]) << 8
        let updated = pair & ~(31 << shift) | UInt16(count & 31) << shift
        counts[bit >> 3] = UInt8(truncatingIfNeeded: updated)
        counts[(bit >> 3) + 1] = UInt8(truncatingIfNeeded: updated >> 8)
    }

    /// Decodes one bit with the model at `index` and updates it. Not inlined: one copy for every call site.
    @inline(never)
    mutating func bit(_ index: Int, _ decoder: inout TinyRangeDecoder, _ input: inout TinyInputWindow) -> UInt32 {
        var model = TinyBitModel(p: probabilities[index], count: count(index))
        let bit = decoder.bit(&model, &input)
        probabilities[index] = model.p
        setCount(index, model.count)
        return bit
    }

    /// Decodes a 2-bit operation code.
    mutating func operation(_ decoder: inout TinyRangeDecoder, _ input: inout TinyInputWindow) -> UInt32 {
        let high = bit(Index.operationHigh, &decoder, &input)
        let low = bit(Index.operationLow + Int(high), &decoder, &input)
        return high << 1 | low
    }

    /// Decodes a signed number (|value| < 2^32) with the number coder whose models start at `base`
    /// (``Index/lengths``, ``Index/offsets`` or ``Index/columns``).
    mutating func number(
        _ base: Int,
        _ decoder: inout TinyRangeDecoder,
        _ input: inout TinyInputWindow
    ) -> Int64 {
        guard bit(base, &decoder, &input) == 1 else { return 0 }
        let negative = bit(base + 1, &decoder, &input) == 1
        var node = 1
        for _ in 0..<5 { node = node * 2 + Int(bit(base + 2 + node, &decoder, &input)) }
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
        for _ in 0..<8 { node = node * 2 + Int(bit(Index.literal + node, &decoder, &input)) }
        return UInt8(truncatingIfNeeded: node)
    }

    /// Decodes a diff residual with length context `lengthContext` (0...5) and sign context `signContext` (0...8).
    mutating func residual(
        lengthContext: Int,
        signContext: Int,
        _ decoder: inout TinyRangeDecoder,
        _ input: inout TinyInputWindow
    ) -> Int {
        let bytes = Index.bytes
        guard bit(bytes + lengthContext, &decoder, &input) == 1 else { return 0 }
        let negative = bit(bytes + 6 + signContext, &decoder, &input) == 1
        var length = 1
        while length < 8, bit(bytes + 15 + lengthContext * 8 + length, &decoder, &input) == 1 { length += 1 }
        var magnitude = 1
        for position in 0..<(length - 1) {
            let previous = position == 0 ? 0 : magnitude & 3
            let bit = bit(bytes + 63 + (length * 7 + position) * 4 + previous, &decoder, &input)
            magnitude = magnitude * 2 + Int(bit)
        }
        return negative ? -magnitude : magnitude
    }
}
