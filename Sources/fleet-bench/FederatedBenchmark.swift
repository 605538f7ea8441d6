import ArgumentParser
import FleetDelta
import FleetLearning
import Foundation
import Synchronization

/// `fleet-bench federated`: in-process federated runs on digits.csv split by its `client` column (20 non-IID
/// clients, 10 per round, 64-64-10 MLP, seeded), printed beside the reference figures measured earlier with
/// numpy and Flower (`../shared/README.md`):
///
/// 1. the reference settings (1 local epoch, SGD lr 0.05, batch 32, plain FedAvg) against the reference rounds;
/// 2. `TrainingDefaults()` against its goals (90 % within 10 rounds, 95 % within 30, median of the seeds; final
///    accuracy at least the 96.5 % of centralised training);
/// 3. 4 of 20 clients sending sign-flipped ×10 updates: FedAvg, median and trimmed mean, clean against poisoned;
/// 4. the upload per update: lossless FleetDelta patch and 8-bit quantised, against raw fp32.
///
/// Independent runs go to `--jobs` worker threads; each run is seeded, so the figures do not depend on it.
struct FederatedBenchmarkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "federated",
        abstract: "Federated learning on the digits split: reference curve, TinyFleet defaults, poisoned clients."
    )

    enum Scenario: String, ExpressibleByArgument, CaseIterable {
        case reference
        case defaults
        case robustness
        case all
    }

    @Option(help: "Rounds for the reference-settings runs (the reference figures go to 200).")
    var rounds = 200

    @Option(help: "Rounds for the TinyFleet-defaults runs.")
    var defaultsRounds = 100

    @Option(help: "Rounds per robustness run (accuracy is the mean of the last 10 rounds).")
    var robustnessRounds = 60

    @Option(help: "Seeds for the reference and defaults runs, comma-separated.")
    var seeds = "0,1,2"

    @Option(help: "Seeds for the robustness runs (default: --seeds); accuracies and gaps are averaged over them.")
    var robustnessSeeds: String?

    @Option(help: "Which part to run: reference, defaults (with the upload cost), robustness or all.")
    var scenario: Scenario = .all

    @Option(help: "digits.csv with split and client columns.")
    var data = repositoryPath("Tests/FleetLearningTests/Fixtures/digits.csv")

    @Option(help: "Simulations run at once.")
    var jobs = ProcessInfo.processInfo.activeProcessorCount

    @Option(
        help: ArgumentHelp(
            "Also write each upload's base and trained model here (round1-base.safetensors, round1-client3.safetensors, ...).",
            discussion: "To set the upload bytes against an entropy floor: python3 Benchmarks/delta_floor.py BASE TRAINED (needs numpy)."
        )
    )
    var writeUpdateFiles: String?

    @Flag(help: "Print JSON.")
    var json = false

    func validate() throws {
        _ = try parsedSeeds(seeds)
        _ = try parsedSeeds(robustnessSeeds ?? seeds)
        guard rounds > 0, defaultsRounds > 0, robustnessRounds > 0 else {
            throw ValidationError("round counts must be positive")
        }
        guard jobs > 0 else { throw ValidationError("--jobs must be positive") }
    }

    func run() throws {
        let bench = try FederatedBenchmark(
            dataPath: data,
            workers: jobs,
            log: !json
        )
        let seedList = try parsedSeeds(seeds)
        var report = FederatedReport(
            data: "digits.csv split by client: \(bench.clients.count) clients, 10 per round, 64-64-10 MLP",
            seeds: seedList
        )
        let started = ContinuousClock.now
        if scenario == .reference || scenario == .all {
            report.reference = try bench.reference(rounds: rounds, seeds: seedList)
        }
        if scenario == .defaults || scenario == .all {
            report.defaults = try bench.defaults(
                rounds: defaultsRounds,
                seeds: seedList,
                referenceRounds: report.reference
            )
            report.upload = try bench.uploadCost(writingFilesTo: writeUpdateFiles)
        }
        if scenario == .robustness || scenario == .all {
            report.robustness = try bench.robustness(
                rounds: robustnessRounds,
                seeds: try parsedSeeds(robustnessSeeds ?? seeds)
            )
        }
        report.seconds = (ContinuousClock.now - started).seconds
        if json {
            try printJSON(report)
        } else {
            print(report.text)
        }
    }
}

private func parsedSeeds(_ text: String) throws -> [UInt64] {
    let seeds = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    let values = seeds.compactMap { UInt64($0) }
    guard !values.isEmpty, values.count == seeds.count else {
        throw ValidationError("invalid seed list \"\(text)\": use e.g. 0,1,2")
    }
    return values
}

// MARK: - Running

struct FederatedBenchmark {
    let clients: [Dataset]
    let test: Dataset
    let workers: Int
    let log: Bool

    init(dataPath: String, workers: Int, log: Bool) throws {
        let table = try CSVDatasetReader(featureScale: 1 / 16, classCount: 10)
            .read(contentsOf: URL(fileURLWithPath: dataPath))
        let federation = try FederatedSimulation.partition(table)
        guard federation.clients.count >= 20 else {
            throw BenchError(
                "\(dataPath) has \(federation.clients.count) clients; the benchmark needs the 20-client split"
            )
        }
        clients = federation.clients
        test = federation.test
        self.workers = workers
        self.log = log
    }

    /// Runs the configurations on up to `workers` threads; results in the configurations' order.
    func simulate(_ label: String, _ configurations: [FederatedSimulation.Configuration]) -> [RunOutcome] {
        simulate(label, jobs: configurations.map { SimulationJob(configuration: $0) })
    }

    /// Runs the jobs on up to `workers` threads; results in the jobs' order.
    func simulate(_ label: String, jobs: [SimulationJob]) -> [RunOutcome] {
        let threads = max(1, min(workers, jobs.count))
        if log { progress("federated: \(label): \(jobs.count) runs on \(threads) threads") }
        let clients = clients
        let test = test
        let state = SharedState(count: jobs.count)
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            while let index = state.claim() {
                let job = jobs[index]
                let used = clients.indices.map { job.leftOut.contains($0) ? clients[$0].subset([]) : clients[$0] }
                state.store(RunOutcome.run(job.configuration, clients: used, test: test), at: index)
            }
        }
        return state.outcomes()
    }

    func reference(rounds: Int, seeds: [UInt64]) throws -> ReferenceSection {
        let configurations = seeds.map { TrainingDefaults.reference.simulation(rounds: rounds, seed: $0) }
        let outcomes = simulate("reference settings", configurations)
        let runs = zip(seeds, outcomes).map { SeedRun(seed: $0, outcome: $1) }
        return ReferenceSection(rounds: rounds, runs: runs)
    }

    func defaults(rounds: Int, seeds: [UInt64], referenceRounds: ReferenceSection?) throws -> DefaultsSection {
        let defaults = TrainingDefaults()
        let outcomes = simulate("TinyFleet defaults", seeds.map { defaults.simulation(rounds: rounds, seed: $0) })
        // The same with 8-bit updates (`--quantize`): the lossy mode's accuracy cost.
        let quantized = simulate(
            "TinyFleet defaults, 8-bit updates",
            seeds.map { seed in
                var configuration = defaults.simulation(rounds: rounds, seed: seed)
                configuration.quantizeUpdates = true
                return configuration
            }
        )
        var section = DefaultsSection(
            rounds: rounds,
            localEpochs: defaults.localTraining.epochs,
            runs: zip(seeds, outcomes).map { SeedRun(seed: $0, outcome: $1) },
            reference: referenceRounds
        )
        section.quantizedRuns = zip(seeds, quantized).map { SeedRun(seed: $0, outcome: $1) }
        return section
    }

    func robustness(rounds: Int, seeds: [UInt64]) throws -> RobustnessSection {
        let sets: [(label: String, clients: Set<Int>)] = [
            ("16-19", [16, 17, 18, 19]),
            ("0,5,10,15", [0, 5, 10, 15]),
        ]
        let strategies: [(label: String, strategy: any AggregationStrategy, robust: Bool)] = [
            ("FedAvg", FedAvg(), false),
            ("median", FedMedian(), true),
            ("median + median-norm bound 1", FedMedian(medianNormBound: 1), true),
            ("trimmed mean 20%", try FedTrimmedMean(trimFraction: 0.2), true),
            ("trimmed mean 20% + median-norm bound 1", try FedTrimmedMean(trimFraction: 0.2, medianNormBound: 1), true),
            ("multi-krum 40%", try MultiKrum(maliciousFraction: 0.4), true),
        ]
        // TrainingDefaults' local training with the plain server step, as its documentation advises for robust
        // strategies (FedAdam's per-coordinate normalisation amplifies the bias poisoned clients leave).
        var settings = TrainingDefaults()
        settings.serverOptimizer = ServerOptimizer()
        var jobs: [SimulationJob] = []
        // Per strategy and seed: clean, then one run per poisoned set.
        for entry in strategies {
            for seed in seeds {
                jobs.append(
                    SimulationJob(
                        configuration: settings.simulation(rounds: rounds, seed: seed, strategy: entry.strategy)
                    )
                )
                for set in sets {
                    var configuration = settings.simulation(rounds: rounds, seed: seed, strategy: entry.strategy)
                    configuration.poisoning = FederatedSimulation.Poisoning(clients: set.clients, factor: -10)
                    jobs.append(SimulationJob(configuration: configuration))
                }
            }
        }
        // Then, per set and seed, FedAvg with the set's clients sending nothing: what losing their data alone
        // costs (the best a defence that spotted them could do).
        let leftOutStart = jobs.count
        for set in sets {
            for seed in seeds {
                jobs.append(
                    SimulationJob(configuration: settings.simulation(rounds: rounds, seed: seed), leftOut: set.clients)
                )
            }
        }
        let outcomes = simulate("robustness", jobs: jobs)
        let perStrategy = seeds.count * (1 + sets.count)
        let runsPerSeed = 1 + sets.count
        var rows: [RobustnessRow] = []
        for (k, set) in sets.enumerated() {
            for (s, entry) in strategies.enumerated() {
                let first = s * perStrategy
                let clean = seeds.indices.map { outcomes[first + $0 * runsPerSeed] }
                let poisoned = seeds.indices.map { outcomes[first + $0 * runsPerSeed + 1 + k] }
                rows.append(
                    RobustnessRow(
                        poisonedClients: set.label,
                        strategy: entry.label,
                        robust: entry.robust,
                        clean: clean,
                        poisoned: poisoned
                    )
                )
            }
            let fedAvgClean = seeds.indices.map { outcomes[$0 * runsPerSeed] }
            let leftOut = seeds.indices.map { outcomes[leftOutStart + k * seeds.count + $0] }
            rows.append(
                RobustnessRow(
                    poisonedClients: set.label,
                    strategy: "FedAvg, these 4 clients left out (no attack)",
                    robust: false,
                    note: "data loss alone",
                    clean: fedAvgClean,
                    poisoned: leftOut
                )
            )
        }
        let profiles = sets.map { set in
            PoisonedSetProfile(label: set.label, clients: set.clients.sorted().map { profile(client: $0) })
        }
        return RobustnessSection(rounds: rounds, seeds: seeds, sets: profiles, rows: rows)
    }

    /// Rows and the share of the two largest classes of one client's data.
    private func profile(client: Int) -> PoisonedSetProfile.Client {
        let labels = clients[client].labels
        var counts = [Int: Int]()
        for label in labels { counts[label, default: 0] += 1 }
        let top = counts.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(2)
        let share = labels.isEmpty ? 0 : Double(top.reduce(0) { $0 + $1.value }) / Double(labels.count)
        return .init(client: client, rows: labels.count, topClasses: top.map(\.key), topTwoShare: share)
    }

    /// Bytes per update for every client, training with the defaults from the initial model (round 1) and
    /// from the model after 10 rounds of the defaults (round 11), seed 0.
    func uploadCost(writingFilesTo directory: String? = nil) throws -> UploadSection {
        if let directory {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        if log { progress("federated: upload cost (20 clients × rounds 1 and 11)") }
        let defaults = TrainingDefaults()
        let initial = try MLP.initialize(layers: [64, 64, 10], seed: SeededGenerator.derive(0, -1))
        let afterTen = try FederatedSimulation(
            clients: clients,
            test: test,
            configuration: defaults.simulation(rounds: 10, seed: 0)
        ).run().finalModel
        let metadata = ["feature-scale": "0.0625"]
        let trainer = SGDTrainer(configuration: defaults.localTraining)
        var rows: [UploadRow] = []
        for (round, base) in [(1, initial), (11, afterTen)] {
            let baseFile = try safetensorsFile(base.parameters, metadata: metadata)
            if let directory {
                try Data(baseFile).write(
                    to: URL(fileURLWithPath: directory).appendingPathComponent("round\(round)-base.safetensors")
                )
            }
            var lossless: [Int] = []
            var quantised: [Int] = []
            for client in clients.indices where !clients[client].isEmpty {
                var local = base
                _ = try trainer.train(&local, on: clients[client], seed: SeededGenerator.derive(0, round, client))
                let trainedFile = try safetensorsFile(local.parameters, metadata: metadata)
                if let directory {
                    try Data(trainedFile).write(
                        to: URL(fileURLWithPath: directory).appendingPathComponent(
                            "round\(round)-client\(client).safetensors"
                        )
                    )
                }
                // What `UpdateCodec.encodeLossless` sends (it is `DeltaCodec.encode(old: base, new: trained)`).
                let patch = try DeltaCodec.encode(old: baseFile, new: trainedFile)
                guard try DeltaCodec.apply(old: baseFile, patch: patch) == trainedFile else {
                    throw BenchError("round \(round), client \(client): the patch does not rebuild the trained file")
                }
                lossless.append(patch.count)
                let delta = try local.parameters.delta(from: base.parameters)
                let (_, bytes) = try UpdateQuantizer.quantize(
                    delta,
                    ranges: base.parameters.flatRanges,
                    seed: SeededGenerator.derive(0, round, client, 1)
                )
                quantised.append(bytes.quantizedBytes)
            }
            rows.append(UploadRow(round: round, encoding: "lossless FleetDelta patch", bytes: lossless))
            rows.append(UploadRow(round: round, encoding: "8-bit quantised", bytes: quantised))
        }
        let scalars = initial.parameters.scalarCount
        return UploadSection(
            parameters: scalars,
            rawBytes: scalars * 4,
            fileBytes: try safetensorsFile(initial.parameters, metadata: metadata).count,
            rows: rows
        )
    }

    /// The F32 safetensors file `ModelFile.write` produces (tensors in order, little endian).
    private func safetensorsFile(_ tensors: TensorSet, metadata: [String: String]) throws -> [UInt8] {
        var writer = SafeTensorsWriter(metadata: metadata)
        for tensor in tensors.tensors {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(tensor.values.count * 4)
            for value in tensor.values {
                withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
            }
            try writer.add(name: tensor.name, dtype: .f32, shape: tensor.shape, bytes: bytes)
        }
        return writer.build()
    }
}

/// One simulation, optionally with some clients' data left out (they are sampled but send nothing).
struct SimulationJob: Sendable {
    var configuration: FederatedSimulation.Configuration
    var leftOut: Set<Int> = []
}

/// Work queue and results shared by the worker threads.
final class SharedState: Sendable {
    private struct State {
        var next = 0
        var outcomes: [RunOutcome?]
    }

    private let state: Mutex<State>

    init(count: Int) {
        state = Mutex(State(outcomes: [RunOutcome?](repeating: nil, count: count)))
    }

    func claim() -> Int? {
        state.withLock { state -> Int? in
            guard state.next < state.outcomes.count else { return nil }
            state.next += 1
            return state.next - 1
        }
    }

    func store(_ outcome: RunOutcome, at index: Int) {
        state.withLock { $0.outcomes[index] = outcome }
    }

    func outcomes() -> [RunOutcome] {
        state.withLock { $0.outcomes.map { $0 ?? RunOutcome(accuracies: [], failure: "not run", seconds: 0) } }
    }
}

/// One simulation's accuracy curve; a run that threw keeps the rounds it completed and the error.
struct RunOutcome: Sendable, Codable {
    var accuracies: [Double]
    var failure: String?
    var seconds: Double

    static func run(
        _ configuration: FederatedSimulation.Configuration,
        clients: [Dataset],
        test: Dataset
    ) -> RunOutcome {
        let started = ContinuousClock.now
        var accuracies: [Double] = []
        var failure: String?
        do {
            _ = try FederatedSimulation(clients: clients, test: test, configuration: configuration).run { record in
                accuracies.append(record.testAccuracy)
            }
        } catch {
            failure = "round \(accuracies.count + 1): \(error)"
        }
        return RunOutcome(accuracies: accuracies, failure: failure, seconds: (ContinuousClock.now - started).seconds)
    }

    func firstRound(reaching accuracy: Double) -> Int? {
        accuracies.firstIndex { $0 >= accuracy }.map { $0 + 1 }
    }

    var finalAccuracy: Double { accuracies.last ?? 0 }
    var bestAccuracy: Double { accuracies.max() ?? 0 }

    func meanAccuracy(lastRounds count: Int) -> Double {
        let tail = accuracies.suffix(count)
        return tail.isEmpty ? 0 : tail.reduce(0, +) / Double(tail.count)
    }
}
