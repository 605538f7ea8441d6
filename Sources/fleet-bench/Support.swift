import ArgumentParser
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A benchmark could not run (as opposed to a figure that missed its goal, which is reported).
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Parses `10s`, `500ms`, `2m`, or plain seconds. `0` and `0s` are allowed (e.g. "enrol, then stop").
func parseDuration(_ text: String) throws -> Duration {
    let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60)]
    for (suffix, scale) in units where text.hasSuffix(suffix) {
        if let value = Double(text.dropLast(suffix.count)), value >= 0 {
            return .milliseconds(Int64(value * scale * 1000))
        }
    }
    if let seconds = Double(text), seconds >= 0 { return .milliseconds(Int64(seconds * 1000)) }
    throw ValidationError("invalid duration \"\(text)\": use e.g. 500ms, 10s, 2m")
}

extension Duration {
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

/// Raises the soft open-files limit to the hard limit (20,000 on the benchmark machines), so one process can
/// hold about 19,990 sockets. Children inherit it. Returns the new soft limit.
@discardableResult
func raiseOpenFilesLimit() -> Int {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return -1 }
    if limit.rlim_cur < limit.rlim_max {
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        _ = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
    return Int(limit.rlim_cur)
}

/// Writes a line to stderr (progress; stdout carries the results).
func progress(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// A duration in nanoseconds as milliseconds with three decimals.
func formatMilliseconds(_ nanoseconds: Int64?) -> String {
    guard let nanoseconds else { return "-" }
    return String(format: "%.3f", Double(nanoseconds) / 1e6)
}

func formatMs(_ milliseconds: Double?) -> String {
    guard let milliseconds else { return "-" }
    return String(format: "%.3f", milliseconds)
}

func formatBytes(_ bytes: Int) -> String {
    if bytes >= 1 << 20 { return String(format: "%.1f MiB", Double(bytes) / 1_048_576) }
    if bytes >= 1 << 10 { return String(format: "%.1f KiB", Double(bytes) / 1024) }
    return "\(bytes) B"
}

/// The first `leftColumns` columns left-aligned, the others right-aligned.
func renderTable(_ header: [String], _ rows: [[String]], leftColumns: Int = 1) -> String {
    let all = [header] + rows
    var widths = [Int](repeating: 0, count: header.count)
    for row in all {
        for (index, cell) in row.enumerated() where index < widths.count {
            widths[index] = max(widths[index], cell.count)
        }
    }
    func line(_ row: [String]) -> String {
        row.enumerated().map { index, cell in
            let pad = String(repeating: " ", count: max(0, widths[index] - cell.count))
            return index < leftColumns ? cell + pad : pad + cell
        }.joined(separator: "  ")
    }
    let rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")
    return ([line(header), rule] + rows.map(line)).joined(separator: "\n")
}

func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// The middle value of `values` (the upper one of an even count; 0 for none).
func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
}
