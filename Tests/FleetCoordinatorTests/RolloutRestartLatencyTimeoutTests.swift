import FleetStore
import FleetWire
import Foundation
import Testing

@testable import FleetCoordinator

/// The crash-loop and latency gates from health summaries received by the real handler, and the per-device timeout
/// on the rollout engine (README "Staged rollouts"): a wave whose agents restart, or answer slower, than the control
/// group's halts with its evidence recorded; a device that never reports its install is marked timed out, settles
/// the wave and counts with the failures.
@Suite struct RolloutRestartLatencyTimeoutTests {
    let health: RolloutHealthTests
    var base: RolloutServiceTests { health.base }

    init() throws {
        health = try RolloutHealthTests()
    }

    /// A summary from `device` about "m" `version` through the real handler: `starts` agent starts, 100 queries in
    /// 100 requests falling in `latency`.
    func report(_ device: String, version: Int, starts: Int = 0, latency: [Int] = [0, 100, 0, 0, 0]) async {
        let answer = await health.summaries.handle(
            .healthSummary(
                HealthSummary(
                    requestID: 9,
                    windowMilliseconds: 5000,
                    starts: starts,
                    entries: [
                        HealthEntry(
                            model: "m",
                            version: version,
                            queries: 100,
                            latency: latency,
                            confidence: [0, 0, 0, 0, 0, 0, 0, 0, 0, 100]
                        )
                    ]
                )
            ),
            from: device
        )
        #expect(answer == .ack(Ack(requestID: 9)))
    }

    /// Starts a rollout with `gates` (auto-rollback off), the first wave installed; returns its waves' devices.
    func startInstalled(_ gates: RolloutGatePolicy) async throws -> (wave: [String], control: [String], id: Int) {
        _ = try await base.prepare()
        let started = try await health.start(gates, autoRollback: false)
        let record = try await base.rollout(started.rolloutID)
        for id in record.waves[0].devices.map(\.deviceID) {
            try await base.store.recordRolloutOutcome(deviceID: id, model: "m", version: 2, installed: true)
        }
        return (record.waves[0].devices.map(\.deviceID), record.waves[1].devices.map(\.deviceID), started.rolloutID)
    }

    @Test func aWaveWhoseAgentsRestartHaltsOnTheCrashLoopGate() async throws {
        let (wave, control, id) = try await startInstalled(
            RolloutGatePolicy(maximumRestartIncrease: 3, minimumDevices: 3, minimumQueries: 50)
        )
        for device in wave { await report(device, version: 2, starts: 1) }
        for device in control { await report(device, version: 1, starts: 0) }
        await base.service.step(now: Date())
        #expect(try await base.rollout(id).state == .running, "one restart each is within 3")
        var check = try #require(try await base.store.rolloutHealth(rolloutID: Int64(id))[1])
        #expect(check.gates.map(\.verdict) == ["pass"] && check.wave.restartsPerDevice == 1)

        // Two of three wave agents crash-loop: 1 + 6 starts each since the wave started.
        for device in wave.prefix(2) { await report(device, version: 2, starts: 6) }
        await base.service.step(now: Date())
        let halted = try await base.rollout(id)
        #expect(halted.state == .halted && halted.waves[0].decision == "halted", "\(halted.reason)")
        #expect(halted.reason.contains("agent restarts per device 7 on the wave vs 0 on the control group"))
        check = try #require(try await base.store.rolloutHealth(rolloutID: Int64(id))[1])
        #expect(check.failed.map(\.gate) == ["restarts"] && check.failed.first?.change == 7)
        #expect(check.wave.starts == 15 && check.control.starts == 0 && check.control.restartsPerDevice == 0)
    }

    @Test func aSlowerWaveHaltsOnTheLatencyGateAndASimilarOnePasses() async throws {
        let (wave, control, id) = try await startInstalled(
            RolloutGatePolicy(maximumLatencyIncreasePercent: 50, minimumDevices: 3, minimumQueries: 50)
        )
        for device in control { await report(device, version: 1, latency: [0, 100, 0, 0, 0]) }
        for device in wave { await report(device, version: 2, latency: [0, 98, 2, 0, 0]) }
        await base.service.step(now: Date())
        #expect(try await base.rollout(id).state == .running)
        var check = try #require(try await base.store.rolloutHealth(rolloutID: Int64(id))[1])
        #expect(check.gates.map(\.verdict) == ["pass"], "\(check.gates)")

        // Now half of each wave device's requests took 10-100 ms: its p95 goes from 9.7 to 91 ms.
        for device in wave { await report(device, version: 2, latency: [0, 0, 100, 0, 0]) }
        await base.service.step(now: Date())
        let halted = try await base.rollout(id)
        #expect(halted.state == .halted, "\(halted.reason)")
        #expect(halted.reason.contains("p95 latency (ms)"), "\(halted.reason)")
        check = try #require(try await base.store.rolloutHealth(rolloutID: Int64(id))[1])
        #expect(check.failed.map(\.gate) == ["latency"] && (check.failed.first?.change ?? 0) > 50)
        #expect((check.wave.latencyP95Milliseconds ?? 0) > 50 && (check.control.latencyP95Milliseconds ?? 0) < 10)
    }

    /// A rollout of v2 with a one-second device timeout, soak 0, in waves 50/100 of the six devices.
    func startWithTimeout(maximumInstallFailurePercent: Double) async throws -> RolloutRecord {
        _ = try await base.prepare()
        let started = try await base.start(
            autoRollback: false,
            maximumInstallFailurePercent: maximumInstallFailurePercent,
            deviceTimeoutMilliseconds: 1000
        )
        let record = try await base.rollout(started.rolloutID)
        #expect(record.deviceTimeoutMilliseconds == 1000)
        return record
    }

    @Test func anOfflineDeviceTimesOutSoItsWaveSettlesAndALateInstallStillCounts() async throws {
        let record = try await startWithTimeout(maximumInstallFailurePercent: 50)
        let first = record.waves[0].devices.map(\.deviceID)
        let started = try #require(record.waves[0].startedAt)
        for device in first.dropFirst() {
            try await base.store.recordRolloutOutcome(deviceID: device, model: "m", version: 2, installed: true)
        }
        // Before the timeout the offline device holds the wave open.
        await base.service.step(now: started.addingTimeInterval(0.5))
        var now = try await base.rollout(Int(record.id))
        #expect(now.wave == 1 && now.waves[0].decision == "installing" && now.waves[0].timedOut == 0)

        // After it, it is timed out (1 of 3, within 50 %): the wave settles, passes (soak 0), and wave 2 starts.
        await base.service.step(now: started.addingTimeInterval(1.5))
        now = try await base.rollout(Int(record.id))
        #expect(now.waves[0].devices.first { $0.deviceID == first[0] }?.outcome == .timedOut)
        #expect(now.waves[0].decision == "passed" && now.wave == 2 && now.state == .running, "\(now.waves[0].reason)")
        #expect(now.waves[0].reason.contains("2 installed, 0 failed, 1 timed out"), "\(now.waves[0].reason)")
        let events = try await base.store.events(
            deviceID: first[0],
            kind: "rollout_device_timed_out",
            limit: 5,
            afterSequence: nil
        )
        #expect(events.count == 1 && events.first?.detail.contains("not installed within 1s") == true, "\(events)")

        // The device comes back and installs: the late install replaces the mark.
        try await base.store.recordRolloutOutcome(deviceID: first[0], model: "m", version: 2, installed: true)
        now = try await base.rollout(Int(record.id))
        #expect(now.waves[0].installed == 3 && now.waves[0].timedOut == 0)
    }

    @Test func timedOutDevicesCountWithTheFailuresAgainstTheLimit() async throws {
        let record = try await startWithTimeout(maximumInstallFailurePercent: 20)
        let first = record.waves[0].devices.map(\.deviceID)
        let started = try #require(record.waves[0].startedAt)
        try await base.store.recordRolloutOutcome(deviceID: first[1], model: "m", version: 2, installed: true)
        try await base.store.recordRolloutOutcome(deviceID: first[2], model: "m", version: 2, installed: true)
        await base.service.step(now: started.addingTimeInterval(2))
        let now = try await base.rollout(Int(record.id))
        #expect(now.state == .halted && now.waves[1].startedAt == nil, "\(now.reason)")
        #expect(
            now.reason.contains("0 of 3 device(s) failed or refused the install and 1 did not install it in time"),
            "\(now.reason)"
        )
        // A failure reported after the timeout replaces it; the count against the limit is the same.
        try await base.store.recordRolloutOutcome(deviceID: first[0], model: "m", version: 2, installed: false)
        let later = try await base.rollout(Int(record.id))
        #expect(later.waves[0].failed == 1 && later.waves[0].timedOut == 0)
    }
}
