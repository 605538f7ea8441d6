// The leaf's rate limit (a grant's `--rate`, METERING.md "Balance" 6) against the Linux agent's RateLimiter, and a
// model pushed `--metered` without a grant, through the meter and through TinyLeaf's desired state.
import FleetTrust
import FleetWire
import Foundation
import Testing

@testable import FleetAgent
@testable import FleetTinyKit

@Suite struct LeafMeteringRateTests {
    @Test func theNewestGrantsRateAnswersWhatTheAgentsRateLimiterAnswersOnTheSameClock() {
        let identity = MeterIdentity()
        let leaf = MeterHarness(identity, records: MeterRecords())
        #expect(leaf.receive(identity.grant(1, queries: 10_000, rate: 3)) == .kept)
        let agent = RateLimiter()
        // Bursts, pauses shorter and longer than a token's 333 ms, and one that would refill the bucket past full.
        // Steps are multiples of 125 ms, so that the agent's floating-point seconds are exact, as the leaf's
        // integer milli-tokens are (a boundary then falls on the same side for both).
        var steps: [UInt64] = Array(repeating: 0, count: 5) + [125, 125, 125, 0, 250, 375, 0, 0, 2000]
        steps += Array(repeating: 0, count: 4) + (0..<60).map { UInt64(125 * ((7 * $0) % 5)) }
        var answered = 0
        var limited = 0
        for (index, step) in steps.enumerated() {
            leaf.monotonic += step
            let result = Array("digits-mlp".utf8).withUnsafeBytes {
                leaf.meter.consume(
                    model: $0,
                    version: 3,
                    online: true,
                    monotonic: leaf.monotonic,
                    storage: &leaf.storage
                )
            }
            let now = Date(timeIntervalSinceReferenceDate: Double(leaf.monotonic) / 1000)
            let expected = agent.take("digits-mlp", requested: 1, perSecond: 3, now: now)
            #expect(result == (expected == 1 ? .answered(kind: 0) : .rateLimited), "query \(index) at +\(step) ms")
            if result == .answered(kind: 0) { answered += 1 } else { limited += 1 }
        }
        #expect(answered >= 3 && limited >= 3)  // both outcomes were exercised
        // Refused queries drew nothing: the receipts bill exactly the answered ones.
        var ledger = CoordinatorLedger()
        _ = try? leaf.sync(into: &ledger)
        #expect(ledger.queries == UInt64(answered))
        #expect(
            Array("digits-mlp".utf8).withUnsafeBytes { leaf.meter.remaining($0, monotonic: leaf.monotonic) }
                == UInt64(10_000 - answered)
        )
    }

    @Test func theNewestStandingGrantSetsTheRateAndAQuotaRefusalGivesTheTokenBack() {
        let identity = MeterIdentity()
        let leaf = MeterHarness(identity, records: MeterRecords())
        #expect(leaf.receive(identity.grant(1, queries: 2, rate: 2)) == .kept)
        // Two tokens: both answer; the third is over the rate.
        #expect(
            [leaf.consume(), leaf.consume(), leaf.consume()] == [.answered(kind: 0), .answered(kind: 0), .rateLimited]
        )
        leaf.monotonic += 1000
        // The bucket is full again but the grant is used up: quota-exhausted, and the token is given back.
        #expect(leaf.consume() == .quotaExhausted)
        // A newer grant without a rate lifts the limit, as on the agent (the newest standing grant's rate).
        #expect(leaf.receive(identity.grant(2, queries: 10)) == .kept)
        #expect((0..<10).map { _ in leaf.consume() } == Array(repeating: .answered(kind: 0), count: 10))
        // A newer grant with a rate of 1 a second: one answer, then limited until a second has passed.
        #expect(leaf.receive(identity.grant(3, queries: 10, rate: 1)) == .kept)
        #expect([leaf.consume(), leaf.consume()] == [.answered(kind: 0), .rateLimited])
        leaf.monotonic += 1000
        #expect(leaf.consume() == .answered(kind: 0))
    }

    @Test func aModelPushedMeteredWithoutAGrantIsRefusedAndStaysMeteredAcrossARestart() {
        let identity = MeterIdentity()
        let records = MeterRecords()
        do {
            let leaf = MeterHarness(identity, records: records)
            #expect(leaf.consume() == .unmetered)
            #expect(leaf.meter.setPushedMetered(true, storage: &leaf.storage))
            #expect(leaf.consume() == .quotaExhausted)
            #expect(leaf.consume(online: false) == .quotaExhausted)
        }
        // Restarted (offline): the flag was stored, the model is still refused.
        let restarted = MeterHarness(identity, records: records)
        #expect(restarted.meter.isPushedMetered)
        #expect(restarted.consume(online: false) == .quotaExhausted)
        #expect(restarted.receive(identity.grant(1, queries: 1)) == .kept)
        #expect([restarted.consume(), restarted.consume()] == [.answered(kind: 0), .quotaExhausted])
        // A later version pushed without --metered: the grant alone keeps it metered.
        #expect(restarted.meter.setPushedMetered(false, storage: &restarted.storage))
        #expect(restarted.consume() == .quotaExhausted)
        #expect(restarted.consume("kws") == .unmetered)
    }
}

/// TinyLeaf learns `--metered` from the manifest of its desired state (manifest metadata `metered: true`, as the
/// Linux agent does), verified with its pinned release key.
@Suite struct LeafPushedMeteredSessionTests {
    @Test func aVerifiedManifestSayingMeteredMakesTheLeafRefuseWithoutAGrant() throws {
        let world = LeafWorld()
        let leaf = LeafUnderTest.meteredRunningDigits(world)
        let release = ReleaseKey.generate()
        leaf.connect(release: release)
        #expect(leaf.leaf.meterInference() == .unmetered)
        func desire(_ manifest: [UInt8]) {
            world.send(
                .desiredState(DesiredState(models: [DesiredModel(model: "digits-mlp", manifest: manifest, reason: "")]))
            )
            leaf.poll()
        }
        let file = [UInt8](repeating: 7, count: 100)
        // Signed by another key: not believed, the model stays unmetered.
        desire(try LeafScript.manifest(2, file: file, key: .generate(), metadata: ["metered": "true"]))
        #expect(leaf.leaf.meterInference() == .unmetered)
        // Signed by the pinned key: metered, and with no grant every query is refused.
        desire(try LeafScript.manifest(2, file: file, key: release, metadata: ["metered": "true"]))
        #expect(leaf.leaf.meter?.isPushedMetered == true)
        #expect(leaf.leaf.meterInference() == .quotaExhausted)
        // A newer version pushed without --metered: answered freely again (no grant names the model).
        desire(try LeafScript.manifest(3, file: file, key: release))
        #expect(leaf.leaf.meterInference() == .unmetered)
    }
}
