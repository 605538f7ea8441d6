import ArgumentParser
import FleetClient
import Foundation

/// `fleet-bench coordinator`: N simulated agents against a fresh `fleet-coordinator`, for each N.
///
/// For each N: (1) start a coordinator on a new data directory, create a token with N uses and run the
/// load generator once to enrol N devices (keys saved to files), then stop it; (2) start a fresh coordinator
/// process on the same data directory (as after a restart), sample its RSS, let the generators reconnect
/// (authenticate + one state report each), start heartbeats in every generator at once, skip a warm-up,
/// then measure the coordinator's CPU over the measured window and its RSS at the end.
struct CoordinatorBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coordinator",
        abstract: "Hold N simulated agents against a real fleet-coordinator and measure it.",
        discussion: """
            Needs the release fleet-coordinator next to fleet-bench (or --bin-dir). More than --max-per-process \
            agents are split over several load-gen processes: one process holds at most about 19,990 sockets \
            here (hard open-files limit 20,000). The descriptor-exhaustion check runs after the largest N.
            """
    )

    @Option(help: "Comma-separated numbers of agents.")
    var counts: String = "1000,10000,19900"

    @Option(help: "Heartbeat interval announced by the coordinator and used by the agents.")
    var heartbeatInterval: String = "10s"

    @Option(help: "Heartbeats not measured after the agents have reconnected.")
    var warmup: String = "15s"

    @Option(help: "Measured window.")
    var measure: String = "30s"

    @Option(help: "Largest number of agents per load-gen process.")
    var maxPerProcess: Int = 10_000

    @Option(help: "Extra raw connections opened after the largest N to exhaust the coordinator's descriptors.")
    var exhaustionConnections: Int = 300

    @Flag(help: "Skip the descriptor-exhaustion check.")
    var noExhaustionCheck = false

    @Flag(
        name: .customLong("compare-http-listen"),
        help: """
            Measure the cost of the operator's HTTP listener instead: at each N, one enrolment, then steady passes \
            alternating without and with --http-listen (with /metrics scraped every --scrape-interval), --repeats \
            times each; reports each configuration's medians and their ratio. No descriptor-exhaustion check.
            """
    )
    var compareHTTPListen = false

    @Option(help: "With --compare-http-listen: passes of each configuration.")
    var repeats = 3

    @Option(help: "With --compare-http-listen: the interval between scrapes of /metrics.")
    var scrapeInterval: String = "5s"

    @Option(help: "Directory holding the release fleet-coordinator (default: next to fleet-bench).")
    var binDir: String?

    @Flag(help: "Keep the temporary data directories and logs.")
    var keepData = false

    @Flag(help: "Print the results as JSON.")
    var json = false

    func validate() throws {
        let parsed = counts.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parsed.isEmpty, parsed.allSatisfy({ ($0 ?? 0) > 0 && ($0 ?? 0) <= 100_000 }) else {
            throw ValidationError("--counts takes positive numbers up to 100000, e.g. 1000,10000,19900")
        }
        guard maxPerProcess >= 1 && maxPerProcess <= 19_990 else {
            throw ValidationError("--max-per-process must be 1…19990")
        }
        guard exhaustionConnections >= 0 && exhaustionConnections <= 2000 else {
            throw ValidationError("--exhaustion-connections must be 0…2000")
        }
        guard (1...20).contains(repeats), try parseDuration(scrapeInterval) >= .milliseconds(100) else {
            throw ValidationError("--repeats must be 1…20 and --scrape-interval at least 100ms")
        }
    }

    func run() async throws {
        let limit = raiseOpenFilesLimit()
        let numbers = counts.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let settings = try CoordinatorRunSettings(
            binDirectory: executableDirectory(override: binDir),
            interval: heartbeatInterval,
            warmup: parseDuration(warmup),
            measure: parseDuration(measure),
            maxPerProcess: maxPerProcess,
            exhaustionConnections: exhaustionConnections,
            keepData: keepData
        )
        guard FileManager.default.isExecutableFile(atPath: settings.binDirectory + "/fleet-coordinator") else {
            throw BenchError("no fleet-coordinator in \(settings.binDirectory): build it with -c release first")
        }
        progress("open-files limit of this process and its children: \(limit)")
        if compareHTTPListen { return try await compare(numbers, settings: settings) }
        var rows: [CoordinatorRow] = []
        var exhaustion: ExhaustionResult?
        do {
            for (position, count) in numbers.enumerated() {
                let check = !noExhaustionCheck && position == numbers.count - 1
                let (row, result) = try await CoordinatorRun(settings: settings, count: count).run(exhaustion: check)
                rows.append(row)
                if let result { exhaustion = result }
            }
        } catch {
            ChildProcess.killAll()
            throw error
        }
        ChildProcess.killAll()
        if json {
            try printJSON(CoordinatorResults(rows: rows, exhaustion: exhaustion))
        } else {
            print(CoordinatorReportFormatter.text(rows: rows, exhaustion: exhaustion, interval: heartbeatInterval))
        }
    }
}

extension CoordinatorBenchmark {
    /// `--compare-http-listen`: each N with and without the operator's HTTP listener, alternating.
    private func compare(_ numbers: [Int], settings: CoordinatorRunSettings) async throws {
        var comparisons: [HTTPListenComparison] = []
        do {
            for count in numbers {
                comparisons.append(
                    try await HTTPListenComparison.run(
                        settings: settings,
                        count: count,
                        repeats: repeats,
                        scraping: MetricsScraping(interval: try parseDuration(scrapeInterval))
                    )
                )
            }
        } catch {
            ChildProcess.killAll()
            throw error
        }
        ChildProcess.killAll()
        if json {
            try printJSON(comparisons)
        } else {
            print(comparisons.map { $0.text() }.joined(separator: "\n\n"))
        }
    }
}

struct CoordinatorResults: Codable {
    var rows: [CoordinatorRow]
    var exhaustion: ExhaustionResult?
}
