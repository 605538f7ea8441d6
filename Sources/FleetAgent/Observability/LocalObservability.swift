import FleetLearning
import FleetObserve
import FleetStore
import FleetTrust
import Foundation

/// What the local interface does, shared by the socket service (`Protocol/LOCAL.md`) and the command line's
/// fallback when no daemon runs: run the installed model, feed drift summaries (under `drift-stats` consent),
/// and queue samples (under `samples` consent, within the queue's caps).
public struct LocalObservability: Sendable {
    /// The most rows one request may carry.
    public static let maximumRows = 10_000

    public let store: AgentStore
    public let consent: AgentConsentBook
    public let models: InstalledModels
    public var sampleLimits = SampleQueueLimits()
    /// Meters metered models (`Protocol/METERING.md`); nil only where no device identity exists yet.
    public var meter: Meter?
    /// Offloaded inference (SPEC 15a.6); nil without a daemon's session.
    public var cloud: CloudLink?
    /// The local inferences in flight, shared by the socket's connections (``InferenceLoad``).
    public var load = InferenceLoad()
    /// `--offload-busy N`: with `offload: auto`, a request that finds N local inferences in flight goes to the
    /// coordinator; 0 (the default): never busy, `auto` offloads only a model not installed here.
    public var offloadBusy = 0

    public init(store: AgentStore, consent: AgentConsentBook, models: InstalledModels) {
        self.store = store
        self.consent = consent
        self.models = models
    }

    public struct Inference: Sendable {
        public var model: String
        public var version: Int
        public var predictions: [Int]
        public var confidences: [Float]
        /// Whether the rows went into the drift summary (consent given and reference statistics present).
        public var observed: Bool
        /// Rows not answered (the last ones of the request): the quota or its rate limit refused them.
        public var refused = 0
        /// The model's quota after this request, for a metered model.
        public var quota: QuotaStateView?
        public var limitedByRate = false
        /// `device` or `cloud` (answered by the coordinator).
        public var via = "device"
    }

    /// `infer` with an offload choice: `never` (default) runs here; `always` on the coordinator; `auto` on the
    /// coordinator when no model is installed here (no variant fits this device), else here (``serve(_:now:deliver:)``
    /// also sends `auto` to the coordinator while the device is busy).
    public func infer(
        model name: String?,
        rows: [[Float]],
        offload: String?,
        now: Date = Date()
    ) async throws
        -> Inference
    {
        switch offload ?? "never" {
        case "never": return try await infer(model: name, rows: rows, now: now)
        case "always": return try await inferInCloud(model: name, rows: rows, now: now)
        case "auto":
            do {
                return try await infer(model: name, rows: rows, now: now)
            } catch let error as LocalRequestError where error.code == "no-model" && name != nil {
                return try await inferInCloud(model: name, rows: rows, now: now)
            }
        case let other:
            throw LocalRequestError.badRequest(
                "offload takes never, auto or always, not \(other.prefix(16).debugDescription)"
            )
        }
    }

    /// Runs the rows on the coordinator, within the model's quota (checked first, charged once answered, as cloud
    /// receipts).
    func inferInCloud(model name: String?, rows: [[Float]], now: Date) async throws -> Inference {
        guard let name else { throw LocalRequestError.badRequest("offload needs \"model\"") }
        guard let cloud else {
            throw LocalRequestError("cloud-unavailable", "no daemon session to offload through: start fleet-agent")
        }
        guard !rows.isEmpty, rows.count <= Self.maximumRows, rows.allSatisfy({ $0.allSatisfy(\.isFinite) }) else {
            throw LocalRequestError.badRequest("1 to \(Self.maximumRows) rows of finite features per request")
        }
        var sent = rows
        if let meter,
            case .metered(_, let state, _) = try await meter.charge(
                model: name,
                version: 0,
                requested: 0,
                now: now
            )
        {
            sent = Array(rows.prefix(Int(min(state.remaining, UInt64(rows.count)))))
            if sent.isEmpty {
                return Inference(
                    model: name,
                    version: 0,
                    predictions: [],
                    confidences: [],
                    observed: false,
                    refused: rows.count,
                    quota: state,
                    via: "cloud"
                )
            }
        }
        let result = try await cloud.infer(model: name, rows: sent)
        var answered = result.predictions.count
        var quota: QuotaStateView?
        if let meter,
            case .metered(let allowed, let state, _) = try await meter.charge(
                model: name,
                version: result.version,
                requested: answered,
                kind: .cloud,
                now: now
            )
        {
            answered = allowed
            quota = state
        }
        return Inference(
            model: name,
            version: result.version,
            predictions: Array(result.predictions.prefix(answered)),
            confidences: result.confidences.prefix(answered).map { Float($0) },
            observed: false,
            refused: rows.count - answered,
            quota: quota,
            via: "cloud"
        )
    }

    /// Meters `count` queries of an installed model: how many may be answered (the first ones), or nil for a model
    /// that is not metered.
    func charge(
        _ model: LoadedModel,
        count: Int,
        now: Date
    ) async throws -> (allowed: Int, quota: QuotaStateView, limitedByRate: Bool)? {
        guard let meter else { return nil }
        switch try await meter.charge(model: model.name, version: model.version, requested: count, now: now) {
        case .unmetered: return nil
        case .metered(let allowed, let state, let limited): return (allowed, state, limited)
        }
    }

    /// Runs the installed model on `rows` (model-space features) and feeds the drift summary.
    public func infer(model name: String?, rows: [[Float]], now: Date = Date()) async throws -> Inference {
        let model = try await models.model(named: name)
        let clock = ContinuousClock()
        let started = clock.now
        var predictions: [(label: Int, confidence: Float)]
        do {
            try Self.check(rows, width: model.mlp.inputCount)
            // Computed before metering, so that a query is never billed without its answer.
            predictions = try model.predict(rows).map { ($0.label, $0.confidence) }
        } catch {
            try await health.countInference(
                model: model.name,
                version: model.version,
                rows: max(rows.count, 1),
                failed: true,
                milliseconds: Self.milliseconds(clock.now - started),
                confidences: [],
                now: now
            )
            throw error
        }
        var answered = rows
        let charge = try await charge(model, count: rows.count, now: now)
        if let charge {
            predictions = Array(predictions.prefix(charge.allowed))
            answered = Array(rows.prefix(charge.allowed))
        }
        let labels = predictions.map(\.label)
        let confidences = predictions.map(\.confidence)
        if !answered.isEmpty {
            try await health.countInference(
                model: model.name,
                version: model.version,
                rows: answered.count,
                failed: false,
                milliseconds: Self.milliseconds(clock.now - started),
                confidences: confidences,
                now: now
            )
        }
        let observed =
            answered.isEmpty
            ? false
            : try await record(
                model: model.name,
                version: model.version,
                rows: answered,
                predictions: labels,
                confidences: confidences,
                now: now
            )
        return Inference(
            model: model.name,
            version: model.version,
            predictions: labels,
            confidences: confidences,
            observed: observed,
            refused: rows.count - answered.count,
            quota: charge?.quota,
            limitedByRate: charge?.limitedByRate ?? false
        )
    }

    /// Feeds the drift summary with inferences the application ran itself.
    public func observe(
        model name: String?,
        rows: [[Float]],
        predictions: [Int],
        confidences: [Float]?,
        now: Date = Date()
    ) async throws -> (model: String, version: Int, observed: Bool) {
        let model = try await models.model(named: name)
        try Self.check(rows, width: model.mlp.inputCount)
        guard predictions.count == rows.count, confidences.map({ $0.count == rows.count }) ?? true else {
            throw LocalRequestError.badRequest("one prediction (and confidence) per row")
        }
        guard predictions.allSatisfy({ (0..<model.mlp.outputCount).contains($0) }) else {
            throw LocalRequestError.badRequest("predictions must be classes 0..<\(model.mlp.outputCount)")
        }
        let observed = try await record(
            model: model.name,
            version: model.version,
            rows: rows,
            predictions: predictions,
            confidences: confidences,
            now: now
        )
        return (model.name, model.version, observed)
    }

    /// Offers samples for upload; predictions are computed with the installed model when not given.
    public func sample(
        model name: String?,
        rows: [[Float]],
        predictions given: [Int]?,
        labels: [Int?]?,
        now: Date = Date()
    ) async throws -> (model: String, result: SampleQueueResult) {
        let model = try await models.model(named: name)
        try Self.check(rows, width: model.mlp.inputCount)
        let predictions = try given ?? model.predict(rows).map(\.label)
        guard predictions.count == rows.count, labels.map({ $0.count == rows.count }) ?? true else {
            throw LocalRequestError.badRequest("one prediction (and label) per row")
        }
        let header = ((0..<model.mlp.inputCount).map { "f\($0)" } + ["prediction", "label"]).joined(separator: ",")
        let lines = rows.indices.map { index in
            (rows[index].map { "\($0)" } + ["\(predictions[index])", labels?[index].map { "\($0)" } ?? ""])
                .joined(separator: ",")
        }
        let result = try await store.enqueueSamples(
            model: model.name,
            header: header,
            lines: lines,
            now: now,
            limits: sampleLimits,
            consented: consent.grantCheck(.samples, at: now)
        )
        return (model.name, result)
    }

    /// Adds observations to the open window of `model` v`version`; false (nothing kept) without `drift-stats`
    /// consent or without reference statistics for that version.
    func record(
        model: String,
        version: Int,
        rows: [[Float]],
        predictions: [Int],
        confidences: [Float]?,
        now: Date
    ) async throws -> Bool {
        guard try await consent.isGranted(.driftStats, at: now),
            let bytes = try await store.referenceStatistics(model: model, version: version),
            let package = try? ReferencePackage(decoding: bytes)
        else { return false }
        var accumulator = DriftAccumulator(reference: package.statistics, windowStart: now)
        for (index, row) in rows.enumerated() {
            let predicted = predictions[index]
            try accumulator.observe(
                features: row,
                predictedClass: predicted < package.statistics.classCount ? predicted : nil,
                confidence: confidences?[index]
            )
        }
        let batch = accumulator.drain(windowEnd: now)
        try await store.updateDriftWindow(model: model, version: version, now: now) { existing in
            guard let existing, let open = try? DriftSummary(decoding: existing), open.hasSameShape(as: batch) else {
                return batch.encoded()
            }
            return try DriftSummary.merged([open, batch]).encoded()
        }
        return true
    }

    /// Ends the reporting window: every open summary becomes a report waiting to be sent (noised when the
    /// model's reference asks for Laplace noise); without `drift-stats` consent they are dropped.
    @discardableResult
    public func closeWindows(now: Date = Date()) async throws -> Int {
        let granted = try await consent.isGranted(.driftStats, at: now)
        var epsilons: [String: Double] = [:]
        let installed = ModelInstaller(dataDirectory: models.dataDirectory, hash: { _ in [] }).installed()
        for model in installed {
            guard let version = Int(model.version),
                let bytes = try await store.referenceStatistics(model: model.model, version: version),
                let epsilon = (try? ReferencePackage(decoding: bytes))?.laplaceEpsilon
            else { continue }
            epsilons["\(model.model) \(version)"] = epsilon
        }
        let noise = epsilons
        return try await store.closeDriftWindows(now: now) { model, version, bytes in
            guard granted, var summary = try? DriftSummary(decoding: bytes), summary.sampleCount > 0 else { return nil }
            summary.windowEnd = max(now, summary.windowStart)
            if let epsilon = noise["\(model) \(version)"] {
                var laplace = LaplaceNoise(epsilon: epsilon)
                summary = laplace.apply(to: summary)
            }
            return summary.encoded()
        }
    }

    static func check(_ rows: [[Float]], width: Int) throws(LocalRequestError) {
        guard !rows.isEmpty, rows.count <= maximumRows else {
            throw .badRequest("1 to \(maximumRows) rows per request")
        }
        guard rows.allSatisfy({ $0.count == width && $0.allSatisfy(\.isFinite) }) else {
            throw .badRequest("every row needs \(width) finite features")
        }
    }
}
