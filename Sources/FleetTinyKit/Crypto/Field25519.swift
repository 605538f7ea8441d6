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

    static func * (f: FieldElement, g: FieldElement) -> FieldElement {
        let (f0, f1, f2, f3, f4, f5, f6, f7, f8, f9) = (f.l0, f.l1, f.l2, f.l3, f.l4, f.l5, f.l6, f.l7, f.l8, f.l9)
        let (g0, g1, g2, g3, g4, g5, g6, g7, g8, g9) = (g.l0, g.l1, g.l2, g.l3, g.l4, g.l5, g.l6, g.l7, g.l8, g.l9)
        // f_i g_j lands in limb (i + j) mod 10, doubled when i and j are both odd (their weights add up to one
        // more bit), times 19 when i + j >= 10 (2^255 = 19).
        let f1_2: Int32 = 2 &* f1
        let f3_2: Int32 = 2 &* f3
        let f5_2: Int32 = 2 &* f5
        let f7_2: Int32 = 2 &* f7
        let f9_2: Int32 = 2 &* f9
        let g1_19: Int32 = 19 &* g1
        let g2_19: Int32 = 19 &* g2
        let g3_19: Int32 = 19 &* g3
        let g4_19: Int32 = 19 &* g4
        let g5_19: Int32 = 19 &* g5
        let g6_19: Int32 = 19 &* g6
        let g7_19: Int32 = 19 &* g7
        let g8_19: Int32 = 19 &* g8
        let g9_19: Int32 = 19 &* g9
        let h0 =
            Int64(f0) &* Int64(g0)
            &+ Int64(f1_2) &* Int64(g9_19)
            &+ Int64(f2) &* Int64(g8_19)
            &+ Int64(f3_2) &* Int64(g7_19)
            &+ Int64(f4) &* Int64(g6_19)
            &+ Int64(f5_2) &* Int64(g5_19)
            &+ Int64(f6) &* Int64(g4_19)
            &+ Int64(f7_2) &* Int64(g3_19)
            &+ Int64(f8) &* Int64(g2_19)
            &+ Int64(f9_2) &* Int64(g1_19)
        let h1 =
            Int64(f0) &* Int64(g1)
            &+ Int64(f1) &* Int64(g0)
            &+ Int64(f2) &* Int64(g9_19)
            &+ Int64(f3) &* Int64(g8_19)
            &+ Int64(f4) &* Int64(g7_19)
            &+ Int64(f5) &* Int64(g6_19)
            &+ Int64(f6) &* Int64(g5_19)
            &+ Int64(f7) &* Int64(g4_19)
            &+ Int64(f8) &* Int64(g3_19)
            &+ Int64(f9) &* Int64(g2_19)
        let h2 =
            Int64(f0) &* Int64(g2)
            &+ Int64(f1_2) &* Int64(g1)
            &+ Int64(f2) &* Int64(g0)
            &+ Int64(f3_2) &* Int64(g9_19)
            &+ Int64(f4) &* Int64(g8_19)
            &+ Int64(f5_2) &* Int64(g7_19)
            &+ Int64(f6) &* Int64(g6_19)
            &+ Int64(f7_2) &* Int64(g5_19)
            &+ Int64(f8) &* Int64(g4_19)
            &+ Int64(f9_2) &* Int64(g3_19)
        let h3 =
            Int64(f0) &* Int64(g3)
            &+ Int64(f1) &* Int64(g2)
            &+ Int64(f2) &* Int64(g1)
            &+ Int64(f3) &* Int64(g0)
            &+ Int64(f4) &* Int64(g9_19)
            &+ Int64(f5) &* Int64(g8_19)
            &+ Int64(f6) &* Int64(g7_19)
            &+ Int64(f7) &* Int64(g6_19)
            &+ Int64(f8) &* Int64(g5_19)
            &+ Int64(f9) &* Int64(g4_19)
        let h4 =
            Int64(f0) &* Int64(g4)
            &+ Int64(f1_2) &* Int64(g3)
            &+ Int64(f2) &* Int64(g2)
            &+ Int64(f3_2) &* Int64(g1)
            &+ Int64(f4) &* Int64(g0)
            &+ Int64(f5_2) &* Int64(g9_19)
            &+ Int64(f6) &* Int64(g8_19)
            &+ Int64(f7_2) &* Int64(g7_19)
            &+ Int64(f8) &* Int64(g6_19)
            &+ Int64(f9_2) &* Int64(g5_19)
        let h5 =
            Int64(f0) &* Int64(g5)
            &+ Int64(f1) &* Int64(g4)
            &+ Int64(f2) &* Int64(g3)
            &+ Int64(f3) &* Int64(g2)
            &+ Int64(f4) &* Int64(g1)
            &+ Int64(f5) &* Int64(g0)
            &+ Int64(f6) &* Int64(g9_19)
            &+ Int64(f7) &* Int64(g8_19)
            &+ Int64(f8) &* Int64(g7_19)
            &+ Int64(f9) &* Int64(g6_19)
        let h6 =
            Int64(f0) &* Int64(g6)
            &+ Int64(f1_2) &* Int64(g5)
            &+ Int64(f2) &* Int64(g4)
            &+ Int64(f3_2) &* Int64(g3)
            &+ Int64(f4) &* Int64(g2)
            &+ Int64(f5_2) &* Int64(g1)
            &+ Int64(f6) &* Int64(g0)
            &+ Int64(f7_2) &* Int64(g9_19)
            &+ Int64(f8) &* Int64(g8_19)
            &+ Int64(f9_2) &* Int64(g7_19)
        let h7 =
            Int64(f0) &* Int64(g7)
            &+ Int64(f1) &* Int64(g6)
            &+ Int64(f2) &* Int64(g5)
            &+ Int64(f3) &* Int64(g4)
            &+ Int64(f4) &* Int64(g3)
            &+ Int64(f5) &* Int64(g2)
            &+ Int64(f6) &* Int64(g1)
            &+ Int64(f7) &* Int64(g0)
            &+ Int64(f8) &* Int64(g9_19)
            &+ Int64(f9) &* Int64(g8_19)
        let h8 =
            Int64(f0) &* Int64(g8)
            &+ Int64(f1_2) &* Int64(g7)
            &+ Int64(f2) &* Int64(g6)
            &+ Int64(f3_2) &* Int64(g5)
            &+ Int64(f4) &* Int64(g4)
            &+ Int64(f5_2) &* Int64(g3)
            &+ Int64(f6) &* Int64(g2)
            &+ Int64(f7_2) &* Int64(g1)
            &+ Int64(f8) &* Int64(g0)
            &+ Int64(f9_2) &* Int64(g9_19)
        let h9 =
            Int64(f0) &* Int64(g9)
            &+ Int64(f1) &* Int64(g8)
            &+ Int64(f2) &* Int64(g7)
            &+ Int64(f3) &* Int64(g6)
            &+ Int64(f4) &* Int64(g5)
            &+ Int64(f5) &* Int64(g4)
            &+ Int64(f6) &* Int64(g3)
            &+ Int64(f7) &* Int64(g2)
            &+ Int64(f8) &* Int64(g1)
            &+ Int64(f9) &* Int64(g0)
        return carry(h0, h1, h2, h3, h4, h5, h6, h7, h8, h9)
    }

    /// f * f with the symmetric products taken once.
    func squared() -> FieldElement {
        let (f0, f1, f2, f3, f4, f5, f6, f7, f8, f9) = (l0, l1, l2, l3, l4, l5, l6, l7, l8, l9)
        let f0_2: Int32 = 2 &* f0
        let f1_2: Int32 = 2 &* f1
        let f1_4: Int32 = 4 &* f1
        let f2_2: Int32 = 2 &* f2
        let f3_2: Int32 = 2 &* f3
        let f3_4: Int32 = 4 &* f3
        let f4_2: Int32 = 2 &* f4
        let f5_2: Int32 = 2 &* f5
        let f5_38: Int32 = 38 &* f5
        let f6_2: Int32 = 2 &* f6
        let f6_19: Int32 = 19 &* f6
        let f7_2: Int32 = 2 &* f7
        let f7_19: Int32 = 19 &* f7
        let f7_38: Int32 = 38 &* f7
        let f8_2: Int32 = 2 &* f8
        let f8_19: Int32 = 19 &* f8
        let f9_19: Int32 = 19 &* f9
        let f9_38: Int32 = 38 &* f9
        let h0 =
            Int64(f0) &* Int64(f0)
            &+ Int64(f1_2) &* Int64(f9_38)
            &+ Int64(f2_2) &* Int64(f8_19)
            &+ Int64(f3_2) &* Int64(f7_38)
            &+ Int64(f4_2) &* Int64(f6_19)
            &+ Int64(f5) &* Int64(f5_38)
        let h1 =
            Int64(f0_2) &* Int64(f1)
            &+ Int64(f2_2) &* Int64(f9_19)
            &+ Int64(f3_2) &* Int64(f8_19)
            &+ Int64(f4_2) &* Int64(f7_19)
            &+ Int64(f5_2) &* Int64(f6_19)
        let h2 =
            Int64(f0_2) &* Int64(f2)
            &+ Int64(f1) &* Int64(f1_2)
            &+ Int64(f3_2) &* Int64(f9_38)
            &+ Int64(f4_2) &* Int64(f8_19)
            &+ Int64(f5_2) &* Int64(f7_38)
            &+ Int64(f6) &* Int64(f6_19)
        let h3 =
            Int64(f0_2) &* Int64(f3)
            &+ Int64(f1_2) &* Int64(f2)
            &+ Int64(f4_2) &* Int64(f9_19)
            &+ Int64(f5_2) &* Int64(f8_19)
            &+ Int64(f6_2) &* Int64(f7_19)
        let h4 =
            Int64(f0_2) &* Int64(f4)
            &+ Int64(f1_4) &* Int64(f3)
            &+ Int64(f2) &* Int64(f2)
            &+ Int64(f5_2) &* Int64(f9_38)
            &+ Int64(f6_2) &* Int64(f8_19)
            &+ Int64(f7) &* Int64(f7_38)
        let h5 =
            Int64(f0_2) &* Int64(f5)
            &+ Int64(f1_2) &* Int64(f4)
            &+ Int64(f2_2) &* Int64(f3)
            &+ Int64(f6_2) &* Int64(f9_19)
            &+ Int64(f7_2) &* Int64(f8_19)
        let h6 =
            Int64(f0_2) &* Int64(f6)
            &+ Int64(f1_4) &* Int64(f5)
            &+ Int64(f2_2) &* Int64(f4)
            &+ Int64(f3) &* Int64(f3_2)
            &+ Int64(f7_2) &* Int64(f9_38)
            &+ Int64(f8) &* Int64(f8_19)
        let h7 =
            Int64(f0_2) &* Int64(f7)
            &+ Int64(f1_2) &* Int64(f6)
            &+ Int64(f2_2) &* Int64(f5)
            &+ Int64(f3_2) &* Int64(f4)
            &+ Int64(f8_2) &* Int64(f9_19)
        let h8 =
            Int64(f0_2) &* Int64(f8)
            &+ Int64(f1_4) &* Int64(f7)
            &+ Int64(f2_2) &* Int64(f6)
            &+ Int64(f3_4) &* Int64(f5)
            &+ Int64(f4) &* Int64(f4)
            &+ Int64(f9) &* Int64(f9_38)
        let h9 =
            Int64(f0_2) &* Int64(f9)
            &+ Int64(f1_2) &* Int64(f8)
            &+ Int64(f2_2) &* Int64(f7)
            &+ Int64(f3_2) &* Int64(f6)
            &+ Int64(f4_2) &* Int64(f5)
        return Self.carry(h0, h1, h2, h3, h4, h5, h6, h7, h8, h9)
    }

    /// The squaring repeated `count` times.
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
