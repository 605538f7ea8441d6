/// An element of GF(2^255 - 19) as ten signed limbs of 26 and 25 bits alternately (radix 2^25.5, as in the ref10
/// code of Ed25519's authors): limb i weighs 2^ceil(25.5 i).
///
/// Why this form on a Cortex-M4: a product is 100 32x32->64-bit multiply-accumulates (single-cycle SMLAL there)
/// with no carries between them, where TweetNaCl's 16 limbs of 16 bits in 64-bit words take 256 64-bit products.
/// The code is a little larger, verification several times faster.
///
/// Bounds (as ref10's): a product or square gives limbs of magnitude at most about 2^25 (even) and 2^24 (odd).
/// Products and squares accept operands that are sums or differences of up to three such values (the Int32 limb
/// times 38 or 19 stays below 2^31, the Int64 sums below 2^62); the point formulas respect that, and
/// brings anything else back. Every operation runs in a time independent of the values, except where named
/// "vartime".
struct FieldElement {
    var l0, l1, l2, l3, l4, l5, l6, l7, l8, l9: Int32

    @inline(__always)
    init(
        _ l0: Int32,
        _ l1: Int32,
        _ l2: Int32,
        _ l3: Int32,
        _ l4: Int32,
        _ l5: Int32,
        _ l6: Int32,
        _ l7: Int32,
        _ l8: Int32,
        _ l9: Int32
    ) {
        self.l0 = l0
        self.l1 = l1
        self.l2 = l2
        self.l3 = l3
        self.l4 = l4
        self.l5 = l5
        self.l6 = l6
        self.l7 = l7
        self.l8 = l8
        self.l9 = l9
    }

    static var zero: FieldElement { FieldElement(0, 0, 0, 0, 0, 0, 0, 0, 0, 0) }
    static var one: FieldElement { FieldElement(1, 0, 0, 0, 0, 0, 0, 0, 0, 0) }
    /// The curve constant d = -121665/121666 (constants are written with limbs centred on 0, as products leave them).
    static var d: FieldElement {
        FieldElement(
            -10_913_610,
            13_857_413,
            -15_372_611,
            6_949_391,
            114_729,
            -8_787_816,
            -6_275_908,
            -3_247_719,
            -18_696_448,
            -12_055_116
        )
    }
    /// 2d.
    static var d2: FieldElement {
        FieldElement(
            -21_827_239,
            -5_839_606,
            -30_745_221,
            13_898_782,
            229_458,
            15_978_800,
            -12_551_817,
            -6_495_438,
            29_715_968,
            9_444_199
        )
    }
    /// A square root of -1: 2^((p-1)/4).
    static var sqrtMinusOne: FieldElement {
        FieldElement(
            -32_595_792,
            -7_943_725,
            9_377_950,
            3_500_415,
            12_389_472,
            -272_473,
            -25_146_209,
            -2_005_654,
            326_686,
            11_406_482
        )
    }

    // Sums and differences are not inlined either: the point formulas and the decoding keep fewer limbs alive.
    @inline(never)
    static func + (f: FieldElement, g: FieldElement) -> FieldElement {
        FieldElement(
            f.l0 &+ g.l0,
            f.l1 &+ g.l1,
            f.l2 &+ g.l2,
            f.l3 &+ g.l3,
            f.l4 &+ g.l4,
            f.l5 &+ g.l5,
            f.l6 &+ g.l6,
            f.l7 &+ g.l7,
            f.l8 &+ g.l8,
            f.l9 &+ g.l9
        )
    }

    @inline(never)
    static func - (f: FieldElement, g: FieldElement) -> FieldElement {
        FieldElement(
            f.l0 &- g.l0,
            f.l1 &- g.l1,
            f.l2 &- g.l2,
            f.l3 &- g.l3,
            f.l4 &- g.l4,
            f.l5 &- g.l5,
            f.l6 &- g.l6,
            f.l7 &- g.l7,
            f.l8 &- g.l8,
            f.l9 &- g.l9
        )
    }

    static prefix func - (f: FieldElement) -> FieldElement { .zero - f }

    /// f * g: each f_i g_j lands in limb (i + j) mod 10, doubled when i and j are both odd (their weights add up
    /// to one more bit), times 19 when i + j >= 10 (2^255 = 19). The same 64-bit sums as ref10's unrolled form (no
    /// term overflows), computed in a loop: a few hundred bytes of code instead of 5 KB for it and `squared()`.
    /// Never inlined (nor `squared(times:)`, `carry`): an inlined copy brings its products into the caller's frame.
    @inline(never)
    static func * (f: FieldElement, g: FieldElement) -> FieldElement {
        var h: (Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeBytes(of: f) { fLimbs in
            withUnsafeBytes(of: g) { gLimbs in
                withUnsafeMutableBytes(of: &h) { raw in
                    let sums = RawWords<Int64>(raw: raw)
                    for i in 0..<10 {
                        let fi = Int64(fLimbs.load(fromByteOffset: i &* 4, as: Int32.self))
                        for j in 0..<10 {
                            var product = fi &* Int64(gLimbs.load(fromByteOffset: j &* 4, as: Int32.self))
                            if i & j & 1 == 1 { product = product &* 2 }
                            let k = i &+ j
                            if k >= 10 {
                                sums[k &- 10] = sums[k &- 10] &+ product &* 19
                            } else {
                                sums[k] = sums[k] &+ product
                            }
                        }
                    }
                }
            }
        }
        return carry(h.0, h.1, h.2, h.3, h.4, h.5, h.6, h.7, h.8, h.9)
    }

    /// f * f.
    func squared() -> FieldElement { self * self }

    // In-place forms for the point formulas: the result is written over `self`, so a formula's frame holds its
    // few named temporaries and not one more element for every intermediate value (EdwardsPoint.add, 888 -> B).

    /// self = self * g.
    @inline(never)
    mutating func multiply(by g: FieldElement) { self = self * g }

    /// self = self * self.
    @inline(never)
    mutating func square() { self = self * self }

    /// self = self + g.
    @inline(never)
    mutating func add(_ g: FieldElement) { self = self + g }

    /// self = self - g.
    @inline(never)
    mutating func subtract(_ g: FieldElement) { self = self - g }

    /// self = g - self.
    @inline(never)
    mutating func subtract(from g: FieldElement) { self = g - self }

    /// The squaring repeated `count` times.
    @inline(never)
    func squared(times count: Int) -> FieldElement {
        var result = self
        for _ in 0..<count { result = result.squared() }
        return result
    }

    /// The same element with its limbs brought back to about 2^25 / 2^24 (what a product gives).
    func carried() -> FieldElement {
        Self.carry(
            Int64(l0),
            Int64(l1),
            Int64(l2),
            Int64(l3),
            Int64(l4),
            Int64(l5),
            Int64(l6),
            Int64(l7),
            Int64(l8),
            Int64(l9)
        )
    }

    /// Carries wide limbs into the 26/25-bit form, each carry rounded to the nearest so limbs end up signed and small.
    @inline(never)
    private static func carry(
        _ h0: Int64,
        _ h1: Int64,
        _ h2: Int64,
        _ h3: Int64,
        _ h4: Int64,
        _ h5: Int64,
        _ h6: Int64,
        _ h7: Int64,
        _ h8: Int64,
        _ h9: Int64
    ) -> FieldElement {
        var (h0, h1, h2, h3, h4, h5, h6, h7, h8, h9) = (h0, h1, h2, h3, h4, h5, h6, h7, h8, h9)
        var c: Int64
        c = (h0 &+ 0x200_0000) &>> 26
        h1 &+= c
        h0 &-= c &<< 26
        c = (h4 &+ 0x200_0000) &>> 26
        h5 &+= c
        h4 &-= c &<< 26
        c = (h1 &+ 0x100_0000) &>> 25
        h2 &+= c
        h1 &-= c &<< 25
        c = (h5 &+ 0x100_0000) &>> 25
        h6 &+= c
        h5 &-= c &<< 25
        c = (h2 &+ 0x200_0000) &>> 26
        h3 &+= c
        h2 &-= c &<< 26
        c = (h6 &+ 0x200_0000) &>> 26
        h7 &+= c
        h6 &-= c &<< 26
        c = (h3 &+ 0x100_0000) &>> 25
        h4 &+= c
        h3 &-= c &<< 25
        c = (h7 &+ 0x100_0000) &>> 25
        h8 &+= c
        h7 &-= c &<< 25
        c = (h4 &+ 0x200_0000) &>> 26
        h5 &+= c
        h4 &-= c &<< 26
        c = (h8 &+ 0x200_0000) &>> 26
        h9 &+= c
        h8 &-= c &<< 26
        c = (h9 &+ 0x100_0000) &>> 25
        h0 &+= c &* 19
        h9 &-= c &<< 25
        c = (h0 &+ 0x200_0000) &>> 26
        h1 &+= c
        h0 &-= c &<< 26
        return FieldElement(
            Int32(truncatingIfNeeded: h0),
            Int32(truncatingIfNeeded: h1),
            Int32(truncatingIfNeeded: h2),
            Int32(truncatingIfNeeded: h3),
            Int32(truncatingIfNeeded: h4),
            Int32(truncatingIfNeeded: h5),
            Int32(truncatingIfNeeded: h6),
            Int32(truncatingIfNeeded: h7),
            Int32(truncatingIfNeeded: h8),
            Int32(truncatingIfNeeded: h9)
        )
    }
}
