import Foundation
import Testing

@testable import FleetCoordinator

@Suite struct PresenceTrackerTests {
    let start = Date(timeIntervalSince1970: 1_000_000)

    @Test func heartbeatsCoalesceIntoOneLastSeenPerDevice() {
        let tracker = PresenceTracker(offlineTimeout: 30)
        tracker.connected("a", at: start)
        for second in 1...100 { tracker.touch("a", at: start.addingTimeInterval(Double(second) / 10)) }
        tracker.touch("b", at: start)
        let drain = tracker.drain()
        #expect(drain.lastSeen.count == 2)
        #expect(drain.lastSeen["a"] == start.addingTimeInterval(10))
        #expect(drain.statusChanges.map(\.deviceID).sorted() == ["a", "b"])
        #expect(drain.statusChanges.allSatisfy { $0.online })
        let empty = tracker.drain()
        #expect(empty.lastSeen.isEmpty && empty.statusChanges.isEmpty)
    }

    @Test func silentDevicesGoOfflineAfterTheTimeoutOnly() {
        let tracker = PresenceTracker(offlineTimeout: 30)
        tracker.connected("a", at: start)
        tracker.connected("b", at: start)
        _ = tracker.drain()
        tracker.touch("b", at: start.addingTimeInterval(20))
        tracker.sweep(now: start.addingTimeInterval(29))
        #expect(tracker.drain().statusChanges.isEmpty)
        tracker.sweep(now: start.addingTimeInterval(31))
        let changes = tracker.drain().statusChanges
        #expect(changes.map(\.deviceID) == ["a"])
        #expect(changes.first?.online == false)
        #expect(!tracker.isOnline("a") && tracker.isOnline("b"))
    }

    @Test func aQuickReconnectDoesNotFlap() {
        let tracker = PresenceTracker(offlineTimeout: 30)
        tracker.connected("a", at: start)
        _ = tracker.drain()
        tracker.disconnected("a")
        tracker.connected("a", at: start.addingTimeInterval(2))
        #expect(tracker.drain().statusChanges.isEmpty)
        #expect(tracker.connectionCount == 1)
    }
}
