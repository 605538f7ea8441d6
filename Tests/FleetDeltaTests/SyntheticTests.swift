import Testing

@testable import FleetDelta

@Suite("Synthetic inputs")
struct SyntheticTests {
    func model(
        _ tensors: [(String, SafeTensorsDType, [Int], [UInt8])],
        metadata: [String: String] = [:]
    ) throws
        -> [UInt8]
    {
        var writer = SafeTensorsWriter(metadata: metadata)
        for (name, dtype, shape, bytes) in tensors {
            try writer.add(name: name, dtype: dtype, shape: shape, bytes: bytes)
        }
        return writer.build()
    }

    @Test("random and sparsely changed tensors of every modelled dtype")
    func sparseChanges() throws {
        var rng = SeededGenerator(seed: 1)
        let weights = (0..<4096).map { _ in Float.random(in: -0.5...0.5, using: &rng) }
        var changed = weights
        for index in stride(from: 0, to: changed.count, by: 37) {
            changed[index] += Float.random(in: -0.01...0.01, using: &rng)
        }
        let bytes8 = randomBytes(2048, &rng)
        var bytes8New = bytes8
        for index in stride(from: 0, to: 2048, by: 11) { bytes8New[index] &+= 1 }
        let old = try model([
            ("w", .f32, [64, 64], float32Bytes(weights)), ("q", .i8, [32, 64], bytes8), ("u", .u8, [2048], bytes8),
            ("h", .f16, [1024], randomBytes(2048, &rng)), ("r", .f32, [64], float32Bytes(Array(weights.prefix(64)))),
        ])
        let new = try model([
            ("w", .f32, [64, 64], float32Bytes(changed)), ("q", .i8, [32, 64], bytes8New),
            ("u", .u8, [2048], bytes8New),
            ("h", .f16, [1024], randomBytes(2048, &rng)), ("r", .f32, [64], randomBytes(256, &rng)),
        ])
        let (patch, stats) = try DeltaCodec.encodeWithStats(old: old, new: new)
        #expect(try DeltaCodec.apply(old: old, patch: patch) == new)
        #expect(stats.tensors.first { $0.name == "w" }?.method == .model)
        #expect(patch.count < new.count / 3)
    }

    @Test("special float values: zeros of both signs, infinities, NaNs, subnormals")
    func specialFloats() throws {
        let values: [Float] = [
            0, -0.0, .infinity, -.infinity, .nan, .leastNonzeroMagnitude, -.leastNonzeroMagnitude, 1, -1,
        ]
        let old = try model([("x", .f32, [3, 3], float32Bytes(values))])
        let new = try model([("x", .f32, [3, 3], float32Bytes(values.reversed()))])
        try roundTrip(old, new)
        try roundTrip(new, old)
        let extremes = try model([("x", .f32, [2], [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F])])
        let flipped = try model([("x", .f32, [2], [0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF])])
        try roundTrip(extremes, flipped)
    }

    @Test("int8 extremes with a rescaling scale tensor")
    func int8Rescale() throws {
        let values: [UInt8] = (0..<256).map { UInt8($0) }
        let old = try model([("w", .i8, [16, 16], values), ("w_scale", .f32, [], float32Bytes([0.01]))])
        let new = try model([("w", .i8, [16, 16], values.reversed()), ("w_scale", .f32, [], float32Bytes([0.02]))])
        try roundTrip(old, new)
        let zeroScale = try model([("w", .i8, [16, 16], values), ("w_scale", .f32, [], float32Bytes([0]))])
        try roundTrip(old, zeroScale)
        try roundTrip(zeroScale, new)
        // A one-element I8 tensor stored before its scale must not depend on the not-yet-decoded scale.
        let scalarOld = try model([("a", .i8, [1], [10]), ("a_scale", .f32, [], float32Bytes([0.5]))])
        let scalarNew = try model([("a", .i8, [1], [20]), ("a_scale", .f32, [], float32Bytes([0.25]))])
        try roundTrip(scalarOld, scalarNew)
    }

    @Test("shape, dtype, added and removed tensors fall back")
    func fallbacks() throws {
        var rng = SeededGenerator(seed: 2)
        let data = randomBytes(4096, &rng)
        let old = try model([("a", .f32, [32, 32], data), ("b", .u8, [100], Array(data.prefix(100)))])
        var reshaped = data
        reshaped[7] ^= 0x40
        let new = try model([
            ("a", .f32, [1024], reshaped), ("b", .i8, [100], Array(data.prefix(100))),
            ("c", .u8, [16], Array(data.suffix(16))),
        ])
        let (patch, stats) = try DeltaCodec.encodeWithStats(old: old, new: new)
        #expect(try DeltaCodec.apply(old: old, patch: patch) == new)
        #expect(stats.tensors.first { $0.name == "a" }?.method == .generic)
        #expect(patch.count < 200)
        try roundTrip(new, old)
        try roundTrip(old, try model([]))
        try roundTrip(try model([]), old)
    }

    @Test("non-safetensors bytes and empty files use the generic delta")
    func generic() throws {
        var rng = SeededGenerator(seed: 3)
        let old = randomBytes(20_000, &rng)
        var new = Array(old[5000...]) + randomBytes(100, &rng) + Array(old[0..<5000])
        new[12_345] ^= 0xFF
        let (patch, stats) = try DeltaCodec.encodeWithStats(old: old, new: new)
        #expect(stats.mode == .generic)
        #expect(patch.count < 400)
        #expect(try DeltaCodec.apply(old: old, patch: patch) == new)
        try roundTrip([], [])
        try roundTrip([], old)
        try roundTrip(old, [])
        let safetensors = try fixture("digits-mlp-v1-int8")
        try roundTrip(safetensors, old)
        try roundTrip(old, safetensors)
    }

    @Test("header changes of every kind are reproduced exactly")
    func headerChanges() throws {
        let bytes: [UInt8] = Array(0..<64)
        let old = try model([("t", .u8, [64], bytes)], metadata: ["note": "first"])
        let long = String(repeating: "metadata grows ", count: 40)
        try roundTrip(old, try model([("t", .u8, [64], bytes)], metadata: ["note": long]))
        try roundTrip(old, try model([("t", .u8, [64], bytes)]))
        try roundTrip(old, try model([("renamed", .u8, [64], bytes)], metadata: ["note": "first"]))
    }
}
