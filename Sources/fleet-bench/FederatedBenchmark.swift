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
            discussion: "To set the upload bytes against an entropy floor: ../shared/tools/delta_floor.py BASE TRAINED."
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

// MARK: - Reference figures (measured earlier, `../shared/README.md`)

/// The numpy/Flower runs on the same split and model; `nil`: not reached within 200 rounds.
private enum ReferenceFigures {
    static let horizon = 200
    static let numpySeeds = 3
    static let numpyOneEpoch: (ninety: [Int?], ninetyFive: [Int?]) = ([54, 61, 78], [175, 193, nil])
    static let flowerOneEpoch: (ninety: Int?, ninetyFive: Int?) = (49, 183)
    static let numpyFiveEpochs: (ninety: [Int?], ninetyFive: [Int?]) = ([13, 20, 19], [41, 57, 70])
    static let numpyTenEpochs: (ninety: [Int?], ninetyFive: [Int?]) = ([12, 11, 9], [26, 36, 35])
    static let centralisedAccuracy = 0.965
}

// MARK: - Running

private struct FederatedBenchmark {
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
private struct SimulationJob: Sendable {
    var configuration: FederatedSimulation.Configuration
    var leftOut: Set<Int> = []
}

/// Work queue and results shared by the worker threads.
private final class SharedState: Sendable {
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
private struct RunOutcome: Sendable, Codable {
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

// MARK: - Report

private struct SeedRun: Codable {
    var seed: UInt64
    var ninetyRound: Int?
    var ninetyFiveRound: Int?
    var finalAccuracy: Double
    var bestAccuracy: Double
    var roundsRun: Int
    var failure: String?
    var seconds: Double

    init(seed: UInt64, outcome: RunOutcome) {
        self.seed = seed
        ninetyRound = outcome.firstRound(reaching: 0.9)
        ninetyFiveRound = outcome.firstRound(reaching: 0.95)
        finalAccuracy = outcome.finalAccuracy
        bestAccuracy = outcome.bestAccuracy
        roundsRun = outcome.accuracies.count
        failure = outcome.failure
        seconds = outcome.seconds
    }
}

/// Rounds with "not reached" as `horizon + 1`, so medians and ranges order them last.
private func medianRound(_ rounds: [Int?], horizon: Int) -> Int? {
    guard !rounds.isEmpty else { return nil }
    let sorted = rounds.map { $0 ?? horizon + 1 }.sorted()
    let middle = sorted[sorted.count / 2]  // upper middle for an even count: the conservative side
    return middle > horizon ? nil : middle
}

private func roundText(_ round: Int?, horizon: Int) -> String {
    round.map(String.init) ?? "> \(horizon)"
}

private func percent(_ value: Double) -> String {
    String(format: "%.1f%%", value * 100)
}

private func verdict(_ pass: Bool) -> String { pass ? "pass" : "FAIL" }

/// Percentage points with one decimal, without a "-0.0".
private func points(_ value: Double) -> String {
    let text = String(format: "%.1f", value)
    return text == "-0.0" ? "0.0" : text
}

private struct ReferenceSection: Codable {
    struct Match: Codable {
        var milestone: String
        var oursMedian: Int?
        /// Our seeds that reached the milestone within `rounds`.
        var oursReached: Int
        var oursRuns: Int
        var numpyMedian: Int?
        var numpyReached: Int
        var flower: Int?
        var referenceLow: Int?
        var referenceHigh: Int?
        var within: Bool?

        /// ", slower than the numpy median" and the like ("not reached" counts as later than any round).
        func comparedWithNumpy(horizon: Int) -> String {
            guard within != nil else { return "" }
            let ours = oursMedian ?? horizon + 1
            let numpy = numpyMedian ?? horizon + 1
            if ours == numpy { return ", level with the numpy median" }
            return ours > numpy ? ", slower than the numpy median" : ", faster than the numpy median"
        }
    }

    var rounds: Int
    var runs: [SeedRun]
    var matches: [Match] = []

    init(rounds: Int, runs: [SeedRun]) {
        self.rounds = rounds
        self.runs = runs
        let horizon = ReferenceFigures.horizon
        let milestones: [(String, [Int?], [Int?], Int?)] = [
            (
                "90%", runs.map(\.ninetyRound), ReferenceFigures.numpyOneEpoch.ninety,
                ReferenceFigures.flowerOneEpoch.ninety
            ),
            (
                "95%", runs.map(\.ninetyFiveRound), ReferenceFigures.numpyOneEpoch.ninetyFive,
                ReferenceFigures.flowerOneEpoch.ninetyFive
            ),
        ]
        for (name, ours, numpy, flower) in milestones {
            let sorted = (numpy + [flower]).map { $0 ?? horizon + 1 }.sorted()
            let low = sorted.first ?? 0
            let high = sorted.last ?? 0
            let median = medianRound(ours, horizon: rounds)
            // A comparison needs our runs to see as far as the reference runs did.
            let within: Bool? =
                rounds >= horizon ? (low...high).contains(min(median ?? horizon + 1, horizon + 1)) : nil
            matches.append(
                Match(
                    milestone: name,
                    oursMedian: median,
                    oursReached: ours.count { $0 != nil },
                    oursRuns: ours.count,
                    numpyMedian: medianRound(numpy, horizon: horizon),
                    numpyReached: numpy.count { $0 != nil },
                    flower: flower,
                    referenceLow: low > horizon ? nil : low,
                    referenceHigh: high > horizon ? nil : high,
                    within: within
                )
            )
        }
    }

    var text: String {
        let horizon = ReferenceFigures.horizon
        var lines = [
            "1. Reference settings: 1 local epoch, SGD lr 0.05, batch 32, plain FedAvg, \(rounds) rounds",
            "",
        ]
        var rows: [[String]] = runs.map { run in
            [
                "TinyFleet (this run)", "\(run.seed)", roundText(run.ninetyRound, horizon: rounds),
                roundText(run.ninetyFiveRound, horizon: rounds), percent(run.finalAccuracy), percent(run.bestAccuracy),
            ]
        }
        rows.append([
            "TinyFleet (this run)", "median",
            roundText(medianRound(runs.map(\.ninetyRound), horizon: rounds), horizon: rounds),
            roundText(medianRound(runs.map(\.ninetyFiveRound), horizon: rounds), horizon: rounds), "", "",
        ])
        let numpy = ReferenceFigures.numpyOneEpoch
        for seed in numpy.ninety.indices {
            rows.append([
                "numpy FedAvg, reference (measured earlier)", "\(seed)",
                roundText(numpy.ninety[seed], horizon: horizon),
                roundText(numpy.ninetyFive[seed], horizon: horizon), "-", "-",
            ])
        }
        rows.append([
            "Flower 1.42 FedAvg, reference (measured earlier)", "-",
            roundText(ReferenceFigures.flowerOneEpoch.ninety, horizon: horizon),
            roundText(ReferenceFigures.flowerOneEpoch.ninetyFive, horizon: horizon), "-", "-",
        ])
        lines.append(renderTable(["run", "seed", "90% at", "95% at", "final", "best"], rows, leftColumns: 2))
        lines.append("")
        for match in matches {
            let low = roundText(match.referenceLow, horizon: horizon)
            let range = "\(low)–\(roundText(match.referenceHigh, horizon: horizon))"
            let outcome =
                match.within.map { $0 ? "within the reference spread" : "OUTSIDE the reference spread" }
                ?? "n/a (needs --rounds \(horizon))"
            let ours = roundText(match.oursMedian, horizon: rounds)
            let numpy = roundText(match.numpyMedian, horizon: horizon)
            let numpySeeds = ReferenceFigures.numpySeeds
            lines.append(
                "\(match.milestone): ours median round \(ours) (reached by \(match.oursReached)/\(match.oursRuns) "
                    + "seeds); numpy median \(numpy) (\(match.numpyReached)/\(numpySeeds) seeds), Flower "
                    + "\(roundText(match.flower, horizon: horizon)); reference spread \(range): \(outcome)"
                    + match.comparedWithNumpy(horizon: horizon)
            )
        }
        for run in runs where run.failure != nil {
            lines.append("seed \(run.seed) stopped: \(run.failure ?? "")")
        }
        return lines.joined(separator: "\n")
    }
}

private struct DefaultsSection: Codable {
    struct Goal: Codable {
        var name: String
        var measured: String
        var pass: Bool
    }

    var rounds: Int
    var localEpochs: Int
    var runs: [SeedRun]
    var medianNinety: Int?
    var medianNinetyFive: Int?
    var medianFinal: Double
    var goals: [Goal]
    /// The reference settings' median rounds from this run, when they ran.
    var referenceMedianNinety: Int?
    var referenceMedianNinetyFive: Int?
    var referenceRounds: Int?
    /// The same runs with 8-bit quantised updates.
    var quantizedRuns: [SeedRun] = []

    init(rounds: Int, localEpochs: Int, runs: [SeedRun], reference: ReferenceSection?) {
        self.rounds = rounds
        self.localEpochs = localEpochs
        self.runs = runs
        medianNinety = medianRound(runs.map(\.ninetyRound), horizon: rounds)
        medianNinetyFive = medianRound(runs.map(\.ninetyFiveRound), horizon: rounds)
        let finals = runs.map(\.finalAccuracy).sorted()
        medianFinal = finals.isEmpty ? 0 : finals[finals.count / 2]
        let worstFinal = finals.first ?? 0
        goals = [
            Goal(
                name: "90% within 10 rounds (median)",
                measured: roundText(medianNinety, horizon: rounds),
                pass: (medianNinety ?? .max) <= 10
            ),
            Goal(
                name: "95% within 30 rounds (median)",
                measured: roundText(medianNinetyFive, horizon: rounds),
                pass: (medianNinetyFive ?? .max) <= 30
            ),
            Goal(
                name: "final ≥ 96.5% centralised (every seed)",
                measured: "lowest \(percent(worstFinal))",
                pass: worstFinal >= ReferenceFigures.centralisedAccuracy && !runs.contains { $0.failure != nil }
            ),
        ]
        if let reference {
            referenceRounds = reference.rounds
            referenceMedianNinety = medianRound(reference.runs.map(\.ninetyRound), horizon: reference.rounds)
            referenceMedianNinetyFive = medianRound(reference.runs.map(\.ninetyFiveRound), horizon: reference.rounds)
        }
    }

    var text: String {
        var lines = [
            "2. TinyFleet defaults (TrainingDefaults()): \(localEpochs) local epochs, SGD lr 0.1, batch 16, "
                + "FedAdam server step (η 0.05), \(rounds) rounds",
            "",
        ]
        func epochs(_ round: Int?) -> String { round.map { "\($0 * localEpochs)" } ?? "-" }
        var rows: [[String]] = runs.map { run in
            [
                "\(run.seed)", roundText(run.ninetyRound, horizon: rounds),
                roundText(run.ninetyFiveRound, horizon: rounds),
                epochs(run.ninetyRound), epochs(run.ninetyFiveRound), percent(run.finalAccuracy),
                percent(run.bestAccuracy),
            ]
        }
        rows.append([
            "median", roundText(medianNinety, horizon: rounds), roundText(medianNinetyFive, horizon: rounds),
            epochs(medianNinety), epochs(medianNinetyFive), percent(medianFinal), "",
        ])
        lines.append(
            renderTable(
                ["seed", "90% at", "95% at", "epochs to 90%", "epochs to 95%", "final", "best"],
                rows
            )
        )
        lines.append("(epochs to X%: local epochs each participating device ran, rounds × \(localEpochs))")
        if !quantizedRuns.isEmpty {
            lines.append("")
            lines.append("With 8-bit quantised updates (lossy uploads, about 25 % of raw fp32):")
            lines.append(
                renderTable(
                    ["seed", "90% at", "95% at", "final", "final, lossless", "cost (pts)"],
                    zip(quantizedRuns, runs).map { lossy, lossless in
                        [
                            "\(lossy.seed)", roundText(lossy.ninetyRound, horizon: rounds),
                            roundText(lossy.ninetyFiveRound, horizon: rounds), percent(lossy.finalAccuracy),
                            percent(lossless.finalAccuracy),
                            String(format: "%.2f", (lossless.finalAccuracy - lossy.finalAccuracy) * 100),
                        ]
                    }
                )
            )
        }
        lines.append("")
        lines.append(
            renderTable(
                ["goal", "measured", "result"],
                goals.map { [$0.name, $0.measured, verdict($0.pass)] } + [
                    [
                        "centralised training (measured earlier)",
                        percent(ReferenceFigures.centralisedAccuracy), "",
                    ]
                ]
            )
        )
        lines.append("")
        if let referenceRounds {
            let before = (
                roundText(referenceMedianNinety, horizon: referenceRounds),
                roundText(referenceMedianNinetyFive, horizon: referenceRounds)
            )
            let after = (roundText(medianNinety, horizon: rounds), roundText(medianNinetyFive, horizon: rounds))
            lines.append(
                "vs the reference settings in this run (median round): 90% \(before.0) → \(after.0), "
                    + "95% \(before.1) → \(after.1) (the reference settings run 1 local epoch per round)"
            )
        }
        let five = ReferenceFigures.numpyFiveEpochs
        let ten = ReferenceFigures.numpyTenEpochs
        func list(_ rounds: [Int?]) -> String {
            rounds.map { roundText($0, horizon: ReferenceFigures.horizon) }.joined(separator: "/")
        }
        lines.append(
            "numpy FedAvg, reference (measured earlier), seeds 0/1/2: 5 local epochs 90% at \(list(five.ninety)), "
                + "95% at \(list(five.ninetyFive)); 10 local epochs 90% at \(list(ten.ninety)), "
                + "95% at \(list(ten.ninetyFive))"
        )
        for run in runs where run.failure != nil {
            lines.append("seed \(run.seed) stopped: \(run.failure ?? "")")
        }
        return lines.joined(separator: "\n")
    }
}

private struct PoisonedSetProfile: Codable {
    struct Client: Codable {
        var client: Int
        var rows: Int
        var topClasses: [Int]
        var topTwoShare: Double
    }

    var label: String
    var clients: [Client]

    var poisonedRows: Int { clients.reduce(0) { $0 + $1.rows } }
}

private struct RobustnessRow: Codable {
    var poisonedClients: String
    var strategy: String
    var robust: Bool
    var cleanAccuracy: Double
    var poisonedAccuracy: Double
    /// Clean minus poisoned, in percentage points (mean over the seeds).
    var gapPoints: Double
    /// The same gap for each seed, in the seeds' order.
    var seedGapPoints: [Double]
    /// Robust strategies only: the mean gap is at most 2 points.
    var pass: Bool?
    /// What a row without a goal shows.
    var note: String
    var failures: [String]

    init(
        poisonedClients: String,
        strategy: String,
        robust: Bool,
        note: String = "baseline (no goal)",
        clean: [RunOutcome],
        poisoned: [RunOutcome]
    ) {
        self.note = note
        self.poisonedClients = poisonedClients
        self.strategy = strategy
        self.robust = robust
        func mean(_ runs: [RunOutcome]) -> Double {
            runs.isEmpty ? 0 : runs.reduce(0) { $0 + $1.meanAccuracy(lastRounds: 10) } / Double(runs.count)
        }
        cleanAccuracy = mean(clean)
        poisonedAccuracy = mean(poisoned)
        gapPoints = (cleanAccuracy - poisonedAccuracy) * 100
        seedGapPoints = zip(clean, poisoned).map {
            ($0.meanAccuracy(lastRounds: 10) - $1.meanAccuracy(lastRounds: 10)) * 100
        }
        failures = (clean + poisoned).compactMap(\.failure)
        pass = robust ? gapPoints <= 2 && failures.isEmpty : nil
    }
}

private struct RobustnessSection: Codable {
    var rounds: Int
    var seeds: [UInt64]
    var sets: [PoisonedSetProfile]
    var rows: [RobustnessRow]

    var text: String {
        let seedList = seeds.map(String.init).joined(separator: ",")
        var lines = [
            "3. Robustness: 4 of 20 clients send sign-flipped ×10 updates (delta ← −10·delta); "
                + "TinyFleet defaults' local training, plain server step; \(rounds) rounds, seeds \(seedList); "
                + "accuracy = mean of the last 10 rounds, averaged over the seeds",
            "",
        ]
        for set in sets {
            let detail = set.clients.map { client in
                let classes = client.topClasses.map(String.init).joined(separator: "+")
                return "\(client.client): \(client.rows) rows, classes \(classes) \(percent(client.topTwoShare))"
            }
            lines.append(
                "poisoned set \(set.label) (\(set.poisonedRows) training rows): \(detail.joined(separator: "; "))"
            )
        }
        lines.append("")
        let rows = rows.map { row in
            [
                row.poisonedClients, row.strategy, percent(row.cleanAccuracy), percent(row.poisonedAccuracy),
                points(row.gapPoints), row.seedGapPoints.map(points).joined(separator: " / "),
                row.pass.map(verdict) ?? row.note,
            ]
        }
        lines.append(
            renderTable(
                ["poisoned", "strategy", "clean", "poisoned", "gap (pts)", "gap per seed", "robust: gap ≤ 2 pts"],
                rows,
                leftColumns: 2
            )
        )
        for row in self.rows where !row.failures.isEmpty {
            lines.append("\(row.strategy), poisoned \(row.poisonedClients): \(row.failures.joined(separator: "; "))")
        }
        return lines.joined(separator: "\n")
    }
}

private struct UploadRow: Codable {
    var round: Int
    var encoding: String
    var bytes: [Int]

    var mean: Double { bytes.isEmpty ? 0 : Double(bytes.reduce(0, +)) / Double(bytes.count) }
}

private struct UploadSection: Codable {
    var parameters: Int
    var rawBytes: Int
    var fileBytes: Int
    var rows: [UploadRow]

    var text: String {
        var lines = [
            "4. Upload per update: TinyFleet defaults' local training of each of the 20 clients from the round's "
                + "global model (seed 0); \(parameters.formatted()) parameters = \(rawBytes.formatted()) bytes raw "
                + "fp32 (safetensors file \(fileBytes.formatted()) bytes)",
            "",
        ]
        var table: [[String]] = [["-", "raw fp32", rawBytes.formatted(), "", "100.0%"]]
        for row in rows {
            let low = row.bytes.min() ?? 0
            let high = row.bytes.max() ?? 0
            table.append([
                "\(row.round)", row.encoding, Int(row.mean.rounded()).formatted(),
                "\(low.formatted())–\(high.formatted())",
                String(format: "%.1f%%", 100 * row.mean / Double(max(rawBytes, 1))),
            ])
        }
        lines.append(
            renderTable(["round", "encoding", "mean bytes", "min–max", "% of raw fp32"], table, leftColumns: 2)
        )
        lines.append(
            "(lossless: DeltaCodec.encode(old: base file, new: trained file), which is what "
                + "UpdateCodec.encodeLossless sends; files written as ModelFile.write does)"
        )
        return lines.joined(separator: "\n")
    }
}

private struct FederatedReport: Codable {
    var data: String
    var seeds: [UInt64]
    var reference: ReferenceSection?
    var defaults: DefaultsSection?
    var robustness: RobustnessSection?
    var upload: UploadSection?
    var seconds: Double = 0

    var text: String {
        var parts = ["TinyFleet federated benchmark: \(data)"]
        if let reference { parts.append(reference.text) }
        if let defaults { parts.append(defaults.text) }
        if let robustness { parts.append(robustness.text) }
        if let upload { parts.append(upload.text) }
        parts.append(String(format: "total %.1f s", seconds))
        return parts.joined(separator: "\n\n")
    }
}
