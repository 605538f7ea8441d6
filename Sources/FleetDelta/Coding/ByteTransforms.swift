/// Reversible element-wise transforms applied before zlib (DELTA.md, "zlib transforms").
enum ByteTransform: UInt32, Sendable, CaseIterable {
    /// The new bytes as they are.
    case plain = 0
    /// `new XOR old`, then split into byte planes (all first bytes of each element, then all second bytes…).
    case xorPlanes = 1
    /// `new - old` per element as a little-endian unsigned integer (wrapping), then byte planes.
    case subtractPlanes = 2

    /// Whether the transform needs an old tensor of the same size.
    var needsOld: Bool { self != .plain }

    /// Applies the transform; `old` must have `new.count` bytes unless the transform is `.plain`.
    func forward(new: ArraySlice<UInt8>, old: ArraySlice<UInt8>, width: Int) -> [UInt8] {
        switch self {
        case .plain:
            return Array(new)
        case .xorPlanes:
            return Self.planes(zip(new, old).map { $0 ^ $1 }, width: width)
        case .subtractPlanes:
            return Self.planes(Self.combine(Array(new), Array(old), width: width, subtract: true), width: width)
        }
    }

    /// Inverts ``forward(new:old:width:)``; `transformed` must have the tensor's byte count.
    func inverse(_ transformed: [UInt8], old: ArraySlice<UInt8>, width: Int) -> [UInt8] {
        switch self {
        case .plain:
            return transformed
        case .xorPlanes:
            return zip(Self.interleave(transformed, width: width), old).map { $0 ^ $1 }
        case .subtractPlanes:
            return Self.combine(Self.interleave(transformed, width: width), Array(old), width: width, subtract: false)
        }
    }

    private static func planes(_ bytes: [UInt8], width: Int) -> [UInt8] {
        guard width > 1 else { return bytes }
        let count = bytes.count / width
        var result = [UInt8](repeating: 0, count: bytes.count)
        for index in 0..<count {
            for plane in 0..<width { result[plane * count + index] = bytes[index * width + plane] }
        }
        return result
    }

    private static func interleave(_ bytes: [UInt8], width: Int) -> [UInt8] {
        guard width > 1 else { return bytes }
        let count = bytes.count / width
        var result = [UInt8](repeating: 0, count: bytes.count)
        for index in 0..<count {
            for plane in 0..<width { result[index * width + plane] = bytes[plane * count + index] }
        }
        return result
    }

    /// Per element of `width` little-endian bytes: `a - b` (subtract) or `a + b`, wrapping.
    private static func combine(_ a: [UInt8], _ b: [UInt8], width: Int, subtract: Bool) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: a.count)
        var index = 0
        while index + width <= a.count {
            var carry = 0
            for byte in 0..<width {
                let lhs = Int(a[index + byte])
                let rhs = Int(b[index + byte])
                var value = subtract ? lhs - rhs - carry : lhs + rhs + carry
                if subtract {
                    carry = value < 0 ? 1 : 0
                    if value < 0 { value += 256 }
                } else {
                    carry = value > 255 ? 1 : 0
                    value &= 0xFF
                }
                result[index + byte] = UInt8(value)
            }
            index += width
        }
        return result
    }
}
