import Foundation
import Testing

@testable import FleetStore

/// The outbox between the coordinators of a fleet (README "Several coordinators"), on every backend: messages for
/// devices online somewhere are queued in order, those for devices connected nowhere are dropped, delivered ones
/// are removed and undelivered ones expire.
@Suite struct OutboxStoreTests {
    @Test(arguments: CoordinatorBackend.allCases)
    func messagesForOnlineDevicesAreQueuedDeliveredAndExpired(backend: CoordinatorBackend) async throws {
        try await withCoordinator(backend) { store in
            try await Fixtures.enrolDevices(3, in: store)
            for id in ["dev-0", "dev-1"] {
                try await store.setStatus(deviceID: id, status: .online, at: Dates.at(1), detail: nil)
            }
            let queued = try await store.queueRelayed(
                [
                    ("dev-0", [1, 2, 3]), ("dev-2", [9]), ("dev-1", [4]), ("ghost", [7]), ("dev-0", [5, 6]),
                ],
                at: Dates.at(10)
            )
            #expect(queued == 3, "dev-2 is offline and ghost unknown: dropped")
            var messages = try await store.relayedMessages(limit: 10)
            #expect(messages.map(\.deviceID) == ["dev-0", "dev-1", "dev-0"])
            #expect(messages.map(\.frame) == [[1, 2, 3], [4], [5, 6]])
            #expect(messages.allSatisfy { $0.queuedAt == Dates.at(10) })
            #expect(try await store.relayedMessages(limit: 1).map(\.frame) == [[1, 2, 3]])

            // dev-0's two are delivered; dev-1's is kept until it expires.
            let expired = try await store.removeRelayed(
                ids: messages.filter { $0.deviceID == "dev-0" }.map(\.id),
                expiredBefore: Dates.at(5)
            )
            #expect(expired == 0)
            messages = try await store.relayedMessages(limit: 10)
            #expect(messages.map(\.deviceID) == ["dev-1"])
            try await store.queueRelayed([("dev-1", [8])], at: Dates.at(80))
            #expect(try await store.removeRelayed(ids: [], expiredBefore: Dates.at(70)) == 1)
            #expect(try await store.relayedMessages(limit: 10).map(\.frame) == [[8]])
        }
    }
}

/// Training updates forwarded to the round's coordinator (README "Several coordinators"), on every backend: kept
/// only for a running round, taken once in order, and discarded with the round.
@Suite struct ForwardedUpdateStoreTests {
    @Test(arguments: CoordinatorBackend.allCases)
    func updatesForARunningRoundAreTakenOnceInOrder(backend: CoordinatorBackend) async throws {
        try await withCoordinator(backend) { store in
            let round = try await store.startRound(
                model: "m",
                variant: "fp32",
                baseVersion: 1,
                strategy: "fedavg",
                settings: [:],
                seed: 1,
                at: Dates.at(1)
            )
            #expect(try await store.forwardUpdate(round: round, deviceID: "d-1", update: [1], at: Dates.at(2)))
            #expect(try await store.forwardUpdate(round: round, deviceID: "d-2", update: [2, 2], at: Dates.at(3)))
            #expect(try await !store.forwardUpdate(round: round + 1, deviceID: "d-3", update: [3], at: Dates.at(3)))
            let first = try await store.takeForwardedUpdates(round: round, limit: 1)
            #expect(first.map(\.deviceID) == ["d-1"] && first.map(\.update) == [[1]])
            let rest = try await store.takeForwardedUpdates(round: round, limit: 10)
            #expect(rest.map(\.deviceID) == ["d-2"] && rest.map(\.update) == [[2, 2]])
            #expect(try await store.takeForwardedUpdates(round: round, limit: 10).isEmpty)

            // A late one, then the round ends: nothing more is kept, and what was left is discarded.
            #expect(try await store.forwardUpdate(round: round, deviceID: "d-4", update: [4], at: Dates.at(4)))
            try await store.finishRound(
                id: round,
                status: .failed,
                publishedVersion: nil,
                testAccuracy: nil,
                bytesUp: 0,
                bytesDown: 0,
                detail: "test",
                at: Dates.at(5)
            )
            #expect(try await !store.forwardUpdate(round: round, deviceID: "d-5", update: [5], at: Dates.at(6)))
            try await store.discardForwardedUpdates(round: round)
            #expect(try await store.takeForwardedUpdates(round: round, limit: 10).isEmpty)
        }
    }
}
