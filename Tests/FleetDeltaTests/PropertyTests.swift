import Testing

@testable import FleetDelta

@Suite("Property-style round trips")
struct PropertyTests {
    @Test("random byte strings with random edits")
    func randomBytesRoundTrip() throws {
        var rng = SeededGenerator(seed: 42)
        for _ in 0..<150 {
            let old = randomBytes(Int.random(in: 0...600, using: &rng), &rng)
            var new = old
            for _ in 0..<Int.random(in: 0...6, using: &rng) {
                let position = Int.random(in: 0...new.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: new.insert(contentsOf: randomBytes(Int.random(in: 1...40, using: &rng), &rng), at: position)
                case 1 where position < new.count: new.removeSubrange(position..<min(new.count, position + 30))
                default: if position < new.count { new[position] ^= UInt8.random(in: 1...255, using: &rng) }
                }
            }
            try roundTrip(old, new)
        }
    }

    @Test("random small safetensors pairs")
    func randomModels() throws {
        var rng = SeededGenerator(seed: 9)
        let dtypes: [SafeTensorsDType] = [.f32, .i8, .u8, .f16, .bf16, .i64, .bool]
        for _ in 0..<150 {
            var oldWriter = SafeTensorsWriter()
            var newWriter = SafeTensorsWriter()
            for index in 0..<Int.random(in: 0...4, using: &rng) {
                let dtype = dtypes.randomElement(using: &rng) ?? .u8
                let shape = [Int.random(in: 1...6, using: &rng), Int.random(in: 0...9, using: &rng)]
                let count = shape.reduce(dtype.byteWidth, *)
                let oldBytes = randomBytes(count, &rng)
                var newBytes = oldBytes
                for _ in 0..<Int.random(in: 0...3, using: &rng) where count > 0 {
                    newBytes[Int.random(in: 0..<count, using: &rng)] &+= UInt8.random(in: 1...3, using: &rng)
                }
                try oldWriter.add(name: "t\(index)", dtype: dtype, shape: shape, bytes: oldBytes)
                if Bool.random(using: &rng) || index == 0 {
                    try newWriter.add(name: "t\(index)", dtype: dtype, shape: shape, bytes: newBytes)
                }
            }
            try roundTrip(oldWriter.build(), newWriter.build())
        }
    }
}
