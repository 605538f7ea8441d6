import FleetLearning
import FleetModelIO
import FleetWire
import Foundation

/// The result of training one round on the device.
struct LocalTrainingResult: Sendable {
    var trainedFile: [UInt8]
    var trained: TensorSet
    var sampleCount: Int
    var metrics: [String: String]
}

/// The built-in trainer: the reference MLP (PyTorch `nn.Linear` layout, ReLU, softmax cross-entropy) trained
/// with mini-batch SGD on the device's CSV rows, scaled by the model's `feature-scale` (`InputScaling`).
struct BuiltInTrainer: Sendable {
    func train(task: TrainTask, baseFile: [UInt8], dataPath: String, deviceSeed: UInt64) throws -> LocalTrainingResult {
        let (model, loaded) = try ModelFile.mlp(baseFile)
        guard loaded.dtypes.values.allSatisfy({ $0 == "F32" }) else {
            throw AgentError("the built-in trainer trains F32 models; run rounds on the fp32 variant")
        }
        let data = try CSVDatasetReader(scaling: loaded.inputScaling).read(
            contentsOf: URL(fileURLWithPath: dataPath)
        )
        guard !data.isEmpty else { throw AgentError("no training rows in \(dataPath)") }
        let before = try model.accuracy(on: data)
        var trained = model
        let trainer = SGDTrainer(
            configuration: TrainingConfiguration(
                learningRate: Float(task.parameters.learningRate),
                batchSize: max(task.parameters.batchSize, 1),
                epochs: max(task.parameters.localEpochs, 1)
            )
        )
        let report = try trainer.train(&trained, on: data, seed: task.parameters.seed ^ deviceSeed ^ UInt64(task.round))
        var upload = trained.parameters
        var metrics: [String: String] = [
            "loss": String(format: "%.5f", report.epochLosses.last ?? 0),
            "accuracy-global": String(format: "%.4f", before),
            "accuracy-trained": String(format: "%.4f", try trained.accuracy(on: data)),
        ]
        if !task.personalPrefix.isEmpty {
            // The personal part stays on the device: upload the base's values for it (a zero update), and
            // fine-tune this device's own head on top of the global body.
            upload = TensorSet(
                upload.tensors.map { tensor in
                    tensor.name.hasPrefix(task.personalPrefix) ? (loaded.tensors[tensor.name] ?? tensor) : tensor
                }
            )
            let (_, personalAccuracy) = try PersonalHead.fineTune(
                global: loaded.tensors,
                data: data,
                configuration: trainer.configuration,
                seed: task.parameters.seed ^ deviceSeed
            )
            metrics["accuracy-personal"] = String(format: "%.4f", personalAccuracy)
            metrics["personal-prefix"] = task.personalPrefix
        }
        return LocalTrainingResult(
            trainedFile: try ModelFile.write(upload, metadata: loaded.metadata),
            trained: upload,
            sampleCount: data.count,
            metrics: metrics
        )
    }
}

/// A user's own trainer (`fleet-agent --trainer-command CMD`): run with `/bin/sh -c CMD` and these variables:
/// `TINYFLEET_MODEL_IN` (the base weights, safetensors), `TINYFLEET_MODEL_OUT` (where to write the trained
/// weights, same tensors and shapes), `TINYFLEET_DATA` (the `--train-data` CSV), `TINYFLEET_EPOCHS`,
/// `TINYFLEET_LR`, `TINYFLEET_BATCH_SIZE`, `TINYFLEET_SEED`, `TINYFLEET_ROUND`, `TINYFLEET_DATA_DIR`.
/// It may print one JSON object on its last stdout line: `{"sampleCount": 73, "loss": 0.31, ...}`.
/// It is killed, with everything it started, when it runs past `timeout` (`--trainer-timeout`).
struct ExternalTrainer: Sendable {
    let command: String
    let dataDirectory: String
    let timeout: Duration

    func train(task: TrainTask, baseFile: [UInt8], dataPath: String) async throws -> LocalTrainingResult {
        let work = dataDirectory + "/training"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let input = work + "/round-\(task.round)-base.safetensors"
        let output = work + "/round-\(task.round)-trained.safetensors"
        defer {
            try? FileManager.default.removeItem(atPath: input)
            try? FileManager.default.removeItem(atPath: output)
        }
        try Data(baseFile).write(to: URL(fileURLWithPath: input))
        var environment = ProcessInfo.processInfo.environment
        environment["TINYFLEET_MODEL_IN"] = input
        environment["TINYFLEET_MODEL_OUT"] = output
        environment["TINYFLEET_DATA"] = dataPath
        environment["TINYFLEET_EPOCHS"] = String(task.parameters.localEpochs)
        environment["TINYFLEET_LR"] = String(task.parameters.learningRate)
        environment["TINYFLEET_BATCH_SIZE"] = String(task.parameters.batchSize)
        environment["TINYFLEET_SEED"] = String(task.parameters.seed)
        environment["TINYFLEET_ROUND"] = String(task.round)
        environment["TINYFLEET_DATA_DIR"] = dataDirectory
        let finished = try await TrainerProcess(command: command, environment: environment, timeout: timeout).run()
        guard finished.status == 0 else {
            throw AgentError("trainer command exited with status \(finished.status)")
        }
        // The trained weights have the base's tensors and shapes: a file much larger than the base is refused
        // before it is read.
        let limit = baseFile.count * 2 + (1 << 20)
        let size = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? Int) ?? nil
        guard let size else { throw AgentError("trainer command wrote no \(output)") }
        guard size <= limit else {
            throw AgentError("the trainer's output is \(size) bytes, over \(limit) for this base model")
        }
        guard let trainedData = FileManager.default.contents(atPath: output) else {
            throw AgentError("trainer command wrote no \(output)")
        }
        let trained = try ModelFile.load(Array(trainedData))
        let base = try ModelFile.load(baseFile)
        guard trained.tensors.names == base.tensors.names, trained.tensors.shapes == base.tensors.shapes else {
            throw AgentError("the trainer's output does not have the base model's tensors")
        }
        var metrics: [String: String] = [:]
        var sampleCount = 0
        let lastLine =
            String(decoding: finished.output, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
        if let object = try? JSONSerialization.jsonObject(with: Data(lastLine.utf8)) as? [String: Any] {
            for (key, value) in object {
                if key == "sampleCount", let count = value as? Int {
                    sampleCount = count
                } else {
                    metrics[key] = "\(value)"
                }
            }
        }
        if sampleCount == 0 {
            sampleCount =
                max(0, (try? String(contentsOfFile: dataPath, encoding: .utf8))?.split(separator: "\n").count ?? 1) - 1
        }
        // Rewrite in the canonical layout so the upload delta stays tensor-aware.
        return LocalTrainingResult(
            trainedFile: try ModelFile.write(trained.tensors, metadata: base.metadata),
            trained: trained.tensors,
            sampleCount: sampleCount,
            metrics: metrics
        )
    }
}
