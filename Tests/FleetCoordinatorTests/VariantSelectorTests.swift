import Testing

@testable import FleetCoordinator

@Suite struct VariantSelectorTests {
    let selector = VariantSelector()
    let fp32 = VariantSelector.Candidate(
        variant: "fp32",
        version: 2,
        size: 200_000,
        accuracy: 0.971,
        requirements: ["min-ram": "\(128 << 20)"]
    )
    let int8 = VariantSelector.Candidate(
        variant: "int8",
        version: 2,
        size: 50_000,
        accuracy: 0.965,
        requirements: ["min-ram": "\(32 << 20)"]
    )

    @Test func mostAccurateVariantThatFits() {
        let big = selector.choose(from: [fp32, int8], capabilities: ["ram": "\(1 << 30)"])
        #expect(big.candidate?.variant == "fp32")
        let small = selector.choose(from: [fp32, int8], capabilities: ["ram": "\(48 << 20)"])
        #expect(small.candidate?.variant == "int8")
        #expect(small.reason.contains("fp32 needs ram ≥ 128 MiB (device has 48 MiB)"))
    }

    @Test func aDeviceThatFitsNothingIsToldWhy() {
        let none = selector.choose(from: [fp32, int8], capabilities: ["ram": "\(16 << 20)"])
        #expect(none.candidate == nil)
        #expect(none.reason.hasPrefix("no variant fits"))
    }

    @Test func aRegionsOwnVariantIsPreferredAndOnlyForThatRegion() {
        var eu = fp32
        eu.variant = "fp32-eu"
        eu.accuracy = 0.95
        eu.requirements["region"] = "eu"
        let capabilities = ["ram": "\(1 << 30)"]
        let inEU = selector.choose(
            from: [fp32, eu],
            capabilities: capabilities,
            labels: ["region": "eu"],
            current: "fp32"
        )
        #expect(inEU.candidate?.variant == "fp32-eu", "trained for its region, even if less accurate on the test set")
        let inUS = selector.choose(from: [fp32, eu], capabilities: capabilities, labels: ["region": "us"])
        #expect(inUS.candidate?.variant == "fp32")
        #expect(inUS.reason.contains("region eu (device is in us)"))
        let unlabelled = selector.choose(from: [eu], capabilities: capabilities)
        #expect(unlabelled.candidate == nil)
        #expect(unlabelled.reason.contains("device is in no region"))
    }

    @Test func theRunningVariantIsKeptWithinTheMargin() {
        let running = selector.choose(from: [fp32, int8], capabilities: ["ram": "\(1 << 30)"], current: "int8")
        #expect(running.candidate?.variant == "int8", "0.6 points are not worth a full download")
    }
}
