import FleetWire
import Foundation

/// The built-in trainer on files, without a coordinator (`fleet-agent train`): what a round would train on
/// this device, to check a data file or to wrap in a `--trainer-command` plug-in.
public enum OfflineTraining {
    public struct Settings: Sendable {
        public var epochs: Int
        public var learningRate: Double
        public var batchSize: Int
        public var seed: UInt64
        public var round: Int

        public init(epochs: Int, learningRate: Double, batchSize: Int, seed: UInt64, round: Int) {
            self.epochs = epochs
            self.learningRate = learningRate
            self.batchSize = batchSize
            self.seed = seed
            self.round = round
        }
    }

    public struct Summary: Sendable {
        public var sampleCount: Int
        public var metrics: [String: String]
    }

    /// Trains the F32 MLP in `modelIn` on the CSV rows in `dataPath` and writes the result to `modelOut`
    /// (same tensors, shapes and metadata).
    public static func train(
        modelIn: String,
        modelOut: String,
        dataPath: String,
        settings: Settings
    ) throws -> Summary {
        guard let base = FileManager.default.contents(atPath: modelIn) else {
            throw AgentError("cannot read \(modelIn)")
        }
        let task = TrainTask(
            requestID: 0,
            round: settings.round,
            model: "",
            baseVersion: 0,
            variant: "",
            baseSHA256: [],
            parameters: TrainingParameters(
                localEpochs: settings.epochs,
                learningRate: settings.learningRate,
                batchSize: settings.batchSize,
                seed: settings.seed,
                quantize: false
            ),
            deadlineMilliseconds: 0,
            personalPrefix: ""
        )
        let result = try BuiltInTrainer().train(task: task, baseFile: Array(base), dataPath: dataPath, deviceSeed: 0)
        try Data(result.trainedFile).write(to: URL(fileURLWithPath: modelOut), options: .atomic)
        return Summary(sampleCount: result.sampleCount, metrics: result.metrics)
    }
}
