import FleetAgent
import FleetStore
import FleetTrust
import Foundation
import Testing

/// The agent's side: consent records signed and checked locally, samples kept only under `samples` consent and
/// within the caps, and a revocation that empties the queue at once.
@Suite struct ObservabilityAgentTests {
    func book() throws -> AgentConsentBook {
        AgentConsentBook(store: try AgentStore.inMemory(), identity: .generate())
    }

    func offer(
        _ book: AgentConsentBook,
        rows: Int,
        limits: SampleQueueLimits = SampleQueueLimits()
    ) async throws
        -> SampleQueueResult
    {
        try await book.store.enqueueSamples(
            model: "digits-mlp",
            header: "f0,prediction,label",
            lines: (0..<rows).map { "0.\($0),1,1" },
            now: Date(),
            limits: limits,
            consented: book.grantCheck(.samples, at: Date())
        )
    }

    @Test func samplesNeedConsentAndRevocationPurgesTheQueue() async throws {
        let book = try book()
        #expect(try await offer(book, rows: 3) == .noConsent)
        #expect(try await book.store.sampleQueueCounts().isEmpty)

        let (grant, _) = try await book.change(.samples, action: .grant, until: Date().addingTimeInterval(3600))
        #expect(grant.sequence == 1)
        #expect(try await offer(book, rows: 3) == .queued(rows: 3, queueSize: 3))
        #expect(try await offer(book, rows: 2) == .queued(rows: 2, queueSize: 5))
        #expect(try await book.store.sampleQueueCounts()["digits-mlp"] == 5)

        // A batch is formed once and offered again with the same key until acknowledged.
        let batch = try #require(try await book.store.nextSampleBatch(maximumRows: 4, keyPrefix: "d-x"))
        #expect(batch.lines.count == 4 && batch.key == "d-x-1-4")
        #expect(try await book.store.nextSampleBatch(maximumRows: 4, keyPrefix: "d-x") == batch)

        let (revoke, purged) = try await book.change(.samples, action: .revoke)
        #expect(revoke.sequence == 2 && purged == 5)
        #expect(try await book.store.sampleQueueCounts().isEmpty)
        #expect(try await offer(book, rows: 1) == .noConsent)
        let ledger = try await book.ledger()
        #expect(!ledger.isGranted(.samples, at: Date()))
        #expect(ledger.history.count == 2)
    }

    @Test func capsAndRefusedRecords() async throws {
        let book = try book()
        try await book.change(.samples, action: .grant)
        #expect(try await offer(book, rows: 11, limits: SampleQueueLimits(maximumRows: 10)) == .queueFull(limit: 10))
        #expect(
            try await offer(book, rows: 6, limits: SampleQueueLimits(maximumRowsPerMinute: 5))
                == .rateLimited(perMinute: 5)
        )
        // A grant that already ended is refused here, as the coordinator would refuse it.
        await #expect(throws: ConsentError.self) {
            try await book.change(.driftStats, action: .grant, until: Date().addingTimeInterval(-60))
        }
        #expect(try await book.store.consentRecords().count == 1)
    }
}
