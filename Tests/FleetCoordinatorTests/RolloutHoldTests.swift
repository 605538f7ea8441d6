import FleetStore
import FleetWire
import Foundation
import Testing

@testable import FleetCoordinator

/// The hold on waiting gates (README "Staged rollouts"): a wave whose soak ends while an enabled gate still waits
/// for evidence is held, with one `rollout_wave_held` event; it passes by itself once its gates decide, or when the
/// administrator promotes it; a gate turned off never holds, and the last wave (no control group) is not held.
@Suite struct RolloutHoldTests {
    let health: RolloutHealthTests
    var base: RolloutServiceTests { health.base }

    init() throws {
        health = try RolloutHealthTests()
    }

    /// A rollout of v2 in waves 50/100 with `gates` and a one-hour soak, its first wave installed (and settled at
    /// the first step after `started`).
    func startInstalled(_ gates: RolloutGatePolicy) async throws -> (record: RolloutRecord, started: Date) {
        _ = try await base.prepare()
        let started = try await health.start(gates, autoRollback: false)
        let record = try await base.rollout(started.rolloutID)
        for id in record.waves[0].devices.map(\.deviceID) {
            try await base.store.recordRolloutOutcome(deviceID: id, model: "m", version: 2, installed: true)
        }
        return (record, try #require(record.waves[0].startedAt))
    }

    func events(_ kind: String) async throws -> [EventRecord] {
        try await base.store.events(deviceID: nil, limit: 100, afterSequence: nil).filter { $0.kind == kind }
    }

    static let accuracyGate = RolloutGatePolicy(maximumAccuracyDrop: 2, minimumDevices: 3, minimumQueries: 50)

    @Test func aWaveWithoutEvidenceIsHeldOnceAndPassesWhenItsGatesDecide() async throws {
        let (record, started) = try await startInstalled(Self.accuracyGate)
        let id = Int(record.id)
        await base.service.step(now: started.addingTimeInterval(60))
        #expect(try await base.rollout(id).waves[0].decision == "soaking", "soaking for its hour")

        // The soak is over and no device has reported: held, not passed.
        for minutes in [60.5, 61.5, 90] {
            await base.service.step(now: started.addingTimeInterval(minutes * 60))
        }
        var now = try await base.rollout(id)
        #expect(now.state == .running && now.wave == 1 && now.waves[0].decision == "held", "\(now.waves[0])")
        #expect(now.waves[1].startedAt == nil, "the next wave does not start")
        #expect(now.reason.contains("wave 1 held: accuracy still wait"), "\(now.reason)")
        #expect(now.reason.contains("fleetctl rollout promote \(id)"), "\(now.reason)")
        let held = try await events("rollout_wave_held")
        #expect(held.count == 1, "the hold is recorded once: \(held.map(\.detail))")
        #expect(
            held.first?.detail.contains("0 wave and 0 control device(s) with at least 50 labelled queries") == true,
            "\(held.map(\.detail))"
        )
        let check = try #require(try await base.store.rolloutHealth(rolloutID: record.id)[1])
        let gate = try #require(check.waiting.first)
        #expect(check.waiting.count == 1 && gate.gate == "accuracy")
        #expect(gate.waveDevices == 0 && gate.controlDevices == 0 && gate.devicesNeeded == 3)
        #expect(gate.deviceNeeds == "at least 50 labelled queries")

        // The evidence arrives: the gates are re-judged at the next step and the held wave passes by itself.
        for device in record.waves[0].devices.map(\.deviceID) { await health.report(device, version: 2, correct: 94) }
        for device in record.waves[1].devices.map(\.deviceID) { await health.report(device, version: 1, correct: 95) }
        await base.service.step(now: started.addingTimeInterval(91 * 60))
        now = try await base.rollout(id)
        #expect(now.waves[0].decision == "passed" && now.wave == 2 && now.state == .running, "\(now.reason)")
        #expect(now.waves[0].reason.contains("held until its gates had the evidence to pass"), "\(now.waves[0])")
        #expect(now.reason.isEmpty)

        // The last wave has no control group: its gate reads `no-control` and does not hold it.
        for device in record.waves[1].devices.map(\.deviceID) {
            try await base.store.recordRolloutOutcome(deviceID: device, model: "m", version: 2, installed: true)
        }
        let second = try #require(now.waves[1].startedAt)
        await base.service.step(now: second.addingTimeInterval(1))
        await base.service.step(now: second.addingTimeInterval(3601))
        now = try await base.rollout(id)
        #expect(now.state == .completed, "\(now.reason)")
        let last = try #require(try await base.store.rolloutHealth(rolloutID: record.id)[2])
        #expect(last.gates.map(\.verdict) == ["no-control"] && last.waiting.isEmpty, "\(last.gates)")
        #expect(try await events("rollout_wave_held").count == 1)
    }

    @Test func promotePassesAHeldWaveAndTheNextWaveStarts() async throws {
        let (record, started) = try await startInstalled(Self.accuracyGate)
        let id = Int(record.id)
        await base.service.step(now: started.addingTimeInterval(1))
        await base.service.step(now: started.addingTimeInterval(3602))
        #expect(try await base.rollout(id).isHeld)
        let answer = await base.service.handleAdmin(
            .controlRollout(ControlRollout(requestID: 7, rolloutID: id, action: .promote)),
            frameBudget: 1 << 20
        )
        #expect(answer == .ack(Ack(requestID: 7)))
        let now = try await base.rollout(id)
        #expect(now.state == .running && now.wave == 2, "only the held wave passes: \(now.reason)")
        #expect(now.waves[0].decision == "passed" && now.waves[0].reason.contains("by the administrator"))
        #expect(now.waves[1].decision == "installing" && now.waves[1].startedAt != nil)
        #expect(try await events("rollout_wave_promoted").count == 1)
        #expect(try await base.assigned().values.allSatisfy { $0 == 2 }, "wave 2's devices are assigned v2")
    }

    @Test func aGateTurnedOffNeverHolds() async throws {
        // The error-rate gate is fed (queries without labels); the accuracy gate, which labels alone could feed,
        // is off: the wave passes at the end of its soak.
        let (record, started) = try await startInstalled(
            RolloutGatePolicy(maximumErrorRateIncrease: 1, minimumDevices: 3, minimumQueries: 50)
        )
        for device in record.waves[0].devices.map(\.deviceID) {
            await health.report(device, version: 2, labelled: 0, correct: 0)
        }
        for device in record.waves[1].devices.map(\.deviceID) {
            await health.report(device, version: 1, labelled: 0, correct: 0)
        }
        await base.service.step(now: started.addingTimeInterval(1))
        await base.service.step(now: started.addingTimeInterval(3602))
        let now = try await base.rollout(Int(record.id))
        #expect(now.waves[0].decision == "passed" && now.wave == 2, "\(now.waves[0])")
        let check = try #require(try await base.store.rolloutHealth(rolloutID: record.id)[1])
        #expect(check.gates.map(\.gate) == ["error-rate"] && check.gates.map(\.verdict) == ["pass"])
        #expect(try await events("rollout_wave_held").isEmpty)
    }
}
