import Foundation
import Testing

@testable import FleetStore

/// Rollouts, their waves and devices, and held versions, on every backend.
@Suite struct RolloutStoreTests {
    /// Two waves: "a" and "b" in the first (10 %), "c" in the second (100 %).
    static func rollout(model: String = "digits", version: Int = 2, seed: UInt64 = UInt64.max) -> RolloutRecord {
        RolloutRecord(
            id: 0,
            model: model,
            version: version,
            variant: "int8",
            previousVersion: version - 1,
            selector: ["site": "north"],
            soakMilliseconds: 60_000,
            minimumDevicesPerWave: 1,
            maximumInstallFailurePercent: 12.5,
            autoRollback: true,
            seed: seed,
            state: .running,
            wave: 0,
            reason: "",
            createdAt: Dates.at(1),
            updatedAt: Dates.at(1),
            waves: [
                RolloutWave(
                    number: 1,
                    percent: 10,
                    devices: [
                        RolloutDevice(deviceID: "b", outcome: .pending),
                        RolloutDevice(deviceID: "a", outcome: .pending),
                    ],
                    startedAt: nil,
                    settledAt: nil,
                    decision: "waiting",
                    reason: ""
                ),
                RolloutWave(
                    number: 2,
                    percent: 100,
                    devices: [RolloutDevice(deviceID: "c", outcome: .pending)],
                    startedAt: nil,
                    settledAt: nil,
                    decision: "waiting",
                    reason: ""
                ),
            ],
            deviceTimeoutMilliseconds: 300_000
        )
    }

    static func created(_ store: CoordinatorStore, _ rollout: RolloutRecord = rollout()) async throws -> Int64 {
        try await store.createRollout(
            rollout,
            event: NewEvent(at: rollout.createdAt, deviceID: nil, kind: "rollout_started", detail: "started")
        )
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func aRolloutReadsBackAsCreatedWithItsWavesAndAnEvent(backend: CoordinatorBackend) async throws {
        try await withCoordinator(backend) { store in
            let id = try await Self.created(store)
            var expected = Self.rollout()
            expected.id = id
            // Devices read back ordered by id within their wave.
            expected.waves[0].devices.sort { $0.deviceID < $1.deviceID }
            #expect(try await store.rollout(id: id) == expected)
            #expect(try await store.rollout(id: id + 1) == nil)

            var legacy = Self.rollout(model: "kws", version: 7, seed: 3)
            legacy.deviceTimeoutMilliseconds = nil
            legacy.autoRollback = false
            legacy.waves = [legacy.waves[1]]
            let other = try await Self.created(store, legacy)
            #expect(other > id)
            #expect(try await store.rollouts().map(\.id) == [other, id])
            let kws = try #require(try await store.rollouts(model: "kws").first)
            #expect(kws.deviceTimeoutMilliseconds == nil && !kws.autoRollback && kws.seed == 3)
            #expect(try await store.rollouts(model: "kws").count == 1)

            let events = try await store.events(deviceID: nil, kind: "rollout_started", limit: 10, afterSequence: nil)
            #expect(Set(events.map(\.detail)) == ["rollout \(id): started", "rollout \(other): started"])
        }
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func aDeviceInTwoWavesIsRefused(backend: CoordinatorBackend) async throws {
        try await withCoordinator(backend) { store in
            var rollout = Self.rollout()
            rollout.waves[1].devices.append(RolloutDevice(deviceID: "a", outcome: .pending))
            await #expect(throws: StoreError.invalidArgument) { _ = try await Self.created(store, rollout) }
            let rollouts = try await store.rollouts()
            #expect(rollouts.isEmpty)
        }
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func progressIsSavedAndOnlyStartedWavesGrantTheVersion(backend: CoordinatorBackend) async throws {
        try await withCoordinator(backend) { store in
            let id = try await Self.created(store)
            #expect(try await store.rolloutGrant(model: "digits", deviceID: "a") == nil)

            var rollout = try #require(try await store.rollout(id: id))
            rollout.wave = 1
            rollout.updatedAt = Dates.at(5)
            rollout.waves[0].startedAt = Dates.at(5)
            rollout.waves[0].decision = "installing"
            rollout.waves[0].reason = "wave 1 of 2"
            try await store.saveRolloutProgress(
                rollout,
                events: [NewEvent(at: Dates.at(5), deviceID: nil, kind: "rollout_wave", detail: "wave 1")]
            )
            #expect(try await store.rollout(id: id) == rollout)
            #expect(
                try await store.events(deviceID: nil, kind: "rollout_wave", limit: 10, afterSequence: nil).count == 1
            )

            let grant = try await store.rolloutGrant(model: "digits", deviceID: "a")
            #expect(grant?.version == 2 && grant?.variant == "int8")
            #expect(try await store.rolloutGrant(model: "digits", deviceID: "c") == nil)
            #expect(try await store.rolloutGrant(model: "kws", deviceID: "a") == nil)

            // A later rollout of the model, its wave started: the newest version wins.
            var next = Self.rollout(version: 3)
            next.waves = [next.waves[0]]
            let nextID = try await Self.created(store, next)
            next = try #require(try await store.rollout(id: nextID))
            next.waves[0].startedAt = Dates.at(6)
            try await store.saveRolloutProgress(next, events: [])
            #expect(try await store.rolloutGrant(model: "digits", deviceID: "a")?.version == 3)

            var missing = rollout
            missing.id = nextID + 10
            await #expect(throws: StoreError.notFound) { try await store.saveRolloutProgress(missing, events: []) }
        }
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func outcomesFollowInstallsFailuresAndTimeouts(backend: CoordinatorBackend) async throws {
        try await withCoordinator(backend) { store in
            let id = try await Self.created(store)
            func outcomes() async throws -> [String: RolloutDevice.Outcome] {
                let waves = try #require(try await store.rollout(id: id)).waves
                return Dictionary(uniqueKeysWithValues: waves.flatMap(\.devices).map { ($0.deviceID, $0.outcome) })
            }
            try await store.recordRolloutOutcome(deviceID: "a", model: "digits", version: 2, installed: true)
            try await store.recordRolloutOutcome(deviceID: "b", model: "digits", version: 2, installed: false)
            // Another version, or another model, leaves the rollout's devices alone.
            try await store.recordRolloutOutcome(deviceID: "c", model: "digits", version: 3, installed: true)
            try await store.recordRolloutOutcome(deviceID: "c", model: "kws", version: 2, installed: true)
            // A failure after an install does not undo it.
            try await store.recordRolloutOutcome(deviceID: "a", model: "digits", version: 2, installed: false)
            #expect(try await outcomes() == ["a": .installed, "b": .failed, "c": .pending])

            let marked = try await store.markRolloutDevicesTimedOut(rolloutID: id, deviceIDs: ["a", "b", "c", "z"]) {
                NewEvent(at: Dates.at(9), deviceID: $0, kind: "rollout_device_timed_out", detail: "")
            }
            #expect(marked == ["c"])
            #expect(try await outcomes() == ["a": .installed, "b": .failed, "c": .timedOut])
            let events = try await store.events(
                deviceID: nil,
                kind: "rollout_device_timed_out",
                limit: 10,
                afterSequence: nil
            )
            #expect(events.map(\.deviceID) == ["c"])

            // A timed-out device that reports later: its failure, then its install, replace the timeout.
            try await store.recordRolloutOutcome(deviceID: "c", model: "digits", version: 2, installed: false)
            #expect(try await outcomes()["c"] == .failed)
            try await store.recordRolloutOutcome(deviceID: "c", model: "digits", version: 2, installed: true)
            try await store.recordRolloutOutcome(deviceID: "b", model: "digits", version: 2, installed: true)
            #expect(try await outcomes() == ["a": .installed, "b": .installed, "c": .installed])
        }
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func heldVersionsAreHeldOnceAndReleasedUpToAVersion(backend: CoordinatorBackend) async throws {
        try await withCoordinator(backend) { store in
            try await store.holdVersion(model: "digits", version: 2, at: Dates.at(1))
            try await store.holdVersion(model: "digits", version: 2, at: Dates.at(2))
            try await store.holdVersion(model: "digits", version: 3, at: Dates.at(3))
            try await store.holdVersion(model: "digits", version: 5, at: Dates.at(4))
            try await store.holdVersion(model: "kws", version: 1, at: Dates.at(5))
            #expect(try await store.heldVersions(model: "digits") == [2, 3, 5])
            let held = try await store.events(deviceID: nil, kind: "version_held", limit: 10, afterSequence: nil)
            #expect(held.count == 4, "holding a held version again appends no event")

            try await store.releaseHolds(model: "digits", upTo: 3, why: "rollout completed", at: Dates.at(6))
            #expect(try await store.heldVersions(model: "digits") == [5])
            #expect(try await store.heldVersions(model: "kws") == [1])
            let released = try await store.events(
                deviceID: nil,
                kind: "version_released",
                limit: 10,
                afterSequence: nil
            )
            #expect(
                released.map(\.detail).sorted() == ["digits v2: rollout completed", "digits v3: rollout completed"]
            )
            try await store.releaseHolds(model: "digits", upTo: 4, why: "again", at: Dates.at(7))
            #expect(
                try await store.events(deviceID: nil, kind: "version_released", limit: 10, afterSequence: nil).count
                    == 2
            )
        }
    }
}
