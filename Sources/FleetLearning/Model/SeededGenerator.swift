/// SplitMix64: a small seeded generator whose output is the same on every platform and Swift version.
///
/// Used for everything seeded (initialisation, shuffling, client sampling, stochastic rounding). The helpers
/// below derive floats and bounded integers without the standard library's `random(in:using:)`, whose
/// algorithm is not promised to stay fixed.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 24 bits of precision.
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * 0x1p-24
    }

    /// Uniform in [-bound, bound).
    public mutating func nextFloat(symmetric bound: Float) -> Float {
        (nextUnitFloat() * 2 - 1) * bound
    }

    /// Uniform in 0..<upperBound (Lemire's multiply-shift with rejection; `upperBound` > 0).
    public mutating func nextInt(below upperBound: Int) -> Int {
        precondition(upperBound > 0, "upperBound must be positive")
        let bound = UInt64(upperBound)
        let threshold = (0 &- bound) % bound
        while true {
            let product = next().multipliedFullWidth(by: bound)
            if product.low >= threshold { return Int(product.high) }
        }
    }

    /// In-place Fisher–Yates shuffle.
    public mutating func shuffle<T>(_ array: inout [T]) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) {
            let j = nextInt(below: i + 1)
            array.swapAt(i, j)
        }
    }

    /// A seed derived from this seed and some integers, for independent streams (e.g. per round and client).
    public static func derive(_ seed: UInt64, _ parts: Int...) -> UInt64 {
        var generator = SeededGenerator(seed: seed)
        var value = generator.next()
        for part in parts {
            generator = SeededGenerator(seed: value ^ UInt64(bitPattern: Int64(part)))
            value = generator.next()
        }
        return value
    }
}
