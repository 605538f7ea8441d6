import Foundation
import Testing

@testable import FleetStore

/// Presence judged from the database (README "Several coordinators"), on every backend: a device goes offline only
/// when no coordinator has written a later sign of life of it, once, and a start marks offline only the silent ones.
@Suite("Presence across coordinators")
struct PresenceStoreTests {
    /// Four devices: dev-0 online, last seen at 5 s; dev-1 online, seen at 50 s; dev-2 offline, seen at 1 s; dev-3
    /// online, never seen (online from its connection, before its first flush).
    func fleet(_ store: CoordinatorStore) async throws {
        try await Fixtures.enrolDevices(4, in: store)
        try await store.recordHeartbeats([
            HeartbeatUpdate(deviceID: "dev-0", lastSeen: Dates.at(5), reported: nil),
            HeartbeatUpdate(deviceID: "dev-1", lastSeen: Dates.at(50), reported: nil),
            HeartbeatUpdate(deviceID: "dev-2", lastSeen: Dates.at(1), reported: nil),
        ])
        for id in ["dev-0", "dev-1", "dev-3"] {
            try await store.setStatus(deviceID: id, status: .online, at: Dates.at(2), detail: nil)
        }
    }

    func offlineEvents(_ store: CoordinatorStore, _ id: String) async throws -> [String] {
        try await store.events(deviceID: id, limit: 100, afterSequence: nil).filter { $0.kind == "offline" }.map(
            \.detail
        )
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func aDeviceHeardFromSinceIsNotMarkedOffline(backend: CoordinatorBackend) async throws {
        try await withCoordinator(backend) { store in
            try await fleet(store)
            // The coordinator dev-1 left last heard it at 40 s; another coordinator has written 50 s since.
            #expect(
                try await !store.markOfflineIfSilent(
                    deviceID: "dev-1",
                    seenNoLaterThan: Dates.at(40),
                    at: Dates.at(60),
                    detail: "no heartbeat for 20s"
                )
            )
            #expect(try await store.device(id: "dev-1")?.status == .online)
            #expect(try await offlineEvents(store, "dev-1").isEmpty)
            // Its own last sign of life is the newest: offline, with one event; a second call changes nothing.
            #expect(
                try await store.markOfflineIfSilent(
                    deviceID: "dev-1",
                    seenNoLaterThan: Dates.at(50),
                    at: Dates.at(80),
                    detail: "no heartbeat for 30s"
                )
            )
            #expect(try await store.device(id: "dev-1")?.status == .offline)
            #expect(
                try await !store.markOfflineIfSilent(
                    deviceID: "dev-1",
                    seenNoLaterThan: Dates.at(90),
                    at: Dates.at(90),
                    detail: "again"
                )
            )
            #expect(try await offlineEvents(store, "dev-1") == ["no heartbeat for 30s"])
            // Never seen, and unknown.
            #expect(
                try await store.markOfflineIfSilent(
                    deviceID: "dev-3",
                    seenNoLaterThan: Dates.at(0),
                    at: Dates.at(9),
                    detail: ""
                )
            )
            #expect(
                try await !store.markOfflineIfSilent(
                    deviceID: "ghost",
                    seenNoLaterThan: Dates.at(9),
                    at: Dates.at(9),
                    detail: ""
                )
            )
        }
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func theSilentOnlineDevicesAreThoseNobodyHeardFromSince(backend: CoordinatorBackend) async throws {
        try await withCoordinator(backend) { store in
            try await fleet(store)
            let silent = try await store.silentOnlineDevices(seenNoLaterThan: Dates.at(10), limit: 10)
            #expect(
                silent == [
                    .init(deviceID: "dev-0", lastSeen: Dates.at(5)),
                    .init(deviceID: "dev-3", lastSeen: nil),
                ]
            )
            #expect(
                try await store.silentOnlineDevices(seenNoLaterThan: Dates.at(10), limit: 1).map(\.deviceID) == [
                    "dev-0"
                ]
            )
            #expect(try await store.silentOnlineDevices(seenNoLaterThan: Dates.at(50), limit: 10).count == 3)
        }
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func aStartMarksOfflineOnlyTheSilentDevicesWithOneEvent(backend: CoordinatorBackend) async throws {
        try await withCoordinator(backend) { store in
            try await fleet(store)
            let cursor = try #require(
                try await store.events(deviceID: nil, limit: 1, afterSequence: nil).last?.sequence
            )
            // A coordinator starting at 60 s with a 30 s timeout: dev-0 and dev-3 are silent; dev-1 (seen at 50 s)
            // may be on another coordinator and stays online.
            #expect(try await store.markSilentOffline(seenNoLaterThan: Dates.at(30), at: Dates.at(60)) == 2)
            let status = Dictionary(uniqueKeysWithValues: try await store.devices().map { ($0.id, $0.status) })
            #expect(status == ["dev-0": .offline, "dev-1": .online, "dev-2": .offline, "dev-3": .offline])
            let events = try await store.events(deviceID: nil, limit: 100, afterSequence: cursor)
            #expect(events.map(\.kind) == ["coordinator_started"] && events.first?.deviceID == nil)
            #expect(events.first?.detail.hasPrefix("2 ") == true, "\(events)")
            #expect(try await store.markSilentOffline(seenNoLaterThan: Dates.at(30), at: Dates.at(61)) == 0)
        }
    }

    @Test func coordinatorsSweepingAtOnceRecordOneOfflineChange() async throws {
        try await withCoordinator(.postgres) { store in
            try await fleet(store)
            let changed = try await withThrowingTaskGroup(of: Bool.self) { group in
                for racer in 0..<8 {
                    group.addTask {
                        try await store.markOfflineIfSilent(
                            deviceID: "dev-0",
                            seenNoLaterThan: Dates.at(30),
                            at: Dates.at(60),
                            detail: "swept by \(racer)"
                        )
                    }
                }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(changed.filter { $0 }.count == 1, "\(changed)")
            #expect(try await offlineEvents(store, "dev-0").count == 1)
        }
    }
}
