import FleetLearning
import Foundation

/// Aggregation on one core, counted as update bytes read per second: every row handles `updates` updates of
/// `modelBytes` each, and its figure is `updates × modelBytes / seconds`. Beside the strategies, in the same run:
/// a plain streaming read of the same pool (the memory bandwidth one core gets), a plain `acc += w·u` loop, and
/// the round path as the coordinator pays it per update (decode the upload with `UpdateCodec`, then FedAvg; see
/// `RoundPathBenchmark.swift`). The process's peak RSS (VmHWM) around each row shows that streaming strategies do
/// not grow with the number of updates. Build with `-c release`.
///
/// Updates are taken round-robin from a pool of distinct buffers larger than the last-level cache, so each
/// pass reads from memory as a coordinator would. Median and trimmed mean spill to a temporary directory and
/// read back in 8 MiB blocks.
public func runAggregationBenchmark(modelBytes: Int = 4_000_000, updates: Int = 100, json: Bool) throws {
    let scalars = max(modelBytes / 4, 1)
    let bytes = scalars * 4
    let poolSize = max(4, min(updates, (96 << 20) / bytes))
    var generator = SeededGenerator(seed: 42)
    let pool: [[Float]] = (0..<poolSize).map { _ in (0..<scalars).map { _ in generator.nextFloat(symmetric: 0.01) } }
    let base = try TensorSet([NamedTensor(name: "w", shape: [scalars], values: [Float](repeating: 0, count: scalars))])
    let spillDirectory = FileManager.default.temporaryDirectory
    let startRSS = peakResidentBytes()
    var rows = [AggregationRow]()

    func measure(_ name: String, repeats: Int, _ body: () throws -> Int) rethrows {
        let before = peakResidentBytes()
        var best = Double.infinity
        var retained = 0
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            retained = try body()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        rows.append(
            AggregationRow(
                name: name,
                seconds: best,
                gigabytesPerSecond: Double(updates * bytes) / best / 1e9,
                millisecondsPerUpdate: best * 1000 / Double(updates),
                peakRSSBeforeMB: Double(before ?? 0) / 1e6,
                peakRSSAfterMB: Double(peakResidentBytes() ?? 0) / 1e6,
                retainedBytes: retained
            )
        )
    }

    var sink: UInt64 = 0
    measure("streaming read of the pool (reference)", repeats: 3) {
        for k in 0..<updates { sink ^= xorOfWords(pool[k % poolSize]) }
        return 0
    }
    var accumulator = [Float](repeating: 0, count: scalars)
    measure("acc += w*u, one update per pass (reference)", repeats: 3) {
        accumulator.withUnsafeMutableBufferPointer { acc in
            for k in 0..<updates {
                let w = Float(k + 1)
                pool[k % poolSize].withUnsafeBufferPointer { u in
                    for i in 0..<scalars { acc[i] += w * u[i] }
                }
            }
        }
        return bytes
    }
    func run(_ strategy: any AggregationStrategy) throws -> Int {
        var aggregator = try strategy.makeAggregator(base: base, expectedClients: updates)
        var retained = 0
        for k in 0..<updates {
            try aggregator.add(update: ClientUpdate(delta: pool[k % poolSize], sampleCount: 10 + k % 50))
            retained = max(retained, aggregator.retainedBytes)
        }
        _ = try aggregator.finish()
        return retained
    }
    try measure("FedAvg (4 updates fused per pass)", repeats: 3) { try run(FedAvg()) }
    try measure("norm clipping + FedAvg", repeats: 3) { try run(NormClipping(wrapping: FedAvg(), maxNorm: 0.5)) }
    let disk = UpdateStorage.disk(directory: spillDirectory, blockBytes: 8 << 20)
    try measure("trimmed mean 20% (disk spill, 8 MiB blocks)", repeats: 1) {
        try run(FedTrimmedMean(trimFraction: 0.2, storage: disk))
    }
    try measure("median (disk spill, 8 MiB blocks)", repeats: 1) { try run(FedMedian(storage: disk)) }

    let roundPath = try RoundPathUploads(modelBytes: bytes, distinct: min(poolSize, 8))
    for encoding in RoundPathUploads.Encoding.allCases {
        try measure("round path: \(encoding.label) + FedAvg", repeats: 1) {
            try roundPath.aggregate(encoding, updates: updates)
        }
    }

    let report = AggregationReport(
        modelBytes: bytes,
        updates: updates,
        distinctUpdateBuffers: poolSize,
        peakRSSAtStartMB: Double(startRSS ?? 0) / 1e6,
        uploads: roundPath.summary,
        results: rows,
        checksum: sink
    )
    if json {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        print(String(decoding: try encoder.encode(report), as: UTF8.self))
    } else {
        print(report.table)
    }
}

/// Reads every byte of `values` once, as 64-bit words (a reduction the compiler vectorises), so that the read
/// cannot be optimised away.
private func xorOfWords(_ values: [Float]) -> UInt64 {
    values.withUnsafeBytes { raw in
        let words = raw.count / 8
        var result: UInt64 = 0
        for index in 0..<words { result ^= raw.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self) }
        return result
    }
}

private struct AggregationRow: Codable {
    var name: String
    var seconds: Double
    /// Update bytes read per second: updates × model bytes / seconds.
    var gigabytesPerSecond: Double
    var millisecondsPerUpdate: Double
    var peakRSSBeforeMB: Double
    var peakRSSAfterMB: Double
    var retainedBytes: Int
}

private struct AggregationReport: Codable {
    var modelBytes: Int
    var updates: Int
    var distinctUpdateBuffers: Int
    var peakRSSAtStartMB: Double
    var uploads: [RoundPathUploads.Summary]
    var results: [AggregationRow]
    /// XOR of the streaming read, printed so that the read is not optimised away.
    var checksum: UInt64

    var table: String {
        var lines = [
            "aggregation: \(updates) updates of \(modelBytes) bytes (\(distinctUpdateBuffers) distinct buffers), one core",
            "GB/s = update bytes read per second (updates × \(modelBytes) bytes / time), the same count for every row",
            "peak RSS at start (update pool allocated): \(format(peakRSSAtStartMB)) MB",
        ]
        for upload in uploads {
            lines.append(
                "round path uploads, \(upload.encoding): \(upload.payloadBytes) bytes each on average "
                    + "(\(format(100 * Double(upload.payloadBytes) / Double(modelBytes))) % of the model)"
            )
        }
        let nameWidth = (results.map(\.name.count).max() ?? 0) + 2
        lines.append(
            pad("row", nameWidth) + pad("GB/s", 8) + pad("ms/update", 11) + pad("seconds", 9)
                + pad("VmHWM before→after MB", 24) + "retained by aggregator"
        )
        for row in results {
            lines.append(
                pad(row.name, nameWidth) + pad(format(row.gigabytesPerSecond, digits: 2), 8)
                    + pad(format(row.millisecondsPerUpdate, digits: 2), 11) + pad(format(row.seconds, digits: 3), 9)
                    + pad("\(format(row.peakRSSBeforeMB)) → \(format(row.peakRSSAfterMB))", 24)
                    + "\(row.retainedBytes / 1000) kB"
            )
        }
        return lines.joined(separator: "\n")
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }

    private func format(_ value: Double, digits: Int = 1) -> String {
        String(format: "%.\(digits)f", value)
    }
}

/// The process's peak resident set (VmHWM) in bytes, or nil where /proc is absent.
private func peakResidentBytes() -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        if fields.count >= 2, let kilobytes = Int(fields[1]) { return kilobytes * 1024 }
    }
    return nil
}
