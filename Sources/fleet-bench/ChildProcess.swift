import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A process the benchmark started: stdout and stderr go to files. Every child is registered so that
/// ``ChildProcess/killAll()`` can stop whatever is left when a benchmark fails.
final class ChildProcess {
    let process: Process
    let name: String
    let stdoutPath: String
    let stderrPath: String

    private static let running = Mutex<[Int32: String]>([:])

    init(name: String, executable: String, arguments: [String], stdoutPath: String, stderrPath: String) throws {
        self.name = name
        self.stdoutPath = stdoutPath
        self.stderrPath = stderrPath
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        guard let out = FileHandle(forWritingAtPath: stdoutPath), let err = FileHandle(forWritingAtPath: stderrPath)
        else { throw BenchError("cannot open \(stdoutPath) or \(stderrPath)") }
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw BenchError("cannot start \(executable): \(error)")
        }
        try? out.close()
        try? err.close()
        let pid = process.processIdentifier
        Self.running.withLock { $0[pid] = name }
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }
    var stats: ProcStats { ProcStats(pid: pid) }

    /// Waits for the process to exit by itself, up to `timeout`; then kills it and throws.
    func wait(timeout: Duration) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline {
                stop()
                throw BenchError("\(name) did not finish within \(Int(timeout.seconds)) s; killed")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        Self.running.withLock { $0[pid] = nil }
        return process.terminationStatus
    }

    /// SIGTERM, then SIGKILL after 10 s.
    func stop() {
        guard process.isRunning else {
            Self.running.withLock { $0[pid] = nil }
            return
        }
        kill(pid, SIGTERM)
        for _ in 0..<100 where process.isRunning { usleep(100_000) }
        if process.isRunning {
            kill(pid, SIGKILL)
            for _ in 0..<50 where process.isRunning { usleep(100_000) }
        }
        Self.running.withLock { $0[pid] = nil }
    }

    var standardOutput: String {
        (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? ""
    }

    /// Kills every child still registered (used when a benchmark fails half-way).
    static func killAll() {
        let pids = running.withLock { running in
            defer { running.removeAll() }
            return Array(running.keys)
        }
        for pid in pids { kill(pid, SIGKILL) }
    }
}

@available(*, unavailable)
extension ChildProcess: Sendable {}

/// Where the release executables live: next to this `fleet-bench`, unless `--bin-dir` says otherwise.
func executableDirectory(override: String?) -> String {
    if let override { return override }
    let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    return URL(fileURLWithPath: me).deletingLastPathComponent().path
}

/// A fresh temporary directory.
func makeTemporaryDirectory(_ prefix: String) throws -> String {
    let path = NSTemporaryDirectory() + "\(prefix)-\(getpid())-\(Int(Date().timeIntervalSince1970))"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
