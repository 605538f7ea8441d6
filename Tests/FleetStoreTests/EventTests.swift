import Foundation
import Testing

@testable import FleetStore

@Suite("Event log")
struct EventTests {
    /// Appends ten events alternating between dev-a and dev-b, with a fleet-wide one at the end.
    private func seed(_ store: CoordinatorStore) async throws -> [EventRecord] {
        var records: [EventRecord] = []
        for index in 0..<10 {
            records.append(
                try await store.appendEvent(
                    NewEvent(
                        at: Dates.at(Double(index)),
                        deviceID: index.isMultiple(of: 2) ? "dev-a" : "dev-b",
                        kind: "k\(index)",
                        detail: "d\(index)"
                    )
                )
            )
        }
        records.append(
            try await store.appendEvent(NewEvent(at: Dates.at(10), deviceID: nil, kind: "fleet", detail: ""))
        )
        return records
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func appendedEventsHaveIncreasingSequences(kind: CoordinatorBackend) async throws {
        try await withCoordinator(kind) { store in
            let records = try await seed(store)

            #expect(records.map(\.sequence) == records.map(\.sequence).sorted())
            #expect(Set(records.map(\.sequence)).count == records.count)
            #expect(try await store.events(deviceID: nil, limit: 100, afterSequence: nil) == records)
        }
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func filterByDevice(kind: CoordinatorBackend) async throws {
        try await withCoordinator(kind) { store in
            let records = try await seed(store)

            let events = try await store.events(deviceID: "dev-a", limit: 100, afterSequence: nil)

            #expect(events == records.filter { $0.deviceID == "dev-a" })
            #expect(events.map(\.kind) == ["k0", "k2", "k4", "k6", "k8"])
        }
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func limitKeepsTheNewestInOrder(kind: CoordinatorBackend) async throws {
        try await withCoordinator(kind) { store in
            _ = try await seed(store)

            #expect(
                try await store.events(deviceID: nil, limit: 3, afterSequence: nil).map(\.kind) == [
                    "k8", "k9", "fleet",
                ]
            )
            #expect(
                try await store.events(deviceID: "dev-b", limit: 2, afterSequence: nil).map(\.kind) == ["k7", "k9"]
            )
            #expect(try await store.events(deviceID: nil, limit: 0, afterSequence: nil).isEmpty)
        }
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func afterSequenceKeepsLaterEvents(kind: CoordinatorBackend) async throws {
        try await withCoordinator(kind) { store in
            let records = try await seed(store)
            let cursor = records[5].sequence

            let all = try await store.events(deviceID: nil, limit: 100, afterSequence: cursor)
            let deviceA = try await store.events(deviceID: "dev-a", limit: 100, afterSequence: cursor)
            let newestTwo = try await store.events(deviceID: nil, limit: 2, afterSequence: cursor)
            let none = try await store.events(deviceID: nil, limit: 100, afterSequence: records[10].sequence)

            #expect(all.map(\.kind) == ["k6", "k7", "k8", "k9", "fleet"])
            #expect(deviceA.map(\.kind) == ["k6", "k8"])
            #expect(newestTwo.map(\.kind) == ["k9", "fleet"])
            #expect(none.isEmpty)
        }
    }
}
