import Testing

@testable import FleetStore

/// The fleet's shared secrets in the database (README "Several coordinators"), on every backend: the first value
/// stored stays, and a later one gets it back.
@Suite struct FleetSecretStoreTests {
    @Test(arguments: CoordinatorBackend.allCases)
    func theFirstSecretStoredStaysAndIsWhatLaterCoordinatorsGet(backend: CoordinatorBackend) async throws {
        try await withCoordinator(backend) { (store: CoordinatorStore) async throws in
            #expect(try await store.fleetSecret(named: "release") == nil)
            let first = [UInt8](repeating: 1, count: 32)
            let second = [UInt8](repeating: 2, count: 32)
            #expect(try await store.storeFleetSecretIfAbsent(named: "release", value: first) == first)
            #expect(try await store.storeFleetSecretIfAbsent(named: "release", value: second) == first)
            #expect(try await store.fleetSecret(named: "release") == first)
            #expect(try await store.fleetSecret(named: "admin") == nil)
            #expect(try await store.storeFleetSecretIfAbsent(named: "admin", value: second) == second)
            #expect(try await store.fleetSecret(named: "release") == first)
        }
    }

    @Test func coordinatorsRacingOnAnEmptyDatabaseAllGetTheSameSecret() async throws {
        try await withCoordinator(.postgres) { (store: CoordinatorStore) async throws in
            let values = (0..<8).map { [UInt8](repeating: UInt8($0 + 1), count: 32) }
            let stored = try await withThrowingTaskGroup(of: [UInt8].self) { group in
                for value in values {
                    group.addTask { try await store.storeFleetSecretIfAbsent(named: "model-protection", value: value) }
                }
                return try await group.reduce(into: [[UInt8]]()) { $0.append($1) }
            }
            #expect(Set(stored).count == 1, "every racer got the one stored: \(Set(stored).count) different")
            #expect(values.contains(stored[0]))
            #expect(try await store.fleetSecret(named: "model-protection") == stored[0])
        }
    }
}
