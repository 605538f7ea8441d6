import FleetDelta
import FleetFuzzing
import FleetWire
import Foundation
import Testing

/// Replays every fuzz input kept in the repository (the seeds in `Fuzz/Corpus/TARGET/` and the inputs that once
/// crashed, in `Fuzz/Crashes/TARGET/`) through the same entry functions the libFuzzer executables call.
/// `FLEET_REGENERATE_FUZZ_SEEDS=1 swift test --filter CorpusReplay` rewrites the seeds.
@Suite struct CorpusReplayTests {
    static let fuzzDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz")

    static let targets: [String: @Sendable ([UInt8]) -> Void] = [
        "wire": FuzzEntries.wire,
        "safetensors": FuzzEntries.safeTensors,
        "delta": FuzzEntries.delta,
    ]

    static func inputs(_ target: String, in folder: String) -> [URL] {
        let directory = fuzzDirectory.appendingPathComponent(folder).appendingPathComponent(target)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { directory.appendingPathComponent($0) }
    }

    @Test(arguments: ["wire", "safetensors", "delta"])
    func everyKeptInputRunsThrough(target: String) throws {
        if ProcessInfo.processInfo.environment["FLEET_REGENERATE_FUZZ_SEEDS"] == "1" {
            try writeSeeds(target)
        }
        let entry = try #require(Self.targets[target])
        let seeds = Self.inputs(target, in: "Corpus")
        #expect(seeds.count >= 3, "seeds for \(target)")
        for url in seeds + Self.inputs(target, in: "Crashes") {
            entry(Array(try Data(contentsOf: url)))
        }
    }

    /// The seeds reach deep: vectors decode, models parse, patches apply.
    @Test func seedsAreValidInputs() throws {
        for url in Self.inputs("safetensors", in: "Corpus") {
            _ = try SafeTensorsFile.parse(Array(try Data(contentsOf: url)), limits: FuzzEntries.safeTensorsLimits)
        }
        let applied = try Self.inputs("delta", in: "Corpus").filter { url in
            let bytes = Array(try Data(contentsOf: url))
            let baseEnd = 2 + (Int(bytes[0]) | Int(bytes[1]) << 8)
            return (try? DeltaCodec.apply(old: Array(bytes[2..<baseEnd]), patch: Array(bytes[baseEnd...]))) != nil
        }
        #expect(applied.count >= 2)
    }

    private func writeSeeds(_ target: String) throws {
        let directory = Self.fuzzDirectory.appendingPathComponent("Corpus").appendingPathComponent(target)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (name, bytes) in try seeds(target) {
            try Data(bytes).write(to: directory.appendingPathComponent(name))
        }
    }

    private func seeds(_ target: String) throws -> [(String, [UInt8])] {
        switch target {
        case "wire":
            // One file per golden vector, plus a whole device handshake in one input.
            let vectors = Self.fuzzDirectory.deletingLastPathComponent().appendingPathComponent("Protocol/vectors")
            struct Vector: Decodable {
                var name: String
                var message: Message
            }
            var out: [(String, [UInt8])] = []
            var handshake: [UInt8] = []
            for name in try FileManager.default.contentsOfDirectory(atPath: vectors.path).sorted()
            where name.hasSuffix(".json") {
                let vector = try JSONDecoder().decode(
                    Vector.self,
                    from: Data(contentsOf: vectors.appendingPathComponent(name))
                )
                let frame = Array(vector.message.encodedFrame().readableBytesView)
                out.append(("vector-\(vector.name)", frame))
                if ["hello", "enrol", "heartbeat"].contains(vector.name) { handshake += frame }
            }
            return out + [("handshake", handshake)]
        case "safetensors":
            return [
                ("small-f32-i8", try Self.model(seed: 1)),
                ("metadata-only", try Self.model(seed: 2, tensors: 0)),
                ("one-f16", try Self.model(seed: 3, tensors: 1, dtype: .f16)),
            ]
        default:
            let v1 = try Self.model(seed: 1)
            let v2 = try Self.model(seed: 4)
            let text = Array("tinyfleet opaque model bytes, version one".utf8)
            let edited = Array("tinyfleet opaque model bytes, version two!".utf8)
            return [
                ("tensor-mode", FuzzEntries.deltaInput(base: v1, patch: try DeltaCodec.encode(old: v1, new: v2))),
                (
                    "generic-mode",
                    FuzzEntries.deltaInput(base: text, patch: try DeltaCodec.encode(old: text, new: edited))
                ),
                ("identity", FuzzEntries.deltaInput(base: v1, patch: try DeltaCodec.encode(old: v1, new: v1))),
            ]
        }
    }

    /// A small safetensors model whose values depend on `seed`.
    static func model(seed: Int, tensors: Int = 2, dtype: SafeTensorsDType = .f32) throws -> [UInt8] {
        var writer = SafeTensorsWriter(metadata: ["format": "pt", "seed": "\(seed)"])
        for index in 0..<tensors {
            let count = 12 / (index + 1)
            let bytes = (0..<(count * dtype.byteWidth)).map {
                UInt8(truncatingIfNeeded: ($0 * 37 + seed * 11 + index) % 251)
            }
            try writer.add(name: "layer\(index).weight", dtype: dtype, shape: [count], bytes: bytes)
        }
        return writer.build()
    }
}
