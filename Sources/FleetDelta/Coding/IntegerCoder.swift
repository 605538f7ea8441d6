/// Codes signed integers as (zero flag, sign, bit length, bits below the leading one); see DELTA.md,
/// "Integer binarisation".
///
/// - The zero flag uses `zero[lengthContext]`.
/// - The sign uses `sign[signContext]`.
/// - The bit length `L` (1...maximumLength) is either a 5-bit binary tree over `L - 1` (`.tree`) or a unary
///   code of up to `maximumLength - 1` "longer?" decisions (`.unary`), both under `lengthContext`.
/// - The first `modeledBits` bits below the leading one use `mantissa[L][position][two previous bits]`;
///   the rest are direct bits, sent most significant first in chunks of at most 16.
///
/// The models live in one array; ``withView(_:)`` lends a pointer view for the duration of one tensor so the
/// per-bit work runs without bounds or uniqueness checks.
struct IntegerCoder: Sendable {
    enum LengthCode: Sendable {
        case tree
        case unary
    }

    private let layout: IntegerCoderView.Layout
    private var models: [BitModel]

    init(lengthContexts: Int, signContexts: Int, lengthCode: LengthCode, maximumLength: Int, modeledBits: Int) {
        let lengthStride = lengthCode == .tree ? 32 : maximumLength
        let sign = lengthContexts
        let length = sign + signContexts
        let mantissa = length + lengthContexts * lengthStride
        let total = mantissa + (maximumLength + 1) * max(modeledBits, 1) * 4
        layout = IntegerCoderView.Layout(
            lengthCode: lengthCode,
            maximumLength: maximumLength,
            modeledBits: modeledBits,
            lengthStride: lengthStride,
            signBase: sign,
            lengthBase: length,
            mantissaBase: mantissa
        )
        models = Array(repeating: BitModel(), count: total)
    }

    /// Runs `body` with a view whose `code` reads and updates this coder's models.
    mutating func withView<R>(_ body: (inout IntegerCoderView) -> R) -> R {
        let layout = layout
        return models.withUnsafeMutableBufferPointer { buffer in
            // The buffer holds at least one model, so the base address exists.
            guard let base = buffer.baseAddress else { preconditionFailure("empty model table") }
            var view = IntegerCoderView(models: base, layout: layout)
            return body(&view)
        }
    }
}

/// A borrowed pointer view of an ``IntegerCoder``'s models, valid only inside ``IntegerCoder/withView(_:)``.
struct IntegerCoderView {
    struct Layout: Sendable {
        var lengthCode: IntegerCoder.LengthCode
        var maximumLength: Int
        var modeledBits: Int
        var lengthStride: Int
        var signBase: Int
        var lengthBase: Int
        var mantissaBase: Int
    }

    let models: UnsafeMutablePointer<BitModel>
    let layout: Layout

    /// Codes `value` (|value| < 2^maximumLength); a decoder overwrites it. Contexts must be in range.
    @inline(__always)
    func code<C: BinaryCoder>(_ value: inout Int64, lengthContext: Int, signContext: Int, _ coder: inout C) {
        var nonzero: UInt32 = value != 0 ? 1 : 0
        coder.code(&nonzero, &models[lengthContext])
        guard nonzero == 1 else {
            value = 0
            return
        }
        var negative: UInt32 = value < 0 ? 1 : 0
        coder.code(&negative, &models[layout.signBase + signContext])
        let magnitude = value.magnitude
        let bitLength = codeLength(64 - magnitude.leadingZeroBitCount, context: lengthContext, &coder)
        var result: UInt64 = 1
        var position = 0
        let modeled = min(layout.modeledBits, bitLength - 1)
        let mantissa = models + layout.mantissaBase + bitLength * layout.modeledBits * 4
        while position < modeled {
            let shift = bitLength - 2 - position
            var bit = UInt32(truncatingIfNeeded: (magnitude >> UInt64(shift)) & 1)
            let previous = position == 0 ? 0 : Int(result & 3)
            coder.code(&bit, &mantissa[position * 4 + previous])
            result = (result << 1) | UInt64(bit)
            position += 1
        }
        var rest = bitLength - 1 - position
        while rest > 0 {
            let chunk = min(rest, 16)
            rest -= chunk
            var bits = UInt32(truncatingIfNeeded: (magnitude >> UInt64(rest)) & ((1 << UInt64(chunk)) - 1))
            coder.codeDirect(&bits, count: chunk)
            result = (result << UInt64(chunk)) | UInt64(bits)
        }
        value = negative == 1 ? -Int64(result) : Int64(result)
    }

    /// Codes the bit length (the encoder passes the true length; a decoder passes anything) and returns it.
    @inline(__always)
    private func codeLength<C: BinaryCoder>(_ bitLength: Int, context: Int, _ coder: inout C) -> Int {
        let length = models + layout.lengthBase + context * layout.lengthStride
        switch layout.lengthCode {
        case .tree:
            var node = 1
            for shift in stride(from: 4, through: 0, by: -1) {
                var bit = UInt32(truncatingIfNeeded: ((bitLength - 1) >> shift) & 1)
                coder.code(&bit, &length[node])
                node = node * 2 + Int(bit)
            }
            return min(node - 32 + 1, layout.maximumLength)
        case .unary:
            var decoded = 1
            while decoded < layout.maximumLength {
                var longer: UInt32 = bitLength > decoded ? 1 : 0
                coder.code(&longer, &length[decoded])
                guard longer == 1 else { break }
                decoded += 1
            }
            return decoded
        }
    }
}
