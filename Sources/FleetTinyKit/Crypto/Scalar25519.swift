/// Arithmetic modulo the order L = 2^252 + 27742317777372353535851937790883648493 of the base point, on
/// 32-byte little-endian scalars, after TweetNaCl's `modL`: 64 signed 64-bit digits of 8 bits in fixed storage
/// (512 bytes of stack), no branch or index on their values.
enum Scalar25519 {
    /// L as four little-endian 64-bit words.
    private static var order: Raw32 { (0x5812_631a_5cf5_d3ed, 0x14de_f9de_a2f7_9cd6, 0, 0x1000_0000_0000_0000) }

    /// Byte `index` (0 ..< 32) of L.
    @inline(__always)
    private static func orderByte(_ index: Int) -> Int64 {
        Int64(withUnsafeBytes(of: order) { $0[index] })
    }

    /// Whether the 32 bytes at `scalar` are below L (RFC 8032's S < L; vartime, for public signatures).
    static func isCanonical(_ scalar: UnsafeRawPointer) -> Bool {
        let order = order
        return withUnsafeBytes(of: order) { orderBytes in
            var index = 3
            while index >= 0 {
                let word = UInt64(littleEndian: scalar.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self))
                let limit = orderBytes.load(fromByteOffset: index * 8, as: UInt64.self)
                if word != limit { return word < limit }
                index -= 1
            }
            return false  // equal to L
        }
    }

    /// Writes the 64-byte little-endian number at `wide` reduced modulo L to the 32 bytes at `out`.
    static func reduce(_ wide: UnsafeRawPointer, into out: UnsafeMutableRawPointer) {
        withDigits { x in
            for index in 0..<64 { x[index] = Int64(wide.load(fromByteOffset: index, as: UInt8.self)) }
            reduce(x, into: out)
        }
    }

    /// Writes (r + k a) mod L to the 32 bytes at `out`; r, k and a are 32-byte little-endian scalars (a may be
    /// up to 2^255, as a clamped secret scalar is).
    static func multiplyAdd(
        r: UnsafeRawPointer,
        k: UnsafeRawPointer,
        a: UnsafeRawPointer,
        into out: UnsafeMutableRawPointer
    ) {
        withDigits { x in
            for index in 0..<32 { x[index] = Int64(r.load(fromByteOffset: index, as: UInt8.self)) }
            for i in 0..<32 {
                let ki = Int64(k.load(fromByteOffset: i, as: UInt8.self))
                for j in 0..<32 { x[i + j] &+= ki &* Int64(a.load(fromByteOffset: j, as: UInt8.self)) }
            }
            reduce(x, into: out)
        }
    }

    /// Calls `body` with 64 zeroed 64-bit digits on the stack.
    private static func withDigits(_ body: (RawWords<Int64>) -> Void) {
        var storage:
            (
                Raw32, Raw32, Raw32, Raw32, Raw32, Raw32, Raw32, Raw32, Raw32, Raw32, Raw32, Raw32, Raw32, Raw32, Raw32,
                Raw32
            ) = (
                (0, 0, 0, 0), (0, 0, 0, 0), (0, 0, 0, 0), (0, 0, 0, 0), (0, 0, 0, 0), (0, 0, 0, 0), (0, 0, 0, 0),
                (0, 0, 0, 0), (0, 0, 0, 0), (0, 0, 0, 0), (0, 0, 0, 0), (0, 0, 0, 0), (0, 0, 0, 0), (0, 0, 0, 0),
                (0, 0, 0, 0), (0, 0, 0, 0)
            )
        withUnsafeMutableBytes(of: &storage) { body(RawWords<Int64>(raw: $0)) }
    }

    /// TweetNaCl's `modL`: folds digits 63 ... 32 down with 2^252 = -(L - 2^252), then subtracts the multiple of L
    /// left in the top, and propagates carries into bytes.
    private static func reduce(_ x: RawWords<Int64>, into out: UnsafeMutableRawPointer) {
        var carry: Int64
        var i = 63
        while i >= 32 {
            carry = 0
            var j = i - 32
            while j < i - 12 {
                x[j] = x[j] &+ carry &- 16 &* x[i] &* orderByte(j - (i - 32))
                carry = (x[j] &+ 128) >> 8
                x[j] = x[j] &- (carry << 8)
                j += 1
            }
            x[j] = x[j] &+ carry
            x[i] = 0
            i -= 1
        }
        carry = 0
        for j in 0..<32 {
            x[j] = x[j] &+ carry &- (x[31] >> 4) &* orderByte(j)
            carry = x[j] >> 8
            x[j] = x[j] & 255
        }
        for j in 0..<32 { x[j] = x[j] &- carry &* orderByte(j) }
        for i in 0..<32 {
            x[i + 1] = x[i + 1] &+ (x[i] >> 8)
            out.storeBytes(of: UInt8(truncatingIfNeeded: x[i] & 255), toByteOffset: i, as: UInt8.self)
        }
    }
}
