import Foundation
import PostgresTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A real TinyFleet executable started by a test, with its stderr kept in a file for assertions.
final class FleetProcess: @unchecked Sendable {
    // @unchecked: `process` is only touched from the test's own task; Foundation's Process is thread-safe for these calls.
    let process = Process()
    let name: String
    let logPath: String

    init(_ executable: String, _ arguments: [String], logDirectory: String, name: String) throws {
        self.name = name
        logPath = logDirectory + "/\(name).log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: Binaries.path(executable))
        process.arguments = arguments
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardError = log
        process.standardOutput = log
        try process.run()
        ChildLogs.register(logPath, name: name)
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    func kill9() {
        kill(pid, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM, then waits for the graceful exit (SIGKILL after `timeout`).
    func terminate(timeout: Duration = .seconds(10)) async {
        guard process.isRunning else { return }
        kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        if process.isRunning { kill9() }
    }

    /// Waits for the process to exit by itself; returns its status, or nil on timeout.
    func waitForExit(timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        return process.isRunning ? nil : process.terminationStatus
    }

    deinit {
        ChildLogs.unregister(logPath)
        if process.isRunning { kill(pid, SIGKILL) }
    }
}

enum Binaries {
    /// The build folder holding the executables: `FLEET_BIN_DIR`, or the folder of the running test bundle.
    static let directory: String = {
        if let explicit = ProcessInfo.processInfo.environment["FLEET_BIN_DIR"] { return explicit }
        var url = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").deletingLastPathComponent()
        for _ in 0..<4 {
            if FileManager.default.isExecutableFile(atPath: url.appendingPathComponent("fleet-coordinator").path) {
                return url.path
            }
            url.deleteLastPathComponent()
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug").path
    }()

    /// The executable `name` of this build, or `name` itself when it is an absolute path (a program a test built).
    static func path(_ name: String) -> String { name.hasPrefix("/") ? name : directory + "/" + name }
}

/// Runs one of the package's executables to completion and returns its exit status and output. The wait happens on
/// a thread of its own (``offThePool(_:)``): end-to-end tests call `fleetctl` hundreds of times, often in polls,
/// and a blocked cooperative thread (2 on CI) would stall every other test's timers and polls meanwhile.
func runCommand(
    _ executable: String,
    _ arguments: [String]
) async throws -> (status: Int32, stdout: String, stderr: String) {
    try await offThePool { try runCommandBlocking(executable, arguments) }
}

/// ``runCommand(_:_:)``'s body: it blocks the calling thread until the child exits. Only for code that may block
/// (a failure message, a thread of its own).
func runCommandBlocking(
    _ executable: String,
    _ arguments: [String]
) throws -> (status: Int32, stdout: String, stderr: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: Binaries.path(executable))
    process.arguments = arguments
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
}

/// Runs `body`, which blocks (it waits for a child process or reads its pipe), on a thread of its own. Swift
/// Testing runs the suite on Swift concurrency's cooperative pool, one thread per core (2 on CI): a test that blocks
/// one of them for the minutes a QEMU or recipe script takes starves every other test of the suite, whose polls
/// and timeouts then expire while they wait for a thread.
func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

/// Polls `condition` as ``eventually(timeout:every:_:)`` does; if it never holds, records an issue whose comment is
/// `message`, evaluated only then (it may run `fleetctl` again to show what the fleet looks like).
@discardableResult
func expectEventually(
    timeout: Duration,
    every interval: Duration = .milliseconds(100),
    sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () async throws -> Bool,
    message: () async -> String = { "" }
) async throws -> Bool {
    let held = try await eventually(timeout: timeout, every: interval, condition)
    if !held {
        Issue.record(Comment(rawValue: "not within \(timeout): \(await message())"), sourceLocation: sourceLocation)
    }
    return held
}

extension Sequence {
    /// `allSatisfy` with an async predicate (one that runs `fleetctl`, say), in order, stopping at the first `false`.
    func allSatisfy(_ predicate: (Element) async throws -> Bool) async rethrows -> Bool {
        for element in self where try await !predicate(element) { return false }
        return true
    }
}

func makeTemporaryDirectory(_ prefix: String) throws -> String {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Polls `condition` until it holds or `timeout` passes.
func eventually(
    timeout: Duration,
    every interval: Duration = .milliseconds(100),
    _ condition: () async throws -> Bool
) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: interval)
    }
    return try await condition()
}

/// Runs a shell script of the repository to completion; returns its status and its stdout and stderr together.
func runScript(
    _ script: String,
    _ arguments: [String] = [],
    environment: [String: String]? = nil
) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = [script] + arguments
    if let environment { process.environment = environment }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, output)
}

/// A port nobody listens on now (bound, read, released): the one implementation, shared with the PostgreSQL
/// test cluster.
func freeLoopbackPort() throws -> Int { try ThrowawayCluster.freePort() }
