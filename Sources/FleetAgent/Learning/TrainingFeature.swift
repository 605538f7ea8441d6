import FleetLearning
import FleetModelIO
import FleetTrust
import FleetWire
import Foundation
import Logging

/// The agent's part in federated rounds: trains the installed base model on the device's rows when the
/// coordinator asks, and uploads the result as a lossless delta (or an 8-bit quantised update). The rows
/// never leave the device.
actor TrainingFeature: AgentFeature {
    let configuration: AgentConfiguration
    let deviceID: String
    let installer: ModelInstaller
    let vault: ModelVault
    let consent: AgentConsentBook
    let logger: Logger

    init(
        configuration: AgentConfiguration,
        deviceID: String,
        consent: AgentConsentBook,
        keyring: ModelKeyring,
        logger: Logger
    ) {
        self.configuration = configuration
        self.deviceID = deviceID
        self.consent = consent
        self.vault = ModelVault(dataDirectory: configuration.dataDirectory, keyring: keyring)
        self.installer = vault.installer
        self.logger = logger
    }

    func connected(_ link: AgentLink) async throws {}
    func tick(_ link: AgentLink) async throws {}
    func disconnected() async {}

    func handle(_ message: Message, _ link: AgentLink) async throws -> Bool {
        switch message {
        case .trainTask(let task):
            do {
                try await link.send(.trainUpdate(await run(task)))
            } catch let tooLarge as FrameTooLarge {
                try await link.send(.trainUpdate(decline(task, "\(tooLarge), or run the round with --quantize")))
            }
            return true
        case .ack(let ack) where ack.requestID & TrainingFeature.coordinatorRequestBit != 0:
            return true
        case .error(let error) where error.requestID & TrainingFeature.coordinatorRequestBit != 0:
            logger.warning("training update refused", metadata: ["reason": "\(error.message)"])
            return true
        default:
            return false
        }
    }

    /// Coordinator-originated request ids have bit 62 set.
    static let coordinatorRequestBit: UInt64 = 1 << 62

    /// The answer of a device that does not train this round: no samples, the reason in the `declined` metric.
    private func decline(_ task: TrainTask, _ reason: String) -> TrainUpdate {
        logger.notice("declined training task", metadata: ["round": "\(task.round)", "reason": "\(reason)"])
        return TrainUpdate(
            requestID: task.requestID,
            round: task.round,
            sampleCount: 0,
            metrics: ["declined": reason],
            encoding: .delta,
            payload: []
        )
    }

    private func run(_ task: TrainTask) async -> TrainUpdate {
        func decline(_ reason: String) -> TrainUpdate { self.decline(task, reason) }
        guard (try? await consent.isGranted(.training)) == true else {
            return decline("no training consent (fleet-agent consent grant training)")
        }
        guard let dataPath = configuration.trainingData else {
            return decline("no training data (start the agent with --train-data FILE)")
        }
        guard let installed = installer.installed(model: task.model), installed.sha256 == Digest.hex(task.baseSHA256),
            let opened = try? vault.plaintext(model: task.model)
        else { return decline("not running \(task.model) v\(task.baseVersion) yet (or it is locked)") }
        if opened.protection.isSealed, configuration.trainerCommand != nil {
            return decline("\(task.model) is protected: an external trainer would need its weights on disk")
        }
        let baseFile = opened.bytes
        let started = ContinuousClock.now
        do {
            let result: LocalTrainingResult
            if let command = configuration.trainerCommand {
                result = try ExternalTrainer(command: command, dataDirectory: configuration.dataDirectory)
                    .train(task: task, baseFile: baseFile, dataPath: dataPath)
            } else {
                let seed = Digest.sha256(deviceID.utf8).prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                result = try BuiltInTrainer().train(
                    task: task,
                    baseFile: baseFile,
                    dataPath: dataPath,
                    deviceSeed: seed
                )
            }
            var metrics = result.metrics
            let payload: [UInt8]
            let encoding: UpdateEncoding
            if task.parameters.quantize {
                let base = try ModelFile.load(baseFile).tensors
                let (bytes, report) = try UpdateCodec.encodeQuantized(
                    base: base,
                    trained: result.trained,
                    seed: task.parameters.seed ^ UInt64(task.round)
                )
                payload = bytes
                encoding = .quantized
                metrics["bytes-saved"] = String(report.bytesSaved)
            } else {
                payload = try UpdateCodec.encodeLossless(base: baseFile, trained: result.trainedFile)
                encoding = .delta
            }
            metrics["raw-bytes"] = String(result.trained.scalarCount * 4)
            metrics["train-ms"] = String(
                Int((ContinuousClock.now - started).components.seconds * 1000)
                    + Int((ContinuousClock.now - started).components.attoseconds / 1_000_000_000_000_000)
            )
            logger.info(
                "trained",
                metadata: [
                    "round": "\(task.round)", "samples": "\(result.sampleCount)", "upload": "\(payload.count) bytes",
                ]
            )
            return TrainUpdate(
                requestID: task.requestID,
                round: task.round,
                sampleCount: result.sampleCount,
                metrics: metrics,
                encoding: encoding,
                payload: payload
            )
        } catch {
            return decline("training failed: \(error)")
        }
    }
}
