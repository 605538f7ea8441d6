import FleetStore
import Foundation
import Testing

@testable import FleetCoordinator

/// The crash-loop and latency gates' arithmetic (README "Staged rollouts"): like the other gates, medians over each
/// side's devices, the minimum of devices on both sides before a decision, and a failure only in the bad direction.
@Suite struct HealthGatesRestartLatencyTests {
    static let policy = RolloutGatePolicy(
        maximumRestartIncrease: 3,
        maximumLatencyIncreasePercent: 50,
        minimumDevices: 3,
        minimumQueries: 50
    )

    /// A device with 100 queries whose requests fall in `latency` (≤ 1, 10, 100, 1000 ms, slower).
    static func device(latency: [Int] = [0, 100, 0, 0, 0]) -> HealthCounts {
        HealthCounts(
            model: "m",
            version: 1,
            queries: 100,
            errors: 0,
            latency: latency,
            confidence: [0, 0, 0, 0, 0, 0, 0, 0, 0, 100],
            labelled: 0,
            correct: 0
        )
    }

    static func side<T>(_ values: [T]) -> [String: T] {
        Dictionary(uniqueKeysWithValues: values.enumerated().map { ("d-\($0.offset)", $0.element) })
    }

    func assess(
        waveStarts: [Int] = [0, 0, 0],
        controlStarts: [Int] = [0, 0, 0],
        wave: [HealthCounts] = Array(repeating: device(), count: 3),
        control: [HealthCounts] = Array(repeating: device(), count: 3)
    ) -> (gates: [String: GateReading], assessment: HealthAssessment) {
        let assessment = HealthGates.assess(
            policy: Self.policy,
            wave: Self.side(wave),
            control: Self.side(control),
            waveStarts: Self.side(waveStarts),
            controlStarts: Self.side(controlStarts),
            windowStart: Date(timeIntervalSince1970: 0),
            windowEnd: Date(timeIntervalSince1970: 60)
        )
        return (Dictionary(uniqueKeysWithValues: assessment.gates.map { ($0.gate, $0) }), assessment)
    }

    @Test func theCrashLoopGateFailsOnlyWhenTheWavesDevicesRestartMoreThanTheControls() throws {
        let calm = assess(waveStarts: [0, 1, 0], controlStarts: [0, 0, 0, 1])
        #expect(calm.gates["restarts"]?.verdict == "pass" && calm.gates["restarts"]?.change == 0)
        #expect(calm.assessment.wave.restartsPerDevice == 0 && calm.assessment.wave.starts == 1)

        let looping = assess(waveStarts: [5, 6, 0], controlStarts: [0, 0, 1])
        let gate = try #require(looping.gates["restarts"])
        #expect(gate.verdict == "fail" && gate.wave == 5 && gate.control == 0 && gate.change == 5 && gate.limit == 3)
        #expect(gate.why.contains("agent restarts per device 5 on the wave vs 0 on the control group"), "\(gate.why)")
        #expect(looping.assessment.failed.map(\.gate) == ["restarts"], "the latency gate is not moved by restarts")

        #expect(assess(waveStarts: [3, 3, 4], controlStarts: [0, 0, 0]).gates["restarts"]?.verdict == "pass", "at it")
        #expect(
            assess(waveStarts: [0, 0, 0], controlStarts: [9, 9, 9]).gates["restarts"]?.verdict == "pass",
            "one-sided: restarts everywhere but on the wave (a power cut among the control group) do not blame it"
        )
        #expect(
            assess(waveStarts: [40, 0, 0]).gates["restarts"]?.verdict == "pass",
            "one crash-looping device out of three moves no median"
        )
    }

    @Test func theCrashLoopGateWaitsForDevicesThatReported() {
        let few = assess(waveStarts: [9, 9], controlStarts: [0, 0, 0])
        #expect(few.gates["restarts"]?.verdict == "waiting" && few.gates["restarts"]?.change == nil)
        #expect(few.gates["restarts"]?.why.contains("2 wave and 3 control device(s) with a health summary") == true)
        #expect(assess(waveStarts: [9, 9, 9], controlStarts: []).gates["restarts"]?.verdict == "waiting")
        #expect(few.assessment.control.restartsPerDevice == 0 && few.assessment.wave.restartsPerDevice == 9)
    }

    @Test func p95IsInterpolatedWithinItsBucketAsHistogramQuantileDoes() throws {
        func p95(_ buckets: [Int]) throws -> Double { try #require(HealthGates.latencyP95(buckets)) }
        #expect(abs(try p95([100, 0, 0, 0, 0]) - 0.95) < 1e-9)
        #expect(abs(try p95([0, 100, 0, 0, 0]) - 9.55) < 1e-9)  // 1 + 9 × 0.95
        #expect(abs(try p95([90, 10, 0, 0, 0]) - 5.5) < 1e-9)  // rank 95: half way into (1, 10]
        #expect(abs(try p95([0, 0, 100, 0, 0]) - 95.5) < 1e-9)
        #expect(try p95([0, 0, 0, 0, 10]) == 1000, "the open last bucket reads as the highest bound")
        #expect(HealthGates.latencyP95([0, 0, 0, 0, 0]) == nil)
    }

    @Test func theLatencyGateFailsOnlyWhenTheWaveIsSlowerByMoreThanTheLimit() throws {
        let slow = Self.device(latency: [0, 0, 100, 0, 0])  // p95 95.5 ms
        let usual = Self.device(latency: [0, 100, 0, 0, 0])  // p95 9.55 ms
        let failed = assess(wave: [slow, slow, usual], control: [usual, usual, usual])
        let gate = try #require(failed.gates["latency"])
        #expect(gate.verdict == "fail" && gate.wave == 95.5 && abs((gate.control ?? 0) - 9.55) < 1e-9)
        #expect(abs((gate.change ?? 0) - 900) < 1e-6 && gate.limit == 50, "(95.5 - 9.55) / 9.55 = +900 %")
        #expect(failed.assessment.failed.map(\.gate) == ["latency"])
        #expect(failed.assessment.wave.latencyP95Milliseconds == 95.5)

        #expect(assess(wave: [usual, usual, usual], control: [slow, slow, slow]).gates["latency"]?.verdict == "pass")
        // A tenth of the requests a bucket up moves the p95 from 10 to 55 ms: +450 %.
        let someSlower = Self.device(latency: [0, 90, 10, 0, 0])  // rank 95 halfway into (10, 100]: 55 ms
        let mostlyUsual = Self.device(latency: [0, 95, 5, 0, 0])  // rank 95 at the top of (1, 10]: 10 ms
        let mild = try #require(assess(wave: [someSlower, someSlower], control: [mostlyUsual]).gates["latency"])
        #expect(mild.verdict == "waiting", "two wave and one control device")
        let over = try #require(
            assess(wave: Array(repeating: someSlower, count: 3), control: Array(repeating: mostlyUsual, count: 3))
                .gates["latency"]
        )
        #expect(over.verdict == "fail" && abs((over.change ?? 0) - 450) < 1e-6, "\(over.why)")
        // 4 % of the requests over 100 ms: p95 99.06 ms against 95.5 ms, +3.7 %, within 50 %.
        let fewOver = Self.device(latency: [0, 0, 96, 4, 0])
        let within = try #require(
            assess(wave: Array(repeating: fewOver, count: 3), control: Array(repeating: slow, count: 3))
                .gates["latency"]
        )
        #expect(within.verdict == "pass" && abs((within.change ?? 0) - 3.7304) < 1e-3, "\(within.why)")
    }

    @Test func theLatencyGateWaitsForEnoughTimedRequests() {
        let sparse = Self.device(latency: [0, 10, 0, 0, 0])  // 100 queries in 10 requests
        let reading = assess(wave: [sparse, sparse, sparse]).gates["latency"]
        #expect(reading?.verdict == "waiting" && reading?.wave == nil)
        #expect(reading?.why.contains("0 wave and 3 control device(s) with at least 50 timed requests") == true)
    }
}
