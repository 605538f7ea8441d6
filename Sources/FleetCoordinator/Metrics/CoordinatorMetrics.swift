import FleetStore
import FleetWire
import Foundation
import Metrics
import NIOCore
import Prometheus
import Synchronization

/// The coordinator's metrics, recorded through swift-metrics' API into a Prometheus registry of its own (never the
/// process-wide `MetricsSystem`, so that two coordinators in one process, as in tests, never mix their figures) and
/// rendered in Prometheus' text format at `GET /metrics`.
///
/// On the hot path (a frame in or out) a metric is one array lookup by message type and one atomic add.
public final class CoordinatorMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    /// By message type byte; every type the protocol does not define shares the `unknown` series.
    private let framesReceived: [Metrics.Counter]
    private let framesSent: [Metrics.Counter]
    private let frameErrors = Mutex<[Int: Metrics.Counter]>([:])
    private let transferBytes = Mutex<[String: Metrics.Counter]>([:])
    private let roundAccuracy = Mutex<[String: Metrics.Gauge]>([:])
    private let driftPSI = Mutex<[String: Metrics.Gauge]>([:])
    private let devicesOnline: Metrics.Gauge
    private let devicesOffline: Metrics.Gauge
    private let connections: Metrics.Gauge
    /// One presence flush: lastSeen of every device heard from in the interval, and the status changes.
    let heartbeatFlush: Metrics.Timer
    /// One write transaction on the coordinator's SQLite database, as its caller waits for it (the wait for
    /// SQLite's single writer included).
    let sqliteWrite: Metrics.Timer
    /// One write transaction on the fleet's PostgreSQL database (`--database`), as its caller waits for it.
    let postgresWrite: Metrics.Timer

    public init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets["tinyfleet_heartbeat_flush_seconds"] = [
            .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .seconds(2.5),
        ]
        let writeBuckets: [Duration] = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2.5),
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5),
        ]
        factory.durationHistogramBuckets["tinyfleet_sqlite_write_seconds"] = writeBuckets
        factory.durationHistogramBuckets["tinyfleet_postgres_write_seconds"] = writeBuckets
        self.factory = factory
        func frames(_ direction: String) -> [Metrics.Counter] {
            let unknown = Metrics.Counter(
                label: "tinyfleet_frames_total",
                dimensions: [("type", "unknown"), ("direction", direction)],
                factory: factory
            )
            var counters = [Metrics.Counter](repeating: unknown, count: 256)
            for type in MessageType.allCases {
                counters[Int(type.rawValue)] = Metrics.Counter(
                    label: "tinyfleet_frames_total",
                    dimensions: [("type", "\(type)"), ("direction", direction)],
                    factory: factory
                )
            }
            return counters
        }
        framesReceived = frames("in")
        framesSent = frames("out")
        devicesOnline = Metrics.Gauge(label: "tinyfleet_devices", dimensions: [("status", "online")], factory: factory)
        devicesOffline = Metrics.Gauge(
            label: "tinyfleet_devices",
            dimensions: [("status", "offline")],
            factory: factory
        )
        connections = Metrics.Gauge(label: "tinyfleet_connections", factory: factory)
        heartbeatFlush = Metrics.Timer(label: "tinyfleet_heartbeat_flush_seconds", factory: factory)
        sqliteWrite = Metrics.Timer(label: "tinyfleet_sqlite_write_seconds", factory: factory)
        postgresWrite = Metrics.Timer(label: "tinyfleet_postgres_write_seconds", factory: factory)
    }

    /// A region's drift on a model, as last assessed (the median over features of the sample-size-corrected PSI,
    /// the quantity its drift alert is judged on). Regions are the devices' `region` labels, which only the
    /// operator's enrolment tokens set, so the series stay few.
    func drift(model: String, region: String, psi: Double) {
        Self.series(driftPSI, model + "\u{0}" + region) {
            Metrics.Gauge(
                label: "tinyfleet_drift_psi",
                dimensions: [("model", model), ("region", region)],
                factory: factory
            )
        }.record(psi)
    }

    func received(type: UInt8) { framesReceived[Int(type)].increment() }

    /// Counts the frame at the start of `buffer` (its type byte follows the 4-byte length).
    func sent(frame buffer: ByteBuffer) {
        guard let type = buffer.getInteger(at: buffer.readerIndex + Frame.lengthPrefixSize, as: UInt8.self) else {
            return
        }
        framesSent[Int(type)].increment()
    }

    /// An error frame sent to a device (protocol errors, refusals), by its code.
    func errorSent(code: Int) {
        Self.series(frameErrors, code) {
            Metrics.Counter(label: "tinyfleet_frame_errors_total", dimensions: [("code", "\(code)")], factory: factory)
        }.increment()
    }

    /// Payload bytes streamed to devices, by transfer encoding (`full`, `delta`).
    func transferred(bytes: Int, encoding: String) {
        Self.series(transferBytes, encoding) {
            Metrics.Counter(
                label: "tinyfleet_transfer_bytes_total",
                dimensions: [("encoding", encoding)],
                factory: factory
            )
        }.increment(by: Int64(bytes))
    }

    /// The text exposition (Prometheus 0.0.4), with the gauges read at scrape time.
    func render(_ gauges: FleetGauges, connections count: Int) -> [UInt8] {
        devicesOnline.record(gauges.devicesByStatus[.online] ?? 0)
        devicesOffline.record(gauges.devicesByStatus[.offline] ?? 0)
        connections.record(count)
        for (model, accuracy) in gauges.latestRoundAccuracy {
            Self.series(roundAccuracy, model) {
                Metrics.Gauge(label: "tinyfleet_round_accuracy", dimensions: [("model", model)], factory: factory)
            }.record(accuracy)
        }
        return registry.emitToBuffer()
    }

    /// The series of a labelled metric for `key`, made on first use.
    private static func series<Key: Hashable & Sendable, Metric: Sendable>(
        _ table: borrowing Mutex<[Key: Metric]>,
        _ key: Key,
        make: () -> Metric
    ) -> Metric {
        table.withLock { series in
            if let existing = series[key] { return existing }
            let made = make()
            series[key] = made
            return made
        }
    }
}
