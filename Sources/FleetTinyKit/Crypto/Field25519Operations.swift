/// Encoding, constant-time selection and powers of field elements.
extension FieldElement {
    /// The element whose little-endian encoding is the 32 bytes at `bytes`, bit 255 ignored. Values from p to
    /// 2^255 - 1 are not rejected: they stand for their value minus p (as BoringSSL reads them).
    init(bytes: UnsafeRawPointer) {
        func bits(_ offset: Int, _ width: Int) -> Int32 {
            var value: UInt64 = 0
            var index = (offset + width - 1) >> 3
            while index >= offset >> 3 {
                value = value << 8 | UInt64(bytes.load(fromByteOffset: index, as: UInt8.self))
                index -= 1
            }
            return Int32(truncatingIfNeeded: (value >> UInt64(offset & 7)) & ((1 << UInt64(width)) - 1))
        }
        self.init(
            bits(0, 26),
            bits(26, 25),
            bits(51, 26),
            bits(77, 25),
            bits(102, 26),
            bits(128, 25),
            bits(153, 26),
            bits(179, 25),
            bits(204, 26),
            bits(230, 25)
        )
    }

    /// Writes the canonical little-endian encoding (the value reduced below p) to the 32 bytes at `out`.
    func encode(into out: UnsafeMutableRawPointer) {
        let f = carried()
        var (h0, h1, h2, h3, h4, h5, h6, h7, h8, h9) = (f.l0, f.l1, f.l2, f.l3, f.l4, f.l5, f.l6, f.l7, f.l8, f.l9)
        // q is 1 when the value is at least p, else 0: adding 19 q and dropping bit 255 subtracts p q.
        var q = (19 &* h9 &+ 0x100_0000) &>> 25
        q = (h0 &+ q) &>> 26
        q = (h1 &+ q) &>> 25
        q = (h2 &+ q) &>> 26
        q = (h3 &+ q) &>> 25
        q = (h4 &+ q) &>> 26
        q = (h5 &+ q) &>> 25
        q = (h6 &+ q) &>> 26
        q = (h7 &+ q) &>> 25
        q = (h8 &+ q) &>> 26
        q = (h9 &+ q) &>> 25
        h0 &+= 19 &* q
        var c: Int32
        c = h0 &>> 26
        h1 &+= c
        h0 &-= c &<< 26
        c = h1 &>> 25
        h2 &+= c
        h1 &-= c &<< 25
        c = h2 &>> 26
        h3 &+= c
        h2 &-= c &<< 26
        c = h3 &>> 25
        h4 &+= c
        h3 &-= c &<< 25
        c = h4 &>> 26
        h5 &+= c
        h4 &-= c &<< 26
        c = h5 &>> 25
        h6 &+= c
        h5 &-= c &<< 25
        c = h6 &>> 26
        h7 &+= c
        h6 &-= c &<< 26
        c = h7 &>> 25
        h8 &+= c
        h7 &-= c &<< 25
        c = h8 &>> 26
        h9 &+= c
        h8 &-= c &<< 26
        c = h9 &>> 25
        h9 &-= c &<< 25
        // Limbs hold 26 and 25 bits alternately: pack them little-endian, a byte at a time.
        var accumulator: UInt64 = 0
        var pending: UInt64 = 0
        var written = 0
        for index in 0..<10 {
            let limb: Int32
            switch index {
            case 0: limb = h0
            case 1: limb = h1
            case 2: limb = h2
            case 3: limb = h3
            case 4: limb = h4
            case 5: limb = h5
            case 6: limb = h6
            case 7: limb = h7
            case 8: limb = h8
            default: limb = h9
            }
            accumulator |= UInt64(UInt32(bitPattern: limb)) &<< pending
            pending &+= index & 1 == 0 ? 26 : 25
            while pending >= 8 {
                out.storeBytes(of: UInt8(truncatingIfNeeded: accumulator), toByteOffset: written, as: UInt8.self)
                accumulator &>>= 8
                pending &-= 8
                written &+= 1
            }
        }
        out.storeBytes(of: UInt8(truncatingIfNeeded: accumulator), toByteOffset: 31, as: UInt8.self)
    }

    /// Calls `body` with the 32-byte canonical encoding. (A computed property returning the encoding as a tuple
    /// read back all zeros when built with Embedded Swift at -Osize for armv7em; reading it inside the closure that
    /// wrote it works on both targets.)
    private func withEncoding<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        var bytes: Raw32 = (0, 0, 0, 0)
        return withUnsafeMutableBytes(of: &bytes) { raw in
            encode(into: raw.baseAddress!)
            return body(UnsafeRawBufferPointer(raw))
        }
    }

    /// Whether the canonical value is odd (RFC 8032 calls odd x "negative").
    var isNegative: Bool { withEncoding { $0[0] & 1 == 1 } }

    /// Whether the element is not zero (mod p).
    var isNonZero: Bool { withEncoding { bytes in bytes.reduce(0, |) != 0 } }

    /// Swaps `a` and `b` when `bit` is 1, leaves them when it is 0, in the same time either way.
    static func conditionalSwap(_ a: inout FieldElement, _ b: inout FieldElement, _ bit: Int32) {
        let mask = 0 &- bit
        var t: Int32
        t = mask & (a.l0 ^ b.l0)
        a.l0 ^= t
        b.l0 ^= t
        t = mask & (a.l1 ^ b.l1)
        a.l1 ^= t
        b.l1 ^= t
        t = mask & (a.l2 ^ b.l2)
        a.l2 ^= t
        b.l2 ^= t
        t = mask & (a.l3 ^ b.l3)
        a.l3 ^= t
        b.l3 ^= t
        t = mask & (a.l4 ^ b.l4)
        a.l4 ^= t
        b.l4 ^= t
        t = mask & (a.l5 ^ b.l5)
        a.l5 ^= t
        b.l5 ^= t
        t = mask & (a.l6 ^ b.l6)
        a.l6 ^= t
        b.l6 ^= t
        t = mask & (a.l7 ^ b.l7)
        a.l7 ^= t
        b.l7 ^= t
        t = mask & (a.l8 ^ b.l8)
        a.l8 ^= t
        b.l8 ^= t
        t = mask & (a.l9 ^ b.l9)
        a.l9 ^= t
        b.l9 ^= t
    }

    /// z^(2^250 - 1) and z^11, the common start of the inversion and square-root exponents (ref10's chain). Each
    /// step squares and multiplies in place (``square(times:thenMultiplyBy:)``): the frame holds the chain's six
    /// live values, not a temporary for every product.
    private func power2To250MinusOne() -> (power: FieldElement, eleven: FieldElement) {
        let z2 = squared()
        var z9 = z2
        z9.square(times: 2, thenMultiplyBy: self)
        let z11 = z2 * z9
        var low = z11  // 2^5 - 1, then 2^50 - 1
        low.square(times: 1, thenMultiplyBy: z9)
        var z2_10_0 = low
        z2_10_0.square(times: 5, thenMultiplyBy: low)
        var high = z2_10_0  // 2^20 - 1, then 2^40 - 1
        high.square(times: 10, thenMultiplyBy: z2_10_0)
        var z2_40_0 = high
        z2_40_0.square(times: 20, thenMultiplyBy: high)
        low = z2_40_0
        low.square(times: 10, thenMultiplyBy: z2_10_0)
        high = low  // 2^100 - 1
        high.square(times: 50, thenMultiplyBy: low)
        var power = high  // 2^200 - 1, then 2^250 - 1
        power.square(times: 100, thenMultiplyBy: high)
        power.square(times: 50, thenMultiplyBy: low)
        return (power, z11)
    }

    /// self = self^(2^count) * factor, in place (the same products as `squared(times:) * factor`).
    @inline(never)
    mutating func square(times count: Int, thenMultiplyBy factor: FieldElement) {
        self = squared(times: count) * factor
    }

    /// 1/z = z^(p - 2) (0 for 0).
    func inverse() -> FieldElement {
        let (power, eleven) = power2To250MinusOne()
        return power.squared(times: 5) * eleven  // 2^255 - 32 + 11 = p - 2
    }

    /// self = z^((p - 5) / 8) = z^(2^252 - 3), for square roots, in place.
    @inline(never)
    mutating func raiseToPMinus5Over8() {
        var power = power2To250MinusOne().power
        power.square(times: 2, thenMultiplyBy: self)
        self = power
    }
}

/// Thirty-two bytes held in a value (no allocation).
typealias Raw32 = (UInt64, UInt64, UInt64, UInt64)
