import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A trainer plug-in run as `/bin/sh -c COMMAND`, with a time limit. Foundation starts the child in a process
/// group of its own, so a timeout (or the agent shutting down) kills the shell and everything it started.
struct TrainerProcess: Sendable {
    var command: String
    var environment: [String: String]
    var timeout: Duration

    /// How much of the trainer's standard output is kept (the end of it: the metrics line is the last one).
    static let outputLimit = 64 * 1024

    struct Finished: Sendable {
        var status: Int32
        /// The last ``TrainerProcess/outputLimit`` bytes of its standard output.
        var output: [UInt8]
    }

    /// Runs the command to its end. Throws ``TrainerTimedOut`` after killing it when it outlives `timeout`, and
    /// `CancellationError` after killing it when the calling task is cancelled.
    func run() async throws -> Finished {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        let stdout = Pipe()
        process.standardOutput = stdout
        try process.run()
        let group = process.processIdentifier
        let reader = stdout.fileHandleForReading
        let waiting = Task { try await DedicatedThread.run("trainer-\(group)") { Self.collect(process, reader) } }
        var killed = false
        await withTaskGroup(of: Bool.self) { race in
            race.addTask {
                // Ends at the timeout, or early when the calling task is cancelled.
                try? await Task.sleep(for: timeout)
                return true
            }
            race.addTask {
                _ = try? await waiting.value
                return false
            }
            if await race.next() == true {
                kill(-group, SIGKILL)
                killed = true
            }
            race.cancelAll()
        }
        let finished = try await waiting.value
        if Task.isCancelled { throw CancellationError() }
        if killed && finished.status != 0 { throw TrainerTimedOut(command: command, timeout: timeout) }
        return finished
    }

    /// Reads the output until every writer closed it, then reaps the process. Blocking: on its own thread.
    private static func collect(_ process: Process, _ reader: FileHandle) -> Finished {
        var tail: [UInt8] = []
        while true {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            tail.append(contentsOf: chunk)
            if tail.count > outputLimit { tail.removeFirst(tail.count - outputLimit) }
        }
        process.waitUntilExit()
        return Finished(status: process.terminationStatus, output: tail)
    }
}

/// The trainer plug-in ran past `--trainer-timeout` and was killed.
struct TrainerTimedOut: Error, CustomStringConvertible, Sendable {
    var command: String
    var timeout: Duration

    var description: String {
        "the trainer command ran past --trainer-timeout \(timeout) and was killed (raise --trainer-timeout, or "
            + "train less per round)"
    }
}
