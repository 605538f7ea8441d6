import Foundation
import Testing

@testable import FleetDelta

/// Stream mode (DELTA.md section 12): round trips, its cost against tensor mode on the digits models, the golden
/// vectors, and bounded failure on corrupt patches.
@Suite struct StreamModeTests {
    static let names = [
        "digits-mlp-v1-int8", "digits-mlp-v2-int8", "digits-mlp-v3-int8", "digits-mlp-v1-fp32",
        "digits-mlp-v2-fp32", "digits-mlp-v3-fp32",
    ]

    @Test func roundTripsEveryFixturePair() throws {
        for old in Self.names {
            for new in Self.names {
                let patch = try roundTrip(try fixture(old), try fixture(new), options: DeltaOptions(streaming: true))
                #expect(patch[4] == 2)
            }
        }
    }

    @Test func roundTripsRandomInputs() throws {
        var generator = SeededGenerator(seed: 21)
        for _ in 0..<40 {
            let old = randomBytes(Int.random(in: 0...3000, using: &generator), &generator)
            var new =
                Bool.random(using: &generator)
                ? old : randomBytes(Int.random(in: 0...300, using: &generator), &generator)
            for _ in 0..<Int.random(in: 0...30, using: &generator) where !new.isEmpty {
                new.insert(
                    UInt8.random(in: 0...255, using: &generator),
                    at: Int.random(in: 0..<new.count, using: &generator)
                )
            }
            try roundTrip(old, new, options: DeltaOptions(streaming: true))
        }
    }

    /// Bytes on the wire for the digits pairs: stream mode against tensor mode and the zlib-compressed full file.
    /// Stream mode costs more than tensor mode on retrained weights (no deflate fallback, no per-tensor F32 model)
    /// but stays well below the full file for int8, where microcontrollers run.
    @Test func costAgainstTensorMode() throws {
        var table = "| pair | full file | zlib -9 (full payload) | tensor mode | stream mode | stream / tensor |\n"
        table += "|---|---:|---:|---:|---:|---:|\n"
        var ratios: [String: Double] = [:]
        for (old, new) in [("v1", "v2"), ("v2", "v3"), ("v1", "v3")] {
            for variant in ["int8", "fp32"] {
                let oldFile = try fixture("digits-mlp-\(old)-\(variant)")
                let newFile = try fixture("digits-mlp-\(new)-\(variant)")
                let tensor = try DeltaCodec.encode(old: oldFile, new: newFile).count
                let stream = try DeltaCodec.encode(old: oldFile, new: newFile, options: DeltaOptions(streaming: true))
                    .count
                let zlib = try Zlib.compress(newFile, level: 9).count
                ratios["\(old)\(new)\(variant)"] = Double(stream) / Double(tensor)
                table += "| \(variant) \(old)→\(new) | \(newFile.count) | \(zlib) | \(tensor) | \(stream) | "
                table += String(format: "%.2f", Double(stream) / Double(tensor)) + " |\n"
                #expect(stream < zlib, "\(variant) \(old)→\(new): stream \(stream) vs zlib \(zlib)")
            }
        }
        print(table)
        #expect(try #require(ratios["v1v2int8"]) < 1.25)
        #expect(try #require(ratios["v2v3int8"]) < 1.6)
    }

    /// The golden patch of the fixtures (Fixtures/stream-digits-int8-v1-v2.tfd): the encoder reproduces it byte for
    /// byte and it rebuilds v2. An independent decoder can check itself against it.
    @Test func goldenDigitsPatch() throws {
        let url = try #require(
            Bundle.module.url(forResource: "Fixtures/stream-digits-int8-v1-v2", withExtension: "tfd")
        )
        let golden = Array(try Data(contentsOf: url))
        let (v1, v2) = (try fixture("digits-mlp-v1-int8"), try fixture("digits-mlp-v2-int8"))
        #expect(try DeltaCodec.encode(old: v1, new: v2, options: DeltaOptions(streaming: true)) == golden)
        #expect(try DeltaCodec.apply(old: v1, patch: golden) == v2)
    }

    /// DELTA.md 12.7's small vector.
    @Test func documentedVector() throws {
        let old = Array("stream mode: copy me".utf8)
        let new = Array("stream mode: copy me, then add this".utf8)
        let patch = try DeltaCodec.encode(old: old, new: new, options: DeltaOptions(streaming: true))
        #expect(hex(patch) == Self.documentedPatch)
        #expect(try DeltaCodec.apply(old: old, patch: patch) == new)
    }

    static let documentedPatch = "5446440102fd5ffeae4e8e8bb523222269bc23219c4c2a01140cc2c80d"

    /// Flipped bytes and truncations give a typed error or (when the flip lands where it changes nothing) the
    /// right output; never a crash or a hang.
    @Test func corruptPatchesFailCleanly() throws {
        let (v1, v2) = (try fixture("digits-mlp-v1-int8"), try fixture("digits-mlp-v2-int8"))
        let patch = try DeltaCodec.encode(old: v1, new: v2, options: DeltaOptions(streaming: true))
        var generator = SeededGenerator(seed: 4)
        for _ in 0..<60 {
            var broken = patch
            if Bool.random(using: &generator) {
                broken[Int.random(in: 13..<broken.count, using: &generator)] ^= UInt8.random(
                    in: 1...255,
                    using: &generator
                )
            } else {
                broken.removeLast(Int.random(in: 1...(broken.count - 13), using: &generator))
            }
            do {
                #expect(try DeltaCodec.apply(old: v1, patch: broken) == v2)
            } catch let error as DeltaError {
                #expect([.corrupt, .checksumMismatch, .truncated, .outputTooLarge].contains(error))
            }
        }
    }

    private func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
}
