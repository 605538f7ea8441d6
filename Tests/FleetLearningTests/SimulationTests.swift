import FleetLearning
import Foundation
import Testing

/// Federated runs on digits.csv split by its `client` column (20 non-IID clients, 10 sampled per round).
/// Debug builds run reduced checks; `FLEET_SLOW_TESTS=1` runs the full ones (use `swift test -c release`).
@Suite(.serialized) struct SimulationTests {
    private static func federation() throws -> (clients: [Dataset], test: Dataset) {
        try FederatedSimulation.partition(Fixtures.digits())
    }

    private static func run(_ configuration: FederatedSimulation.Configuration) throws -> FederatedSimulation.Result {
        let (clients, test) = try federation()
        return try FederatedSimulation(clients: clients, test: test, configuration: configuration).run()
    }

    /// Reference settings (1 local epoch, lr 0.05, batch 32, FedAvg): numpy reached 90 % at rounds 54–78 and
    /// Flower at 49; we accept rounds 35…100.
    @Test func referenceSettingsReachNinetyPercentWithinTheReferenceSpread() throws {
        var configuration = TrainingDefaults.reference.simulation(rounds: 100, seed: 0)
        configuration.stopAtAccuracy = 0.9
        let result = try Self.run(configuration)
        let round = try #require(result.firstRound(reaching: 0.9), "never reached 90 %")
        #expect((35...100).contains(round), "reached 90 % at round \(round)")
    }

    /// TinyFleet's defaults: 90 % within 10 rounds, 95 % within 30 (median of 3 seeds), ending ≥ 96.5 %.
    /// Debug runs seed 0 up to 95 %; the full three-seed, 100-round check needs FLEET_SLOW_TESTS=1.
    @Test func defaultsReachTheTargets() throws {
        let defaults = TrainingDefaults()
        guard slowTestsEnabled else {
            var configuration = defaults.simulation(rounds: 30, seed: 0)
            configuration.stopAtAccuracy = 0.95
            let result = try Self.run(configuration)
            #expect((result.firstRound(reaching: 0.9) ?? 99) <= 10)
            #expect((result.firstRound(reaching: 0.95) ?? 99) <= 30)
            return
        }
        var ninety = [Int]()
        var ninetyFive = [Int]()
        for seed: UInt64 in [0, 1, 2] {
            let result = try Self.run(defaults.simulation(rounds: 100, seed: seed))
            ninety.append(result.firstRound(reaching: 0.9) ?? Int.max)
            ninetyFive.append(result.firstRound(reaching: 0.95) ?? Int.max)
            print(
                "defaults seed \(seed): 90% at \(ninety.last ?? 0), 95% at \(ninetyFive.last ?? 0), final \(result.finalAccuracy)"
            )
            #expect(result.finalAccuracy >= 0.965)
        }
        #expect(ninety.sorted()[1] <= 10)
        #expect(ninetyFive.sorted()[1] <= 30)
    }

    /// 4 of 20 clients (16–19) send −10× their update. FedAvg collapses; trimmed mean behind a median-norm
    /// bound, and the median, stay close to their clean runs (plain server step: FedAdam's per-coordinate
    /// normalisation would amplify what bias survives). Debug runs 20 rounds and checks the gap is closing;
    /// FLEET_SLOW_TESTS=1 runs 60 rounds and checks the 2-point target (2.5 for the median).
    @Test func robustStrategiesSurvivePoisonedClients() throws {
        let rounds = slowTestsEnabled ? 60 : 20
        let poisoning = FederatedSimulation.Poisoning(clients: [16, 17, 18, 19], factor: -10)
        var defaults = TrainingDefaults()
        defaults.serverOptimizer = ServerOptimizer()
        func accuracy(_ strategy: any AggregationStrategy, poisoned: Bool, rounds: Int = rounds) throws -> Double {
            var configuration = defaults.simulation(rounds: rounds, seed: 0, strategy: strategy)
            configuration.poisoning = poisoned ? poisoning : nil
            return try Self.run(configuration).meanAccuracy(lastRounds: 10)
        }
        let fedAvgPoisoned = try accuracy(FedAvg(), poisoned: true, rounds: 12)
        #expect(fedAvgPoisoned < 0.5, "FedAvg under poisoning: \(fedAvgPoisoned)")
        let trimmed = try FedTrimmedMean(trimFraction: 0.2, medianNormBound: 1)
        let clean = try accuracy(trimmed, poisoned: false)
        let attacked = try accuracy(trimmed, poisoned: true)
        print(
            "robustness (\(rounds) rounds): FedAvg poisoned \(fedAvgPoisoned); trimmed clean \(clean), poisoned \(attacked)"
        )
        guard slowTestsEnabled else {
            #expect(attacked >= 0.8)
            #expect(attacked >= clean - 0.1)
            return
        }
        #expect(attacked >= clean - 0.02)
        let medianClean = try accuracy(FedMedian(), poisoned: false)
        let medianAttacked = try accuracy(FedMedian(), poisoned: true)
        print("median clean \(medianClean), poisoned \(medianAttacked)")
        #expect(medianAttacked >= medianClean - 0.025)
    }

    @Test func quantisedUploadsSaveBytesAndStillLearn() throws {
        var configuration = TrainingDefaults().simulation(rounds: 8, seed: 0)
        configuration.quantizeUpdates = true
        let result = try Self.run(configuration)
        let round = try #require(result.rounds.first)
        // 4,810 parameters: 19,240 bytes as fp32, 4,810 + 4·4 scales as int8, per client.
        #expect(round.bytesSaved == round.clients.count * (19_240 - 4_826))
        #expect(result.bestAccuracy >= 0.88)
    }
}
