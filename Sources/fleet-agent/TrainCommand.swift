import ArgumentParser
import FleetAgent
import Foundation

/// `fleet-agent train`: the built-in trainer on files, no coordinator and no agent state involved.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model file on a CSV file with the built-in trainer, as a federated round would.",
        discussion: """
            Reads an F32 MLP in safetensors (as the agent installs it), trains it with mini-batch SGD on the rows \
            of --data (feature columns, then label; scaled by the model's feature-scale) and writes the trained \
            weights to --model-out. The last stdout line is a JSON object with sampleCount and the metrics, as a \
            --trainer-command plug-in prints it, so a plug-in can wrap this command. Example, inside a plug-in:
              fleet-agent train --model-in "$TINYFLEET_MODEL_IN" --model-out "$TINYFLEET_MODEL_OUT" \\
                --data "$TINYFLEET_DATA" --epochs "$TINYFLEET_EPOCHS" --lr "$TINYFLEET_LR" \\
                --batch-size "$TINYFLEET_BATCH_SIZE" --seed "$TINYFLEET_SEED" --round "$TINYFLEET_ROUND"
            """
    )

    @Option(help: "The base weights (safetensors, F32).") var modelIn: String
    @Option(help: "Where to write the trained weights.") var modelOut: String
    @Option(help: "Training rows: CSV with a header, feature columns then a `label` column.") var data: String
    @Option(help: "Local epochs.") var epochs = 10
    @Option(help: "SGD learning rate.") var lr = 0.1
    @Option(help: "Mini-batch size.") var batchSize = 16
    @Option(help: "Shuffling seed.") var seed: UInt64 = 0
    @Option(help: "Round number (mixed into the seed, as in a round).") var round = 0

    func validate() throws {
        guard epochs > 0, batchSize > 0, lr > 0, lr.isFinite else {
            throw ValidationError("--epochs, --batch-size and --lr must be positive")
        }
    }

    func run() throws {
        let summary = try OfflineTraining.train(
            modelIn: modelIn,
            modelOut: modelOut,
            dataPath: data,
            settings: .init(epochs: epochs, learningRate: lr, batchSize: batchSize, seed: seed, round: round)
        )
        var object: [String: Any] = ["sampleCount": summary.sampleCount]
        for (key, value) in summary.metrics { object[key] = Double(value) ?? value }
        let json = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        print(String(decoding: json, as: UTF8.self))
    }
}
