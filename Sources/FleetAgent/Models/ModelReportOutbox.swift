import FleetStore
import FleetWire
import Foundation
import NIOCore

/// Model reports wait in the agent's SQLite outbox until the coordinator acknowledges them, so an install or a
/// refusal made offline (or just before a crash) still reaches the coordinator's event log.
struct ModelReportOutbox: Sendable {
    let store: AgentStore
    /// Counts what is queued (`tinyfleet_agent_model_reports_total`); nil: not counted.
    var metrics: AgentMetrics? = nil
    static let kind = "model-report"

    func enqueue(_ report: ModelReport) async {
        metrics?.queued(report)
        var buffer = ByteBuffer()
        report.write(to: &buffer)
        _ = try? await store.enqueue(
            kind: Self.kind,
            payload: Array(buffer.readableBytesView),
            idempotencyKey: nil,
            now: Date()
        )
    }

    /// Pending reports, oldest first, with their outbox sequence numbers. A report queued by an agent from before
    /// the `reportID` field lacks its last byte; it reads as reportID 0 (the sequence replaces it when sent).
    func pending() async throws -> [(sequence: Int64, report: ModelReport)] {
        try await store.pendingOutbox(limit: 100).compactMap { item in
            guard item.kind == Self.kind else { return nil }
            for payload in [item.payload, item.payload + [0]] {
                var reader = WireReader(ByteBuffer(bytes: payload))
                if let report = try? ModelReport(reading: &reader), reader.remaining == 0 {
                    return (item.sequence, report)
                }
            }
            return nil
        }
    }

    func acknowledge(upTo sequence: Int64) async throws {
        _ = try await store.acknowledgeOutbox(upTo: sequence)
    }
}
