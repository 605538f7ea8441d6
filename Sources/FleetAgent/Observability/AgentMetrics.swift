import FleetWire
import Metrics
import Prometheus
import Synchronization

/// The agent's own counters, recorded through swift-metrics' API into a Prometheus registry of its own (never the
/// process-wide `MetricsSystem`, so that two agents in one process, as in tests, never mix their figures).
/// Applications read them with the local socket's `metrics` op (`Protocol/LOCAL.md`); a Prometheus server with
/// `fleet-agent --metrics-listen HOST:PORT` (`GET /metrics`).
///
/// Every label takes its values from a closed set (the local ops, the error codes the agent answers, the model
/// report statuses), so no request can grow the registry.
public final class AgentMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private let connected: Metrics.Gauge
    private let sessions: Metrics.Counter
    private let connectionFailures: Metrics.Counter
    private let leafSessions: Metrics.Gauge
    private let leafSessionCount = Atomic<Int>(0)
    private let sessionUp = Atomic<Bool>(false)

    /// The ops the local socket knows (`Protocol/LOCAL.md`); any other is counted as `unknown`.
    static let localOps: Set<String> = ["infer", "observe", "sample", "status", "model", "meter", "quota", "metrics"]

    public init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2.5),
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5),
        ]
        self.factory = factory
        connected = Metrics.Gauge(label: "tinyfleet_agent_connected", factory: factory)
        sessions = Metrics.Counter(label: "tinyfleet_agent_sessions_total", factory: factory)
        connectionFailures = Metrics.Counter(label: "tinyfleet_agent_connection_failures_total", factory: factory)
        leafSessions = Metrics.Gauge(label: "tinyfleet_agent_leaf_sessions", factory: factory)
        connected.record(0)
        leafSessions.record(0)
    }

    /// The coordinator welcomed this device: a session is up.
    func sessionStarted() {
        sessionUp.store(true, ordering: .relaxed)
        sessions.increment()
        connected.record(1)
    }

    /// A connection attempt ended; one that never reached ``sessionStarted()`` counts as a failure.
    func sessionEnded() {
        if !sessionUp.exchange(false, ordering: .relaxed) { connectionFailures.increment() }
        connected.record(0)
    }

    /// A leaf's session through this gateway opened (`+1`) or closed (`-1`).
    func leafSession(_ change: Int) {
        let now = leafSessionCount.wrappingAdd(change, ordering: .relaxed).newValue
        leafSessions.record(now)
    }

    /// A model report queued for the coordinator: its outcome, and the payload bytes the install cost by encoding.
    func queued(_ report: ModelReport) {
        counter("tinyfleet_agent_model_reports_total", [("outcome", "\(report.outcome)")]).increment()
        if report.wireBytes > 0 {
            counter("tinyfleet_agent_transfer_bytes_total", [("encoding", "\(report.encoding)")])
                .increment(by: Int64(report.wireBytes))
        }
    }

    /// One local-socket request answered in `elapsed`.
    func answered(_ request: LocalRequest, _ response: LocalResponse, elapsed: Duration) {
        let op = Self.localOps.contains(request.op) ? request.op : "unknown"
        let result = response.ok ? "ok" : Self.errorLabel(response.error)
        counter("tinyfleet_agent_local_requests_total", [("op", op), ("result", result)]).increment()
        timer("tinyfleet_agent_local_request_seconds", op: op).record(duration: elapsed)
        guard request.op == "infer" || request.op == "meter" else { return }
        if response.ok, let count = response.count, count > 0 {
            let via = request.op == "meter" ? "application" : (response.via ?? "device")
            counter("tinyfleet_agent_inferences_total", [("via", via)]).increment(by: Int64(count))
        }
        if let refused = response.refused, refused > 0 {
            let reason = response.ok ? "quota-exhausted" : Self.errorLabel(response.error)
            counter("tinyfleet_agent_queries_refused_total", [("reason", reason)]).increment(by: Int64(refused))
        }
    }

    /// The text exposition (Prometheus 0.0.4).
    public func render() -> [UInt8] { registry.emitToBuffer() }

    /// The same samples as ``render()``, for the `metrics` op's JSON answer.
    public func samples() -> [MetricSample] { MetricSample.parse(exposition: render()) }

    /// The error codes the agent answers (`Protocol/LOCAL.md`); an unexpected one is counted as `other`.
    private static func errorLabel(_ code: String?) -> String {
        guard let code, code.utf8.count <= 32 else { return "other" }
        let lowercaseAndDashes = code.utf8.allSatisfy { $0 == UInt8(ascii: "-") || (0x61...0x7A).contains($0) }
        return lowercaseAndDashes ? code : "other"
    }

    /// The registry hands back the series it already holds for the same name and labels, so nothing is cached here.
    private func counter(_ label: String, _ dimensions: [(String, String)]) -> Metrics.Counter {
        Metrics.Counter(label: label, dimensions: dimensions, factory: factory)
    }

    private func timer(_ label: String, op: String) -> Metrics.Timer {
        Metrics.Timer(label: label, dimensions: [("op", op)], factory: factory)
    }
}

/// One sample of the text exposition: `name{labels} value`, as the `metrics` op answers it in JSON.
public struct MetricSample: Codable, Sendable, Equatable {
    public var name: String
    public var labels: [String: String]
    public var value: Double

    /// Reads the sample lines of a Prometheus text exposition (comments and blank lines skipped). Label values
    /// may carry the format's escapes (`\\`, `\"`, `\n`).
    static func parse(exposition: [UInt8]) -> [MetricSample] {
        String(decoding: exposition, as: UTF8.self).split(separator: "\n").compactMap { line in
            guard !line.hasPrefix("#") else { return nil }
            return parse(line: line)
        }
    }

    private static func parse(line: Substring) -> MetricSample? {
        guard let end = line.lastIndex(of: " "), let value = Double(line[line.index(after: end)...]) else {
            return nil
        }
        let series = line[..<end]
        guard let open = series.firstIndex(of: "{") else {
            return MetricSample(name: String(series), labels: [:], value: value)
        }
        var labels: [String: String] = [:]
        var rest = series[series.index(after: open)...]
        while let equals = rest.firstIndex(of: "="), rest[rest.index(after: equals)...].first == "\"" {
            let key = rest[..<equals].trimmingPrefix(",")
            var text = ""
            var index = rest.index(equals, offsetBy: 2)
            while index < rest.endIndex, rest[index] != "\"" {
                if rest[index] == "\\", rest.index(after: index) < rest.endIndex {
                    index = rest.index(after: index)
                    text.append(rest[index] == "n" ? "\n" : rest[index])
                } else {
                    text.append(rest[index])
                }
                index = rest.index(after: index)
            }
            labels[String(key)] = text
            guard index < rest.endIndex else { break }
            rest = rest[rest.index(after: index)...]
        }
        return MetricSample(name: String(series[..<open]), labels: labels, value: value)
    }
}
