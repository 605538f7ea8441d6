import FleetLearning
import FleetModelIO
import FleetStore
import FleetTrust
import FleetWire
import Foundation
import Logging

/// Runs federated rounds, one job (`--rounds N`) at a time: picks eligible devices, sends them training tasks,
/// aggregates their updates as they arrive (streaming for FedAvg and clipping), publishes the next version
/// through the model registry (so devices receive it as a delta), evaluates it, and records everything.
actor RoundRunner {
    let store: CoordinatorStore
    let models: ModelRegistry
    let connections: ConnectionRegistry
    let presence: PresenceTracker
    let logger: Logger

    /// Request ids of coordinator-originated requests have bit 62 set, so they never collide with a device's own.
    static let requestIDBase: UInt64 = 1 << 62

    private var job: Task<Void, Never>?
    /// A `start` is between its checks and setting `job`.
    private var starting = false
    private var active: ActiveRound?

    struct Settings: Sendable {
        var request: StartRound
        var spec: StrategySpec
        var seed: UInt64
    }

    /// A region's own variant of the round's base version (published by a `+regional` round).
    private struct TrainingBase {
        var record: ModelVariantRecord
        var file: [UInt8]
        var tensors: TensorSet
    }

    /// What one round holds while it collects updates.
    private struct ActiveRound {
        var id: Int
        var base: TensorSet
        var baseFile: [UInt8]
        /// By region label: the regions that have their own variant of the base version.
        var regionBases: [String: TrainingBase] = [:]
        /// Devices that train from their region's variant instead of the base.
        var deviceBases: [String: TrainingBase] = [:]
        var selected: Set<String>
        var responded: Set<String> = []
        var regions: [String: String]
        var aggregators: [String: any UpdateAggregator]
        var bytesUp = 0
        var updates = 0
        var hierarchical: Bool
    }

    init(
        store: CoordinatorStore,
        models: ModelRegistry,
        connections: ConnectionRegistry,
        presence: PresenceTracker,
        logger: Logger
    ) {
        self.store = store
        self.models = models
        self.connections = connections
        self.presence = presence
        self.logger = logger
    }

    // MARK: Starting

    /// Checks in the order of SPEC.md section 15.2 (precedence): the request's own fields (300), then what it
    /// names (301), then the coordinator's state (302).
    func start(_ request: StartRound) async throws -> RoundStarted {
        guard request.clients >= 1, request.minimumClients >= 1, request.minimumClients <= request.clients,
            request.rounds >= 1
        else {
            throw ErrorMessage(
                requestID: request.requestID,
                code: .badRequest,
                message: "need clients ≥ min-clients ≥ 1 and rounds ≥ 1"
            )
        }
        let spec: StrategySpec
        do {
            spec = try StrategySpec(parsing: request.strategy)
        } catch {
            throw ErrorMessage(requestID: request.requestID, code: .badRequest, message: "\(error)")
        }
        if spec.regionalVariants && !request.hierarchical {
            throw ErrorMessage(
                requestID: request.requestID,
                code: .badRequest,
                message: "+regional keeps each region's model: run the round with --hierarchical"
            )
        }
        guard let latest = try await store.latestVersion(model: request.model),
            try await store.modelVariant(model: request.model, version: latest, variant: request.variant) != nil
        else {
            throw ErrorMessage(
                requestID: request.requestID,
                code: .notFound,
                message:
                    "no \(request.variant) variant at the newest version of \(request.model): push one or use `fleetctl model init`"
            )
        }
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
        if !request.evaluationCSV.isEmpty {
            try await store.setEvaluationSet(model: request.model, csv: request.evaluationCSV, at: Date())
        }
        let firstRound = (try await store.rounds(model: nil).last?.id ?? 0) + 1
        let settings = Settings(request: request, spec: spec, seed: request.parameters.seed)
        job = Task { await self.runJob(settings) }
        return RoundStarted(requestID: request.requestID, firstRound: firstRound, rounds: request.rounds)
    }

    func stop() {
        job?.cancel()
    }

    private func runJob(_ settings: Settings) async {
        var optimizer = settings.spec.optimizer
        for index in 0..<settings.request.rounds where !Task.isCancelled {
            do {
                try await runRound(settings, optimizer: &optimizer)
            } catch {
                logger.error(
                    "round failed",
                    metadata: ["model": "\(settings.request.model)", "index": "\(index)", "error": "\(error)"]
                )
            }
        }
        job = nil
    }

    // MARK: One round

    private func runRound(_ settings: Settings, optimizer: inout ServerOptimizer) async throws {
        let request = settings.request
        guard let baseVersion = try await store.latestVersion(model: request.model),
            let baseRecord = try await store.modelVariant(
                model: request.model,
                version: baseVersion,
                variant: request.variant
            )
        else { throw StrategyError("no base model") }
        let baseFile = try models.blobs.read(baseRecord.blobPath)
        let loaded = try ModelFile.load(baseFile)
        let deadline = ContinuousClock.now + .milliseconds(request.deadlineMilliseconds)
        // Regional variants of the same version (published by `+regional` rounds): their devices train from them.
        var regionBases: [String: TrainingBase] = [:]
        for record in try await store.modelVariants(model: request.model)
        where record.version == baseVersion && record.variant.hasPrefix(request.variant + "-") {
            guard let region = record.requirements["region"] else { continue }
            let file = try models.blobs.read(record.blobPath)
            let tensors = try ModelFile.load(file).tensors
            guard tensors.names == loaded.tensors.names, tensors.shapes == loaded.tensors.shapes else { continue }
            regionBases[region] = TrainingBase(record: record, file: file, tensors: tensors)
        }
        let trainable = Set(regionBases.values.map(\.record.sha256)).union([baseRecord.sha256])

        // Devices online, connected, running the base version (of the variant or of its region's variant).
        var eligible: [DeviceRecord] = []
        let waitStarted = ContinuousClock.now
        while ContinuousClock.now < deadline && !Task.isCancelled {
            eligible = try await eligibleDevices(model: request.model, sha256s: trainable)
            if eligible.count >= request.clients { break }
            if eligible.count >= request.minimumClients && ContinuousClock.now - waitStarted > .seconds(3) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let roundSettings: [String: String] = [
            "clients": "\(request.clients)", "min-clients": "\(request.minimumClients)",
            "deadline-ms": "\(request.deadlineMilliseconds)", "local-epochs": "\(request.parameters.localEpochs)",
            "lr": "\(request.parameters.learningRate)", "batch-size": "\(request.parameters.batchSize)",
            "quantize": "\(request.parameters.quantize)", "hierarchical": "\(request.hierarchical)",
            "personal-prefix": request.personalPrefix,
        ]
        let roundID = try await store.startRound(
            model: request.model,
            variant: request.variant,
            baseVersion: baseVersion,
            strategy: settings.spec.text,
            settings: roundSettings,
            seed: settings.seed,
            at: Date()
        )
        guard eligible.count >= request.minimumClients else {
            try await store.finishRound(
                id: roundID,
                status: .failed,
                publishedVersion: nil,
                testAccuracy: nil,
                bytesUp: 0,
                bytesDown: 0,
                detail: "only \(eligible.count) eligible device(s), min-clients \(request.minimumClients); model kept",
                at: Date()
            )
            return
        }

        // Sample uniformly with the recorded seed.
        var generator = SeededGenerator(seed: settings.seed &+ UInt64(roundID) &* 0x9E37_79B9)
        let chosen = Array(eligible.sorted { $0.id < $1.id }.shuffled(using: &generator).prefix(request.clients))
        let regions = Dictionary(
            uniqueKeysWithValues: chosen.map { ($0.id, request.hierarchical ? ($0.labels["region"] ?? "none") : "all") }
        )
        var aggregators: [String: any UpdateAggregator] = [:]
        for region in Set(regions.values) {
            aggregators[region] = try settings.spec.strategy.makeAggregator(
                base: loaded.tensors,
                expectedClients: regions.values.filter { $0 == region }.count
            )
        }
        var deviceBases: [String: TrainingBase] = [:]
        for device in chosen {
            let running = device.installedModels.first { $0.name == request.model }?.sha256
            deviceBases[device.id] = regionBases.values.first { $0.record.sha256 == running }
        }
        active = ActiveRound(
            id: roundID,
            base: loaded.tensors,
            baseFile: baseFile,
            regionBases: regionBases,
            deviceBases: deviceBases,
            selected: Set(chosen.map(\.id)),
            regions: regions,
            aggregators: aggregators,
            hierarchical: request.hierarchical
        )
        let task = TrainTask(
            requestID: Self.requestIDBase | UInt64(roundID),
            round: roundID,
            model: request.model,
            baseVersion: baseVersion,
            variant: request.variant,
            baseSHA256: baseRecord.sha256,
            parameters: request.parameters,
            deadlineMilliseconds: max(0, (deadline - ContinuousClock.now).milliseconds),
            personalPrefix: request.personalPrefix
        )
        let taskBytes = Message.trainTask(task).encodedFrame().readableBytes
        for device in chosen {
            var deviceTask = task
            if let regional = deviceBases[device.id] {
                deviceTask.variant = regional.record.variant
                deviceTask.baseSHA256 = regional.record.sha256
            }
            try await store.setParticipant(
                RoundParticipantRecord(
                    round: roundID,
                    deviceID: device.id,
                    status: .selected,
                    bytesDown: taskBytes,
                    updatedAt: Date()
                )
            )
            connections.send(.trainTask(deviceTask), to: device.id)
        }
        logger.info(
            "round started",
            metadata: ["round": "\(roundID)", "base": "v\(baseVersion)", "devices": "\(chosen.count)"]
        )

        // Collect until every chosen device answered or the deadline passed.
        while ContinuousClock.now < deadline && !Task.isCancelled {
            if let round = active, round.responded.count >= round.selected.count { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        guard var round = active else { return }
        active = nil
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
        let bytesDown =
            try await deliveryBytes(model: request.model, version: baseVersion, devices: round.selected) + taskBytes
            * round.selected.count

        let (global, regional) = try finish(&round)
        guard round.updates >= request.minimumClients, let aggregated = global else {
            try await store.finishRound(
                id: roundID,
                status: .failed,
                publishedVersion: nil,
                testAccuracy: nil,
                bytesUp: round.bytesUp,
                bytesDown: bytesDown,
                detail: "\(round.updates) update(s) by the deadline, min-clients \(request.minimumClients); model kept",
                at: Date()
            )
            return
        }
        let updated = try optimizer.apply(delta: aggregated.delta, to: loaded.tensors)
        let accuracy = try await evaluate(updated, model: request.model, featureScale: loaded.featureScale)
        var metadata = baseRecord.metadata.merging(loaded.metadata) { current, _ in current }
        metadata["round"] = "\(roundID)"
        if let accuracy { metadata["accuracy"] = String(format: "%.4f", accuracy) }
        let bytes = try ModelFile.write(
            updated,
            metadata: loaded.metadata.merging(["round": "\(roundID)"]) { _, new in new }
        )
        let pushed = try await models.publishGenerated(
            model: request.model,
            version: baseVersion + 1,
            variant: request.variant,
            bytes: bytes,
            requirements: baseRecord.requirements,
            metadata: metadata,
            replan: !settings.spec.regionalVariants
        )
        var regionalDetail = ""
        if settings.spec.regionalVariants {
            let published = try await publishRegional(
                regional,
                round: round,
                baseRecord: baseRecord,
                loaded: loaded,
                version: baseVersion + 1,
                roundID: roundID
            )
            try await models.replan(model: request.model)
            regionalDetail = "; regional variants " + published.joined(separator: ", ")
        }
        try await store.finishRound(
            id: roundID,
            status: .published,
            publishedVersion: pushed.version,
            testAccuracy: accuracy,
            bytesUp: round.bytesUp,
            bytesDown: bytesDown,
            detail: "\(round.updates) update(s) aggregated (\(settings.spec.text)), published v\(pushed.version)"
                + (accuracy.map { String(format: ", test accuracy %.4f", $0) } ?? "") + regionalDetail,
            at: Date()
        )
        logger.info(
            "round published",
            metadata: ["round": "\(roundID)", "version": "\(pushed.version)", "accuracy": "\(accuracy ?? -1)"]
        )
    }

    /// Regional aggregates first (when hierarchical), then across regions weighted by their samples. Returns the
    /// global result and, when hierarchical, each region's.
    private func finish(
        _ round: inout ActiveRound
    ) throws -> (global: AggregationResult?, regional: [String: AggregationResult]) {
        var results: [String: AggregationResult] = [:]
        for (region, var aggregator) in round.aggregators {
            if let result = try aggregator.finish() { results[region] = result }
            round.aggregators[region] = aggregator
        }
        guard round.hierarchical, results.count > 1 else { return (results.values.first, results) }
        // The global model moves to the sample-weighted mean of the regions' new models: a region that trains
        // from its own variant contributes (its model − the base) + its update.
        var across = try FedAvg().makeAggregator(base: round.base, expectedClients: results.count)
        for region in results.keys.sorted() {
            guard let result = results[region] else { continue }
            var delta = result.delta
            if let own = round.regionBases[region] {
                let offset = try own.tensors.delta(from: round.base)
                for index in delta.indices { delta[index] += offset[index] }
            }
            try across.add(update: ClientUpdate(delta: delta, sampleCount: result.totalSamples))
        }
        return (try across.finish(), results)
    }

    /// `+regional`: each region's model (its own variant of the base version, or the base) plus its aggregate,
    /// published as `VARIANT-REGION` for the devices labelled with that region. Returns the variants' names.
    private func publishRegional(
        _ regional: [String: AggregationResult],
        round: ActiveRound,
        baseRecord: ModelVariantRecord,
        loaded: ModelFile.Loaded,
        version: Int,
        roundID: Int
    ) async throws -> [String] {
        var published: [String] = []
        for region in regional.keys.sorted() where region != "none" && region != "all" {
            let variant = "\(baseRecord.variant)-\(region)"
            guard let result = regional[region], ModelNames.isValid(variant) else { continue }
            var step = ServerOptimizer()
            let updated = try step.apply(delta: result.delta, to: round.regionBases[region]?.tensors ?? round.base)
            let fileMetadata = loaded.metadata.merging(["round": "\(roundID)", "region": region]) { _, new in new }
            var metadata = fileMetadata
            if let accuracy = try await evaluate(updated, model: baseRecord.model, featureScale: loaded.featureScale) {
                metadata["accuracy"] = String(format: "%.4f", accuracy)
            }
            _ = try await models.publishGenerated(
                model: baseRecord.model,
                version: version,
                variant: variant,
                bytes: try ModelFile.write(updated, metadata: fileMetadata),
                requirements: baseRecord.requirements.merging(["region": region]) { _, new in new },
                metadata: metadata,
                replan: false
            )
            published.append(variant)
        }
        return published
    }

    // MARK: Updates

    /// A device's update: aggregated if it is for the open round and on time; otherwise refused as late.
    func receive(_ update: TrainUpdate, from deviceID: String) async -> Message {
        guard var round = active, round.id == update.round, round.selected.contains(deviceID),
            !round.responded.contains(deviceID)
        else {
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
        round.responded.insert(deviceID)
        var status = RoundParticipantRecord.Status.updated
        if update.sampleCount == 0 || update.payload.isEmpty {
            status = .declined
        } else {
            do {
                let regional = round.deviceBases[deviceID]
                let (baseFile, base) = (regional?.file ?? round.baseFile, regional?.tensors ?? round.base)
                let delta =
                    update.encoding == .quantized
                    ? try UpdateCodec.decodeQuantized(update.payload, base: base)
                    : try UpdateCodec.decodeLossless(patch: update.payload, baseFile: baseFile, base: base)
                let region = round.regions[deviceID] ?? "all"
                if var aggregator = round.aggregators[region] {
                    try aggregator.add(update: ClientUpdate(delta: delta, sampleCount: update.sampleCount))
                    round.aggregators[region] = aggregator
                }
                round.updates += 1
                round.bytesUp += update.payload.count
            } catch {
                status = .declined
                logger.warning(
                    "unusable update",
                    metadata: ["device": "\(deviceID)", "round": "\(update.round)", "error": "\(error)"]
                )
            }
        }
        active = round
        try? await store.setParticipant(
            RoundParticipantRecord(
                round: update.round,
                deviceID: deviceID,
                status: status,
                sampleCount: update.sampleCount,
                bytesUp: update.payload.count,
                metrics: update.metrics,
                updatedAt: Date()
            )
        )
        return .ack(Ack(requestID: update.requestID))
    }

    // MARK: Helpers

    /// Devices online, connected, running the base, and whose owner granted `training` consent (the
    /// coordinator's own verified copy of it: nothing is granted by default).
    private func eligibleDevices(model: String, sha256s: Set<[UInt8]>) async throws -> [DeviceRecord] {
        let connected = Set(connections.connectedDeviceIDs)
        let now = Date()
        var eligible: [DeviceRecord] = []
        for device in try await store.devices()
        where connected.contains(device.id) && presence.isOnline(device.id)
            && device.installedModels.contains(where: { $0.name == model && sha256s.contains($0.sha256) })
        {
            let consent = try? await CoordinatorConsent.load(deviceID: device.id, store: store)
            if consent?.grantInForce(.training, at: now) != nil { eligible.append(device) }
        }
        return eligible
    }

    private func deliveryBytes(model: String, version: Int, devices: Set<String>) async throws -> Int {
        try await store.transfers(deviceID: nil, model: model)
            .filter { $0.version == version && devices.contains($0.deviceID) }
            .reduce(0) { $0 + $1.wireBytes }
    }

    private func evaluate(_ tensors: TensorSet, model: String, featureScale: Float) async throws -> Double? {
        guard let csv = try await store.evaluationSet(model: model) else { return nil }
        let data = try CSVDatasetReader(featureScale: featureScale).parse(Data(csv))
        return try MLP(parameters: tensors).accuracy(on: data)
    }
}
