import FleetStore
import FleetWire
import Foundation
import NIOCore
import Testing

@testable import FleetAgent

/// Reports queued in the agent's outbox are read back whole, also those an agent from before the `reportID`
/// field queued (their payload ends one field earlier): an upgrade does not leave them stuck in the outbox.
@Suite struct ModelReportOutboxTests {
    static let report = ModelReport(
        requestID: 0,
        model: "digits-mlp",
        version: 2,
        variant: "fp32",
        outcome: .refused,
        code: "rollback",
        detail: "v2 is older than v3",
        encoding: .full,
        wireBytes: 0,
        resumedFrom: 0
    )

    @Test func queuedReportsReadBackInOrderAlsoFromBeforeTheReportID() async throws {
        let store = try AgentStore.inMemory()
        let outbox = ModelReportOutbox(store: store)
        // As the previous agent wrote it: every field up to resumedFrom.
        var legacy = ByteBuffer()
        Self.report.write(to: &legacy)
        let withoutReportID = Array(legacy.readableBytesView.dropLast())
        _ = try await store.enqueue(
            kind: ModelReportOutbox.kind,
            payload: withoutReportID,
            idempotencyKey: nil,
            now: Date()
        )
        var current = Self.report
        current.detail = "queued now"
        await outbox.enqueue(current)

        let pending = try await outbox.pending()
        #expect(pending.map(\.report) == [Self.report, current])
        #expect(pending.map(\.sequence) == pending.map(\.sequence).sorted())
    }
}
