import FleetObserve
import FleetStore
import FleetWire
import Foundation
import Testing

@testable import FleetCoordinator

/// The drift gate from stored drift reports (README "Staged rollouts"): each side's devices are judged against the
/// reference statistics of the version they run, over the drift reports received since the wave started; a wave
/// whose inputs moved away from its version's reference halts, one whose inputs match passes.
@Suite struct RolloutDriftGateTests {
    let health: RolloutHealthTests
    var base: RolloutServiceTests { health.base }

    init() throws {
        health = try RolloutHealthTests()
    }

    /// Reference rows: eight features spread evenly over 0…1.
    static let rows: [[Float]] = (0..<400).map { row in (0..<8).map { Float((row * 37 + $0 * 11) % 100) / 100 } }

    static let reference = try! ReferenceStatistics.compute(
        features: rows,
        predictions: nil,
        confidences: nil,
        classCount: 2
    )

    /// Stores a drift report from `device` on "m" `version`: 100 of the reference rows, each feature moved by
    /// `shift` (clamped to 0…1).
    func report(_ device: String, version: Int, shift: Float, window: Int) async throws {
        let start = Date().addingTimeInterval(Double(window))
        var accumulator = DriftAccumulator(reference: Self.reference, windowStart: start)
        for row in Self.rows.prefix(100) {
            try accumulator.observe(features: row.map { min(1, $0 + shift) }, predictedClass: nil, confidence: nil)
        }
        let summary = accumulator.drain(windowEnd: start.addingTimeInterval(1)).encoded()
        #expect(
            try await base.store.insertDriftReport(
                DriftReportRecord(
                    deviceID: device,
                    model: "m",
                    version: version,
                    windowStart: start,
                    windowEnd: start.addingTimeInterval(1),
                    sampleCount: 100,
                    summary: summary,
                    wireBytes: summary.count,
                    receivedAt: Date()
                )
            )
        )
    }

    func prepare(references versions: [Int]) async throws -> (wave: [String], control: [String], id: Int64) {
        _ = try await base.prepare()
        for version in versions {
            try await base.store.setReferenceStatistics(
                model: "m",
                version: version,
                statistics: try ReferencePackage(statistics: Self.reference).encoded(),
                at: Date()
            )
        }
        let started = try await health.start(
            RolloutGatePolicy(maximumDriftPSI: 0.25, minimumDevices: 3, minimumQueries: 50),
            autoRollback: false
        )
        let record = try await base.rollout(started.rolloutID)
        for id in record.waves[0].devices.map(\.deviceID) {
            try await base.store.recordRolloutOutcome(deviceID: id, model: "m", version: 2, installed: true)
        }
        return (
            record.waves[0].devices.map(\.deviceID), record.waves[1].devices.map(\.deviceID), Int64(started.rolloutID)
        )
    }

    @Test func aWaveThatSeesDriftedInputsAgainstItsReferenceHalts() async throws {
        let (wave, control, id) = try await prepare(references: [1, 2])
        for device in control { try await report(device, version: 1, shift: 0, window: 0) }
        for device in wave { try await report(device, version: 2, shift: 0.5, window: 0) }
        await base.service.step(now: Date())
        let now = try await base.rollout(Int(id))
        #expect(now.state == .halted, "\(now.reason)")
        #expect(now.reason.contains("health gate: input drift"), "\(now.reason)")
        let check = try #require(try await base.store.rolloutHealth(rolloutID: id)[1])
        let gate = try #require(check.failed.first)
        #expect(check.failed.map(\.gate) == ["drift-psi"] && (gate.wave ?? 0) > 1 && (gate.control ?? 1) < 0.05)
        #expect(check.wave.inputDriftPSI == gate.wave && check.control.inputDriftPSI == gate.control)
    }

    @Test func aWaveWhoseInputsMatchItsReferencePassesAndOlderReportsDoNotCount() async throws {
        let (wave, control, id) = try await prepare(references: [1, 2])
        for device in control { try await report(device, version: 1, shift: 0, window: 0) }
        // Two wave devices only: the gate waits.
        for device in wave.prefix(2) { try await report(device, version: 2, shift: 0, window: 0) }
        await base.service.step(now: Date())
        var check = try #require(try await base.store.rolloutHealth(rolloutID: id)[1])
        #expect(check.gates.map(\.verdict) == ["waiting"], "\(check.gates)")
        try await report(wave[2], version: 2, shift: 0, window: 1)
        await base.service.step(now: Date())
        check = try #require(try await base.store.rolloutHealth(rolloutID: id)[1])
        #expect(check.gates.map(\.verdict) == ["pass"], "\(check.gates)")
        #expect(try await base.rollout(Int(id)).state == .running)
    }

    @Test func withoutTheControlVersionsReferenceTheGateWaits() async throws {
        let (wave, control, id) = try await prepare(references: [2])
        for device in control { try await report(device, version: 1, shift: 0, window: 0) }
        for device in wave { try await report(device, version: 2, shift: 0.5, window: 0) }
        await base.service.step(now: Date())
        let check = try #require(try await base.store.rolloutHealth(rolloutID: id)[1])
        #expect(check.gates.map(\.verdict) == ["waiting"], "\(check.gates)")
        #expect(check.gates.first?.why.contains("control group's version has no reference statistics") == true)
        #expect(try await base.rollout(Int(id)).state == .running && (check.wave.inputDriftPSI ?? 0) > 1)
    }
}
