import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `/metrics` scraped at a fixed interval while a steady pass runs, as Prometheus would.
struct MetricsScraping: Sendable {
    var interval: Duration

    /// Scrapes `url` every `interval` until the task is cancelled.
    func scrape(_ url: String) async -> ScrapeSummary {
        var summary = ScrapeSummary()
        guard let url = URL(string: url) else { return summary }
        var milliseconds: [Double] = []
        while !Task.isCancelled {
            let start = ContinuousClock.now
            do {
                let (data, response) = try await URLSession.shared.data(from: url)
                if (response as? HTTPURLResponse)?.statusCode == 200, !data.isEmpty {
                    summary.answered += 1
                    summary.bytes = data.count
                    milliseconds.append((ContinuousClock.now - start).seconds * 1000)
                } else {
                    summary.failed += 1
                }
            } catch {
                if Task.isCancelled { break }
                summary.failed += 1
            }
            try? await Task.sleep(until: start + interval)
        }
        summary.medianMilliseconds = milliseconds.isEmpty ? nil : median(milliseconds)
        summary.maximumMilliseconds = milliseconds.max()
        return summary
    }
}

/// The scrapes of one steady pass.
struct ScrapeSummary: Codable, Sendable {
    var answered = 0
    var failed = 0
    /// The size of the last answer.
    var bytes = 0
    var medianMilliseconds: Double?
    var maximumMilliseconds: Double?
}

/// `fleet-bench coordinator --compare-http-listen`: the cost of the operator's HTTP listener on the device link.
/// One enrolment pass, then steady passes alternating without and with `--http-listen` (A B A B …, so that the
/// load of a shared machine falls on both alike); each configuration's medians, their ratio and the spread.
struct HTTPListenComparison: Codable, Sendable {
    var count: Int
    var scrapeIntervalSeconds: Double
    /// In the order they ran: without, with, without, with, …
    var passes: [CoordinatorRow]

    static func run(
        settings: CoordinatorRunSettings,
        count: Int,
        repeats: Int,
        scraping: MetricsScraping
    ) async throws -> HTTPListenComparison {
        let run = CoordinatorRun(settings: settings, count: count)
        let directory = try makeTemporaryDirectory("fleet-bench-http-listen-\(count)")
        defer { if !settings.keepData { try? FileManager.default.removeItem(atPath: directory) } }
        let harness = CoordinatorHarness(binDirectory: settings.binDirectory, dataDirectory: directory)
        progress("[\(count)] data directory \(directory)")
        let enrolment = try await run.enrol(harness, directory: directory)
        var passes: [CoordinatorRow] = []
        for pass in 1...repeats {
            for http in [nil, scraping] {
                let configuration = http == nil ? "without" : "with"
                progress("[\(count)] pass \(pass) of \(repeats), \(configuration) --http-listen")
                let (row, _) = try await run.steady(
                    harness,
                    directory: directory,
                    enrolment: enrolment,
                    exhaustion: false,
                    http: http
                )
                passes.append(row)
            }
        }
        return HTTPListenComparison(count: count, scrapeIntervalSeconds: scraping.interval.seconds, passes: passes)
    }

    var without: [CoordinatorRow] { passes.filter { $0.httpListen != true } }
    var with: [CoordinatorRow] { passes.filter { $0.httpListen == true } }

    /// The median of the passes' figures; for an even count, the mean of the two middle ones (A B A B gives two
    /// passes of each configuration).
    static func centre(_ values: [Double]) -> Double? {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return nil }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// centre(with) / centre(without) of a figure.
    func ratio(_ figure: (CoordinatorRow) -> Double?) -> Double? {
        guard let a = Self.centre(without.compactMap(figure)), let b = Self.centre(with.compactMap(figure)), a > 0
        else { return nil }
        return b / a
    }

    /// with / without for each pair of passes that ran one after the other.
    func pairRatios(_ figure: (CoordinatorRow) -> Double?) -> String {
        zip(without, with).map { a, b in
            guard let a = figure(a), let b = figure(b), a > 0 else { return "-" }
            return String(format: "%.3f", b / a)
        }.joined(separator: ", ")
    }

    func text() -> String {
        let header = ["pass", "--http-listen", "held", "failures", "p50 ms", "p99 ms", "CPU %", "scrapes", "scrape ms"]
        let rows = passes.enumerated().map { index, row in
            [
                "\(index + 1)", row.httpListen == true ? "yes" : "no", "\(row.held)", "\(row.failureTotal)",
                formatMs(row.p50Milliseconds), formatMs(row.p99Milliseconds),
                String(format: "%.1f", row.coordinatorCPUPercent),
                row.scrapes.map { "\($0.answered)" + ($0.failed > 0 ? " (\($0.failed) failed)" : "") } ?? "-",
                formatMs(row.scrapes?.medianMilliseconds),
            ]
        }
        func summary(_ name: String, _ figure: (CoordinatorRow) -> Double?, _ format: String) -> String {
            func describe(_ rows: [CoordinatorRow]) -> String {
                let values = rows.compactMap(figure)
                guard let centre = Self.centre(values), let low = values.min(), let high = values.max() else {
                    return "-"
                }
                return String(format: format, centre) + " (" + String(format: format, low) + "–"
                    + String(format: format, high) + ")"
            }
            let ratio = self.ratio(figure).map { String(format: "%.3f", $0) } ?? "-"
            return "  \(name): without \(describe(without)), with \(describe(with)); ratio with/without \(ratio)"
        }
        return [
            "The operator's HTTP listener on the device link: \(count) agents, passes alternating without and with "
                + "--http-listen 127.0.0.1:0 (/metrics scraped every "
                + String(format: "%g", scrapeIntervalSeconds) + " s from the first heartbeat to the window's end)",
            "",
            renderTable(header, rows),
            "",
            "Medians (min–max) over \(without.count) passes each (of an even count, the mean of the middle two):",
            summary("heartbeat p99 ms", \.p99Milliseconds, "%.3f"),
            summary("heartbeat p50 ms", \.p50Milliseconds, "%.3f"),
            summary("coordinator CPU % of one core", { $0.coordinatorCPUPercent }, "%.1f"),
            "  each pair (with / the pass without just before it): p99 " + pairRatios(\.p99Milliseconds) + "; CPU "
                + pairRatios { $0.coordinatorCPUPercent },
            "Goal: within 5 % (ratio <= 1.05).",
        ].joined(separator: "\n")
    }
}
