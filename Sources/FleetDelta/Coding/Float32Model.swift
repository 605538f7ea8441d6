/// The entropy model for a float32 tensor paired with an old tensor of the same shape (DELTA.md, "F32 model").
///
/// Each word maps to an order-preserving unsigned key (`u = sign ? ~bits : bits | 0x8000_0000`), and the
/// coder sends `d = u(new) - u(old)` as a signed integer. The zero flag and the bit length are conditioned on
/// the old word's 8-bit exponent (the size of an ulp of the old weight); the sign is conditioned on the signs
/// of the differences to the left and above (previous row, same column).
struct Float32Model: Sendable {
    private var integers = IntegerCoder(
        lengthContexts: 256,
        signContexts: 16,
        lengthCode: .tree,
        maximumLength: 32,
        modeledBits: 0
    )

    @inline(__always)
    static func key(_ bits: UInt32) -> UInt32 { bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000 }

    @inline(__always)
    static func bits(_ key: UInt32) -> UInt32 { key & 0x8000_0000 != 0 ? key & 0x7FFF_FFFF : ~key }

    /// Codes one tensor. `new` holds the new little-endian words (encoder) or receives them (decoder); it is
    /// as large as `old`.
    /// - Returns: `false` if a decoded difference leaves the 32-bit key range (a corrupt stream).
    mutating func code<C: BinaryCoder>(
        old: ArraySlice<UInt8>,
        new: UnsafeMutableRawBufferPointer,
        columns: Int,
        _ coder: inout C
    ) -> Bool {
        precondition(old.count == new.count && old.count % 4 == 0, "old tensor size")
        var above = [UInt8](repeating: 0, count: max(columns, 1))
        return integers.withView { view in
            old.withUnsafeBytes { oldBytes in
                above.withUnsafeMutableBufferPointer { above in
                    Self.loop(oldBytes, new, above, view, &coder)
                }
            }
        }
    }

    @inline(__always)
    private static func loop<C: BinaryCoder>(
        _ old: UnsafeRawBufferPointer,
        _ new: UnsafeMutableRawBufferPointer,
        _ above: UnsafeMutableBufferPointer<UInt8>,
        _ view: IntegerCoderView,
        _ coder: inout C
    ) -> Bool {
        var column = 0
        var left = 0
        for offset in stride(from: 0, to: old.count, by: 4) {
            let oldBits = UInt32(littleEndian: old.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
            let newBits = UInt32(littleEndian: new.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
            let oldKey = Int64(key(oldBits))
            var difference = Int64(key(newBits)) &- oldKey
            if column == 0 { left = 0 }
            view.code(
                &difference,
                lengthContext: Int((oldBits >> 23) & 0xFF),
                signContext: left &* 4 &+ Int(above[column]),
                &coder
            )
            let newKey = oldKey &+ difference
            guard newKey >= 0, newKey <= Int64(UInt32.max) else { return false }
            new.storeBytes(of: bits(UInt32(newKey)).littleEndian, toByteOffset: offset, as: UInt32.self)
            let state: UInt8 = difference == 0 ? 1 : (difference > 0 ? 2 : 3)
            above[column] = state
            left = Int(state)
            column &+= 1
            if column == above.count { column = 0 }
        }
        return true
    }
}
