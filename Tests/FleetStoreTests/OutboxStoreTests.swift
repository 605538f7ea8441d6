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
