import Foundation
import Testing

@testable import FleetStore

/// Leases on single-owner work (README "Several coordinators"), on every backend: one holder at a time, renewed by
/// its holder, taken over once expired, and one winner when coordinators race.
@Suite struct LeaseStoreTests {
    @Test(arguments: CoordinatorBackend.allCases)
    func oneHolderAtATimeUntilItsClaimExpires(backend: CoordinatorBackend) async throws {
        try await withCoordinator(backend) { store in
            #expect(try await store.leaseHolder("rounds", now: Dates.at(0)) == nil)
            #expect(try await store.acquireLease("rounds", owner: "a", until: Dates.at(15), now: Dates.at(0)))
            #expect(try await store.leaseHolder("rounds", now: Dates.at(1)) == "a")
            // Held: b is refused; a renews.
            #expect(try await !store.acquireLease("rounds", owner: "b", until: Dates.at(20), now: Dates.at(5)))
            #expect(try await store.acquireLease("rounds", owner: "a", until: Dates.at(25), now: Dates.at(10)))
            #expect(try await !store.acquireLease("rounds", owner: "b", until: Dates.at(35), now: Dates.at(20)))
            // Another name is another lease.
            #expect(try await store.acquireLease("pruning", owner: "b", until: Dates.at(35), now: Dates.at(20)))
            // a's claim ends at 25 s: b takes it over, and a is refused from then on.
            #expect(try await store.leaseHolder("rounds", now: Dates.at(26)) == nil)
            #expect(try await store.acquireLease("rounds", owner: "b", until: Dates.at(41), now: Dates.at(26)))
            #expect(try await !store.acquireLease("rounds", owner: "a", until: Dates.at(42), now: Dates.at(27)))
            // Only the holder gives it up.
            try await store.releaseLease("rounds", owner: "a")
            #expect(try await store.leaseHolder("rounds", now: Dates.at(28)) == "b")
            try await store.releaseLease("rounds", owner: "b")
            #expect(try await store.leaseHolder("rounds", now: Dates.at(28)) == nil)
            #expect(try await store.acquireLease("rounds", owner: "a", until: Dates.at(43), now: Dates.at(28)))
        }
    }

    @Test func coordinatorsRacingForAFreeLeaseGetOneHolder() async throws {
        try await withCoordinator(.postgres) { store in
            let granted = try await withThrowingTaskGroup(of: (String, Bool).self) { group in
                for racer in 0..<8 {
                    group.addTask {
                        let owner = "coordinator-\(racer)"
                        return (
                            owner,
                            try await store.acquireLease("rounds", owner: owner, until: Dates.at(15), now: Dates.at(0))
                        )
                    }
                }
                return try await group.reduce(into: [String: Bool]()) { $0[$1.0] = $1.1 }
            }
            let winners = granted.filter(\.value).map(\.key)
            #expect(winners.count == 1, "\(granted)")
            #expect(try await store.leaseHolder("rounds", now: Dates.at(1)) == winners.first)
        }
    }
}
