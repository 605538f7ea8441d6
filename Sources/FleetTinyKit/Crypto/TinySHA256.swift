/// SHA-256 (FIPS 180-4), streaming, with no allocation: 104 bytes of state in the value, a 64-byte block at a time.
///
/// ```swift
/// var hasher = TinySHA256()
/// hasher.update(chunk1)
/// hasher.update(chunk2)
/// let digest = hasher.finalize()   // the hasher starts again from empty afterwards
/// ```
public struct TinySHA256: Sendable, BlockHashing {
    private var state: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32)
    /// The partial block (64 bytes).
    var block: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    /// Bytes hashed so far (the message length, which FIPS 180-4 bounds below 2^64 bits).
    var length: UInt64 = 0
    static var blockSize: Int { 64 }
    static var lengthFieldSize: Int { 8 }

    /// An empty hash. Not inlined: one copy of the initial words for the hash's many callers.
    @inline(never)
    public init() {
        state = (0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19)
    }

    /// Hashes `bytes` after everything hashed so far.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) { absorb(bytes) }

    /// The digest of everything hashed; the hasher is then empty again, ready for another message.
    public mutating func finalize() -> TinyDigest32 {
        pad()
        var digest = TinyDigest32()
        withUnsafeMutableBytes(of: &digest.storage) { storeBigEndian(state, as: UInt32.self, into: $0) }
        self = TinySHA256()
        return digest
    }

    /// The digest of `bytes` in one call.
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> TinyDigest32 {
        var hasher = TinySHA256()
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// One block of the compression function (FIPS 180-4 section 6.2.2), the message schedule kept as a rolling
    /// window of 16 words.
    @inline(never)
    mutating func compress(_ input: UnsafeRawPointer) {
        var window: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
            (0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &window) { raw in
            withSHA2RoundConstants { constants in
                let w = RawWords<UInt32>(raw: raw)
                for index in 0..<16 {
                    w[index] = UInt32(bigEndian: input.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self))
                }
                var (a, b, c, d, e, f, g, h) = state
                for round in 0..<64 {
                    let slot = round & 15
                    if round >= 16 {
                        let w15 = w[(round &- 15) & 15]
                        let w2 = w[(round &- 2) & 15]
                        let s0 = w15.rotatedRight(7) ^ w15.rotatedRight(18) ^ (w15 &>> 3)
                        let s1 = w2.rotatedRight(17) ^ w2.rotatedRight(19) ^ (w2 &>> 10)
                        w[slot] = w[slot] &+ s0 &+ w[(round &- 7) & 15] &+ s1
                    }
                    let sum1 = e.rotatedRight(6) ^ e.rotatedRight(11) ^ e.rotatedRight(25)
                    let choose = (e & f) ^ (~e & g)
                    let k = UInt32(
                        truncatingIfNeeded: constants.load(fromByteOffset: round &* 8, as: UInt64.self) &>> 32
                    )
                    let t1 = h &+ sum1 &+ choose &+ k &+ w[slot]
                    let sum0 = a.rotatedRight(2) ^ a.rotatedRight(13) ^ a.rotatedRight(22)
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

extension UInt32 {
    @inline(__always)
    func rotatedRight(_ count: UInt32) -> UInt32 { (self &>> count) | (self &<< (32 &- count)) }
}
