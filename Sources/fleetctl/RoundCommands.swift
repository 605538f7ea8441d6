import ArgumentParser
import FleetCommandLine
import FleetControl
import FleetCoordinator
import FleetWire
import Foundation

extension FleetCtl {
    struct Round: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run and inspect federated rounds.",
            subcommands: [Start.self, Show.self]
        )

        struct Start: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Start federated rounds on a model.",
                discussion: """
                    Each round samples --clients eligible devices (online, running the newest version of the variant), \
                    sends them a training task, aggregates the updates that arrive before --deadline, publishes the \
                    result as the next version (delivered as a delta) and evaluates it on --eval-data. A round with \
                    fewer than --min-clients updates fails and keeps the model. Strategies: fedavg, median, multi-krum[=F], \
                    trimmed-mean[=F], with +bound[=K] (median, trimmed-mean), +clip=NORM, +adam[=LR] or \
                    +momentum[=LR], and +regional with --hierarchical (publish each region's model as the variant \
                    VARIANT-REGION); default: \(defaultStrategy).
                    """
            )
            static let defaultStrategy = RoundStartDefaults.strategy

            @OptionGroup var target: TargetOptions
            @OptionGroup var output: OutputOptions
            @Argument(help: "Model name.") var model: String
            @Option(help: "The variant to train (its newest version is the base).") var variant = RoundStartDefaults
                .variant
            @Option(help: "Devices sampled per round.") var clients = RoundStartDefaults.clients
            @Option(help: "Fewest updates for a round to publish (default: 80% of --clients).") var minClients: Int?
            @Option(help: "How long a round waits for updates, e.g. 60s.") var deadline =
                "\(RoundStartDefaults.deadlineSeconds)s"
            @Option(help: "Local epochs per round.") var localEpochs = RoundStartDefaults.localEpochs
            @Option(help: "Local learning rate.") var lr = RoundStartDefaults.learningRate
            @Option(help: "Local mini-batch size.") var batchSize = RoundStartDefaults.batchSize
            @Option(help: "Aggregation strategy (see above).") var strategy = Start.defaultStrategy
            @Option(help: "Rounds to run back to back.") var rounds = RoundStartDefaults.rounds
            @Option(help: "Seed for device sampling and local shuffling (recorded with each round).") var seed: UInt64 =
                0
            @Option(help: "Held-out rows to evaluate each published round (CSV: features, then `label`).") var evalData:
                String?
            @Option(help: "Tensors devices keep personal, e.g. fc3. (the last layer).") var personalPrefix = ""
            @Flag(help: "Devices upload 8-bit quantised updates (lossy, about 4x smaller).") var quantize = false
            @Flag(help: "Aggregate per region label first, then across regions.") var hierarchical = false
            @Flag(
                help: """
                    Wait for the rounds and print each as it finishes (needs --data-dir); exits 1 if a round \
                    failed, with its reason.
                    """
            ) var wait = false

            func run() async throws {
                var evaluation: [UInt8] = []
                if let evalData {
                    guard let data = FileManager.default.contents(atPath: evalData) else {
                        throw ValidationError("cannot read \(evalData)")
                    }
                    // An empty request field means "no evaluation rows": say so instead of sending none.
                    guard !data.isEmpty else { throw ControlError("--eval-data \(evalData): empty CSV: no header") }
                    evaluation = Array(data)
                }
                let request = StartRound(
                    requestID: 1,
                    model: model,
                    variant: variant,
                    clients: clients,
                    minimumClients: minClients ?? RoundStartDefaults.minimumClients(for: clients),
                    deadlineMilliseconds: Int(try CommandLineValues.duration(deadline).components.seconds * 1000),
                    parameters: TrainingParameters(
                        localEpochs: localEpochs,
                        learningRate: lr,
                        batchSize: batchSize,
                        seed: seed,
                        quantize: quantize
                    ),
                    strategy: strategy,
                    rounds: rounds,
                    hierarchical: hierarchical,
                    personalPrefix: personalPrefix,
                    evaluationCSV: evaluation
                )
                let inspector = try target.inspector()
                let started = try await inspector.startRounds(request)
                if !output.json || !wait {
                    if output.json && !wait {
                        print(try Output.json(["firstRound": started.firstRound, "rounds": started.rounds]))
                    } else {
                        print("started \(started.rounds) round(s) of \(model) from round \(started.firstRound)")
                    }
                }
                guard wait else { return }
                try await RoundWait(
                    inspector: inspector,
                    model: model,
                    rounds: started.firstRound...(started.firstRound + started.rounds - 1),
                    stallLimit: .seconds(2 * (request.deadlineMilliseconds / 1000) + 60),
                    json: output.json
                ).run()
            }
        }

        struct Show: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "One round: settings, participants and outcome.")
            @OptionGroup var target: TargetOptions
            @OptionGroup var output: OutputOptions
            @Argument(help: "Round number.") var number: Int

            func run() async throws {
                try emit(try await target.inspector().round(id: number), json: output.json) { detail in
                    let round = detail.round
                    var lines = [
                        "Round \(round.round): \(round.status) — \(round.detail)",
                        "Model: \(round.model) \(round.variant), base v\(round.baseVersion)"
                            + (round.publishedVersion.map { ", published v\($0)" } ?? ""),
                        "Strategy: \(round.strategy); settings: "
                            + detail.settings.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(
                                separator: " "
                            ),
                        "",
                    ]
                    lines.append(
                        Table(
                            headers: ["DEVICE", "STATUS", "SAMPLES", "BYTES UP", "BYTES DOWN", "METRICS", "REASON"],
                            rows: detail.participants.map {
                                [
                                    $0.device, $0.status, String($0.sampleCount), String($0.bytesUp),
                                    String($0.bytesDown),
                                    $0.metrics.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(
                                        separator: " "
                                    ),
                                    $0.reason,
                                ]
                            }
                        ).render()
                    )
                    return lines.joined(separator: "\n")
                }
            }
        }
    }

    struct Rounds: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A model's federated rounds with accuracy and bytes.")
        @OptionGroup var target: TargetOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Model name.") var model: String

        func run() async throws {
            try emit(try await target.inspector().rounds(model: model), json: output.json, human: Output.roundsTable)
        }
    }
}

extension FleetCtl.Model {
    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish version 1 of a model with a seeded random initialisation."
        )
        @OptionGroup var target: TargetOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Model name.") var name: String
        @Option(help: "Architecture (mlp).") var architecture = "mlp"
        @Option(help: "Layer widths, input first, e.g. 64,64,10.") var layers: String
        @Option(help: "Initialisation seed.") var seed: UInt64 = 0
        @Option(help: "Variant name.") var variant = "fp32"
        @Option(
            help: """
                Factor applied to raw input features, e.g. 0.0625 for pixels 0–16 (default: auto, each row divided \
                by its largest magnitude when above 1, so raw and [0, 1] rows both work).
                """
        ) var featureScale: Double?

        func run() async throws {
            let widths = layers.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard widths.count >= 2 else { throw ValidationError("--layers takes widths such as 64,64,10") }
            var metadata: [String: String] = [:]
            if let featureScale { metadata["feature-scale"] = String(featureScale) }
            let pushed = try await target.inspector().initModel(
                InitModel(
                    requestID: 1,
                    model: name,
                    variant: variant,
                    architecture: architecture,
                    layers: widths,
                    seed: seed,
                    metadata: metadata
                )
            )
            try emit(
                ["model": pushed.model, "version": String(pushed.version), "variant": pushed.variant],
                json: output.json
            ) { _ in
                "published \(pushed.model) v\(pushed.version) \(pushed.variant) (mlp \(layers), seed \(seed)); \(pushed.assignedDevices) device(s) assigned"
            }
        }
    }
}
