import Foundation
import Testing

@testable import FleetStore

@Suite("HTTP admin API tokens")
struct APITokenTests {
    @Test(arguments: CoordinatorBackend.allCases)
    func aTokenIsFoundByItsHashAndStopsAtExpiryAndRevocation(kind: CoordinatorBackend) async throws {
        try await withCoordinator(kind) { store in
            let hash = [UInt8](repeating: 7, count: 32)
            let created = try await store.createAPIToken(
                NewAPIToken(
                    id: "a-01020304",
                    secretHash: hash,
                    scope: "read",
                    createdAt: Dates.at(0),
                    expiresAt: Dates.at(60)
                )
            )
            #expect(created.scope == "read" && created.revokedAt == nil)
            let found = try #require(try await store.apiToken(secretHash: hash))
            #expect(found == created)
            #expect(found.isUsable(at: Dates.at(59)))
            #expect(!found.isUsable(at: Dates.at(60)), "usable until its expiry, not at it")
            #expect(try await store.apiToken(secretHash: [UInt8](repeating: 8, count: 32)) == nil)

            await #expect(throws: StoreError.self) {
                try await store.createAPIToken(
                    NewAPIToken(id: "a-other", secretHash: hash, scope: "admin", createdAt: Dates.at(1), expiresAt: nil)
                )
            }
            #expect(try await store.revokeAPIToken(id: "a-01020304", at: Dates.at(5)))
            #expect(!(try await store.revokeAPIToken(id: "a-missing", at: Dates.at(5))))
            let revoked = try #require(try await store.apiToken(secretHash: hash))
            #expect(revoked.revokedAt == Dates.at(5) && !revoked.isUsable(at: Dates.at(6)))
            #expect(try await store.apiTokens().map(\.id) == ["a-01020304"])
            let kinds = try await store.events(deviceID: nil, limit: 10, afterSequence: nil).map(\.kind)
            #expect(kinds == ["api_token_created", "api_token_revoked"])
        }
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func eventsAfterASequenceAreTheOldestFirst(kind: CoordinatorBackend) async throws {
        try await withCoordinator(kind) { store in
            for index in 0..<5 {
                _ = try await store.appendEvent(
                    NewEvent(at: Dates.at(Double(index)), deviceID: nil, kind: "k\(index)", detail: "")
                )
            }
            let first = try await store.events(after: 0, limit: 2)
            #expect(first.map(\.kind) == ["k0", "k1"])
            let next = try await store.events(after: first[1].sequence, limit: 2)
            #expect(next.map(\.kind) == ["k2", "k3"])
            #expect(try await store.events(after: 0, limit: 0).isEmpty)
        }
    }
}
