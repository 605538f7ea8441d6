import ArgumentParser
import FleetLearning
import FleetModelIO
import FleetTrust
import Foundation

/// What protecting a model at rest costs the agent (`Protocol/AT-REST.md`): decrypt+verify throughput of a sealed
/// model (ChaCha20-Poly1305 in 64 KiB chunks, then SHA-256 of the plaintext), and the latency of loading a model
/// for inference as the local socket does (read the file, open it if sealed, parse the MLP), plain and protected,
/// interleaved in the same run so the ratio is not skewed by the machine's load. Build with `-c release`.
struct ProtectionBenchmarkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "protection",
        abstract: "Decrypt+verify throughput and model load latency, plain vs sealed (at-rest / agent-only)."
    )

    @Option(help: "Load repetitions per model (each plain and protected, interleaved).")
    var repeats = 60

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let fixtures = repositoryPath("Tests/FleetDeltaTests/Fixtures")
        var models: [(String, [UInt8])] = []
        for name in ["digits-mlp-v1-fp32", "digits-mlp-v1-int8"] {
            guard let data = FileManager.default.contents(atPath: "\(fixtures)/\(name).safetensors") else {
                throw BenchError("cannot read \(fixtures)/\(name).safetensors (run from a checkout)")
            }
            models.append((name, Array(data)))
        }
        let large = try MLP.initialize(layers: [64, 1024, 960, 10], seed: 1)
        models.append(("mlp-64-1024-960-10 (4 MB)", try ModelFile.write(large.parameters, metadata: [:])))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "fleet-bench-protection-\(UUID().uuidString.prefix(8))"
        ).path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let key = Digest.randomBytes(32)
        var rows: [ProtectionRow] = []
        for (index, (name, bytes)) in models.enumerated() {
            progress("protection: \(name)")
            rows.append(try measure(name, bytes, key: key, directory: directory + "/\(index)", repeats: repeats))
        }
        if json {
            try printJSON(rows)
        } else {
            print(
                renderTable(
                    [
                        "model", "bytes", "decrypt+verify MB/s", "load plain ms", "load protected ms", "ratio",
                    ],
                    rows.map {
                        [
                            $0.model, "\($0.bytes)", String(format: "%.0f", $0.decryptVerifyMBps),
                            formatMs($0.loadPlainMilliseconds), formatMs($0.loadProtectedMilliseconds),
                            String(format: "%.2fx", $0.loadRatio),
                        ]
                    }
                )
            )
            print(
                "medians of \(repeats) interleaved loads; decrypt+verify = median over the protected loads' open step"
            )
        }
    }

    private func measure(
        _ name: String,
        _ bytes: [UInt8],
        key: [UInt8],
        directory: String,
        repeats: Int
    ) throws -> ProtectionRow {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let sha = Digest.sha256(bytes)
        let sealed = try SealedModel.seal(bytes, model: "bench", sha256: sha, protection: .atRest, key: key)
        let plainPath = directory + "/plain.safetensors"
        let sealedPath = directory + "/sealed.safetensors"
        try Data(bytes).write(to: URL(fileURLWithPath: plainPath))
        try Data(sealed).write(to: URL(fileURLWithPath: sealedPath))
        var plain: [Double] = []
        var protected: [Double] = []
        var opening: [Double] = []
        for _ in 0..<max(1, repeats) {
            var start = DispatchTime.now().uptimeNanoseconds
            guard let plainData = FileManager.default.contents(atPath: plainPath) else { throw BenchError("read") }
            _ = try ModelFile.mlp(Array(plainData))
            plain.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)

            start = DispatchTime.now().uptimeNanoseconds
            guard let sealedData = FileManager.default.contents(atPath: sealedPath) else { throw BenchError("read") }
            let openStart = DispatchTime.now().uptimeNanoseconds
            let opened = try SealedModel.open(Array(sealedData), model: "bench", key: key)
            opening.append(Double(DispatchTime.now().uptimeNanoseconds - openStart) / 1e6)
            _ = try ModelFile.mlp(opened.plaintext)
            protected.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        let plainMedian = median(plain)
        let protectedMedian = median(protected)
        return ProtectionRow(
            model: name,
            bytes: bytes.count,
            decryptVerifyMBps: Double(bytes.count) / 1e6 / (median(opening) / 1e3),
            loadPlainMilliseconds: plainMedian,
            loadProtectedMilliseconds: protectedMedian,
            loadRatio: protectedMedian / plainMedian
        )
    }
}

struct ProtectionRow: Codable {
    var model: String
    var bytes: Int
    var decryptVerifyMBps: Double
    var loadPlainMilliseconds: Double
    var loadProtectedMilliseconds: Double
    var loadRatio: Double
}
