import FleetLearning
import FleetModelIO
import FleetTrust
import FleetWire
import Foundation
import Logging

/// The agent's part in federated rounds: trains the installed base model on the device's rows when the
/// coordinator asks, and uploads the result as a lossless delta (or an 8-bit quantised update). The rows
/// never leave the device.
///
/// Training runs off the session, in ``run()``: the session keeps reading frames and heartbeating while a task
/// trains, and the update is sent when it is ready, on the connection open then (or on the next one), until the
/// coordinator answers it.
actor TrainingFeature: AgentFeature {
    let configuration: AgentConfiguration
    let deviceID: String
    let installer: ModelInstaller
    let vault: ModelVault
    let consent: AgentConsentBook
    let logger: Logger
    private let tasks: AsyncStream<ReceivedTask>
    private let inbox: AsyncStream<ReceivedTask>.Continuation
    private var link: AgentLink?
    /// Updates sent (or waiting for a connection) that the coordinator has not answered yet, oldest first.
    private var unanswered: [TrainUpdate] = []
    /// The request ids of the latest tasks taken, so that a task received twice is trained once.
    private var taken: [UInt64] = []

    /// At most this many tasks wait while one trains, and this many updates wait for an answer: the coordinator
    /// runs one round at a time, so older ones are of no use.
    static let backlog = 4

    private struct ReceivedTask: Sendable {
        var task: TrainTask
        var at: ContinuousClock.Instant
    }

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
        (tasks, inbox) = AsyncStream.makeStream(of: ReceivedTask.self, bufferingPolicy: .bufferingNewest(Self.backlog))
    }

    /// Trains the tasks one at a time, in the order they came, and delivers each answer.
    func run() async {
        for await received in tasks {
            let task = received.task
            let deadline = received.at + .milliseconds(task.deadlineMilliseconds)
            if task.deadlineMilliseconds > 0 && ContinuousClock.now > deadline {
                logger.notice(
                    "skipped a training task whose round deadline passed",
                    metadata: ["round": "\(task.round)"]
                )
                continue
            }
            let update = await train(task)
            if Task.isCancelled { return }
            await deliver(update)
        }
    }

    func connected(_ link: AgentLink) async throws {
        self.link = link
        for update in unanswered { try await send(update, link) }
    }

    func tick(_ link: AgentLink) async throws {}

    func disconnected() async {
        link = nil
    }

    func handle(_ message: Message, _ link: AgentLink) async throws -> Bool {
        switch message {
        case .trainTask(let task):
            guard !taken.contains(task.requestID) else { return true }
            taken.append(task.requestID)
            if taken.count > 2 * Self.backlog { taken.removeFirst(taken.count - 2 * Self.backlog) }
            inbox.yield(ReceivedTask(task: task, at: .now))
            return true
        case .ack(let ack) where ack.requestID & TrainingFeature.coordinatorRequestBit != 0:
            unanswered.removeAll { $0.requestID == ack.requestID }
            return true
        case .error(let error) where error.requestID & TrainingFeature.coordinatorRequestBit != 0:
            unanswered.removeAll { $0.requestID == error.requestID }
            logger.warning("training update refused", metadata: ["reason": "\(error.message)"])
            return true
        default:
            return false
        }
    }

    /// Coordinator-originated request ids have bit 62 set.
    static let coordinatorRequestBit: UInt64 = 1 << 62

    /// Keeps the update until the coordinator answers it, and sends it now if connected. A failed send leaves it
    /// for the next connection.
    private func deliver(_ update: TrainUpdate) async {
        unanswered.removeAll { $0.requestID == update.requestID }
        unanswered.append(update)
        if unanswered.count > Self.backlog { unanswered.removeFirst(unanswered.count - Self.backlog) }
        guard let link else {
            logger.info("training update waits for a connection", metadata: ["round": "\(update.round)"])
            return
        }
        do {
            try await send(update, link)
        } catch {
            logger.info("training update not sent yet", metadata: ["round": "\(update.round)", "reason": "\(error)"])
        }
    }

    /// Sends an update; one too large for the connection's frame limit is replaced by a decline with the reason.
    private func send(_ update: TrainUpdate, _ link: AgentLink) async throws {
        do {
            try await link.send(.trainUpdate(update))
        } catch let tooLarge as FrameTooLarge {
            let declined = decline(
                update.requestID,
                round: update.round,
                "\(tooLarge), or run the round with --quantize"
            )
            if let index = unanswered.firstIndex(where: { $0.requestID == update.requestID }) {
                unanswered[index] = declined
            }
            try await link.send(.trainUpdate(declined))
        }
    }

    /// The answer of a device that does not train this round: no samples, the reason in the `declined` metric.
    private func decline(_ requestID: UInt64, round: Int, _ reason: String) -> TrainUpdate {
        logger.notice("declined training task", metadata: ["round": "\(round)", "reason": "\(reason)"])
        return TrainUpdate(
            requestID: requestID,
            round: round,
            sampleCount: 0,
            metrics: ["declined": reason],
            encoding: .delta,
            payload: []
        )
    }

    /// Trains one task; any failure becomes a decline with its reason.
    private func train(_ task: TrainTask) async -> TrainUpdate {
        func decline(_ reason: String) -> TrainUpdate { self.decline(task.requestID, round: task.round, reason) }
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
                result = try await ExternalTrainer(
                    command: command,
                    dataDirectory: configuration.dataDirectory,
                    timeout: configuration.trainerTimeout
                ).train(task: task, baseFile: baseFile, dataPath: dataPath)
            } else {
                let seed = Digest.sha256(deviceID.utf8).prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                result = try await DedicatedThread.run("trainer") {
                    try BuiltInTrainer().train(task: task, baseFile: baseFile, dataPath: dataPath, deviceSeed: seed)
                }
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
