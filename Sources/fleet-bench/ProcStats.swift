import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Reads a process's resource use from `/proc` (Linux).
struct ProcStats {
    let pid: Int32

    /// `/proc/PID/status` fields in kB (VmRSS, VmHWM) or counts (Threads), by name.
    func status() -> [String: Int] {
        Self.parseStatus(path: "/proc/\(pid)/status")
    }

    var rssKiB: Int { status()["VmRSS"] ?? 0 }

    /// `/proc/PID/smaps_rollup` totals in kB (Rss, Pss, Private_Clean, Private_Dirty, …), by name.
    func memoryRollup() -> [String: Int] {
        Self.parseStatus(path: "/proc/\(pid)/smaps_rollup")
    }

    /// User plus system CPU time, in seconds (all threads).
    func cpuSeconds(statPath: String? = nil) -> Double {
        guard let text = try? String(contentsOfFile: statPath ?? "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return 0 }
        // Fields after the command name start with field 3 (state); utime and stime are fields 14 and 15.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// CPU seconds of each thread, by thread id and name.
    func threadCPUSeconds() -> [String: Double] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        var result: [String: Double] = [:]
        for task in tasks {
            guard let id = Int32(task) else { continue }
            let name =
                (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/comm", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
            result["\(task) \(name)"] = ProcStats(pid: id).cpuSeconds(statPath: "/proc/\(pid)/task/\(task)/stat")
        }
        return result
    }

    /// Context switches of all threads: (voluntary, involuntary). A voluntary switch is a wake-up after a sleep.
    func contextSwitches() -> (voluntary: Int, involuntary: Int) {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        var voluntary = 0
        var involuntary = 0
        for task in tasks {
            let fields = Self.parseStatus(path: "/proc/\(pid)/task/\(task)/status")
            voluntary += fields["voluntary_ctxt_switches"] ?? 0
            involuntary += fields["nonvoluntary_ctxt_switches"] ?? 0
        }
        return (voluntary, involuntary)
    }

    /// Number of open file descriptors.
    func openFiles() -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []).count
    }

    /// The soft open-files limit of the process.
    func openFilesLimit() -> String {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8) else { return "?" }
        for line in text.split(separator: "\n") where line.hasPrefix("Max open files") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            if parts.count >= 5 { return "\(parts[3]) soft / \(parts[4]) hard" }
        }
        return "?"
    }

    private static func parseStatus(path: String) -> [String: Int] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [:] }
        var fields: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let value = line[line.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\t" }).first
                .flatMap { Int($0) }
            if let value { fields[String(line[..<colon])] = value }
        }
        return fields
    }
}
