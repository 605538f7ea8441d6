import FleetClient
import Foundation

struct CoordinatorRunSettings: Sendable {
    var binDirectory: String
    var interval: String
    var warmup: Duration
    var measure: Duration
    var maxPerProcess: Int
    var exhaustionConnections: Int
    var keepData: Bool
}

/// One row of the coordinator table.
struct CoordinatorRow: Codable, Sendable {
    var count: Int
    var processes: Int
    var enrolled: Int
    var enrolSeconds: Double
    var reconnectSeconds: Double
    var established: Int
    var held: Int
    var failures: [String: Int]
    var samples: Int
    var p50Milliseconds: Double?
    var p99Milliseconds: Double?
    var p999Milliseconds: Double?
    var maxMilliseconds: Double?
    var heartbeatsPerSecond: Double
    var rssBeforeKiB: Int
    var rssAfterKiB: Int
    var rssPerConnectionBytes: Int
    var coordinatorCPUPercent: Double
    var loadGeneratorCPUPercent: Double
    var coordinatorOpenFiles: Int
    var coordinatorThreads: Int
    var logWarnings: [String: Int]
    /// Whether the coordinator ran `--http-listen` (and `/metrics` was scraped) in this pass.
    var httpListen: Bool?
    /// The scrapes of `/metrics` during the pass, when it ran `--http-listen`.
    var scrapes: ScrapeSummary?

    var failureTotal: Int { failures.values.reduce(0, +) }
}

/// The benchmark for one N. See ``CoordinatorBenchmark`` for the method.
struct CoordinatorRun {
    let settings: CoordinatorRunSettings
    let count: Int

    private var parts: [(first: Int, count: Int)] {
        let processes = max(1, (count + settings.maxPerProcess - 1) / settings.maxPerProcess)
        return (0..<processes).map { index in
            let first = count * index / processes
            return (first, count * (index + 1) / processes - first)
        }
    }

    func run(exhaustion check: Bool) async throws -> (CoordinatorRow, ExhaustionResult?) {
        let directory = try makeTemporaryDirectory("fleet-bench-coordinator-\(count)")
        defer { if !settings.keepData { try? FileManager.default.removeItem(atPath: directory) } }
        let harness = CoordinatorHarness(binDirectory: settings.binDirectory, dataDirectory: directory)
        progress("[\(count)] data directory \(directory)")
        let enrolment = try await enrol(harness, directory: directory)
        return try await steady(harness, directory: directory, enrolment: enrolment, exhaustion: check, http: nil)
    }

    /// What the enrolment pass measured.
    struct Enrolment {
        var enrolled: Int
        var seconds: Double
    }

    /// The enrolment pass: a coordinator on the new data directory enrols `count` devices through the load
    /// generators (their keys saved to the identities files), then stops.
    func enrol(_ harness: CoordinatorHarness, directory: String) async throws -> Enrolment {
        let (enrolCoordinator, enrolAddress) = try await harness.start(
            logName: "coordinator-enrol",
            heartbeatInterval: settings.interval
        )
        let token = try await harness.createToken(at: enrolAddress, uses: count)
        let enrolStart = ContinuousClock.now
        let enrolGenerators = try startGenerators(
            directory: directory,
            address: enrolAddress,
            token: token,
            pass: "enrol",
            heartbeatPhase: .zero
        )
        let enrolReports = try await collect(enrolGenerators, timeout: .seconds(600))
        let enrolSeconds = (ContinuousClock.now - enrolStart).seconds
        let enrolled = enrolReports.reduce(0) { $0 + $1.enrolled }
        progress("[\(count)] enrolled \(enrolled) in \(String(format: "%.1f", enrolSeconds)) s")
        enrolCoordinator.stop()
        return Enrolment(enrolled: enrolled, seconds: enrolSeconds)
    }

    /// The steady state on a fresh coordinator process over the enrolled data directory: the generators
    /// reconnect, heartbeats run through a warm-up and the measured window. With `http`, the coordinator also
    /// runs `--http-listen 127.0.0.1:0` and `/metrics` is scraped every `http.interval` from the start of
    /// the heartbeats to the end of the window.
    func steady(
        _ harness: CoordinatorHarness,
        directory: String,
        enrolment: Enrolment,
        exhaustion check: Bool,
        http: MetricsScraping?
    ) async throws -> (CoordinatorRow, ExhaustionResult?) {
        let enrolled = enrolment.enrolled
        let enrolSeconds = enrolment.seconds
        let logName = http == nil ? "coordinator" : "coordinator-http"
        let (coordinator, address) = try await harness.start(
            logName: logName,
            heartbeatInterval: settings.interval,
            httpListen: http != nil
        )
        defer { coordinator.stop() }
        try await Task.sleep(for: .seconds(2))
        let stats = coordinator.stats
        let rssBefore = stats.rssKiB
        progress("[\(count)] coordinator pid \(coordinator.pid): RSS \(rssBefore) KiB, \(stats.openFilesLimit())")
        let exhaustionTime: Duration = check ? .seconds(30) : .zero
        let reconnectStart = ContinuousClock.now
        let generators = try startGenerators(
            directory: directory,
            address: address,
            token: nil,
            pass: "steady",
            heartbeatPhase: settings.warmup + settings.measure + exhaustionTime
        )
        // Bounded: 10 minutes for every generator to be connected.
        for _ in 0..<6000 {
            let ready = generators.indices.filter {
                FileManager.default.fileExists(atPath: directory + "/ready-steady-\($0)")
            }
            if ready.count == generators.count { break }
            guard generators.allSatisfy({ $0.isRunning }) else { throw BenchError("a load-gen exited early") }
            try await Task.sleep(for: .milliseconds(100))
        }
        let reconnectSeconds = (ContinuousClock.now - reconnectStart).seconds
        progress("[\(count)] connected in \(String(format: "%.1f", reconnectSeconds)) s; heartbeats start")
        _ = FileManager.default.createFile(atPath: directory + "/start-steady", contents: nil)
        var scraper: Task<ScrapeSummary, Never>?
        if let http {
            let url = "http://" + (try await ConsoleBenchmark.httpAddress(directory: directory, child: coordinator))
            scraper = Task { await http.scrape(url + "/metrics") }
        }

        try await Task.sleep(for: settings.warmup)
        let cpuStart = stats.cpuSeconds()
        let generatorCPUStart = generators.reduce(0) { $0 + $1.stats.cpuSeconds() }
        let windowStart = ContinuousClock.now
        try await Task.sleep(for: settings.measure)
        let window = (ContinuousClock.now - windowStart).seconds
        let cpu = (stats.cpuSeconds() - cpuStart) / window * 100
        let generatorCPU = (generators.reduce(0) { $0 + $1.stats.cpuSeconds() } - generatorCPUStart) / window * 100
        let rssAfter = stats.rssKiB
        let openFiles = stats.openFiles()
        let threads = stats.status()["Threads"] ?? 0
        scraper?.cancel()
        let scrapes = await scraper?.value
        progress(
            "[\(count)] window done: coordinator CPU \(String(format: "%.1f", cpu)) %, RSS \(rssAfter) KiB, "
                + "\(openFiles) open files"
        )

        var exhaustion: ExhaustionResult?
        if check {
            do {
                exhaustion = try await ExhaustionCheck(
                    harness: harness,
                    address: address,
                    coordinatorPID: coordinator.pid,
                    logPath: coordinator.stderrPath,
                    extraConnections: settings.exhaustionConnections,
                    duration: exhaustionTime - .seconds(10)
                ).run()
            } catch {
                progress("[exhaustion] check failed: \(error)")
                exhaustion = .failed("\(error)")
            }
        }
        let reports = try await collect(generators, timeout: .seconds(120))
        exhaustion?.addLoadGeneratorView(reports)
        coordinator.stop()
        // The next steady pass waits for these files again.
        for index in generators.indices {
            try? FileManager.default.removeItem(atPath: directory + "/ready-steady-\(index)")
        }
        try? FileManager.default.removeItem(atPath: directory + "/start-steady")

        var measured = LatencyHistogram()
        var failures: [String: Int] = [:]
        for report in reports {
            measured.merge(report.measured)
            failures.merge(report.failures, uniquingKeysWith: +)
        }
        let established = reports.reduce(0) { $0 + $1.established }
        let held = reports.reduce(0) { $0 + $1.held }
        func milliseconds(_ q: Double) -> Double? { measured.percentile(q).map { Double($0) / 1e6 } }
        let row = CoordinatorRow(
            count: count,
            processes: reports.count,
            enrolled: enrolled,
            enrolSeconds: enrolSeconds,
            reconnectSeconds: reconnectSeconds,
            established: established,
            held: held,
            failures: failures,
            samples: measured.total,
            p50Milliseconds: milliseconds(0.5),
            p99Milliseconds: milliseconds(0.99),
            p999Milliseconds: milliseconds(0.999),
            maxMilliseconds: measured.total > 0 ? Double(measured.maximum) / 1e6 : nil,
            heartbeatsPerSecond: Double(measured.total) / max(settings.measure.seconds, 0.001),
            rssBeforeKiB: rssBefore,
            rssAfterKiB: rssAfter,
            rssPerConnectionBytes: held > 0 ? (rssAfter - rssBefore) * 1024 / held : 0,
            coordinatorCPUPercent: cpu,
            loadGeneratorCPUPercent: generatorCPU,
            coordinatorOpenFiles: openFiles,
            coordinatorThreads: threads,
            logWarnings: Self.logSummary(path: coordinator.stderrPath),
            httpListen: http != nil,
            scrapes: scrapes
        )
        return (row, exhaustion)
    }

    private func startGenerators(
        directory: String,
        address: CoordinatorAddress,
        token: String?,
        pass: String,
        heartbeatPhase: Duration
    ) throws -> [ChildProcess] {
        try parts.enumerated().map { index, part in
            var arguments = [
                "load-gen", "--coordinator", address.description, "--count", "\(part.count)",
                "--first-index", "\(part.first)", "--heartbeat-interval", settings.interval,
                "--duration", "\(Int(heartbeatPhase.seconds * 1000))ms",
                "--warmup", "\(Int(settings.warmup.seconds * 1000))ms",
                "--measure", "\(Int(settings.measure.seconds * 1000))ms",
                "--identities-file", directory + "/identities-\(index).bin",
                "--ready-file", directory + "/ready-\(pass)-\(index)", "--json",
            ]
            if heartbeatPhase > .zero { arguments += ["--start-file", directory + "/start-\(pass)"] }
            if let token { arguments += ["--token", token] }
            return try ChildProcess(
                name: "load-gen \(pass) \(index)",
                executable: settings.binDirectory + "/fleet-bench",
                arguments: arguments,
                stdoutPath: directory + "/load-gen-\(pass)-\(index).json",
                stderrPath: directory + "/load-gen-\(pass)-\(index).log"
            )
        }
    }

    private func collect(_ generators: [ChildProcess], timeout: Duration) async throws -> [LoadReport] {
        var reports: [LoadReport] = []
        for generator in generators {
            let status = try await generator.wait(timeout: timeout)
            guard status == 0,
                let report = try? JSONDecoder().decode(LoadReport.self, from: Data(generator.standardOutput.utf8))
            else {
                let log = (try? String(contentsOfFile: generator.stderrPath, encoding: .utf8)) ?? ""
                throw BenchError("\(generator.name) failed (status \(status)): \(log.suffix(500))")
            }
            reports.append(report)
        }
        return reports
    }

    /// Warning, error and critical lines of the coordinator's log, counted by message.
    static func logSummary(path: String) -> [String: Int] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [:] }
        var counts: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            for level in [" warning ", " error ", " critical "] where line.contains(level) {
                // swift-log's stream format: "<time> <level> <label>: <metadata> [<module>] <message>"
                let message = line.range(of: "] ", options: .backwards).map { String(line[$0.upperBound...]) }
                let key = level.trimmingCharacters(in: .whitespaces) + ": " + (message ?? String(line.suffix(80)))
                counts[key, default: 0] += 1
            }
        }
        return counts
    }
}
