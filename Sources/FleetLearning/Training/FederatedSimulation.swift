/// An in-process federated run: clients train locally from the global model, send deltas, a strategy
/// aggregates them, a server optimiser applies the result, and the model is scored on a test set each round.
/// Pure and seeded: the same configuration gives the same curve. Used by tests (to prove aggregation right
/// and tune `TrainingDefaults`) and reusable by benchmarks or a CLI.
public struct FederatedSimulation: Sendable {
    /// Clients sending poisoned updates: `delta ← factor·delta` (−10: sign-flipped and ×10).
    public struct Poisoning: Sendable {
        public var clients: Set<Int>
        public var factor: Float

        public init(clients: Set<Int>, factor: Float = -10) {
            self.clients = clients
            self.factor = factor
        }
    }

    public struct Configuration: Sendable {
        public var layers: [Int]
        public var rounds: Int
        public var clientsPerRound: Int
        public var training: TrainingConfiguration
        /// The clients' learning rate is multiplied by this once per round.
        public var learningRateDecay: Float
        public var strategy: any AggregationStrategy
        public var serverOptimizer: ServerOptimizer
        /// Seeds client sampling, local shuffling and stochastic rounding.
        public var seed: UInt64
        /// Seeds the initial model; `nil` derives it from `seed`.
        public var initSeed: UInt64?
        public var poisoning: Poisoning?
        /// Send updates through the 8-bit stochastic-rounding quantiser.
        public var quantizeUpdates: Bool
        /// Stop once test accuracy reaches this (nil: run all rounds).
        public var stopAtAccuracy: Double?

        public init(
            layers: [Int] = [64, 64, 10],
            rounds: Int,
            clientsPerRound: Int = 10,
            training: TrainingConfiguration = TrainingConfiguration(),
            learningRateDecay: Float = 1,
            strategy: any AggregationStrategy = FedAvg(),
            serverOptimizer: ServerOptimizer = ServerOptimizer(),
            seed: UInt64 = 0,
            initSeed: UInt64? = nil,
            poisoning: Poisoning? = nil,
            quantizeUpdates: Bool = false,
            stopAtAccuracy: Double? = nil
        ) {
            self.layers = layers
            self.rounds = rounds
            self.clientsPerRound = clientsPerRound
            self.training = training
            self.learningRateDecay = learningRateDecay
            self.strategy = strategy
            self.serverOptimizer = serverOptimizer
            self.seed = seed
            self.initSeed = initSeed
            self.poisoning = poisoning
            self.quantizeUpdates = quantizeUpdates
            self.stopAtAccuracy = stopAtAccuracy
        }
    }

    public struct RoundRecord: Sendable, Equatable {
        public var round: Int
        public var testAccuracy: Double
        public var clients: [Int]
        /// Sample-weighted mean of the clients' last-epoch training loss.
        public var meanClientLoss: Double
        /// Upload bytes this round (after quantisation when enabled).
        public var uploadBytes: Int
        /// Upload bytes quantisation saved this round.
        public var bytesSaved: Int
        /// The aggregation result's metrics (empty when the strategy returned no update).
        public var aggregationMetrics: [String: Double]
    }

    public struct Result: Sendable {
        public var rounds: [RoundRecord]
        public var finalModel: MLP

        /// The first round (1-based) whose test accuracy is at least `accuracy`.
        public func firstRound(reaching accuracy: Double) -> Int? {
            rounds.first { $0.testAccuracy >= accuracy }?.round
        }

        public var finalAccuracy: Double { rounds.last?.testAccuracy ?? 0 }
        public var bestAccuracy: Double { rounds.map(\.testAccuracy).max() ?? 0 }
        /// Mean test accuracy over the last `count` rounds (smooths round-to-round noise).
        public func meanAccuracy(lastRounds count: Int) -> Double {
            let tail = rounds.suffix(count)
            return tail.isEmpty ? 0 : tail.reduce(0) { $0 + $1.testAccuracy } / Double(tail.count)
        }
    }

    public let clients: [Dataset]
    public let test: Dataset
    public var configuration: Configuration

    public init(clients: [Dataset], test: Dataset, configuration: Configuration) {
        self.clients = clients
        self.test = test
        self.configuration = configuration
    }

    /// Splits a table like digits.csv: rows whose `splitColumn` is `test` form the test set, `train` rows are
    /// grouped by the integer `clientColumn` (client k at index k's position in ascending order).
    public static func partition(
        _ data: Dataset,
        splitColumn: String = "split",
        clientColumn: String = "client"
    ) throws(DatasetError) -> (clients: [Dataset], test: Dataset) {
        let train = try data.filter(column: splitColumn, equals: "train")
        let test = try data.filter(column: splitColumn, equals: "test")
        return (try train.partitioned(byIntegerColumn: clientColumn).map(\.rows), test)
    }

    public func run(progress: ((RoundRecord) -> Void)? = nil) throws -> Result {
        let config = configuration
        var model = try MLP.initialize(
            layers: config.layers,
            seed: config.initSeed ?? SeededGenerator.derive(config.seed, -1)
        )
        var optimizer = config.serverOptimizer
        var sampler = SeededGenerator(seed: SeededGenerator.derive(config.seed, -2))
        let layout = model.parameters
        let ranges = layout.flatRanges
        var records = [RoundRecord]()
        var learningRate = config.training.learningRate
        for round in 1...max(config.rounds, 1) {
            let chosen = Self.sample(min(config.clientsPerRound, clients.count), of: clients.count, using: &sampler)
            let base = model.parameters
            var aggregator = try config.strategy.makeAggregator(base: base, expectedClients: chosen.count)
            var training = config.training
            training.learningRate = learningRate
            let trainer = SGDTrainer(configuration: training)
            var uploadBytes = 0
            var saved = 0
            for client in chosen where !clients[client].isEmpty {
                var local = model
                let report = try trainer.train(
                    &local,
                    on: clients[client],
                    seed: SeededGenerator.derive(config.seed, round, client)
                )
                var delta = try local.parameters.delta(from: base)
                if let poisoning = config.poisoning, poisoning.clients.contains(client) {
                    for i in delta.indices { delta[i] *= poisoning.factor }
                }
                if config.quantizeUpdates {
                    let (quantized, bytes) = try UpdateQuantizer.quantize(
                        delta,
                        ranges: ranges,
                        seed: SeededGenerator.derive(config.seed, round, client, 1)
                    )
                    delta = quantized.dequantized()
                    uploadBytes += bytes.quantizedBytes
                    saved += bytes.bytesSaved
                } else {
                    uploadBytes += delta.count * 4
                }
                let loss = Double(report.epochLosses.last ?? 0)
                try aggregator.add(
                    update: ClientUpdate(delta: delta, sampleCount: report.sampleCount, metrics: ["loss": loss])
                )
            }
            var metrics = [String: Double]()
            if let result = try aggregator.finish() {
                try model.replaceParameters(with: try optimizer.apply(delta: result.delta, to: base))
                metrics = result.metrics
            }
            let record = RoundRecord(
                round: round,
                testAccuracy: try model.accuracy(on: test),
                clients: chosen,
                meanClientLoss: metrics["loss"] ?? .nan,
                uploadBytes: uploadBytes,
                bytesSaved: saved,
                aggregationMetrics: metrics
            )
            records.append(record)
            progress?(record)
            learningRate *= config.learningRateDecay
            if let stop = config.stopAtAccuracy, record.testAccuracy >= stop { break }
        }
        return Result(rounds: records, finalModel: model)
    }

    /// `count` distinct indices from `0..<population` (partial Fisher–Yates), ascending.
    static func sample(_ count: Int, of population: Int, using generator: inout SeededGenerator) -> [Int] {
        var pool = Array(0..<population)
        for i in 0..<count {
            let j = i + generator.nextInt(below: population - i)
            pool.swapAt(i, j)
        }
        return pool[0..<count].sorted()
    }
}
