import ArgumentParser
import FleetClient
import Foundation
import NIOCore
import NIOPosix

/// `fleet-bench load-gen`: one process holding N simulated agents on real sockets.
struct LoadGeneratorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load-gen",
        abstract: "Open N real connections to a coordinator, handshake, and send heartbeats spread over the interval.",
        discussion: """
            Each connection does hello, then enrol (keys new to --identities-file, with --token) or authenticate \
            (keys already in the file), sends one state report, and then a heartbeat every interval; \
            connection k starts at k/N of the interval. One event-loop thread drives all connections. \
            Round trips of heartbeats sent after --warmup and within the measured window are reported. \
            --duration 0s enrols (or authenticates) and exits.
            """
    )

    @Option(help: "The coordinator, HOST:PORT (an IP address).")
    var coordinator: String

    @Option(help: "Enrolment token, needed for keys not yet in the identities file.")
    var token: String?

    @Option(help: "Number of connections.")
    var count: Int

    @Option(help: "Index of the first simulated agent (names bench-<index>).")
    var firstIndex: Int = 0

    @Option(help: "Heartbeat interval, e.g. 10s.")
    var heartbeatInterval: String = "10s"

    @Option(help: "Length of the heartbeat phase after all connections are up, warm-up included.")
    var duration: String = "60s"

    @Option(help: "Heartbeats sent in the first part of the heartbeat phase are not measured.")
    var warmup: String = "10s"

    @Option(help: "Length of the measured window after the warm-up (default: the rest of --duration).")
    var measure: String?

    @Option(help: "File of 32-byte Ed25519 private keys, one per agent; created or extended as needed.")
    var identitiesFile: String = "fleet-bench-identities.bin"

    @Option(help: "Handshakes in flight at once.")
    var concurrency: Int = 128

    @Option(help: "Written (with the number of established connections) once every connection is up or failed.")
    var readyFile: String?

    @Option(help: "Once connected, wait (up to 10 minutes) for this file to exist before starting heartbeats.")
    var startFile: String?

    @Flag(help: "Speak MQTT 3.1.1 (CONNECT, PINGREQ/PINGRESP) instead of TinyFleet: the mosquitto reference.")
    var mqtt = false

    @Flag(help: "Skip the state report after welcome.")
    var noStateReport = false

    @Flag(help: "Print the report as JSON.")
    var json = false

    func validate() throws {
        guard count >= 0 && count <= 19_990 else { throw ValidationError("--count must be 0…19990 per process") }
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1") }
    }

    func run() async throws {
        raiseOpenFilesLimit()
        let address = try CoordinatorAddress(parsing: coordinator)
        let interval = try parseDuration(heartbeatInterval)
        let total = try parseDuration(duration)
        let warm = min(try parseDuration(warmup), total)
        let window = min(try measure.map(parseDuration) ?? (total - warm), total - warm)
        guard interval > .zero else { throw ValidationError("--heartbeat-interval must be positive") }
        let settings = LoadSettings(
            address: try SocketAddress(ipAddress: address.host, port: address.port),
            token: token,
            firstIndex: firstIndex,
            interval: .milliseconds(Int64(interval.seconds * 1000)),
            duration: .milliseconds(Int64(total.seconds * 1000)),
            warmup: .milliseconds(Int64(warm.seconds * 1000)),
            measure: .milliseconds(Int64(window.seconds * 1000)),
            concurrency: concurrency,
            handshakeTimeout: .seconds(20),
            sendStateReport: !noStateReport,
            mqtt: mqtt
        )
        let (keys, existing) =
            mqtt
            ? ([[UInt8]](repeating: [], count: count), count)
            : try IdentityFile(path: identitiesFile).load(count: count)
        progress("load-gen: \(count) agents (\(existing) known, \(count - existing) to enrol) -> \(address)")

        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let (run, connected, finished) = try await loop.submit {
            let run = LoadRun(settings: settings, keys: keys, existing: existing, eventLoop: loop)
            let futures = run.run()
            return (NIOLoopBound(run, eventLoop: loop), futures.connected, futures.report)
        }.get()
        let established = try await connected.get()
        progress("load-gen: \(established)/\(count) connections established")
        if let readyFile {
            _ = FileManager.default.createFile(atPath: readyFile, contents: Data("\(established)\n".utf8))
        }
        if let startFile {
            // Bounded: 10 minutes.
            for _ in 0..<12_000 where !FileManager.default.fileExists(atPath: startFile) {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        loop.execute { run.value.startHeartbeats() }
        let report = try await finished.get()
        try await group.shutdownGracefully()
        if json {
            try printJSON(report)
        } else {
            print(Self.describe(report))
        }
    }

    static func describe(_ report: LoadReport) -> String {
        var lines = [
            "connections: \(report.established) established of \(report.count) "
                + "(\(report.enrolled) enrolled, \(report.authenticated) authenticated) in "
                + String(format: "%.1f s", report.connectSeconds) + "; \(report.held) held at the end",
            "heartbeats: \(report.heartbeatsSent) sent, \(report.acks) acknowledged",
            "round trip (measured window, \(report.measured.total) samples): p50 "
                + formatMilliseconds(report.measured.percentile(0.5)) + " ms, p99 "
                + formatMilliseconds(report.measured.percentile(0.99)) + " ms, p99.9 "
                + formatMilliseconds(report.measured.percentile(0.999)) + " ms, max "
                + formatMilliseconds(report.measured.total > 0 ? report.measured.maximum : nil) + " ms",
            String(format: "load-gen CPU %.2f s, max RSS %d KiB", report.cpuSeconds, report.maxRSSKiB),
        ]
        if report.failures.isEmpty {
            lines.append("failures: none")
        } else {
            lines.append("failures:")
            for (kind, count) in report.failures.sorted(by: { $0.key < $1.key }) { lines.append("  \(kind): \(count)") }
        }
        return lines.joined(separator: "\n")
    }
}
