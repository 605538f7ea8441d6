import FleetStore
import FleetWire
import Foundation
import Testing

@testable import FleetCoordinator

/// Health summaries reaching the rollout engine: stored per device and version by the real handler, compared
/// wave against control group since the wave started, a failed gate halting (and rolling back) with its evidence
/// recorded; summaries that cannot be right are refused.
@Suite struct RolloutHealthTests {
    let base: RolloutServiceTests
    let summaries: HealthSummaryService

    init() throws {
        base = try RolloutServiceTests()
        var service = HealthSummaryService(store: base.store, logger: .quietTest)
        service.minimumSpacing = 0
        summaries = service
    }

    func start(_ gates: RolloutGatePolicy, autoRollback: Bool = true) async throws -> RolloutStarted {
        let reply = await base.service.handleAdmin(
            .startRollout(
                StartRollout(
                    requestID: 2,
                    model: "m",
                    version: 2,
                    waves: [50, 100],
                    soakMilliseconds: 3_600_000,
                    minimumDevicesPerWave: 1,
                    maximumInstallFailurePercent: 20,
                    autoRollback: autoRollback,
                    seed: 5,
                    maximumErrorRateIncrease: gates.maximumErrorRateIncrease ?? -1,
                    maximumAccuracyDrop: gates.maximumAccuracyDrop ?? -1,
                    maximumConfidenceDrop: gates.maximumConfidenceDrop ?? -1,
                    maximumDriftPSI: gates.maximumDriftPSI ?? -1,
                    gateMinimumDevices: gates.minimumDevices,
                    gateMinimumQueries: gates.minimumQueries,
                    maximumRestartIncrease: gates.maximumRestartIncrease ?? -1,
                    maximumLatencyIncreasePercent: gates.maximumLatencyIncreasePercent ?? -1
                )
            ),
            frameBudget: 1 << 20
        )
        guard case .rolloutStarted(let started) = reply else { throw RolloutTestFailure("\(reply as Any)") }
        return started
    }

    /// Sends a summary from `device` for "m" `version` through the real handler; returns its answer.
    @discardableResult
    func report(_ device: String, version: Int, labelled: Int = 100, correct: Int) async -> Message? {
        await summaries.handle(
            .healthSummary(
                HealthSummary(
                    requestID: 9,
                    windowMilliseconds: 5000,
                    starts: 0,
                    entries: [
                        HealthEntry(
                            model: "m",
                            version: version,
                            queries: 100,
                            latency: [10, 0, 0, 0, 0],
                            confidence: [0, 0, 0, 0, 0, 0, 0, 0, 0, 100],
                            labelled: labelled,
                            correct: correct
                        )
                    ]
                )
            ),
            from: device
        )
    }

    @Test func anAccuracyDropHaltsAndRollsTheWaveBackWithItsEvidence() async throws {
        let ids = try await base.prepare()
        let started = try await start(RolloutGatePolicy(maximumAccuracyDrop: 2, minimumDevices: 3, minimumQueries: 50))
        let record = try await base.rollout(started.rolloutID)
        let wave = record.waves[0].devices.map(\.deviceID)
        let control = record.waves[1].devices.map(\.deviceID)
        #expect(wave.count == 3 && control.count == 3)
        for id in wave {
            try await base.store.recordRolloutOutcome(deviceID: id, model: "m", version: 2, installed: true)
        }

        // Two of three wave devices report 40 %: one short of the minimum, no decision yet.
        for id in wave.prefix(2) { #expect(await report(id, version: 2, correct: 40) == .ack(Ack(requestID: 9))) }
        for id in control { await report(id, version: 1, correct: 95) }
        await base.service.step(now: Date())
        var now = try await base.rollout(started.rolloutID)
        #expect(now.state == .running, "\(now.reason)")
        var check = try #require(try await base.store.rolloutHealth(rolloutID: Int64(started.rolloutID))[1])
        #expect(check.gates.map(\.verdict) == ["waiting"] && check.wave.devices == 2 && check.control.devices == 3)

        // A summary about v1 from a wave device (before it installed v2) does not count for the wave.
        await report(wave[2], version: 1, correct: 100)
        await base.service.step(now: Date())
        #expect(try await base.rollout(started.rolloutID).state == .running)

        await report(wave[2], version: 2, correct: 40)
        await base.service.step(now: Date())
        now = try await base.rollout(started.rolloutID)
        #expect(now.state == .rolledBack, "\(now.reason)")
        #expect(now.waves[0].decision == "rolled-back" && now.waves[1].startedAt == nil)
        #expect(now.reason.contains("health gate: accuracy 40 on the wave vs 95 on the control group"), "\(now.reason)")
        check = try #require(try await base.store.rolloutHealth(rolloutID: Int64(started.rolloutID))[1])
        #expect(check.failed.map(\.gate) == ["accuracy"] && check.failed.first?.change == 55)
        #expect(check.wave.labelled == 300 && check.wave.correct == 120 && check.control.correct == 285)
        for id in ids {
            let pin = try await base.store.pin(deviceID: id, model: "m")
            #expect((pin?.rollback == true && pin?.version == 1) == wave.contains(id), "\(id): \(pin as Any)")
        }
        let kinds = try await base.store.events(deviceID: nil, limit: 50, afterSequence: nil).map(\.kind)
        #expect(kinds.contains("rollout_halted") && kinds.contains("rollout_rolled_back"))
    }

    @Test func withoutAutoRollbackAHealthyWaveKeepsSoakingAndAFailedGateHalts() async throws {
        _ = try await base.prepare()
        let started = try await start(
            RolloutGatePolicy(maximumAccuracyDrop: 2, minimumDevices: 3, minimumQueries: 50),
            autoRollback: false
        )
        let record = try await base.rollout(started.rolloutID)
        for id in record.waves[0].devices.map(\.deviceID) {
            try await base.store.recordRolloutOutcome(deviceID: id, model: "m", version: 2, installed: true)
            await report(id, version: 2, correct: 94)
        }
        for id in record.waves[1].devices.map(\.deviceID) { await report(id, version: 1, correct: 95) }
        await base.service.step(now: Date())
        var now = try await base.rollout(started.rolloutID)
        #expect(now.state == .running && now.waves[0].decision == "soaking", "a 1-point drop passes: \(now.reason)")
        // Later summaries of the wave are much worse: the sums since the wave started now fail.
        for id in record.waves[0].devices.map(\.deviceID) { await report(id, version: 2, labelled: 300, correct: 0) }
        await base.service.step(now: Date())
        now = try await base.rollout(started.rolloutID)
        #expect(now.state == .halted && now.waves[0].decision == "halted", "\(now.reason)")
        #expect(try await base.store.pin(deviceID: record.waves[0].devices[0].deviceID, model: "m") == nil)
    }

    @Test func impossibleSummariesAndInvalidGatesAreRefused() async throws {
        func entry(_ model: String, _ version: Int) -> HealthEntry { HealthEntry(model: model, version: version) }
        for (entries, why) in [
            ([entry("Bad Name!", 1)], "invalid name"), ([entry("m", 0)], "version 0"),
            ([entry("m", 1), entry("m", 1)], "twice"),
        ] {
            let answer = await summaries.handle(
                .healthSummary(HealthSummary(requestID: 3, windowMilliseconds: 1, starts: 0, entries: entries)),
                from: "d-1"
            )
            guard case .error(let error) = answer else {
                Issue.record("\(why): \(answer as Any)")
                continue
            }
            #expect(error.code == .badRequest && error.message.contains(why), "\(error.message)")
        }
        // One a second per device.
        var spaced = HealthSummaryService(store: base.store, logger: .quietTest)
        let received = Date()
        spaced.now = { received }  // the same instant: no timing in the test
        let summary = Message.healthSummary(HealthSummary(requestID: 4, windowMilliseconds: 1, starts: 1, entries: []))
        #expect(await spaced.handle(summary, from: "d-1") == .ack(Ack(requestID: 4)))
        guard case .error(let error) = await spaced.handle(summary, from: "d-1") else {
            Issue.record("a second summary within a second is refused")
            return
        }
        #expect(error.code == .conflict)
        #expect(await spaced.handle(summary, from: "d-2") == .ack(Ack(requestID: 4)), "another device is not held up")
        #expect(
            try await base.store.healthStarts(deviceIDs: ["d-1", "d-2"], since: .distantPast) == ["d-1": 1, "d-2": 1]
        )

        // Summaries older than the retention are removed when the next one arrives.
        let old = Date(timeIntervalSince1970: 1_000_000)
        try await base.store.recordHealth(
            deviceID: "d-3",
            receivedAt: old,
            windowMilliseconds: 1,
            starts: 5,
            entries: []
        )
        #expect(try await base.store.healthStarts(deviceIDs: ["d-3"], since: .distantPast) == ["d-3": 5])
        try await base.store.recordHealth(
            deviceID: "d-3",
            receivedAt: old.addingTimeInterval(CoordinatorStore.healthRetention + 1),
            windowMilliseconds: 1,
            starts: 1,
            entries: []
        )
        #expect(try await base.store.healthStarts(deviceIDs: ["d-3"], since: .distantPast) == ["d-3": 1])

        _ = try await base.prepare()
        for (policy, flag) in [
            (RolloutGatePolicy(maximumErrorRateIncrease: 101), "--max-error-rate"),
            (RolloutGatePolicy(maximumConfidenceDrop: 1.5), "--max-confidence-drop"),
            (RolloutGatePolicy(minimumDevices: 0), "--gate-min-devices"),
            (RolloutGatePolicy(maximumRestartIncrease: 2_000_000), "--max-restarts"),
            (RolloutGatePolicy(maximumLatencyIncreasePercent: 200_000), "--max-latency-increase"),
        ] {
            do {
                _ = try await start(policy)
                Issue.record("\(flag) accepted")
            } catch {
                #expect("\(error)".contains(flag), "\(error)")
            }
        }
    }
}
