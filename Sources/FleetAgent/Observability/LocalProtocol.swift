import FleetStore
import FleetTrust
import Foundation

/// One request on the local socket: a JSON object on one line (`Protocol/LOCAL.md`).
public struct LocalRequest: Codable, Sendable {
    public var op: String
    public var model: String?
    public var rows: [[Float]]?
    public var predictions: [Int]?
    public var confidences: [Float]?
    public var labels: [Int?]?
    /// `meter`: inferences the application ran with its own runtime.
    public var count: Int?
    /// `infer`: `never` (default), `auto` or `always` run the rows on the coordinator (SPEC 15a.6).
    public var offload: String?
    /// `infer` with `offload: auto`: this request's busy limit instead of the agent's `--offload-busy` (0: never
    /// busy).
    public var offloadBusy: Int?

    public init(
        op: String,
        model: String? = nil,
        rows: [[Float]]? = nil,
        predictions: [Int]? = nil,
        confidences: [Float]? = nil,
        labels: [Int?]? = nil,
        count: Int? = nil,
        offload: String? = nil,
        offloadBusy: Int? = nil
    ) {
        self.op = op
        self.model = model
        self.rows = rows
        self.predictions = predictions
        self.confidences = confidences
        self.labels = labels
        self.count = count
        self.offload = offload
        self.offloadBusy = offloadBusy
    }
}

/// One answer: a JSON object on one line. `ok` false carries `error` (a stable code) and `message`.
public struct LocalResponse: Codable, Sendable {
    public var ok: Bool
    public var error: String?
    public var message: String?
    public var model: String?
    public var version: Int?
    public var predictions: [Int]?
    public var confidences: [Float]?
    public var observed: Bool?
    public var count: Int?
    public var queued: Int?
    public var queueSize: Int?
    public var device: String?
    public var consent: [String: String]?
    /// `model`: the weights file's size (the bytes that follow the answer line), digest and protection.
    public var size: Int?
    public var sha256: String?
    public var protection: String?
    /// `infer`, `meter` on a metered model: queries refused (the last rows of the request) and the quota after it.
    public var refused: Int?
    public var quota: QuotaStateView?
    /// `infer`: `cloud` when the coordinator answered (offloaded), else absent.
    public var via: String?
    /// `feedback`: how many of the labelled rows the model predicted right (`count`: the labelled rows).
    public var correct: Int?
    /// `metrics`: the agent's counters, one sample per series (as `--metrics-listen` serves them).
    public var metrics: [MetricSample]?

    public init(ok: Bool) { self.ok = ok }

    /// The typed refusal of a metered request none of whose queries may be answered.
    static func quotaRefusal(model: String, _ quota: QuotaStateView, limitedByRate: Bool, refused: Int) -> LocalResponse
    {
        var response = LocalResponse.failure(
            limitedByRate ? "rate-limited" : "quota-exhausted",
            limitedByRate
                ? "over the grant's \(quota.ratePerSecond) queries a second for \(model): retry later"
                : "no query of \(model) left: \(quota.used) of \(quota.granted) granted used"
                    + (quota.offline ? ", \(quota.graceRemaining) offline grace left" : "")
                    + (quota.rejectedGrants > 0
                        ? ", \(quota.rejectedGrants) grant(s) rejected (not this device's or not signed by its coordinator)"
                        : "")
                    + "; ask the fleet operator for a grant (fleetctl quota grant)"
        )
        response.model = model
        response.quota = quota
        response.refused = refused
        return response
    }

    public static func failure(_ code: String, _ message: String) -> LocalResponse {
        var response = LocalResponse(ok: false)
        response.error = code
        response.message = message
        return response
    }
}

extension LocalObservability {
    /// The `model` request: the installed weights file for an application that runs its own runtime, as the
    /// answer and the bytes that follow it (none after a failure). Refused for agent-only models and while a
    /// protected one is locked.
    public func weightsFile(model name: String?) async -> (response: LocalResponse, bytes: [UInt8]) {
        do {
            let (installed, protection, bytes) = try await models.weightsFile(named: name)
            var response = LocalResponse(ok: true)
            response.model = installed.model
            response.version = Int(installed.version)
            response.size = bytes.count
            response.sha256 = installed.sha256
            response.protection = protection.rawValue
            return (response, bytes)
        } catch {
            return (.failure(error.code, error.message), [])
        }
    }

    /// Serves one request and hands its answer to `deliver` (which writes it to the socket). An `infer` that runs
    /// here is a local inference in flight (``InferenceLoad``) until `deliver` returns; with `offload: auto`, one
    /// that finds the busy limit reached (`offloadBusy`, else the agent's `--offload-busy`) goes to the
    /// coordinator instead.
    public func serve(
        _ request: LocalRequest,
        now: Date = Date(),
        deliver: (LocalResponse) async throws -> Void
    ) async throws {
        guard request.op == "infer", request.offload != "always" else {
            return try await deliver(respond(to: request, now: now))
        }
        let limit = request.offloadBusy ?? offloadBusy
        guard limit >= 0 else {
            return try await deliver(.failure("bad-request", "offloadBusy is a number of inferences, 0 or more"))
        }
        if !load.enter(limit: request.offload == "auto" ? limit : 0) {
            var offloaded = request
            offloaded.offload = "always"
            let response = await respond(to: offloaded, now: now)
            // Busy is a preference: when the coordinator cannot take the rows, the device answers them itself.
            guard response.error == "cloud-unavailable" || response.error == "cloud-busy" else {
                return try await deliver(response)
            }
            _ = load.enter(limit: 0)
        }
        var counted = true
        defer { if counted { load.leave() } }
        let response = await respond(to: request, now: now)
        if response.via == "cloud" {
            // `auto` for a model not installed here: the coordinator answered; nothing runs here any more.
            load.leave()
            counted = false
        }
        try await deliver(response)
    }

    /// Serves one request; never throws (failures become `ok: false` answers).
    public func respond(to request: LocalRequest, now: Date = Date()) async -> LocalResponse {
        do {
            switch request.op {
            case "infer":
                let result = try await infer(
                    model: request.model,
                    rows: request.rows ?? [],
                    offload: request.offload,
                    now: now
                )
                if let quota = result.quota, result.predictions.isEmpty {
                    return .quotaRefusal(
                        model: result.model,
                        quota,
                        limitedByRate: result.limitedByRate,
                        refused: result.refused
                    )
                }
                var response = LocalResponse(ok: true)
                response.quota = result.quota
                response.refused = result.quota == nil ? nil : result.refused
                response.via = result.via == "cloud" ? "cloud" : nil
                response.model = result.model
                response.version = result.version
                response.predictions = result.predictions
                response.confidences = result.confidences
                response.observed = result.observed
                response.count = result.predictions.count
                return response
            case "quota":
                // The model's quota now, without metering anything; also for a model not installed here.
                var name = request.model ?? ""
                if request.model == nil { name = try await models.model(named: nil).name }
                var response = LocalResponse(ok: true)
                response.model = name
                response.version = try? await models.model(named: name).version
                if case .metered(_, let state, _) = try await meter?.charge(
                    model: name,
                    version: 0,
                    requested: 0,
                    now: now
                ) {
                    response.quota = state
                }
                return response
            case "meter":
                guard let count = request.count, (1...Self.maximumRows).contains(count) else {
                    return .failure("bad-request", "meter needs \"count\": 1 to \(Self.maximumRows) inferences")
                }
                let model = try await models.model(named: request.model)
                var response = LocalResponse(ok: true)
                response.model = model.name
                response.version = model.version
                guard let charge = try await charge(model, count: count, now: now) else {
                    response.count = count
                    return response
                }
                if charge.allowed == 0 {
                    return .quotaRefusal(
                        model: model.name,
                        charge.quota,
                        limitedByRate: charge.limitedByRate,
                        refused: count
                    )
                }
                response.count = charge.allowed
                response.refused = count - charge.allowed
                response.quota = charge.quota
                return response
            case "observe":
                guard let predictions = request.predictions else {
                    return .failure("bad-request", "observe needs \"predictions\"")
                }
                let result = try await observe(
                    model: request.model,
                    rows: request.rows ?? [],
                    predictions: predictions,
                    confidences: request.confidences,
                    now: now
                )
                var response = LocalResponse(ok: true)
                response.model = result.model
                response.version = result.version
                response.observed = result.observed
                response.count = predictions.count
                return response
            case "sample":
                let rows = request.rows ?? []
                let (model, result) = try await sample(
                    model: request.model,
                    rows: rows,
                    predictions: request.predictions,
                    labels: request.labels,
                    now: now
                )
                switch result {
                case .queued(let queued, let size):
                    var response = LocalResponse(ok: true)
                    response.model = model
                    response.queued = queued
                    response.queueSize = size
                    return response
                case .noConsent:
                    return .failure("no-consent", "samples consent is not granted on this device: nothing was kept")
                case .queueFull(let limit):
                    return .failure("queue-full", "the sample queue is full (\(limit) rows): nothing was kept")
                case .rateLimited(let perMinute):
                    return .failure("rate-limited", "over \(perMinute) samples a minute: nothing was kept")
                }
            case "feedback":
                let result = try await feedback(
                    model: request.model,
                    rows: request.rows,
                    predictions: request.predictions,
                    labels: request.labels,
                    now: now
                )
                var response = LocalResponse(ok: true)
                response.model = result.model
                response.version = result.version
                response.count = result.labelled
                response.correct = result.correct
                return response
            case "status":
                let ledger = try await consent.ledger()
                var response = LocalResponse(ok: true)
                response.device = consent.deviceID
                response.consent = ledger.describe(at: now)
                response.queueSize = try await store.sampleQueueCounts().values.reduce(0, +)
                return response
            default:
                return .failure("bad-request", "unknown op \(request.op.prefix(32).debugDescription)")
            }
        } catch let error as LocalRequestError {
            return .failure(error.code, error.message)
        } catch {
            return .failure("internal", "\(error)")
        }
    }

}
