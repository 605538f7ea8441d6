import FleetClient
import FleetWire
import Foundation
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// What happened when the coordinator ran out of file descriptors.
struct ExhaustionResult: Codable, Sendable {
    var openFilesBefore: Int
    var openFilesDuring: Int
    var openFilesLimit: String
    var extraConnected: Int
    var extraFailed: Int
    var acceptFailedLogLines: Int
    var firstAcceptFailedLine: String?
    var coordinatorCPUPercent: Double
    /// The coordinator's busiest thread during the check, in % of one core.
    var busiestThread: String
    var busiestThreadCPUPercent: Double
    /// accept4 calls of the coordinator over 3 s during the check (`perf stat`), when perf is installed.
    var acceptCallsIn3Seconds: String?
    var adminHeartbeats: Int
    var adminHeartbeatsAnswered: Int
    var adminRoundTripMaxMilliseconds: Double?
    var newConnectionAfterwards: Bool
    var newConnectionDetail: String
    var stillRunning: Bool
    /// Set when the check itself could not finish.
    var failure: String?
    /// From the load generators: round trips of heartbeats sent after the measured window (during the check).
    var agentsTailSamples = 0
    var agentsTailP99Milliseconds: Double?
    var agentsTailMaxMilliseconds: Double?

    static func failed(_ failure: String) -> ExhaustionResult {
        ExhaustionResult(
            openFilesBefore: 0,
            openFilesDuring: 0,
            openFilesLimit: "?",
            extraConnected: 0,
            extraFailed: 0,
            acceptFailedLogLines: 0,
            coordinatorCPUPercent: 0,
            busiestThread: "?",
            busiestThreadCPUPercent: 0,
            adminHeartbeats: 0,
            adminHeartbeatsAnswered: 0,
            newConnectionAfterwards: false,
            newConnectionDetail: "",
            stillRunning: false,
            failure: failure
        )
    }

    mutating func addLoadGeneratorView(_ reports: [LoadReport]) {
        var tail = LatencyHistogram()
        for report in reports { tail.merge(report.tail) }
        agentsTailSamples = tail.total
        agentsTailP99Milliseconds = tail.percentile(0.99).map { Double($0) / 1e6 }
        agentsTailMaxMilliseconds = tail.total > 0 ? Double(tail.maximum) / 1e6 : nil
    }
}

/// With every agent connected, opens more raw TCP connections than the coordinator has descriptors left, then
/// checks that it logs "accept failed", keeps answering heartbeats on an existing connection, does not spin
/// (its CPU over the check stays low), and accepts again once the extra connections are gone.
struct ExhaustionCheck {
    let harness: CoordinatorHarness
    let address: CoordinatorAddress
    let coordinatorPID: Int32
    let logPath: String
    let extraConnections: Int
    let duration: Duration

    func run() async throws -> ExhaustionResult {
        let credential = try harness.credential()
        let stats = ProcStats(pid: coordinatorPID)
        let address = self.address
        let extraConnections = self.extraConnections
        let probeCount = max(1, Int(duration.seconds * 2))
        let logPath = self.logPath
        let scratch = URL(fileURLWithPath: logPath).deletingLastPathComponent().path
        progress("[exhaustion] opening \(extraConnections) extra connections")
        var result = try await withTimeout(duration.seconds + 60, "exhaustion check") {
            try await FleetConnection.withConnection(to: address, tls: nil) { connection in
                try await CoordinatorHarness.authenticateAdmin(&connection, credential)
                let before = stats.openFiles()
                let (extra, failed) = await Self.openRawConnections(to: address, count: extraConnections)
                try await Task.sleep(for: .seconds(2))
                let during = stats.openFiles()
                let cpuStart = stats.cpuSeconds()
                let threadsStart = stats.threadCPUSeconds()
                let start = ContinuousClock.now
                var answered = 0
                var worst: Duration = .zero
                for _ in 0..<probeCount {
                    let sent = ContinuousClock.now
                    try await connection.send(.heartbeat)
                    if try await connection.expectNext() == .heartbeatAck {
                        answered += 1
                        worst = max(worst, ContinuousClock.now - sent)
                    }
                    try await Task.sleep(for: .milliseconds(500))
                }
                let elapsed = (ContinuousClock.now - start).seconds
                let cpu = (stats.cpuSeconds() - cpuStart) / elapsed * 100
                let busiest =
                    stats.threadCPUSeconds()
                    .map { ($0.key, ($0.value - (threadsStart[$0.key] ?? 0)) / elapsed * 100) }
                    .max { $0.1 < $1.1 } ?? ("?", 0)
                let accepts = Self.countAcceptCalls(pid: stats.pid, scratch: scratch)
                for channel in extra { try? await channel.close() }
                let lines = Self.acceptFailedLines(logPath)
                return ExhaustionResult(
                    openFilesBefore: before,
                    openFilesDuring: during,
                    openFilesLimit: stats.openFilesLimit(),
                    extraConnected: extra.count,
                    extraFailed: failed,
                    acceptFailedLogLines: lines.count,
                    firstAcceptFailedLine: lines.first,
                    coordinatorCPUPercent: cpu,
                    busiestThread: busiest.0,
                    busiestThreadCPUPercent: busiest.1,
                    acceptCallsIn3Seconds: accepts,
                    adminHeartbeats: probeCount,
                    adminHeartbeatsAnswered: answered,
                    adminRoundTripMaxMilliseconds: answered > 0 ? worst.seconds * 1000 : nil,
                    newConnectionAfterwards: false,
                    newConnectionDetail: "",
                    stillRunning: true
                )
            }
        }
        // Once the extra connections are closed, a new connection must be served again.
        try await Task.sleep(for: .seconds(3))
        do {
            let devices = try await harness.deviceCounts(at: address)
            result.newConnectionAfterwards = true
            result.newConnectionDetail = "admin listDevices answered: \(devices.total) devices"
        } catch {
            result.newConnectionDetail = "new admin connection failed: \(error)"
        }
        result.stillRunning = kill(coordinatorPID, 0) == 0
        progress(
            "[exhaustion] \(result.acceptFailedLogLines) 'accept failed' lines, CPU "
                + String(format: "%.1f", result.coordinatorCPUPercent) + " %, "
                + "\(result.adminHeartbeatsAnswered)/\(result.adminHeartbeats) admin heartbeats answered"
        )
        return result
    }

    private static func openRawConnections(to address: CoordinatorAddress, count: Int) async -> ([any Channel], Int) {
        guard let target = try? SocketAddress(ipAddress: address.host, port: address.port) else { return ([], count) }
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connectTimeout(.seconds(5))
        let futures = (0..<count).map { _ in bootstrap.connect(to: target) }
        var channels: [any Channel] = []
        var failed = 0
        for future in futures {
            if let channel = try? await future.get() { channels.append(channel) } else { failed += 1 }
        }
        return (channels, failed)
    }

    /// Counts the process's accept4 system calls over 3 s with `perf stat -e syscalls:sys_enter_accept4`
    /// (the tracepoint, so the process is not slowed down), when perf is installed.
    private static func countAcceptCalls(pid: Int32, scratch: String) -> String? {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/perf") else { return nil }
        let output = scratch + "/perf-accept4.csv"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/perf")
        process.arguments = [
            "stat", "-x", ",", "-o", output, "-e", "syscalls:sys_enter_accept4", "-p", "\(pid)", "--", "sleep", "3",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        // Bounded: 10 s.
        for _ in 0..<100 where process.isRunning { usleep(100_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        // "171398,,syscalls:sys_enter_accept4,..."
        guard let text = try? String(contentsOfFile: output, encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.contains("sys_enter_accept4") }),
            let count = line.split(separator: ",", omittingEmptySubsequences: false).first
        else { return "perf gave no count" }
        return "\(count) accept4 calls in 3 s (perf stat)"
    }

    private static func acceptFailedLines(_ path: String) -> [String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").filter { $0.contains("accept failed") }.map(String.init)
    }
}
