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

    /// self = self + q, in place ("add-2008-hwcd-3" with a = -1, k = 2d): 9 products, the same sums, differences
    /// and products in the same order as the textbook form, each written over one of five named temporaries with
    /// the field's in-place operations (A and B become E and H, C and D become F and G), then over `self`: no
    /// element for every intermediate value, no second point in this frame or the caller's. Never inlined.
    @inline(never)
    mutating func add(_ q: EdwardsPoint) {
        var a = y
        a.subtract(x)
        var h = q.y
        h.subtract(q.x)
        a.multiply(by: h)  // A = (Y1 - X1)(Y2 - X2)
        h = y
        h.add(x)
        var f = q.y
        f.add(q.x)
        h.multiply(by: f)  // B = (Y1 + X1)(Y2 + X2)
        f = t
        f.multiply(by: .d2)
        f.multiply(by: q.t)  // C = T1 2d T2
        var g = z
        g.multiply(by: q.z)
        g.add(g)  // D = 2 Z1 Z2
        var e = h
        e.subtract(a)  // E = B - A
        h.add(a)  // H = B + A
        a = f
        f.subtract(from: g)  // F = D - C
        g.add(a)  // G = D + C
        setExtended(e: e, f: f, g: g, h: h)
    }

    /// self = 2 self, in place ("dbl-2008-hwcd" with a = -1, each of E, F, G, H negated, which leaves the products
    /// unchanged): 4 squares and 4 products, written as ``add(_:)`` is.
    @inline(never)
    mutating func doubleInPlace() {
        var a = x
        a.square()  // A = X^2
        var b = y
        b.square()  // B = Y^2
        var f = z
        f.square()  // Z^2
        var h = a
        h.add(b)  // H = A + B
        var e = x
        e.add(y)
        e.square()
        e.subtract(from: h)  // E = H - (X + Y)^2
        a.subtract(b)  // G = A - B
        f.add(f)
        f.add(a)
        f = f.carried()  // F = 2 Z^2 + G
        setExtended(e: e, f: f, g: a, h: h)
    }

    /// (X : Y : Z : T) = (E F : G H : F G : E H), the last step of both formulas, written over `self` (inlined
    /// into each: no frame of its own under theirs).
    @inline(__always)
    private mutating func setExtended(e: FieldElement, f: FieldElement, g: FieldElement, h: FieldElement) {
        x = e
        x.multiply(by: f)
        y = g
        y.multiply(by: h)
        z = f
        z.multiply(by: g)
        t = e
        t.multiply(by: h)
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

    /// self = [s] B + [h] self for public scalars below 2^253 (vartime: verification only handles public values), by
    /// Straus-Shamir: one doubling per bit and an addition of B, A or B + A where bits are set. The result is doubled
    /// and added to in place (``doubleInPlace()``, ``add(_:)``), the base point is made here and the result written
    /// over `self`: the frame holds the four points, the caller's frame only `self`.
    @inline(never)
    mutating func doubleMultiplyVartime(s: UnsafeRawPointer, h: UnsafeRawPointer) {
        // A constant copy of A, and self as the result: passing `self` itself to `add` made a copy at each call.
        let point = self
        let base = EdwardsPoint.base
        var both = base
        both.add(point)
        self = .neutral
        var bitIndex = 252
        while bitIndex >= 0 {
            doubleInPlace()
            let sBit = (s.load(fromByteOffset: bitIndex >> 3, as: UInt8.self) >> UInt8(bitIndex & 7)) & 1
            let hBit = (h.load(fromByteOffset: bitIndex >> 3, as: UInt8.self) >> UInt8(bitIndex & 7)) & 1
            switch (sBit, hBit) {
            case (1, 1): add(both)
            case (1, _): add(base)
            case (_, 1): add(point)
            default: break
            }
            bitIndex -= 1
        }
    }

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
        self = .neutral
        guard Self.decode(bytes, into: &self) else { return nil }
    }

    /// Decodes as ``init(decoding:)`` does into `point` (left unspecified when false is returned), the
    /// intermediate values held in its own coordinates (u in x, v in z, the root in t): no other element is
    /// live while the exponentiation, the deepest chain of a verification, runs under this frame.
    @inline(never)
    static func decode(_ bytes: UnsafeRawPointer, into point: inout EdwardsPoint) -> Bool {
        point.y = FieldElement(bytes: bytes).carried()
        ratio(point.y, u: &point.x, v: &point.z)
        // x = u (u v)^((p-5)/8), then x^2 v is u or -u when u / v is a square.
        point.t = point.x
        point.t.multiply(by: point.z)
        point.t.raiseToPMinus5Over8()
        let wantsNegative = bytes.load(fromByteOffset: 31, as: UInt8.self) >> 7 == 1
        guard squareRoot(u: point.x, v: point.z, root: &point.t, negative: wantsNegative) else { return false }
        point.x = point.t
        point.z = .one
        point.t.multiply(by: point.y)
        return true
    }

    /// u = y^2 - 1 and v = d y^2 + 1, x^2 = u / v on the curve (in their own frame, gone before the exponentiation).
    @inline(never)
    private static func ratio(_ y: FieldElement, u: inout FieldElement, v: inout FieldElement) {
        let yy = y.squared()
        u = (yy - .one).carried()
        v = yy * .d + .one
    }

    /// `root` = (u v)^((p-5)/8) becomes x with x^2 = u / v, of the parity `negative` asks (RFC 8032 5.1.3 steps
    /// 2-4); false when u / v is not a square.
    @inline(never)
    private static func squareRoot(
        u: FieldElement,
        v: FieldElement,
        root: inout FieldElement,
        negative wantsNegative: Bool
    ) -> Bool {
        var x = u * root
        let vxx = x.squared() * v
        if (vxx - u).isNonZero {
            guard !(vxx + u).isNonZero else { return false }
            x = x * .sqrtMinusOne
        }
        if x.isNegative != wantsNegative { x = -x }
        root = x
        return true
    }
}
