import Testing

@testable import FleetDelta

@Suite("Corrupt and hostile patches")
struct CorruptionTests {
    func smallPair() throws -> ([UInt8], [UInt8]) {
        (try fixture("digits-mlp-v2-int8"), try fixture("digits-mlp-v3-int8"))
    }

    /// A patch header with a correct base checksum, followed by `body`.
    func craft(old: [UInt8], mode: UInt8, body: [UInt8]) -> [UInt8] {
        var writer = ByteWriter()
        writer.write([0x54, 0x46, 0x44, 1, mode])
        writer.writeUInt32LE(Zlib.crc32(old))
        writer.writeUInt32LE(0)
        writer.write(body)
        return writer.bytes
    }

    @Test("every prefix of a patch is rejected with a DeltaError")
    func truncated() throws {
        let (old, new) = try smallPair()
        let patch = try DeltaCodec.encode(old: old, new: new)
        for length in 0..<patch.count {
            #expect(throws: DeltaError.self) { try DeltaCodec.apply(old: old, patch: Array(patch.prefix(length))) }
        }
    }

    @Test("every flipped byte is rejected with a DeltaError")
    func flipped() throws {
        let (old, new) = try smallPair()
        let patch = try DeltaCodec.encode(old: old, new: new)
        for index in patch.indices {
            var damaged = patch
            damaged[index] ^= 0x5A
            #expect(throws: DeltaError.self) { try DeltaCodec.apply(old: old, patch: damaged) }
        }
    }

    @Test("flipped bytes in a generic patch are rejected")
    func flippedGeneric() throws {
        var rng = SeededGenerator(seed: 7)
        let old = randomBytes(300, &rng)
        var new = old
        new[100] ^= 1
        new.append(contentsOf: randomBytes(20, &rng))
        let patch = try DeltaCodec.encode(old: old, new: new)
        for index in patch.indices {
            var damaged = patch
            damaged[index] ^= 0xA5
            #expect(throws: DeltaError.self) { try DeltaCodec.apply(old: old, patch: damaged) }
        }
    }

    @Test("header fields: magic, version, mode, base, output checksum")
    func headerFields() throws {
        let (old, new) = try smallPair()
        let patch = try DeltaCodec.encode(old: old, new: new)
        var bad = patch
        bad[0] = 0
        #expect(throws: DeltaError.badMagic) { try DeltaCodec.apply(old: old, patch: bad) }
        bad = patch
        bad[3] = 9
        #expect(throws: DeltaError.unsupportedVersion) { try DeltaCodec.apply(old: old, patch: bad) }
        bad = patch
        bad[4] = 7
        #expect(throws: DeltaError.unsupportedVersion) { try DeltaCodec.apply(old: old, patch: bad) }
        bad = patch
        bad[9] ^= 1
        #expect(throws: DeltaError.checksumMismatch) { try DeltaCodec.apply(old: old, patch: bad) }
        #expect(throws: DeltaError.wrongBase) {
            try DeltaCodec.apply(old: try fixture("digits-mlp-v1-int8"), patch: patch)
        }
        #expect(throws: DeltaError.wrongBase) { try DeltaCodec.apply(old: [], patch: patch) }
    }

    @Test("inflate is bounded")
    func inflateBomb() throws {
        let bomb = try Zlib.compress([UInt8](repeating: 0, count: 8 << 20))
        #expect(bomb.count < 20_000)
        #expect(throws: DeltaError.outputTooLarge) { try Zlib.decompress(bomb, maximumSize: 1 << 20) }
        #expect(try Zlib.decompress(bomb, maximumSize: 8 << 20).count == 8 << 20)
        #expect(throws: DeltaError.corrupt) { try Zlib.decompress(bomb.dropLast(4), maximumSize: 8 << 20) }
        #expect(throws: DeltaError.corrupt) { try Zlib.decompress(bomb + [1], maximumSize: 8 << 20) }
        // A generic patch whose instruction stream inflates far past 2 * outputSize + 64.
        let old: [UInt8] = [1, 2, 3]
        let raw = try Zlib.compress([UInt8](repeating: 0, count: 4 << 20), format: .raw)
        var body = ByteWriter()
        body.writeVarint(10)
        body.write(raw)
        #expect(throws: DeltaError.outputTooLarge) {
            try DeltaCodec.apply(old: old, patch: craft(old: old, mode: 0, body: body.bytes))
        }
    }

    @Test("declared output sizes over the limit are refused before allocating")
    func hugeOutput() throws {
        let old: [UInt8] = [1, 2, 3]
        var body = ByteWriter()
        body.writeVarint(1 << 50)
        #expect(throws: DeltaError.outputTooLarge) {
            try DeltaCodec.apply(old: old, patch: craft(old: old, mode: 0, body: body.bytes))
        }
        // A tensor-mode patch whose new header declares a 4 TiB tensor.
        let base = try fixture("digits-mlp-v1-int8")
        let header = Array(#"{"a":{"dtype":"F32","shape":[1099511627776],"data_offsets":[0,4398046511104]}}"#.utf8)
        var tensorBody = ByteWriter()
        tensorBody.writeVarint(header.count)
        tensorBody.writeVarint(0)
        tensorBody.writeVarint(0)
        tensorBody.writeVarint(header.count << 1)
        tensorBody.write(header)
        #expect(throws: DeltaError.outputTooLarge) {
            try DeltaCodec.apply(old: base, patch: craft(old: base, mode: 1, body: tensorBody.bytes))
        }
        let small = DeltaLimits(maximumOutputSize: 1000)
        let patch = try DeltaCodec.encode(old: base, new: try fixture("digits-mlp-v2-int8"))
        #expect(throws: DeltaError.outputTooLarge) { try DeltaCodec.apply(old: base, patch: patch, limits: small) }
    }

    @Test("a tensor-mode patch with an invalid new header is corrupt")
    func invalidNewHeader() throws {
        let base = try fixture("digits-mlp-v1-int8")
        for text in [#"{"a":{"dtype":"X","shape":[1],"data_offsets":[0,1]}}"#, "not json", "{}"] {
            let header = Array(text.utf8)
            var body = ByteWriter()
            body.writeVarint(header.count)
            body.writeVarint(0)
            body.writeVarint(0)
            body.writeVarint(header.count << 1)
            body.write(header)
            body.writeVarint(0)
            #expect(throws: DeltaError.self) {
                try DeltaCodec.apply(old: base, patch: craft(old: base, mode: 1, body: body.bytes))
            }
        }
    }
}
