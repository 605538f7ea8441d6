/// SHA-512 (FIPS 180-4), streaming, with no allocation: 200 bytes of state in the value, a 128-byte block at a time.
/// Ed25519 hashes with it; its shape is `TinySHA256`'s.
public struct TinySHA512: Sendable, BlockHashing {
    private var state: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)
    /// The partial block (128 bytes).
    var block:
        (
            UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
            UInt64, UInt64, UInt64
        ) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    /// Bytes hashed so far (messages up to 2^64 - 1 bytes; the 128-bit length field is written from it).
    var length: UInt64 = 0
    static var blockSize: Int { 128 }
    static var lengthFieldSize: Int { 16 }

    /// An empty hash. Not inlined: one copy of the initial words for the hash's many callers.
    @inline(never)
    public init() {
        state = (
            0x6a09_e667_f3bc_c908, 0xbb67_ae85_84ca_a73b, 0x3c6e_f372_fe94_f82b, 0xa54f_f53a_5f1d_36f1,
            0x510e_527f_ade6_82d1, 0x9b05_688c_2b3e_6c1f, 0x1f83_d9ab_fb41_bd6b, 0x5be0_cd19_137e_2179
        )
    }

    /// Hashes `bytes` after everything hashed so far.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) { absorb(bytes) }

    /// The digest of everything hashed; the hasher is then empty again, ready for another message.
    public mutating func finalize() -> TinyDigest64 {
        pad()
        var digest = TinyDigest64()
        withUnsafeMutableBytes(of: &digest.storage) { storeBigEndian(state, as: UInt64.self, into: $0) }
        self = TinySHA512()
        return digest
    }

    /// The digest of `bytes` in one call.
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> TinyDigest64 {
        var hasher = TinySHA512()
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// One block of the compression function (FIPS 180-4 section 6.4.2), the message schedule kept as a rolling
    /// window of 16 words.
    /// The steps are TinySHA256's on 64-bit words. They are not shared through a generic function: debug and
    /// non-WMO builds leave generics unspecialised, which made both hashes about a hundred times slower.
    @inline(never)
    mutating func compress(_ input: UnsafeRawPointer) {
        var window:
            (
                UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                UInt64, UInt64, UInt64
            ) =
                (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &window) { raw in
            withSHA2RoundConstants { constants in
                let w = RawWords<UInt64>(raw: raw)
                for index in 0..<16 {
                    w[index] = UInt64(bigEndian: input.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self))
                }
                var (a, b, c, d, e, f, g, h) = state
                for round in 0..<80 {
                    let slot = round & 15
                    if round >= 16 {
                        let w15 = w[(round &- 15) & 15]
                        let w2 = w[(round &- 2) & 15]
                        let s0 = w15.rotatedRight(1) ^ w15.rotatedRight(8) ^ (w15 &>> 7)
                        let s1 = w2.rotatedRight(19) ^ w2.rotatedRight(61) ^ (w2 &>> 6)
                        w[slot] = w[slot] &+ s0 &+ w[(round &- 7) & 15] &+ s1
                    }
                    let sum1 = e.rotatedRight(14) ^ e.rotatedRight(18) ^ e.rotatedRight(41)
                    let choose = (e & f) ^ (~e & g)
                    let k = constants.load(fromByteOffset: round &* 8, as: UInt64.self)
                    let t1 = h &+ sum1 &+ choose &+ k &+ w[slot]
                    let sum0 = a.rotatedRight(28) ^ a.rotatedRight(34) ^ a.rotatedRight(39)
                    let majority = (a & b) ^ (a & c) ^ (b & c)
                    (h, g, f, e, d, c, b, a) = (g, f, e, d &+ t1, c, b, a, t1 &+ sum0 &+ majority)
                }
                state.0 &+= a
                state.1 &+= b
                state.2 &+= c
                state.3 &+= d
                state.4 &+= e
                state.5 &+= f
                state.6 &+= g
                state.7 &+= h
            }
        }
    }
}

extension UInt64 {
    @inline(__always)
    func rotatedRight(_ count: UInt64) -> UInt64 { (self &>> count) | (self &<< (64 &- count)) }
}
