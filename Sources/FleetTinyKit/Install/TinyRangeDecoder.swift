/// An adaptive probability for one binary decision (DELTA.md 6.1): `p` is the probability of a 0 in 1/65536,
/// `count` saturates at 30. Held packed in ``TinyStreamModels``; a value only while one bit is decoded.
struct TinyBitModel: Sendable {
    var p: UInt16
    var count: UInt8

    /// Moves `p` toward `bit` by `floor(131072 / (2 count + 3)) / 65536` (the RECIP table, computed).
    @inline(__always)
    mutating func update(_ bit: UInt32) {
        let rate = 131_072 / (2 * UInt32(count) + 3)
        let probability = UInt32(p)
        if bit == 0 {
            p = UInt16(truncatingIfNeeded: probability &+ (((65_536 &- probability) &* rate) &>> 16))
        } else {
            p = UInt16(truncatingIfNeeded: probability &- ((probability &* rate) &>> 16))
        }
        if count < 30 { count &+= 1 }
    }
}

/// The patch bytes received and not yet decoded: a 128-byte ring. Reading an empty window gives 0, which is the
/// format's rule past the end of the patch (DELTA.md 6.2); before the end, the installer decodes a step only when
/// ``TinyStreamPatch/lookahead`` bytes are buffered, so it never runs dry.
struct TinyInputWindow: Sendable {
    static let capacity = 128
    private var storage = InlineArray<128, UInt8>(repeating: 0)
    private var head = 0
    private(set) var count = 0

    var free: Int { Self.capacity - count }

    /// Forgets the buffered bytes.
    mutating func reset() {
        head = 0
        count = 0
    }

    mutating func push(_ byte: UInt8) {
        storage[(head + count) & (Self.capacity - 1)] = byte
        count += 1
    }

    @inline(__always)
    mutating func next() -> UInt8 {
        guard count > 0 else { return 0 }
        let byte = storage[head]
        head = (head + 1) & (Self.capacity - 1)
        count -= 1
        return byte
    }
}

/// The binary range decoder of DELTA.md section 6, pulling bytes from a ``TinyInputWindow``. Each decision
/// consumes at most 2 bytes: afterwards `range >= 2^8`, so normalisation shifts at most twice.
struct TinyRangeDecoder: Sendable {
    private var range: UInt32 = 0xFFFF_FFFF
    private var code: UInt32 = 0

    /// Reads the first 4 bytes of the stream (big-endian).
    mutating func start(_ input: inout TinyInputWindow) {
        range = 0xFFFF_FFFF
        code = 0
        for _ in 0..<4 { code = code << 8 | UInt32(input.next()) }
    }

    /// Decodes one bit with `model` and updates it. Called only by ``TinyStreamModels/bit(_:_:_:)``, which is not
    /// inlined (inlined at the stream models' many call sites, it cost about 2 KB of flash).
    @inline(__always)
    mutating func bit(_ model: inout TinyBitModel, _ input: inout TinyInputWindow) -> UInt32 {
        let bound = (range >> 16) &* UInt32(model.p)
        let bit: UInt32
        if code < bound {
            range = bound
            bit = 0
        } else {
            code &-= bound
            range &-= bound
            bit = 1
        }
        model.update(bit)
        normalise(&input)
        return bit
    }

    /// Decodes `count` (1...16) equiprobable bits as one value.
    mutating func direct(_ count: Int, _ input: inout TinyInputWindow) -> UInt32 {
        range >>= UInt32(count)
        let value = min(code / range, (1 << UInt32(count)) - 1)
        code &-= value &* range
        normalise(&input)
        return value
    }

    @inline(__always)
    private mutating func normalise(_ input: inout TinyInputWindow) {
        while range < 1 << 24 {
            range <<= 8
            code = code << 8 | UInt32(input.next())
        }
    }
}
