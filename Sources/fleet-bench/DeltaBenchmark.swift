import FleetDelta
import Foundation

/// Measures FleetDelta against xdelta3, bsdiff and zstd on the shared model pairs, side by side on the same
/// files in the same run, and prints a table (or JSON) with the goal thresholds.
///
/// Decode speed is compared in-process on both sides: our `DeltaCodec.apply` and libzstd's decoder on the patch
/// the `zstd -19 --patch-from` command wrote, each from bytes in memory to the new file in memory (best of
/// `iterations`). The command-line tools' own times (whole process, spawn included) are in the JSON only.
public func runDeltaBenchmark(modelsDirectory: String, json: Bool, iterations: Int) throws {
    let tools = ReferenceTools.prepare(log: !json)
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-delta-bench-\(getpid())")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    var rows: [BenchmarkRow] = []
    for pair in BenchmarkPair.all {
        let old = URL(fileURLWithPath: modelsDirectory).appendingPathComponent(pair.old)
        let new = URL(fileURLWithPath: modelsDirectory).appendingPathComponent(pair.new)
        rows.append(
            try measure(pair, old: old, new: new, tools: tools, scratch: scratch, iterations: max(iterations, 1))
        )
    }
    if json {
        let data = try JSONSerialization.data(
            withJSONObject: rows.map(\.dictionary),
            options: [.prettyPrinted, .sortedKeys]
        )
        print(String(decoding: data, as: UTF8.self))
    } else {
        print(BenchmarkRow.table(rows))
    }
}

/// One model pair and its goal (our bytes as a fraction of xdelta3's).
private struct BenchmarkPair {
    var label: String
    var old: String
    var new: String
    var goal: Double

    static let all = [
        BenchmarkPair(
            label: "fp32 v1→v2",
            old: "digits-mlp-v1-fp32.safetensors",
            new: "digits-mlp-v2-fp32.safetensors",
            goal: 0.74
        ),
        BenchmarkPair(
            label: "fp32 v2→v3",
            old: "digits-mlp-v2-fp32.safetensors",
            new: "digits-mlp-v3-fp32.safetensors",
            goal: 0.80
        ),
        BenchmarkPair(
            label: "int8 v1→v2",
            old: "digits-mlp-v1-int8.safetensors",
            new: "digits-mlp-v2-int8.safetensors",
            goal: 0.40
        ),
        BenchmarkPair(
            label: "int8 v2→v3",
            old: "digits-mlp-v2-int8.safetensors",
            new: "digits-mlp-v3-int8.safetensors",
            goal: 0.45
        ),
    ]
}

private struct BenchmarkRow {
    var pair: BenchmarkPair
    var fullBytes: Int
    var gzipBytes: Int?
    var xdeltaBytes: Int?
    var bsdiffBytes: Int?
    var zstdBytes: Int?
    var oursBytes: Int
    var oursEncodeMs: Double
    var oursDecodeMs: Double
    var xdeltaDecodeMs: Double?
    var zstdDecodeMs: Double?
    var libzstdDecodeMs: Double?

    var percentOfXdelta: Double? { xdeltaBytes.map { 100 * Double(oursBytes) / Double($0) } }
    var percentOfZstd: Double? { zstdBytes.map { 100 * Double(oursBytes) / Double($0) } }
    var meetsGoal: Bool? { percentOfXdelta.map { $0 <= pair.goal * 100 } }
    var beatsZstd: Bool? { zstdBytes.map { oursBytes < $0 } }
    var decodesFaster: Bool? { libzstdDecodeMs.map { oursDecodeMs <= $0 } }

    var dictionary: [String: Any] {
        var result: [String: Any] = [
            "pair": pair.label, "full_bytes": fullBytes, "ours_bytes": oursBytes, "ours_encode_ms": oursEncodeMs,
            "ours_decode_ms": oursDecodeMs, "goal_percent_of_xdelta3": pair.goal * 100,
            "tool_times":
                "xdelta3_decode_ms and zstd_decode_ms: wall time of the whole process, nothing subtracted; "
                + "ours_decode_ms and libzstd_decode_ms: in-process, bytes in memory to bytes in memory",
        ]
        let optional: [String: Any?] = [
            "gzip9_bytes": gzipBytes, "xdelta3_bytes": xdeltaBytes, "bsdiff_bytes": bsdiffBytes,
            "zstd19_bytes": zstdBytes,
            "xdelta3_decode_ms": xdeltaDecodeMs, "zstd_decode_ms": zstdDecodeMs, "libzstd_decode_ms": libzstdDecodeMs,
            "percent_of_xdelta3": percentOfXdelta,
            "percent_of_zstd": percentOfZstd, "meets_goal": meetsGoal, "smaller_than_zstd": beatsZstd,
            "decodes_at_least_as_fast_as_zstd": decodesFaster,
        ]
        for (key, value) in optional { result[key] = value ?? NSNull() }
        return result
    }

    static func table(_ rows: [BenchmarkRow]) -> String {
        func bytes(_ value: Int?) -> String { value.map { $0.formatted() } ?? "n/a" }
        func number(_ value: Double?, _ digits: Int = 1) -> String {
            value.map { String(format: "%.\(digits)f", $0) } ?? "n/a"
        }
        func verdict(_ value: Bool?) -> String { value.map { $0 ? "pass" : "FAIL" } ?? "n/a" }
        let header = [
            "pair", "full file", "gzip -9", "xdelta3 -9", "bsdiff", "zstd -19", "ours", "% xdelta3", "% zstd",
            "dec ms ours", "dec ms libzstd", "goal", "goal", "< zstd", "dec ≤ libzstd",
        ]
        var lines = [header]
        for row in rows {
            lines.append([
                row.pair.label, bytes(row.fullBytes), bytes(row.gzipBytes), bytes(row.xdeltaBytes),
                bytes(row.bsdiffBytes),
                bytes(row.zstdBytes), bytes(row.oursBytes), number(row.percentOfXdelta), number(row.percentOfZstd),
                number(row.oursDecodeMs, 3), number(row.libzstdDecodeMs, 3), "≤ \(Int(row.pair.goal * 100))%",
                verdict(row.meetsGoal), verdict(row.beatsZstd), verdict(row.decodesFaster),
            ])
        }
        let widths = header.indices.map { column in lines.map { $0[column].count }.max() ?? 0 }
        var text = lines.map { line in
            "| "
                + line.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(
                    separator: " | "
                ) + " |"
        }
        text.insert("|" + widths.map { String(repeating: "-", count: $0 + 2) }.joined(separator: "|") + "|", at: 1)
        let encode = rows.map { "\($0.pair.label) \(number($0.oursEncodeMs, 1)) ms" }.joined(separator: ", ")
        text.append("")
        text.append(
            "Decode: in-process for both, bytes in memory to bytes in memory, best of N (our encode: \(encode))."
        )
        return text.joined(separator: "\n")
    }
}

private func measure(
    _ pair: BenchmarkPair,
    old: URL,
    new: URL,
    tools: ReferenceTools,
    scratch: URL,
    iterations: Int
) throws -> BenchmarkRow {
    let oldBytes = Array(try Data(contentsOf: old))
    let newBytes = Array(try Data(contentsOf: new))
    var patch: [UInt8] = []
    let encodeMs = try bestOf(iterations) { patch = try DeltaCodec.encode(old: oldBytes, new: newBytes) }
    var rebuilt: [UInt8] = []
    let decodeMs = try bestOf(iterations) { rebuilt = try DeltaCodec.apply(old: oldBytes, patch: patch) }
    guard rebuilt == newBytes else { throw BenchmarkError(message: "\(pair.label): our round trip differs") }
    let out = scratch.appendingPathComponent("out").path
    let back = scratch.appendingPathComponent("back").path
    var row = BenchmarkRow(
        pair: pair,
        fullBytes: newBytes.count,
        oursBytes: patch.count,
        oursEncodeMs: encodeMs,
        oursDecodeMs: decodeMs
    )
    if tools.run("gzip", ["-9", "-c", new.path], stdoutPath: out) != nil { row.gzipBytes = fileSize(out) }
    if tools.run("xdelta3", ["-9", "-e", "-f", "-s", old.path, new.path, out]) != nil {
        row.xdeltaBytes = fileSize(out)
        row.xdeltaDecodeMs = tools.time(
            iterations,
            "xdelta3",
            ["-d", "-f", "-s", old.path, out, back],
            verify: back,
            newBytes
        )
    }
    if tools.run("bsdiff", [old.path, new.path, out]) != nil { row.bsdiffBytes = fileSize(out) }
    if tools.run("zstd", ["-q", "-f", "-19", "--patch-from=\(old.path)", new.path, "-o", out]) != nil {
        row.zstdBytes = fileSize(out)
        row.zstdDecodeMs = tools.time(
            iterations,
            "zstd",
            ["-q", "-f", "-d", "--patch-from=\(old.path)", out, "-o", back],
            verify: back,
            newBytes
        )
        let zstdPatch = Array(try Data(contentsOf: URL(fileURLWithPath: out)))
        var zstdRebuilt: [UInt8] = []
        row.libzstdDecodeMs = try bestOf(iterations) {
            zstdRebuilt = try LibZstd.decodePatch(zstdPatch, base: oldBytes, size: newBytes.count)
        }
        guard zstdRebuilt == newBytes else {
            throw BenchmarkError(message: "\(pair.label): libzstd round trip differs")
        }
    }
    return row
}

private func bestOf(_ iterations: Int, _ body: () throws -> Void) rethrows -> Double {
    var best = Double.infinity
    for _ in 0..<iterations {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
    }
    return best
}

private func fileSize(_ path: String) -> Int? {
    (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue
}

private struct BenchmarkError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Finds (and if needed installs) xdelta3, zstd, bsdiff and gzip, and runs them.
private struct ReferenceTools {
    var paths: [String: String]

    static func prepare(log: Bool) -> ReferenceTools {
        let names = ["xdelta3", "zstd", "bsdiff", "gzip"]
        var tools = ReferenceTools(paths: [:])
        tools.locate(names)
        if names.contains(where: { tools.paths[$0] == nil }), let aptGet = find("apt-get") {
            if log { print("installing reference tools with apt-get…") }
            let install = ["install", "-y", "-q", "xdelta3", "zstd", "bsdiff"]
            if execute(aptGet, install) == nil {
                _ = execute(aptGet, ["update", "-q"])
                _ = execute(aptGet, install)
            }
            tools.locate(names)
        }
        return tools
    }

    private mutating func locate(_ names: [String]) {
        for name in names { paths[name] = Self.find(name) }
    }

    private static func find(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        let directories: [String] = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin"]
        return directories.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs `tool` and returns its wall time in milliseconds; nil if it is missing or exits non-zero.
    func run(_ tool: String, _ arguments: [String], stdoutPath: String? = nil) -> Double? {
        guard let path = paths[tool] else { return nil }
        return Self.execute(path, arguments, stdoutPath: stdoutPath)
    }

    /// Best-of-N process wall time, after checking the tool reproduced `expected` in `verify`.
    func time(_ iterations: Int, _ tool: String, _ arguments: [String], verify: String, _ expected: [UInt8]) -> Double?
    {
        var best = Double.infinity
        for _ in 0..<iterations {
            guard let milliseconds = run(tool, arguments) else { return nil }
            best = min(best, milliseconds)
        }
        guard let produced = FileManager.default.contents(atPath: verify), Array(produced) == expected else {
            return nil
        }
        return best
    }

    /// Spawns `path` with `posix_spawn` and waits for it; stdout goes to `stdoutPath` (or /dev/null).
    /// Foundation's `Process` adds tens of milliseconds per launch on Linux, so it is not used for timing.
    private static func execute(_ path: String, _ arguments: [String], stdoutPath: String? = nil) -> Double? {
        #if canImport(Darwin)
        var actions: posix_spawn_file_actions_t? = nil
        #else
        var actions = posix_spawn_file_actions_t()
        #endif
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let start = DispatchTime.now().uptimeNanoseconds
        guard posix_spawn(&pid, path, &actions, nil, argv, environ) == 0 else { return nil }
        var status: Int32 = 0
        guard waitpid(pid, &status, 0) == pid else { return nil }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        return status == 0 ? elapsed : nil
    }
}
