import FleetStore
import FleetTrust
import Foundation
import Testing

@testable import FleetAgent

/// The agent's meter against a real (in-memory) SQLite ledger (`Protocol/METERING.md`, "Balance").
@Suite struct MeterTests {
    let release = ReleaseKey.generate()
    let identity = DeviceIdentity.generate()
    var deviceID: String { DeviceIdentity.deviceID(forPublicKey: identity.publicKey) }
    let t0 = Date(timeIntervalSince1970: 1_790_000_000)

    func meter(_ store: AgentStore, connected: Bool = true) -> Meter {
        let key = release.publicKey
        return Meter(
            store: store,
            identity: identity,
            deviceID: deviceID,
            releaseKey: { key },
            isConnected: { connected }
        )
    }

    func store(_ grants: [QuotaGrant], signer: ReleaseKey? = nil) async throws -> AgentStore {
        let store = try AgentStore.inMemory()
        try await store.storeQuotaGrants(
            try grants.map { ($0.sequence, $0.model, try SignedQuotaGrant.sign($0, with: signer ?? release).encoded()) }
        )
        return store
    }

    func grant(
        _ sequence: UInt64,
        queries: UInt64,
        device: String? = nil,
        rate: UInt64 = 0,
        grace: UInt64 = 0
    )
        -> QuotaGrant
    {
        QuotaGrant(
            deviceID: device ?? deviceID,
            model: "digits-mlp",
            sequence: sequence,
            queries: queries,
            issuedAt: t0,
            ratePerSecond: rate,
            offlineGrace: grace
        )
    }

    func allowed(_ meter: Meter, _ count: Int, at instant: Date) async throws -> Int {
        guard
            case .metered(let allowed, _, _) = try await meter.charge(
                model: "digits-mlp",
                version: 1,
                requested: count,
                now: instant
            )
        else { return -1 }
        return allowed
    }

    @Test func aModelWithoutGrantsIsNotMetered() async throws {
        let decision = try await meter(try AgentStore.inMemory()).charge(model: "digits-mlp", version: 1, requested: 3)
        guard case .unmetered = decision else {
            Issue.record("metered without a grant")
            return
        }
    }

    @Test func exactlyTheGrantedQueriesAreAnsweredAndEachIsAReceipt() async throws {
        let store = try await store([grant(1, queries: 100)])
        let meter = meter(store)
        var answered = 0
        for _ in 0..<150 { answered += try await allowed(meter, 1, at: t0) }
        #expect(answered == 100)
        let size = try await store.usageLedgerSize()
        #expect(size.receipts == 100)
        // A request larger than what is left gets what is left.
        try await store.storeQuotaGrants([
            (2, "digits-mlp", try SignedQuotaGrant.sign(grant(2, queries: 3), with: release).encoded())
        ])
        #expect(try await allowed(meter, 5, at: t0) == 3)
    }

    @Test func grantsOfAnotherDeviceOrAnotherSignerDoNotCount() async throws {
        let copied = try await store([grant(1, queries: 100, device: "d-8899aabbccddeeff")])
        guard
            case .metered(let answered, let state, _) = try await meter(copied).charge(
                model: "digits-mlp",
                version: 1,
                requested: 1,
                now: t0
            )
        else {
            Issue.record("a model with a (copied) grant record must be metered")
            return
        }
        #expect(answered == 0 && state.rejectedGrants == 1 && state.granted == 0)
        let forged = try await store([grant(1, queries: 100)], signer: ReleaseKey.generate())
        #expect(try await allowed(meter(forged), 1, at: t0) == 0)
    }

    @Test func theRateLimitHoldsQueriesBackUntilTokensRefill() async throws {
        let meter = meter(try await store([grant(1, queries: 100, rate: 5)]))
        #expect(try await allowed(meter, 8, at: t0) == 5)
        #expect(try await allowed(meter, 1, at: t0) == 0)
        #expect(try await allowed(meter, 8, at: t0.addingTimeInterval(1)) == 5)
    }

    @Test func offlineGraceOnlyWithoutTheCoordinator() async throws {
        let store = try await store([grant(1, queries: 2, grace: 3)])
        #expect(try await allowed(meter(store, connected: true), 10, at: t0) == 2)
        #expect(try await allowed(meter(store, connected: true), 10, at: t0) == 0)
        #expect(try await allowed(meter(store, connected: false), 10, at: t0) == 3)
        #expect(try await allowed(meter(store, connected: false), 10, at: t0) == 0)
    }

    @Test func receiptsFormAChainSignedByTheDevice() async throws {
        let store = try await store([grant(1, queries: 10)])
        let meter = meter(store)
        for _ in 0..<3 { _ = try await allowed(meter, 2, at: t0) }
        let receipts = try await store.unsyncedUsageReceipts(limit: 10).map {
            try SignedUsageReceipt(decoding: $0.record)
        }
        #expect(receipts.map(\.receipt.index) == [0, 1, 2])
        #expect(receipts.map(\.receipt.count) == [2, 2, 2])
        #expect(receipts[0].receipt.previous == UsageReceipt.genesis)
        for (previous, next) in zip(receipts, receipts.dropFirst()) {
            #expect(next.receipt.previous == (try previous.hash()))
        }
        #expect(receipts.allSatisfy { $0.isSigned(by: identity.publicKey) })
    }
}
