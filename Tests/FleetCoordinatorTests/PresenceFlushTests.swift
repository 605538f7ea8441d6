import FleetStore
import Foundation
import Logging
import Testing

@testable import FleetCoordinator

/// SPEC.md 9.2, live and stored presence: each flush writes every newest sign of life and every status change
/// since the last flush, so after a flush the stored presence equals the live one, and before it the store
/// trails by what happened since the previous flush.
@Suite struct PresenceFlushTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    func setUp(devices: Int) async throws -> (PresenceTracker, PresenceFlusher, CoordinatorStore) {
        let store = try CoordinatorStore.inMemory()
        _ = try await store.createToken(
            NewEnrolmentToken(
                id: "t-1",
                secretHash: [UInt8](repeating: 1, count: 32),
                uses: devices,
                expiresAt: nil,
                labels: [:],
                createdAt: start
            )
        )
        for index in 0..<devices {
            _ = try await store.enrol(
                device: NewDevice(
                    id: "d-\(index)",
                    name: "device \(index)",
                    publicKey: [UInt8](repeating: UInt8(index), count: 32),
                    labels: [:],
                    capabilities: [:],
                    agentVersion: "test",
                    enrolledAt: start
                ),
                tokenHash: [UInt8](repeating: 1, count: 32),
                now: start
            )
        }
        let tracker = PresenceTracker(offlineTimeout: 30)
        let flusher = PresenceFlusher(
            tracker: tracker,
            store: store,
            interval: .seconds(1),
            metrics: CoordinatorMetrics(),
            logger: Logger.quietTest
        )
        return (tracker, flusher, store)
    }

    /// Stored (status, lastSeen) of each device, to the millisecond.
    func stored(_ store: CoordinatorStore) async throws -> [String: (DeviceStatus, Int64?)] {
        var result: [String: (DeviceStatus, Int64?)] = [:]
        for device in try await store.devices() {
            result[device.id] = (
                device.status, device.lastSeen.map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) }
            )
        }
        return result
    }

    func milliseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }

    @Test func afterEachFlushTheStoreEqualsTheLivePresence() async throws {
        let (tracker, flusher, store) = try await setUp(devices: 3)
        // Second 0: d-0 and d-1 connect; d-1 sends heartbeats every 0.1 s for 5 s. Nothing is stored yet.
        tracker.connected("d-0", at: start)
        tracker.connected("d-1", at: start)
        for tenth in 1...50 { tracker.touch("d-1", at: start.addingTimeInterval(Double(tenth) / 10)) }
        #expect(try await stored(store)["d-1"]?.0 == .offline)
        #expect(try await stored(store)["d-1"]?.1 == nil)

        await flusher.flush(now: start.addingTimeInterval(5))
        var now = try await stored(store)
        #expect(now["d-0"]?.0 == .online && now["d-0"]?.1 == milliseconds(start))
        #expect(now["d-1"]?.0 == .online && now["d-1"]?.1 == milliseconds(start.addingTimeInterval(5)))
        #expect(now["d-2"]?.0 == .offline && now["d-2"]?.1 == nil)

        // d-1 goes on; before the next flush the store trails (still second 5), after it the store has second 20.
        tracker.touch("d-1", at: start.addingTimeInterval(20))
        #expect(try await stored(store)["d-1"]?.1 == milliseconds(start.addingTimeInterval(5)))
        // Second 31: d-0 has been silent for 31 s, longer than the timeout; the same flush marks it offline.
        await flusher.flush(now: start.addingTimeInterval(31))
        now = try await stored(store)
        #expect(!tracker.isOnline("d-0") && tracker.isOnline("d-1"))
        #expect(now["d-0"]?.0 == .offline)
        #expect(now["d-1"]?.0 == .online && now["d-1"]?.1 == milliseconds(start.addingTimeInterval(20)))
        let events = try await store.events(deviceID: "d-0", limit: 10, afterSequence: 0).map(\.kind)
        #expect(events.suffix(2) == ["online", "offline"])
    }
}
