/// Byte-string helpers for the kit (no Foundation, no allocation).
public enum TinyBytes {
    /// True when `a` sorts strictly before `b` by unsigned bytes, a prefix first (the map key order, SPEC.md 3.7).
    public static func precedes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        let common = min(a.count, b.count)
        for index in 0..<common where a[index] != b[index] {
            return a[index] < b[index]
        }
        return a.count < b.count
    }

    /// Byte-wise equality.
    public static func equal(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        for index in 0..<a.count where a[index] != b[index] { return false }
        return true
    }

    /// Equality with static ASCII text.
    public static func equal(_ a: UnsafeRawBufferPointer, _ text: StaticString) -> Bool {
        text.withUTF8Buffer { equal(a, UnsafeRawBufferPointer($0)) }
    }

    /// Writes `bytes` as lowercase hex into `output` (twice as long). False when `output` is too small.
    public static func hex(_ bytes: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Bool {
        guard output.count >= bytes.count * 2 else { return false }
        for index in 0..<bytes.count {
            output[2 * index] = hexDigit(bytes[index] >> 4)
            output[2 * index + 1] = hexDigit(bytes[index] & 0x0F)
        }
        return true
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? 0x30 + nibble : 0x61 + nibble - 10
    }

    /// Writes `value` in decimal into `output`; returns the digits written, 0 when `output` is too small.
    public static func decimal(_ value: UInt64, into output: UnsafeMutableRawBufferPointer) -> Int {
        var digits = 1
        var rest = value / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        guard output.count >= digits else { return 0 }
        var left = value
        for index in stride(from: digits - 1, through: 0, by: -1) {
            output[index] = 0x30 + UInt8(left % 10)
            left /= 10
        }
        return digits
    }
}

/// UTF-8 validation (RFC 3629: no overlongs, no surrogates, at most U+10FFFF), as SPEC.md 3.4 requires.
public enum TinyUTF8 {
    public static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        while index < bytes.count {
            let lead = bytes[index]
            if lead < 0x80 {
                index += 1
                continue
            }
            let length: Int
            var lower: UInt8 = 0x80
            var upper: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0:
                length = 3
                lower = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED:
                length = 3
                upper = 0x9F
            case 0xF0:
                length = 4
                lower = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4:
                length = 4
                upper = 0x8F
            default: return false
            }
            guard index + length <= bytes.count else { return false }
            let second = bytes[index + 1]
            guard second >= lower, second <= upper else { return false }
            for offset in 2..<length where bytes[index + offset] & 0xC0 != 0x80 { return false }
            index += length
        }
        return true
    }
}
