import Foundation

/// An adaptive probability for one binary decision (see DELTA.md, "Bit models").
///
/// `p` is the probability of a 0 bit in units of 1/65536; `count` saturates at 30. No clamp is needed: each
/// step moves `p` by strictly less than its distance to 0 or 65536, so `p` stays in `[1, 65535]` and the
/// coder's `bound = (range >> 16) * p` stays in `(0, range)`.
/// After coding a bit the probability moves toward it by `RECIP[count] / 65536`, where
/// `RECIP[k] = floor(131072 / (2k + 3))`: a count-based estimate (about `1/(k + 1.5)`) that learns fast on
/// small tensors and settles to a 1/31.5 exponential window.
struct BitModel: Sendable {
    var p: UInt32 = 32_768
    var count: UInt32 = 0

    static let limit = 30
    /// `floor(131072 / (2k + 3))` for k = 0...30, as a literal so it is statically initialised.
    static let reciprocals: [UInt32] = [
        43_690, 26_214, 18_724, 14_563, 11_915, 10_082, 8_738, 7_710, 6_898, 6_241, 5_698, 5_242, 4_854, 4_519, 4_228,
        3_971, 3_744, 3_542, 3_360, 3_196, 3_048, 2_912, 2_788, 2_674, 2_570, 2_473, 2_383, 2_299, 2_221, 2_148, 2_080,
    ]

    @inline(__always)
    mutating func update(_ bit: UInt32) {
        // All values stay below 2^32: p < 65536 and rate < 65536. Wrapping operators skip overflow traps.
        let rate = Self.reciprocals[Int(count)]
        if bit == 0 {
            p &+= ((65_536 &- p) &* rate) &>> 16
        } else {
            p &-= (p &* rate) &>> 16
        }
        count = min(count &+ 1, UInt32(Self.limit))
    }
}

/// The operations a tensor model needs. Encoders read `bit`/`value`; decoders overwrite them, so the same
/// model code drives encoding, decoding and cost estimation and the three cannot drift apart.
protocol BinaryCoder {
    /// Codes one bit (0 or 1) with an adaptive model, then updates the model.
    mutating func code(_ bit: inout UInt32, _ model: inout BitModel)
    /// Codes the low `count` bits (1...16) of `value`, each with probability 1/2.
    mutating func codeDirect(_ value: inout UInt32, count: Int)
}

/// LZMA-style binary range encoder (32-bit range, carry propagation through a cache byte).
struct RangeEncoder: BinaryCoder {
    private var low: UInt64 = 0
    private var range: UInt32 = 0xFFFF_FFFF
    private var cache: UInt8 = 0
    private var cacheSize: Int = 1
    private var skippedFirst = false
    private(set) var bytes: [UInt8] = []

    @inline(__always)
    mutating func code(_ bit: inout UInt32, _ model: inout BitModel) {
        let bound = (range >> 16) &* model.p
        if bit == 0 {
            range = bound
        } else {
            low &+= UInt64(bound)
            range &-= bound
        }
        model.update(bit)
        while range < (1 << 24) {
            range <<= 8
            shiftLow()
        }
    }

    mutating func codeDirect(_ value: inout UInt32, count: Int) {
        range >>= UInt32(count)
        low &+= UInt64(value & ((1 << UInt32(count)) - 1)) &* UInt64(range)
        while range < (1 << 24) {
            range <<= 8
            shiftLow()
        }
    }

    private mutating func emit(_ byte: UInt8) {
        // The first byte of an LZMA-style stream is always 0; it is not stored.
        if skippedFirst { bytes.append(byte) } else { skippedFirst = true }
    }

    private mutating func shiftLow() {
        if low < 0xFF00_0000 || low >= (1 << 32) {
            let carry = UInt8(truncatingIfNeeded: low >> 32)
            var pending = cache
            repeat {
                emit(pending &+ carry)
                pending = 0xFF
                cacheSize -= 1
            } while cacheSize != 0
            cache = UInt8(truncatingIfNeeded: low >> 24)
        }
        cacheSize += 1
        low = (low & 0x00FF_FFFF) << 8
    }

    /// Ends the stream: picks the value in `[low, low + range)` with the most trailing zero bytes,
    /// flushes it, and drops trailing zero bytes (a decoder reads zeros past the end of the patch).
    mutating func finish() -> [UInt8] {
        let top = low + UInt64(range) - 1
        for shift in stride(from: 32, through: 0, by: -8) {
            let mask: UInt64 = (1 << UInt64(shift)) - 1
            let candidate = (low + mask) & ~mask
            if candidate <= top {
                low = candidate
                break
            }
        }
        for _ in 0..<5 { shiftLow() }
        while bytes.last == 0 { bytes.removeLast() }
        return bytes
    }
}

/// The matching decoder. Reads past the end of its input as zero bytes; loops are bounded by the
/// tensor sizes the header declares, so a corrupt stream yields wrong bytes (caught by the CRC), never a hang.
struct RangeDecoder: BinaryCoder {
    private let input: [UInt8]
    private var position: Int
    private var range: UInt32 = 0xFFFF_FFFF
    private var codeValue: UInt32 = 0

    init(_ input: [UInt8], offset: Int) {
        self.input = input
        self.position = offset
        for _ in 0..<4 { codeValue = (codeValue << 8) | UInt32(nextByte()) }
    }

    @inline(__always)
    private mutating func nextByte() -> UInt8 {
        defer { position += 1 }
        return position < input.count ? input[position] : 0
    }

    @inline(__always)
    mutating func code(_ bit: inout UInt32, _ model: inout BitModel) {
        let bound = (range >> 16) &* model.p
        if codeValue < bound {
            range = bound
            bit = 0
        } else {
            codeValue &-= bound
            range &-= bound
            bit = 1
        }
        model.update(bit)
        while range < (1 << 24) {
            range <<= 8
            codeValue = (codeValue << 8) | UInt32(nextByte())
        }
    }

    mutating func codeDirect(_ value: inout UInt32, count: Int) {
        range >>= UInt32(count)
        value = min(codeValue / range, (1 << UInt32(count)) - 1)
        codeValue &-= value &* range
        while range < (1 << 24) {
            range <<= 8
            codeValue = (codeValue << 8) | UInt32(nextByte())
        }
    }
}

/// Estimates the coded size without producing bytes (used to choose a tensor's method).
struct CostMeter: BinaryCoder {
    /// Accumulated cost in 1/256 bit.
    private(set) var cost: UInt64 = 0

    /// `-log2(p / 4096) * 256` for `p` in 1...4096 (index 0 unused).
    private static let table: [UInt32] = (0...4096).map {
        $0 == 0 ? 0 : UInt32((-log2(Double($0) / 4096) * 256).rounded())
    }

    var bytes: Int { Int((cost + 2047) / 2048) }

    @inline(__always)
    mutating func code(_ bit: inout UInt32, _ model: inout BitModel) {
        let zero = Int(model.p >> 4)
        cost += UInt64(Self.table[bit == 0 ? max(zero, 1) : max(4096 - zero, 1)])
        model.update(bit)
    }

    mutating func codeDirect(_ value: inout UInt32, count: Int) {
        cost += UInt64(256 * count)
    }
}
