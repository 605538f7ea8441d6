/// The entropy model for an I8 or U8 tensor paired with an old tensor of the same shape (DELTA.md, "Byte model").
///
/// Each value is predicted from the old value at the same index, optionally rescaled by the ratio of the
/// old and new `<name>_scale` scalars (a re-quantised tensor), and the residual `new - prediction` is coded
/// as a signed integer. The zero flag and the unary bit length are conditioned on the mean bit length of
/// the residuals above in the same column; the sign on the sign of the running column sum of residuals and
/// the sign of the old value.
struct ByteModel: Sendable {
    private var integers = IntegerCoder(
        lengthContexts: 6,
        signContexts: 9,
        lengthCode: .unary,
        maximumLength: 8,
        modeledBits: 7
    )

    /// The prediction table for old values -128...127 (signed) or 0...255 (unsigned), indexed by raw byte.
    static func predictions(signed: Bool, ratio: Double?) -> [Int] {
        (0..<256).map { byte in
            let value = signed ? Int(Int8(truncatingIfNeeded: byte)) : byte
            guard let ratio else { return value }
            let scaled = (Double(value) * ratio).rounded(.toNearestOrAwayFromZero)
            return signed ? Int(min(max(scaled, -128), 127)) : Int(min(max(scaled, 0), 255))
        }
    }

    /// The rescaling ratio `old / new` if both scales make it usable (finite, in [1/16, 16]).
    static func ratio(oldScale: Float, newScale: Float) -> Double? {
        let ratio = Double(oldScale) / Double(newScale)
        guard ratio.isFinite, ratio >= 0.0625, ratio <= 16 else { return nil }
        return ratio
    }

    @inline(__always)
    private static func signClass(_ value: Int) -> Int { value < 0 ? 0 : (value == 0 ? 1 : 2) }

    /// Codes one tensor. `values` holds the new bytes (encoder) or receives them (decoder).
    /// - Returns: `false` if a decoded value leaves the dtype's range (a corrupt stream).
    mutating func code<C: BinaryCoder>(
        old: ArraySlice<UInt8>,
        values: inout [UInt8],
        signed: Bool,
        predictions: [Int],
        columns: Int,
        _ coder: inout C
    ) -> Bool {
        precondition(old.count == values.count && predictions.count == 256, "old tensor size")
        var sums = [Int](repeating: 0, count: 2 * max(columns, 1))
        return integers.withView { view in
            old.withUnsafeBufferPointer { old in
                values.withUnsafeMutableBufferPointer { values in
                    predictions.withUnsafeBufferPointer { predictions in
                        sums.withUnsafeMutableBufferPointer { sums in
                            Self.loop(old, values, signed, predictions, sums, view, &coder)
                        }
                    }
                }
            }
        }
    }

    /// `sums` holds, per column, the sum of residual bit lengths, then (offset `columns`) the sum of residuals.
    @inline(__always)
    private static func loop<C: BinaryCoder>(
        _ old: UnsafeBufferPointer<UInt8>,
        _ values: UnsafeMutableBufferPointer<UInt8>,
        _ signed: Bool,
        _ predictions: UnsafeBufferPointer<Int>,
        _ sums: UnsafeMutableBufferPointer<Int>,
        _ view: IntegerCoderView,
        _ coder: inout C
    ) -> Bool {
        let columns = sums.count / 2
        let lowest = signed ? -128 : 0
        var row = 0
        var column = 0
        for index in 0..<values.count {
            let oldByte = Int(old[index])
            let oldValue = signed ? Int(Int8(truncatingIfNeeded: oldByte)) : oldByte
            let prediction = predictions[oldByte]
            let newValue = signed ? Int(Int8(bitPattern: values[index])) : Int(values[index])
            var residual = Int64(newValue &- prediction)
            let lengthContext = row == 0 ? 0 : 1 &+ min(sums[column] / row, 4)
            let signContext = 3 &* signClass(sums[columns &+ column]) &+ signClass(oldValue)
            view.code(&residual, lengthContext: lengthContext, signContext: signContext, &coder)
            let decoded = prediction &+ Int(residual)
            guard decoded >= lowest, decoded <= lowest &+ 255 else { return false }
            values[index] = UInt8(truncatingIfNeeded: decoded)
            sums[column] &+= 64 &- Int(residual.magnitude.leadingZeroBitCount)
            sums[columns &+ column] &+= Int(residual)
            column &+= 1
            if column == columns {
                column = 0
                row &+= 1
            }
        }
        return true
    }
}
