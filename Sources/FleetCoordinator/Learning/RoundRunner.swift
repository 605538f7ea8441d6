import FleetLearning
import FleetModelIO
import FleetStore
import FleetTrust
import FleetWire
import Foundation
import Logging
import NIOCore
import ServiceLifecycle

/// Runs federated rounds, one job (`--rounds N`) at a time: checks a request (`RoundStartChecks`), picks eligible
/// devices (`RoundEligibility`), sends them training tasks (`RoundTaskSender`), screens their updates as they
/// arrive (`RoundCollection`), then aggregates, evaluates and publishes or holds back (`RoundConclusion`), so
/// devices receive a published version as a delta. Every round of a job gets a row, and every row ends `published` or
/// `failed` with the reason, whatever goes wrong: no round stays `running` after its job.
actor RoundRunner {
    let store: CoordinatorStore
    let models: ModelRegistry
    let connections: ConnectionRegistry
    let presence: PresenceTracker
    let logger: Logger
    /// Bounds each device's sample-count weight against the round's median (`--max-sample-weight`).
    let weightCap: SampleWeightCap
    /// One coordinator of the fleet at a time runs round jobs.
    let lease: WorkLease
    /// Several coordinators share the database (`--database`): a round also trains devices connected to the others
    /// (tasks through the outbox), and updates sent to another coordinator are forwarded to this one.
    let acrossCoordinators: Bool

    /// Request ids of coordinator-originated requests have bit 62 set, so they never collide with a device's own.
    static let requestIDBase: UInt64 = 1 << 62
    static let interrupted = "interrupted: the coordinator stopped during the round; model kept"
    static let notRun = "not run: the coordinator stopped before this round of its job"

    private var job: Task<Void, Never>?
    private var active: RoundCollection?
    /// A `start` is between its checks and setting `job`.
    private var starting = false
    /// Participant rows `receive` is writing: the round closes after them, so that what it records when it
    /// closes (refusals, capped weights) is not overwritten by a late write of the same row.
    private var recording = 0

    struct Settings: Sendable {
        var request: StartRound
        var spec: StrategySpec
        var seed: UInt64
    }

    init(
        store: CoordinatorStore,
        models: ModelRegistry,
        connections: ConnectionRegistry,
        presence: PresenceTracker,
        logger: Logger,
        weightCap: SampleWeightCap = .default,
        lease: WorkLease? = nil,
        acrossCoordinators: Bool = false
    ) {
        self.store = store
        self.models = models
        self.connections = connections
        self.presence = presence
        self.logger = logger
        self.weightCap = weightCap
        self.lease = lease ?? WorkLease("rounds", store: store)
        self.acrossCoordinators = acrossCoordinators
    }

    // MARK: Starting and stopping

    /// Checks everything a round needs before answering, in the order of SPEC.md section 15.2 (precedence): the
    /// request's own fields (300), then what it names (301) and the evaluation rows, which must fit that model
    /// (300), then the coordinator's state (302): rounds already running, enough devices that can train.
    func start(_ request: StartRound) async throws -> RoundStarted {
        let (spec, bases) = try await RoundStartChecks(store: store, models: models).check(request)
        guard job == nil, !starting else {
            throw ErrorMessage(
                requestID: request.requestID,
                code: .conflict,
                message: "rounds are already running; wait for them (fleetctl rounds)"
            )
        }
        // Held across the awaits below, so that a second request cannot pass the check before `job` is set.
        starting = true
        defer { starting = false }
        guard try await lease.acquire() else {
            throw ErrorMessage(
                requestID: request.requestID,
                code: .conflict,
                message: "rounds are running on another coordinator of this fleet; wait for them (fleetctl rounds)"
            )
        }
        do {
            return try await startHoldingTheLease(request, spec: spec, bases: bases)
        } catch {
            await lease.release()
            throw error
        }
    }

    /// The rest of ``start(_:)``, once this coordinator holds the rounds lease.
    private func startHoldingTheLease(
        _ request: StartRound,
        spec: StrategySpec,
        bases: RoundBases
    ) async throws
        -> RoundStarted
    {
        let eligibility = try await RoundEligibility.assess(
            bases: bases,
            store: store,
            connections: connections,
            presence: presence,
            offlineConsent: true,
            elsewhere: acrossCoordinators
        )
        guard eligibility.possible >= request.minimumClients else {
            throw ErrorMessage(
                requestID: request.requestID,
                code: .conflict,
                message: "round cannot run: min-clients \(request.minimumClients) but \(eligibility.possible) "
                    + "device(s) can train: \(eligibility.summary(base: bases.name)). Lower --min-clients (and "
                    + "--clients) to what the fleet has, or bring devices online with training consent"
            )
        }
        if !request.evaluationCSV.isEmpty {
            try await store.setEvaluationSet(model: request.model, csv: request.evaluationCSV, at: Date())
        }
        let firstRound = (try await store.rounds(model: nil).last?.id ?? 0) + 1
        let settings = Settings(request: request, spec: spec, seed: request.parameters.seed)
        job = Task { await self.runJob(settings) }
        return RoundStarted(requestID: request.requestID, firstRound: firstRound, rounds: request.rounds)
    }

    /// Stops the job and waits until its rounds are recorded as ended.
    func stop() async {
        guard let job else { return }
        job.cancel()
        await job.value
    }

    /// Rounds left `running` by a coordinator that stopped or died mid-round end as failed, and the rest of their
    /// job is recorded as not run, so `fleetctl round start --wait` ends. Only when this coordinator runs no job and
    /// can take the rounds lease: rounds that a live coordinator of the fleet runs are left alone.
    func recoverInterruptedRounds() async throws {
        guard job == nil, !starting else { return }
        starting = true
        defer { starting = false }
        guard try await lease.acquire() else { return }
        let ended: [Int]
        do {
            ended = try await store.failInterruptedRounds(
                detail: Self.interrupted,
                skippedDetail: Self.notRun,
                at: Date()
            )
        } catch {
            await lease.release()
            throw error
        }
        await lease.release()
        if !ended.isEmpty {
            logger.warning("rounds interrupted by a stop recorded as failed", metadata: ["rounds": "\(ended)"])
        }
    }

    /// Looks for rounds whose coordinator stopped or died every third of the lease's duration, until the
    /// coordinator shuts down.
    func watchForInterruptedRounds() async {
        let interval = lease.duration / 3
        var waited = Duration.zero
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: .seconds(1))
            waited += .seconds(1)
            guard waited >= interval else { continue }
            waited = .zero
            do {
                try await recoverInterruptedRounds()
            } catch {
                logger.warning("cannot check for interrupted rounds; will retry", metadata: ["error": "\(error)"])
            }
        }
    }

    private func runJob(_ settings: Settings) async {
        let renewal = Task { [lease, logger] in await lease.keepRenewed(logger: logger) }
        var optimizer = settings.spec.optimizer
        for index in 0..<settings.request.rounds {
            await runRound(settings, index: index, optimizer: &optimizer)
        }
        renewal.cancel()
        await lease.release()
        job = nil
    }

    // MARK: One round

    /// Records the round, conducts it, and records how it ended, whatever happens.
    private func runRound(_ settings: Settings, index: Int, optimizer: inout ServerOptimizer) async {
        let request = settings.request
        let baseVersion = (try? await store.latestVersion(model: request.model)) ?? 0
        let roundSettings: [String: String] = [
            "clients": "\(request.clients)", "min-clients": "\(request.minimumClients)",
            "deadline-ms": "\(request.deadlineMilliseconds)", "local-epochs": "\(request.parameters.localEpochs)",
            "lr": "\(request.parameters.learningRate)", "batch-size": "\(request.parameters.batchSize)",
            "quantize": "\(request.parameters.quantize)", "hierarchical": "\(request.hierarchical)",
            "personal-prefix": request.personalPrefix, "job": "\(index + 1)/\(request.rounds)",
            "max-sample-weight": "\(weightCap)",
        ]
        let started = await uncancelled { [store, settings] in
            try await store.startRound(
                model: request.model,
                variant: request.variant,
                baseVersion: baseVersion,
                strategy: settings.spec.text,
                settings: roundSettings,
                seed: settings.seed,
                at: Date()
            )
        }
        guard case .success(let roundID) = started else {
            logger.error("cannot record a round", metadata: ["model": "\(request.model)", "error": "\(started)"])
            return
        }
        var outcome: RoundOutcome
        if Task.isCancelled {
            outcome = RoundOutcome(detail: Self.notRun)
        } else {
            do {
                outcome = try await conduct(roundID, settings, optimizer: &optimizer)
            } catch {
                outcome = RoundOutcome(
                    bytesUp: active?.bytesUp ?? 0,
                    detail: Task.isCancelled ? Self.interrupted : "\(error); model kept"
                )
                logger.error("round failed", metadata: ["round": "\(roundID)", "error": "\(error)"])
            }
        }
        active = nil
        let recorded = await uncancelled { [store, outcome] in
            try await store.finishRound(
                id: roundID,
                status: outcome.status,
                publishedVersion: outcome.publishedVersion,
                testAccuracy: outcome.accuracy,
                bytesUp: outcome.bytesUp,
                bytesDown: outcome.bytesDown,
                detail: outcome.detail,
                at: Date()
            )
        }
        if acrossCoordinators { try? await store.discardForwardedUpdates(round: roundID) }
        if case .failure(let error) = recorded {
            logger.error("cannot record a round's end", metadata: ["round": "\(roundID)", "error": "\(error)"])
        } else {
            // A round held back or failed is worth an operator's notice in the log, not only in `fleetctl rounds`.
            logger.log(
                level: outcome.status == .published ? .info : .notice,
                "round ended",
                metadata: [
                    "round": "\(roundID)", "status": "\(outcome.status.rawValue)", "detail": "\(outcome.detail)",
                ]
            )
        }
    }

    private func conduct(
        _ roundID: Int,
        _ settings: Settings,
        optimizer: inout ServerOptimizer
    ) async throws -> RoundOutcome {
        let request = settings.request
        let bases = try await RoundBases.load(
            model: request.model,
            variant: request.variant,
            store: store,
            models: models
        )
        let evaluation = try await RoundEvaluation.stored(model: request.model, store: store, loaded: bases.loaded)
        let deadline = ContinuousClock.now + .milliseconds(request.deadlineMilliseconds)

        // Devices online, connected, consenting, running the base (of the variant or of its region's variant).
        var eligibility = RoundEligibility()
        let waitStarted = ContinuousClock.now
        while ContinuousClock.now < deadline {
            try Task.checkCancellation()
            eligibility = try await RoundEligibility.assess(
                bases: bases,
                store: store,
                connections: connections,
                presence: presence,
                elsewhere: acrossCoordinators
            )
            let count = eligibility.eligible.count
            if count >= request.clients { break }
            if count >= request.minimumClients && ContinuousClock.now - waitStarted > .seconds(3) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        guard eligibility.eligible.count >= request.minimumClients else {
            return RoundOutcome(
                detail: "only \(eligibility.eligible.count) eligible device(s), min-clients "
                    + "\(request.minimumClients): \(eligibility.summary(base: bases.name)); model kept"
            )
        }

        // Sample uniformly with the recorded seed.
        var generator = SeededGenerator(seed: settings.seed &+ UInt64(roundID) &* 0x9E37_79B9)
        let chosen = Array(
            eligibility.eligible.sorted { $0.id < $1.id }.shuffled(using: &generator).prefix(request.clients)
        )
        let collection = RoundCollection(id: roundID, bases: bases, chosen: chosen, hierarchical: request.hierarchical)
        active = collection
        let taskBytes = try await RoundTaskSender(store: store, connections: connections)
            .send(collection, bases: bases, request: request, deadline: deadline)
        logger.info(
            "round started",
            metadata: ["round": "\(roundID)", "base": "v\(bases.version)", "devices": "\(chosen.count)"]
        )

        // Collect until every chosen device answered or the deadline passed.
        while ContinuousClock.now < deadline {
            try Task.checkCancellation()
            if active?.allResponded == true && recording == 0 { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        guard let round = active else { throw RoundError("the round's updates were lost") }
        active = nil
        let settle = ContinuousClock.now + .seconds(5)
        while recording > 0 && ContinuousClock.now < settle { try await Task.sleep(for: .milliseconds(20)) }
        for deviceID in round.selected.subtracting(round.responded) {
            try await store.setParticipant(
                RoundParticipantRecord(
                    round: roundID,
                    deviceID: deviceID,
                    status: .dropped,
                    bytesDown: taskBytes,
                    updatedAt: Date()
                )
            )
        }
        return try await RoundConclusion(store: store, models: models, weightCap: weightCap, logger: logger)
            .conclude(
                round,
                settings: settings,
                bases: bases,
                evaluation: evaluation,
                taskBytes: taskBytes,
                optimizer: &optimizer
            )
    }

    // MARK: Updates

    /// A device's update: screened and held if it is for the open round and on time (refused alone, with the
    /// reason, when it is unusable); otherwise refused as late.
    func receive(_ update: TrainUpdate, from deviceID: String) async -> Message {
        guard var round = active, round.expects(deviceID, round: update.round) else {
            if await forward(update, from: deviceID) { return .ack(Ack(requestID: update.requestID)) }
            try? await store.setParticipant(
                RoundParticipantRecord(
                    round: update.round,
                    deviceID: deviceID,
                    status: .late,
                    bytesUp: update.payload.count,
                    updatedAt: Date()
                )
            )
            return .error(
                ErrorMessage(
                    requestID: update.requestID,
                    code: .conflict,
                    message: "round \(update.round) is closed; update refused"
                )
            )
        }
        let verdict = round.take(update, from: deviceID)
        active = round
        recording += 1
        defer { recording -= 1 }
        if verdict.status == .refused {
            logger.warning(
                "update refused",
                metadata: ["device": "\(deviceID)", "round": "\(update.round)", "reason": "\(verdict.reason)"]
            )
        }
        try? await store.setParticipant(
            RoundParticipantRecord(
                round: update.round,
                deviceID: deviceID,
                status: verdict.status,
                sampleCount: update.sampleCount,
                bytesUp: update.payload.count,
                metrics: update.metrics,
                reason: verdict.reason,
                updatedAt: Date()
            )
        )
        return .ack(Ack(requestID: update.requestID))
    }

    // MARK: Across coordinators

    /// An update for a round another coordinator of the fleet runs (this one runs no job): kept in the database for
    /// it. Whether it was kept. (`starting` is not checked: the periodic check for interrupted rounds sets it
    /// too, and an update arriving then is still another coordinator's.)
    private func forward(_ update: TrainUpdate, from deviceID: String) async -> Bool {
        guard acrossCoordinators, job == nil else { return false }
        var encoded = ByteBuffer()
        update.write(to: &encoded)
        return
            (try? await store.forwardUpdate(
                round: update.round,
                deviceID: deviceID,
                update: Array(buffer: encoded),
                at: Date()
            )) == true
    }

    /// Takes the updates other coordinators forwarded for the open round, as if their devices had sent them here.
    func takeForwardedUpdates() async {
        guard acrossCoordinators, let round = active else { return }
        do {
            for (deviceID, bytes) in try await store.takeForwardedUpdates(round: round.id, limit: 100) {
                var reader = WireReader(ByteBuffer(bytes: bytes))
                guard let update = try? TrainUpdate(reading: &reader) else {
                    logger.warning("a forwarded update does not decode", metadata: ["device": "\(deviceID)"])
                    continue
                }
                _ = await receive(update, from: deviceID)
            }
        } catch {
            logger.warning("cannot take forwarded updates; will retry", metadata: ["error": "\(error)"])
        }
    }

    /// Takes forwarded updates every 250 ms until the coordinator shuts down.
    func watchForForwardedUpdates() async {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: .milliseconds(250))
            await takeForwardedUpdates()
        }
    }

    // MARK: Helpers

    /// Runs `body` in a task of its own, so that a stop (which cancels the job) cannot cancel the writes that
    /// record how a round ended.
    private func uncancelled<T: Sendable>(
        _ body: @escaping @Sendable () async throws -> T
    ) async -> Result<T, any Error> {
        await Task { () -> Result<T, any Error> in
            do { return .success(try await body()) } catch { return .failure(error) }
        }.value
    }
}
