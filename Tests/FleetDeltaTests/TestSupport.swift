import Foundation
import Testing

@testable import FleetDelta

/// Loads a model fixture copied from shared/models.
func fixture(_ name: String) throws -> [UInt8] {
    let url = try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: "safetensors"))
    return Array(try Data(contentsOf: url))
}

/// SplitMix64: a small deterministic generator for reproducible property tests.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func randomBytes(_ count: Int, _ rng: inout SeededGenerator) -> [UInt8] {
    (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
}

/// Float32 little-endian bytes for `values`.
func float32Bytes(_ values: [Float]) -> [UInt8] {
    values.flatMap { value in (0..<4).map { UInt8(truncatingIfNeeded: value.bitPattern >> UInt32(8 * $0)) } }
}

/// Encodes, applies and checks the round trip; returns the patch.
@discardableResult
func roundTrip(_ old: [UInt8], _ new: [UInt8], options: DeltaOptions = .init()) throws -> [UInt8] {
    let patch = try DeltaCodec.encode(old: old, new: new, options: options)
    let rebuilt = try DeltaCodec.apply(old: old, patch: patch)
    #expect(rebuilt == new)
    return patch
}
