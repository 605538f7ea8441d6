import Foundation
import Testing

@testable import FleetStore

/// Health summaries, rollouts' gate policies and wave assessments, on every backend.
@Suite struct HealthSummaryStoreTests {
    static func counts(_ version: Int, queries: Int, model: String = "digits") -> HealthCounts {
        HealthCounts(
            model: model,
            version: version,
            queries: queries,
            errors: queries / 10,
            latency: [queries, 1, 0, 0, 0],
            confidence: [0, 0, 0, 0, 0, 0, 0, 0, 1, queries],
            labelled: queries / 2,
            correct: queries / 4
        )
    }

    /// Stores a one-minute summary of `deviceID` received at `at`.
    static func record(
        _ store: CoordinatorStore,
        _ deviceID: String,
        at: Date,
        starts: Int,
        _ entries: [HealthCounts]
    ) async throws {
        try await store.recordHealth(
            deviceID: deviceID,
            receivedAt: at,
            windowMilliseconds: 60_000,
            starts: starts,
            entries: entries
        )
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func totalsAndStartsSumTheSummariesOfTheWindowPerDevice(backend: CoordinatorBackend) async throws {
        try await withCoordinator(backend) { store in
            let minute = 60.0
            try await Self.record(
                store,
                "a",
                at: Dates.at(1 * minute),
                starts: 1,
                [Self.counts(2, queries: 100), Self.counts(1, queries: 7)]
            )
            try await Self.record(
                store,
                "a",
                at: Dates.at(2 * minute),
                starts: 2,
                [Self.counts(2, queries: 40), Self.counts(2, queries: 5, model: "kws")]
            )
            try await Self.record(store, "b", at: Dates.at(3 * minute), starts: 0, [Self.counts(2, queries: 10)])
            // Before the window: counted by neither.
            try await Self.record(store, "b", at: Dates.at(0), starts: 9, [Self.counts(2, queries: 1000)])
            // A device not asked about.
            try await Self.record(store, "z", at: Dates.at(3 * minute), starts: 4, [Self.counts(2, queries: 10)])

            let since = Dates.at(1 * minute)
            let totals = try await store.healthTotals(
                model: "digits",
                version: 2,
                deviceIDs: ["a", "b", "c"],
                since: since
            )
            var a = Self.counts(2, queries: 100)
            a.add(Self.counts(2, queries: 40))
            #expect(totals == ["a": a, "b": Self.counts(2, queries: 10)])
            #expect(
                try await store.healthTotals(model: "digits", version: 1, deviceIDs: ["a"], since: since)["a"]?.queries
                    == 7
            )
            #expect(try await store.healthTotals(model: "digits", version: 2, deviceIDs: [], since: since).isEmpty)
            #expect(try await store.healthStarts(deviceIDs: ["a", "b", "c"], since: since) == ["a": 3, "b": 0])
            #expect(try await store.healthStarts(deviceIDs: ["b"], since: Dates.at(0)) == ["b": 9])
            #expect(try await store.healthStarts(deviceIDs: [], since: since).isEmpty)
        }
    }

    /// 1,200 devices: the queries bind their ids 500 at a time.
    @Test(arguments: CoordinatorBackend.allCases)
    func totalsCoverMoreDevicesThanOneQueryBinds(backend: CoordinatorBackend) async throws {
        try await withCoordinator(backend) { store in
            let devices = (0..<1_200).map { "device-\($0)" }
            for (index, device) in devices.enumerated() where index % 100 == 0 || index == 1_199 {
                try await Self.record(store, device, at: Dates.at(10), starts: 1, [Self.counts(2, queries: index + 1)])
            }
            let totals = try await store.healthTotals(
                model: "digits",
                version: 2,
                deviceIDs: devices,
                since: Dates.at(0)
            )
            #expect(totals.count == 13)
            #expect(totals["device-1199"]?.queries == 1_200 && totals["device-500"]?.queries == 501)
            let starts = try await store.healthStarts(deviceIDs: devices, since: Dates.at(0))
            #expect(starts.count == 13 && starts.values.allSatisfy { $0 == 1 })
        }
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func summariesOlderThanTheRetentionAreRemovedWithTheirEntries(backend: CoordinatorBackend) async throws {
        try await withCoordinator(backend) { store in
            let retention = CoordinatorStore.healthRetention
            try await Self.record(store, "old", at: Dates.at(0), starts: 1, [Self.counts(2, queries: 10)])
            try await Self.record(store, "kept", at: Dates.at(100), starts: 1, [Self.counts(2, queries: 10)])
            // Received one retention after "old" and less than one after "kept", by another device.
            try await Self.record(store, "new", at: Dates.at(retention + 1), starts: 1, [Self.counts(2, queries: 10)])
            let devices = ["old", "kept", "new"]
            #expect(try await store.healthStarts(deviceIDs: devices, since: Dates.at(0)) == ["kept": 1, "new": 1])
            let totals = try await store.healthTotals(
                model: "digits",
                version: 2,
                deviceIDs: devices,
                since: Dates.at(0)
            )
            #expect(Set(totals.keys) == ["kept", "new"])
            let entries = try await store.sqlRead { connection in
                try connection.queryInt(#"SELECT COUNT(*) FROM "healthEntry""#, [])
            }
            #expect(entries == 2, "the removed summary's entries went with it")
        }
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func gatePoliciesAndAssessmentsAreReplaced(backend: CoordinatorBackend) async throws {
        try await withCoordinator(backend) { store in
            let id = try await RolloutStoreTests.created(store)
            let other = try await RolloutStoreTests.created(store, RolloutStoreTests.rollout(model: "kws"))
            #expect(try await store.rolloutGates(rolloutID: id) == nil)
            let first = RolloutGatePolicy(maximumErrorRateIncrease: 2, minimumDevices: 3, minimumQueries: 50)
            let second = RolloutGatePolicy(
                maximumAccuracyDrop: 5,
                maximumRestartIncrease: 1.5,
                minimumDevices: 1,
                minimumQueries: 10
            )
            try await store.setRolloutGates(rolloutID: id, policy: first)
            try await store.setRolloutGates(rolloutID: other, policy: first)
            try await store.setRolloutGates(rolloutID: id, policy: second)
            #expect(try await store.rolloutGates(rolloutID: id) == second)
            #expect(try await store.rolloutGates(rolloutID: other) == first)

            #expect(try await store.rolloutHealth(rolloutID: id).isEmpty)
            let waiting = Self.assessment(end: 10, verdict: "waiting")
            let failed = Self.assessment(end: 20, verdict: "fail")
            try await store.saveRolloutHealth(rolloutID: id, wave: 1, assessment: waiting)
            try await store.saveRolloutHealth(rolloutID: id, wave: 2, assessment: waiting)
            try await store.saveRolloutHealth(rolloutID: id, wave: 1, assessment: failed)
            #expect(try await store.rolloutHealth(rolloutID: id) == [1: failed, 2: waiting])
            #expect(try await store.rolloutHealth(rolloutID: other).isEmpty)
        }
    }

    static func assessment(end: Double, verdict: String) -> HealthAssessment {
        let side = HealthSide(
            devices: 3,
            queries: 300,
            errors: 3,
            labelled: 100,
            correct: 90,
            starts: 3,
            errorRatePercent: 1,
            accuracyPercent: 90,
            meanConfidence: 0.75,
            confidence: [0, 0, 0, 0, 0, 0, 0, 100, 100, 100],
            restartsPerDevice: 1
        )
        return HealthAssessment(
            windowStart: Dates.at(0),
            windowEnd: Dates.at(end),
            wave: side,
            control: side,
            gates: [
                GateReading(
                    gate: "error-rate",
                    verdict: verdict,
                    wave: 1,
                    control: 1,
                    change: 0,
                    limit: 2,
                    why: "same",
                    waveDevices: 3,
                    controlDevices: 3,
                    devicesNeeded: 3,
                    deviceNeeds: "at least 50 queries"
                )
            ]
        )
    }
}
