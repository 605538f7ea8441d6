/// Ed25519 (RFC 8032, pure, no context): public key from a 32-byte seed, deterministic signing, and verification
/// that accepts and rejects exactly what BoringSSL's `ED25519_verify` does (swift-crypto's `Curve25519.Signing`
/// on Linux).
///
/// Nothing is allocated: keys, scalars and points live on the stack (about 2 KB at the deepest, in signing).
/// Operations on secrets (the seed, the secret scalar, the nonce) run in constant time: no branch and no memory
/// index depends on them. Verification handles public values only and is variable-time.
///
/// Verification rules (BoringSSL's): the signature is R (32 bytes) then S (32 bytes, little-endian); S must be
/// below the group order L; the public key must decode to a curve point, where a y at or above p is read modulo p
/// and x = 0 with the sign bit set is allowed; small-order keys are not rejected; R is not decoded: [S]B - [k]A
/// is encoded and compared with R byte for byte, so an R that is not the canonical encoding never verifies; k is
/// SHA-512(R || public key || message) with the bytes as given.
public enum TinyEd25519 {
    /// Bytes of a seed (the secret key), of a public key and of a signature.
    public static var seedCount: Int { 32 }
    public static var publicKeyCount: Int { 32 }
    public static var signatureCount: Int { 64 }

    /// Writes the public key of the 32-byte `seed` to the first 32 bytes of `into`.
    public static func publicKey(seed: UnsafeRawBufferPointer, into publicKey: UnsafeMutableRawBufferPointer) {
        precondition(seed.count == seedCount && publicKey.count >= publicKeyCount, "Ed25519 key sizes: 32 and 32")
        var expanded = ExpandedSeed(seed)
        expanded.withScalar { scalar in encodeBaseMultiple(scalar, into: publicKey.baseAddress!) }
        expanded.erase()
    }

    /// Writes the encoding of [scalar] B (a secret 32-byte scalar: constant time) to the 32 bytes at `out`. Not
    /// inlined: the points stay out of the callers' frames.
    @inline(never)
    private static func encodeBaseMultiple(_ scalar: UnsafeRawPointer, into out: UnsafeMutableRawPointer) {
        EdwardsPoint.multiply(.base, byScalar: scalar).encode(into: out)
    }

    /// Writes the signature of `message` to the first 64 bytes of `signature`. `publicKey` must be the seed's
    /// (from `publicKey(seed:into:)`), as it is hashed into the signature; the signature is deterministic.
    public static func sign(
        message: UnsafeRawBufferPointer,
        seed: UnsafeRawBufferPointer,
        publicKey: UnsafeRawBufferPointer,
        into signature: UnsafeMutableRawBufferPointer
    ) {
        precondition(
            seed.count == seedCount && publicKey.count == publicKeyCount && signature.count >= signatureCount,
            "Ed25519 sizes: seed 32, public key 32, signature 64"
        )
        var expanded = ExpandedSeed(seed)
        // r = SHA-512(prefix || message) mod L, R = [r] B.
        var nonce = Self.nonce(expanded, message)
        var encodedR: Raw32 = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &encodedR) { out in
            withUnsafeBytes(of: nonce) { encodeBaseMultiple($0.baseAddress!, into: out.baseAddress!) }
        }
        // k = SHA-512(R || A || message) mod L, S = (r + k a) mod L.
        let k = challenge(encodedR: encodedR, publicKey: publicKey, message: message)
        let out = signature.baseAddress!
        withUnsafeBytes(of: encodedR) { out.copyMemory(from: $0.baseAddress!, byteCount: 32) }
        withUnsafeBytes(of: nonce) { r in
            withUnsafeBytes(of: k) { k in
                expanded.withScalar { a in
                    Scalar25519.multiplyAdd(r: r.baseAddress!, k: k.baseAddress!, a: a, into: out + 32)
                }
            }
        }
        nonce = (0, 0, 0, 0)
        expanded.erase()
    }

    /// r = SHA-512(prefix || message) mod L, the signature's secret nonce. Not inlined: the hash's state is gone
    /// before the points are computed (and its digest erased here).
    @inline(never)
    private static func nonce(_ expanded: ExpandedSeed, _ message: UnsafeRawBufferPointer) -> Raw32 {
        var nonce: Raw32 = (0, 0, 0, 0)
        var hasher = TinySHA512()
        expanded.withPrefix { hasher.update($0) }
        hasher.update(message)
        var wide = hasher.finalize()
        withUnsafeMutableBytes(of: &nonce) { nonceBytes in
            wide.withUnsafeBytes { Scalar25519.reduce($0.baseAddress!, into: nonceBytes.baseAddress!) }
        }
        wide = TinyDigest64()
        return nonce
    }

    /// Whether `signature` is a valid signature of `message` by `publicKey`, under BoringSSL's rules (see the type's
    /// documentation). Any size other than 64 and 32 bytes is simply invalid.
    public static func verify(
        signature: UnsafeRawBufferPointer,
        message: UnsafeRawBufferPointer,
        publicKey: UnsafeRawBufferPointer
    ) -> Bool {
        guard signature.count == signatureCount, publicKey.count == publicKeyCount else { return false }
        let signatureBytes = signature.baseAddress!
        guard Scalar25519.isCanonical(signatureBytes + 32) else { return false }
        var encodedR: Raw32 = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &encodedR) {
            $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: signature[0..<32]))
        }
        let k = challenge(encodedR: encodedR, publicKey: publicKey, message: message)
        var computedR: Raw32 = (0, 0, 0, 0)
        let decoded = withUnsafeMutableBytes(of: &computedR) { out in
            withUnsafeBytes(of: k) { k in
                commitment(s: signatureBytes + 32, k: k.baseAddress!, publicKey: publicKey.baseAddress!, into: out)
            }
        }
        return decoded
            && (computedR.0 ^ encodedR.0) | (computedR.1 ^ encodedR.1) | (computedR.2 ^ encodedR.2)
                | (computedR.3 ^ encodedR.3) == 0
    }

    /// Writes the encoding of [s] B - [k] A to `out` (32 bytes), A the point `publicKey` encodes; false when it
    /// encodes none. Not inlined, and A negated in place: the points' copies stay out of `verify`'s frame.
    @inline(never)
    private static func commitment(
        s: UnsafeRawPointer,
        k: UnsafeRawPointer,
        publicKey: UnsafeRawPointer,
        into out: UnsafeMutableRawBufferPointer
    ) -> Bool {
        var point = EdwardsPoint.neutral
        guard EdwardsPoint.decode(publicKey, into: &point) else { return false }
        point.negate()
        point.doubleMultiplyVartime(s: s, h: k)
        point.encode(into: out.baseAddress!)
        return true
    }

    /// SHA-512(R || public key || message) mod L. Not inlined: the hash's state is gone before the points are.
    @inline(never)
    private static func challenge(
        encodedR: Raw32,
        publicKey: UnsafeRawBufferPointer,
        message: UnsafeRawBufferPointer
    )
        -> Raw32
    {
        var hasher = TinySHA512()
        withUnsafeBytes(of: encodedR) { hasher.update($0) }
        hasher.update(publicKey)
        hasher.update(message)
        let wide = hasher.finalize()
        var k: Raw32 = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &k) { out in
            wide.withUnsafeBytes { Scalar25519.reduce($0.baseAddress!, into: out.baseAddress!) }
        }
        return k
    }
}

/// SHA-512 of a seed: the clamped secret scalar a (first half) and the nonce prefix (second half).
private struct ExpandedSeed {
    private var digest: TinyDigest64

    init(_ seed: UnsafeRawBufferPointer) {
        digest = TinySHA512.hash(seed)
        withUnsafeMutableBytes(of: &digest.storage) { bytes in
            bytes[0] &= 248
            bytes[31] &= 127
            bytes[31] |= 64
        }
    }

    func withScalar<Result>(_ body: (UnsafeRawPointer) -> Result) -> Result {
        digest.withUnsafeBytes { body($0.baseAddress!) }
    }

    func withPrefix(_ body: (UnsafeRawBufferPointer) -> Void) {
        digest.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[32..<64])) }
    }

    /// Overwrites the secret halves.
    mutating func erase() { digest = TinyDigest64() }
}
