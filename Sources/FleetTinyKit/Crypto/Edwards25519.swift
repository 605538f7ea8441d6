/// A point of the twisted Edwards curve -x^2 + y^2 = 1 + d x^2 y^2 (edwards25519) in extended coordinates
/// (X : Y : Z : T) with x = X/Z, y = Y/Z, x y = T/Z (Hisil, Wong, Carter, Dawson 2008).
///
/// The addition is complete on this curve (a = -1 is a square, d is not), so it needs no special cases and takes
/// the same time for every pair of points, equal or not, the neutral point included.
struct EdwardsPoint {
    var x, y, z, t: FieldElement

    /// The neutral point (0, 1).
    static var neutral: EdwardsPoint { EdwardsPoint(x: .zero, y: .one, z: .one, t: .zero) }

    /// The base point B of RFC 8032: y = 4/5, x even. Not inlined: one copy of its limbs for signing, verifying and
    /// key derivation.
    static var base: EdwardsPoint {
        @inline(never) get {
            EdwardsPoint(
                x: FieldElement(
                    -14_297_830,
                    -7_645_148,
                    16_144_683,
                    -16_471_763,
                    27_570_974,
                    -2_696_100,
                    -26_142_465,
                    8_378_389,
                    20_764_389,
                    8_758_491
                ),
                y: FieldElement(
                    -26_843_541,
                    -6_710_886,
                    13_421_773,
                    -13_421_773,
                    26_843_546,
                    6_710_886,
                    -13_421_773,
                    13_421_773,
                    -26_843_546,
                    -6_710_886
                ),
                z: .one,
                t: FieldElement(
                    28_827_062,
                    -6_116_119,
                    -27_349_572,
                    244_363,
                    8_635_006,
                    11_264_893,
                    19_351_346,
                    13_413_597,
                    16_611_511,
                    -6_414_980
                )
            )
        }
    }

    /// -P = (-x, y).
    static prefix func - (p: EdwardsPoint) -> EdwardsPoint { EdwardsPoint(x: -p.x, y: p.y, z: p.z, t: -p.t) }

    /// P becomes -P, in place (no copy of the point in the caller's frame).
    mutating func negate() {
        x = -x
        t = -t
    }

    /// P + Q ("add-2008-hwcd-3" with a = -1, k = 2d): 9 products.
    @inline(never)  // one copy, one frame (inlined, the ladders' frames held every temporary of both formulas)
    static func + (p: EdwardsPoint, q: EdwardsPoint) -> EdwardsPoint {
        let a = (p.y - p.x) * (q.y - q.x)
        let b = (p.y + p.x) * (q.y + q.x)
        let c = p.t * FieldElement.d2 * q.t
        let zz = p.z * q.z
        let d = zz + zz
        let e = b - a
        let f = d - c
        let g = d + c
        let h = b + a
        return EdwardsPoint(x: e * f, y: g * h, z: f * g, t: e * h)
    }

    /// 2P ("dbl-2008-hwcd" with a = -1, each of E, F, G, H negated, which leaves the products unchanged): 4
    /// squares and 4 products.
    @inline(never)
    func doubled() -> EdwardsPoint {
        let a = x.squared()
        let b = y.squared()
        let zz = z.squared()
        let h = a + b
        let e = h - (x + y).squared()
        let g = a - b
        let f = (zz + zz + g).carried()
        return EdwardsPoint(x: e * f, y: g * h, z: f * g, t: e * h)
    }

    /// Swaps `p` and `q` when `bit` is 1, in the same time either way.
    static func conditionalSwap(_ p: inout EdwardsPoint, _ q: inout EdwardsPoint, _ bit: Int32) {
        FieldElement.conditionalSwap(&p.x, &q.x, bit)
        FieldElement.conditionalSwap(&p.y, &q.y, bit)
        FieldElement.conditionalSwap(&p.z, &q.z, bit)
        FieldElement.conditionalSwap(&p.t, &q.t, bit)
    }

    /// [scalar] P for a secret 32-byte little-endian scalar, in constant time: 256 steps of one addition, one
    /// doubling and two conditional swaps whatever the bits (the Montgomery-ladder shape of TweetNaCl's scalarmult).
    static func multiply(_ point: EdwardsPoint, byScalar scalar: UnsafeRawPointer) -> EdwardsPoint {
        var p = EdwardsPoint.neutral
        var q = point
        var bitIndex = 255
        while bitIndex >= 0 {
            let byte = scalar.load(fromByteOffset: bitIndex >> 3, as: UInt8.self)
            let bit = Int32((byte >> UInt8(bitIndex & 7)) & 1)
            conditionalSwap(&p, &q, bit)
            q.add(p)
            p.doubleInPlace()
            conditionalSwap(&p, &q, bit)
            bitIndex -= 1
        }
        return p
    }

    /// [s] B + [h] A for public scalars below 2^253 (vartime: verification only handles public values), by
    /// Straus-Shamir: one doubling per bit and an addition of B, A or B + A where bits are set. The result is doubled
    /// and added to in place (``doubleInPlace()``, ``add(_:)``): the frame holds the four points, not a temporary
    /// for each step.
    static func doubleMultiplyVartime(
        s: UnsafeRawPointer,
        base: EdwardsPoint,
        h: UnsafeRawPointer,
        point: EdwardsPoint
    ) -> EdwardsPoint {
        var both = base
        both.add(point)
        var result = EdwardsPoint.neutral
        var bitIndex = 252
        while bitIndex >= 0 {
            result.doubleInPlace()
            let sBit = (s.load(fromByteOffset: bitIndex >> 3, as: UInt8.self) >> UInt8(bitIndex & 7)) & 1
            let hBit = (h.load(fromByteOffset: bitIndex >> 3, as: UInt8.self) >> UInt8(bitIndex & 7)) & 1
            switch (sBit, hBit) {
            case (1, 1): result.add(both)
            case (1, _): result.add(base)
            case (_, 1): result.add(point)
            default: break
            }
            bitIndex -= 1
        }
        return result
    }

    /// self = self + q.
    @inline(never)
    mutating func add(_ q: EdwardsPoint) { self = self + q }

    /// self = 2 self.
    @inline(never)
    mutating func doubleInPlace() { self = doubled() }

    /// Writes the RFC 8032 encoding (y canonical, the parity of x in bit 255) to the 32 bytes at `out`.
    func encode(into out: UnsafeMutableRawPointer) {
        let zInverse = z.inverse()
        let affineX = x * zInverse
        (y * zInverse).encode(into: out)
        let top = out.load(fromByteOffset: 31, as: UInt8.self)
        out.storeBytes(of: top | (affineX.isNegative ? 0x80 : 0), toByteOffset: 31, as: UInt8.self)
    }
}

extension EdwardsPoint {
    /// The point a 32-byte encoding names, read exactly as BoringSSL's `x25519_ge_frombytes_vartime` reads a
    /// public key: y is taken modulo p (y >= p is not rejected), x = sqrt((y^2 - 1) / (d y^2 + 1)) must exist, and
    /// bit 255 picks its parity (x = 0 with bit 255 set is accepted as x = 0). Nil when no x exists. Vartime.
    init?(decoding bytes: UnsafeRawPointer) {
        let y = FieldElement(bytes: bytes).carried()
        let (u, v) = Self.ratio(y)
        // x = u (u v)^((p-5)/8), then x^2 v is u or -u when u / v is a square. The exponentiation runs under
        // this frame only (the checks after it are in their own): on the Cortex-M4 it is the deepest chain of a
        // verification.
        let root = (u * v).powerPMinus5Over8()
        let wantsNegative = bytes.load(fromByteOffset: 31, as: UInt8.self) >> 7 == 1
        guard let x = Self.squareRoot(u: u, v: v, root: root, negative: wantsNegative) else { return nil }
        self.init(x: x, y: y, z: .one, t: x * y)
    }

    /// u = y^2 - 1 and v = d y^2 + 1, x^2 = u / v on the curve (in their own frame, gone before the exponentiation).
    @inline(never)
    private static func ratio(_ y: FieldElement) -> (u: FieldElement, v: FieldElement) {
        let yy = y.squared()
        return ((yy - .one).carried(), yy * .d + .one)
    }

    /// x with x^2 = u / v from `root` = (u v)^((p-5)/8), of the parity `negative` asks (RFC 8032 5.1.3 steps 2-4);
    /// nil when u / v is not a square.
    @inline(never)
    private static func squareRoot(
        u: FieldElement,
        v: FieldElement,
        root: FieldElement,
        negative wantsNegative: Bool
    ) -> FieldElement? {
        var x = u * root
        let vxx = x.squared() * v
        if (vxx - u).isNonZero {
            guard !(vxx + u).isNonZero else { return nil }
            x = x * .sqrtMinusOne
        }
        if x.isNegative != wantsNegative { x = -x }
        return x
    }
}
