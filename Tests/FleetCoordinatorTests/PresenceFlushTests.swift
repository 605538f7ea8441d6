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
        let (tracker, flusher) = coordinator(on: store)
        return (tracker, flusher, store)
    }

    /// One coordinator's presence on `store`: its tracker and its flusher.
    func coordinator(on store: CoordinatorStore) -> (PresenceTracker, PresenceFlusher) {
        let tracker = PresenceTracker(offlineTimeout: 30)
        let flusher = PresenceFlusher(
            tracker: tracker,
            store: store,
            interval: .seconds(1),
            metrics: CoordinatorMetrics(),
            logger: Logger.quietTest
        )
        return (tracker, flusher)
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

    /// Two coordinators on one database (README "Several coordinators"): a device that moved from A to B is never
    /// marked offline by A, neither by A's own timeout nor by its goodbye on A's connection; once B stops hearing
    /// it too, A's sweep of the database marks it offline, once.
    @Test func aDeviceThatMovedIsNeverMarkedOfflineByTheCoordinatorItLeft() async throws {
        let (trackerA, flusherA, store) = try await setUp(devices: 1)
        let (trackerB, flusherB) = coordinator(on: store)
        func at(_ seconds: Double) -> Date { start.addingTimeInterval(seconds) }
        func status() async throws -> DeviceStatus? { try await store.device(id: "d-0")?.status }

        trackerA.connected("d-0", at: at(0))
        await flusherA.flush(now: at(1))
        #expect(try await status() == .online)
        // At 10 s the device is on B (A's connection not closed yet), which hears it until 40 s.
        trackerB.connected("d-0", at: at(10))
        for second in stride(from: 12.0, through: 40, by: 2) {
            trackerB.touch("d-0", at: at(second))
            await flusherB.flush(now: at(second + 0.5))
        }
        // A's timeout passes (silent on A since 0 s), and its database sweep runs: the device stays online.
        await flusherA.flush(now: at(35))
        await flusherA.sweepDatabase(now: at(41))
        #expect(!trackerA.isOnline("d-0"))
        #expect(try await status() == .online)
        // A goodbye on a second, stale connection to A, then closed: B heard it after, so it stays online.
        trackerA.connected("d-0", at: at(9))
        trackerA.leftGracefully("d-0", at: at(9.5))
        await flusherA.flush(now: at(41))
        #expect(try await status() == .online)
        var events = try await store.events(deviceID: "d-0", limit: 20, afterSequence: 0).map(\.kind)
        #expect(!events.contains("offline"), "\(events)")

        // B stops (or dies) at 40 s: A's sweep marks the device offline once its timeout has passed, and only then.
        await flusherA.sweepDatabase(now: at(69))
        #expect(try await status() == .online)
        await flusherA.sweepDatabase(now: at(71))
        await flusherA.sweepDatabase(now: at(80))
        #expect(try await status() == .offline)
        events = try await store.events(deviceID: "d-0", limit: 20, afterSequence: 0).map(\.kind)
        #expect(events.filter { $0 == "offline" }.count == 1, "\(events)")
        // A device connected to the sweeping coordinator is not swept, whatever the database says.
        trackerA.connected("d-0", at: at(81))
        await flusherA.flush(now: at(82))
        #expect(try await status() == .online)
        await flusherA.sweepDatabase(now: at(200))
        #expect(try await status() == .online)
    }
}
