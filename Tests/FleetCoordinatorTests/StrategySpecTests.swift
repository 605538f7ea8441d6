import FleetLearning
import Testing

@testable import FleetCoordinator

@Suite struct StrategySpecTests {
    @Test func defaultIsFedAvgWithAdam() throws {
        let spec = try StrategySpec(parsing: "")
        #expect(spec.text == "fedavg+adam=0.05")
        #expect(spec.strategy is FedAvg)
        guard case .adam(let learningRate, _, _, _) = spec.optimizer.method else {
            Issue.record("expected FedAdam, got \(spec.optimizer.method)")
            return
        }
        #expect(learningRate == 0.05)
    }

    @Test func boundConfiguresTheCoordinateWiseBaseWhereverItIsWritten() throws {
        let median = try #require(try StrategySpec(parsing: "median+bound").strategy as? FedMedian)
        #expect(median.medianNormBound == 1)
        let spec = try StrategySpec(parsing: "trimmed-mean=0.3+momentum+bound=2")
        let trimmed = try #require(spec.strategy as? FedTrimmedMean)
        #expect(trimmed.trimFraction == 0.3)
        #expect(trimmed.medianNormBound == 2)
        guard case .momentum = spec.optimizer.method else {
            Issue.record("expected server momentum, got \(spec.optimizer.method)")
            return
        }
    }

    @Test func multiKrumTakesTheAssumedMaliciousFraction() throws {
        let krum = try #require(try StrategySpec(parsing: "multi-krum=0.4").strategy as? MultiKrum)
        #expect(krum.maliciousFraction == 0.4)
        let byDefault = try #require(try StrategySpec(parsing: "multi-krum").strategy as? MultiKrum)
        #expect(byDefault.maliciousFraction == 0.3)
    }

    @Test func regionalIsAModifierOfAnyStrategy() throws {
        #expect(try StrategySpec(parsing: "fedavg+adam+regional").regionalVariants)
        #expect(try !StrategySpec(parsing: "fedavg+adam").regionalVariants)
    }

    @Test func clipWrapsTheStrategy() throws {
        let clipped = try #require(
            try StrategySpec(parsing: "median+bound+clip=5").strategy as? NormClipping
        )
        #expect(clipped.maxNorm == 5)
        #expect((clipped.wrapped as? FedMedian)?.medianNormBound == 1)
    }

    @Test(arguments: [
        "fedavg+bound", "median+bound=x", "median+bound=0", "median+bound=-1", "median+clip", "krum", "multi-krum=0.5",
        "multi-krum+bound", "fedavg+nesterov",
    ])
    func invalidSpecificationsAreRefusedWithAWayOut(_ text: String) {
        #expect(throws: StrategyError.self) { try StrategySpec(parsing: text) }
    }
}
