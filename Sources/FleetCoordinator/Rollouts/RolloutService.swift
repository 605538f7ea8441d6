import FleetStore
import FleetWire
import Foundation
import Logging
import ServiceLifecycle

/// Staged rollouts (README "Staged rollouts"): a version pushed with `--no-assign` goes to the eligible devices
/// wave by wave. A wave's devices are assigned the version (re-plan, desired state pushed); once each of them has
/// installed or failed and the soak has passed, the next wave starts. Install failures and refusals above the
/// rollout's limit halt it and, with auto-rollback, send the started waves' devices a signed rollback directive; so do
/// devices still pending when the rollout's device timeout has passed (RolloutService+Timeouts.swift).
/// Everything is in the database: a restarted coordinator carries on where it stopped.
struct RolloutService: AdminMessageHandler {
    let store: CoordinatorStore
    let models: ModelRegistry
    let logger: Logger
    /// How often running rollouts are looked at (outcomes, soak).
    var interval: Duration = .milliseconds(500)
    /// With several coordinators on one database, only the holder of this lease steps rollouts (nil: always step).
    let lease: WorkLease?
    /// Starts, controls and steps run one at a time, in arrival order.
    private let serial = DeviceRequestQueues()
    private static let queue = "rollouts"

    init(store: CoordinatorStore, models: ModelRegistry, logger: Logger, lease: WorkLease? = nil) {
        self.store = store
        self.models = models
        self.logger = logger
        self.lease = lease
    }

    func handleAdmin(_ message: Message, frameBudget: Int) async -> Message? {
        guard let requestID = message.requestID else { return nil }
        let work: @Sendable () async throws -> Message
        switch message {
        case .startRollout(let request): work = { .rolloutStarted(try await start(request)) }
        case .controlRollout(let request):
            work = {
                try await control(request)
                return .ack(Ack(requestID: requestID))
            }
        case .holdVersion(let request):
            work = {
                try await hold(request)
                return .ack(Ack(requestID: requestID))
            }
        default: return nil
        }
        return await serial.enqueue(Self.queue) {
            do {
                return try await work()
            } catch let error as ErrorMessage {
                return .error(error)
            } catch {
                logger.error("rollout request failed", metadata: ["error": "\(error)"])
                return .error(ErrorMessage(requestID: requestID, code: .internalError, message: "\(error)"))
            }
        }.value
    }

    /// Steps the running rollouts until the coordinator shuts down.
    func run() async {
        var renewed: Date?
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: interval)
            if let lease {
                let now = Date()
                if renewed.map({ now.timeIntervalSince($0) >= Double((lease.duration / 3).milliseconds) / 1000 })
                    ?? true
                {
                    renewed = (try? await lease.acquire(now: now)) == true ? now : nil
                }
                guard renewed != nil else { continue }  // another coordinator of the fleet steps them
            }
            await serial.enqueue(Self.queue) { await step(now: Date()) }.value
        }
        if renewed != nil { await lease?.release() }
    }

    // MARK: Requests

    private func hold(_ request: HoldVersion) async throws {
        guard ModelNameRule.isValid(request.model) else {
            throw ErrorMessage(
                requestID: request.requestID,
                code: .badRequest,
                message: ModelNameRule.explain(request.model)
            )
        }
        try await store.holdVersion(model: request.model, version: request.version, at: Date())
    }

    private func start(_ request: StartRollout) async throws -> RolloutStarted {
        func refuse(_ code: ErrorCode, _ text: String) -> ErrorMessage {
            ErrorMessage(requestID: request.requestID, code: code, message: text)
        }
        do {
            try RolloutWaves.validate(request.waves)
        } catch {
            throw refuse(.badRequest, error.description)
        }
        guard request.minimumDevicesPerWave >= 1 else {
            throw refuse(.badRequest, "--min-devices-per-wave is at least 1")
        }
        guard (0...100).contains(request.maximumInstallFailurePercent) else {
            throw refuse(.badRequest, "--max-install-failures is a percentage from 0% to 100%")
        }
        let gates: RolloutGatePolicy
        do {
            gates = try Self.gatePolicy(request)
        } catch {
            throw refuse(.badRequest, error.description)
        }
        let label = "\(request.model) v\(request.version)" + (request.variant.isEmpty ? "" : " \(request.variant)")
        let variants = try await store.modelVariants(model: request.model)
        guard !variants.isEmpty else {
            throw refuse(.notFound, "no model \(request.model): `fleetctl models` lists them")
        }
        let targets = variants.filter {
            $0.version == request.version && (request.variant.isEmpty || $0.variant == request.variant)
        }
        guard !targets.isEmpty else { throw refuse(.notFound, "no \(label): `fleetctl model show \(request.model)`") }
        let held = try await store.heldVersions(model: request.model)
        guard held.contains(request.version) else {
            throw refuse(
                .conflict,
                "\(request.model) v\(request.version) was pushed without --no-assign: every device it fits already has "
                    + "it; push the next version with --no-assign to roll it out in waves"
            )
        }
        let previous = variants.map(\.version).filter { !held.contains($0) }.max() ?? 0
        guard previous < request.version else {
            throw refuse(.conflict, "devices already follow v\(previous), newer than v\(request.version)")
        }
        if request.autoRollback && previous == 0 {
            throw refuse(
                .badRequest,
                "--auto-rollback needs an earlier version to return to; \(request.model) has none"
            )
        }
        if let active = try await store.rollouts(model: request.model).first(where: { $0.state.isActive }) {
            throw refuse(
                .conflict,
                "rollout \(active.id) of \(request.model) v\(active.version) is \(active.state.rawValue): "
                    + "`fleetctl rollout abort \(active.id)` or `promote \(active.id)` first"
            )
        }
        let selector = VariantSelector()
        let eligible = try await store.devices().filter { device in
            request.selector.allSatisfy { device.labels[$0.key] == $0.value }
                && selector.choose(
                    from: targets.map(\.candidate),
                    capabilities: device.capabilities,
                    labels: device.labels
                ).candidate != nil
        }.map(\.id)
        guard !eligible.isEmpty else {
            let labels = request.selector.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            throw refuse(
                .notFound,
                "no device is eligible for \(label)"
                    + (labels.isEmpty ? "" : " among those labelled \(labels.joined(separator: " "))")
                    + ": no variant fits them (`fleetctl devices` shows capabilities and labels)"
            )
        }
        let seed = request.seed != 0 ? request.seed : UInt64.random(in: 1...UInt64(Int64.max))
        let sizes = RolloutWaves.sizes(
            percentages: request.waves,
            eligible: eligible.count,
            minimum: request.minimumDevicesPerWave
        )
        let members = RolloutWaves.members(devices: eligible, sizes: sizes, seed: seed)
        // Waves the minimum size left without devices are not recorded.
        let waves = zip(request.waves, members).filter { !$0.1.isEmpty }.enumerated().map { index, wave in
            RolloutWave(
                number: index + 1,
                percent: wave.0,
                devices: wave.1.map { RolloutDevice(deviceID: $0, outcome: .pending) },
                startedAt: nil,
                settledAt: nil,
                decision: "waiting",
                reason: ""
            )
        }
        let now = Date()
        let record = RolloutRecord(
            id: 0,
            model: request.model,
            version: request.version,
            variant: request.variant,
            previousVersion: previous,
            selector: request.selector,
            soakMilliseconds: request.soakMilliseconds,
            minimumDevicesPerWave: request.minimumDevicesPerWave,
            maximumInstallFailurePercent: request.maximumInstallFailurePercent,
            autoRollback: request.autoRollback,
            seed: seed,
            state: .running,
            wave: 0,
            reason: "",
            createdAt: now,
            updatedAt: now,
            waves: waves,
            deviceTimeoutMilliseconds: request.deviceTimeoutMilliseconds > 0 ? request.deviceTimeoutMilliseconds : nil
        )
        let sizesText = waves.map { String($0.devices.count) }.joined(separator: "+")
        let id = try await store.createRollout(
            record,
            event: NewEvent(
                at: now,
                deviceID: nil,
                kind: "rollout_started",
                detail: "\(label) from v\(previous) to \(eligible.count) device(s) in \(waves.count) wave(s) "
                    + "(\(sizesText)), seed \(seed)"
            )
        )
        guard var rollout = try await store.rollout(id: id) else {
            throw ErrorMessage(
                requestID: request.requestID,
                code: .internalError,
                message: "rollout \(id) was not recorded"
            )
        }
        try await store.setRolloutGates(rolloutID: id, policy: gates)
        var events: [NewEvent] = []
        startWave(1, of: &rollout, at: now, events: &events)
        try await save(rollout, events: events)
        logger.info(
            "rollout started",
            metadata: ["rollout": "\(id)", "model": "\(label)", "devices": "\(eligible.count)"]
        )
        return RolloutStarted(
            requestID: request.requestID,
            rolloutID: Int(id),
            devices: eligible.count,
            waves: waves.count,
            seed: seed
        )
    }

    private func control(_ request: ControlRollout) async throws {
        guard var rollout = try await store.rollout(id: Int64(request.rolloutID)) else {
            throw ErrorMessage(
                requestID: request.requestID,
                code: .notFound,
                message: "no rollout \(request.rolloutID): `fleetctl rollouts` lists them"
            )
        }
        let action =
            switch request.action {
            case .pause: "paused"
            case .resume: "resumed"
            case .abort: "aborted"
            case .promote: "promoted"
            }
        let allowed: Bool =
            switch request.action {
            case .pause: rollout.state == .running
            case .resume: rollout.state == .paused
            case .abort, .promote: rollout.state.isActive
            }
        guard allowed else {
            let needed =
                switch request.action {
                case .pause: "a running rollout"
                case .resume: "a paused rollout"
                case .abort, .promote: "a running, paused or halted rollout"
                }
            throw ErrorMessage(
                requestID: request.requestID,
                code: .conflict,
                message: "rollout \(rollout.id) is \(rollout.state.rawValue): only \(needed) can be \(action)"
            )
        }
        let now = Date()
        var events: [NewEvent] = []
        switch request.action {
        case .pause:
            rollout.state = .paused
            rollout.reason = "paused by the administrator"
            events.append(event(rollout, "rollout_paused", "paused at wave \(rollout.wave)", at: now))
        case .resume:
            rollout.state = .running
            rollout.reason = ""
            events.append(event(rollout, "rollout_resumed", "resumed at wave \(rollout.wave)", at: now))
        case .abort:
            rollout.state = .aborted
            rollout.reason =
                "aborted by the administrator at wave \(rollout.wave); devices that have the version keep it"
            for index in rollout.waves.indices where rollout.waves[index].decision != "passed" {
                rollout.waves[index].decision = "aborted"
                rollout.waves[index].reason = "rollout aborted"
            }
            events.append(event(rollout, "rollout_aborted", rollout.reason, at: now))
        case .promote where rollout.isHeld:
            passHeldWave(&rollout, at: now, events: &events)
        case .promote:
            complete(&rollout, why: "promoted by the administrator at wave \(rollout.wave)", at: now, events: &events)
        }
        rollout.updatedAt = now
        try await save(rollout, events: events)
    }

    // MARK: Steps

    /// Looks at each running rollout's current wave: halts on install failures, starts the next wave once the
    /// current one has settled and soaked, completes after the last.
    func step(now: Date) async {
        do {
            for rollout in try await store.rollouts() where rollout.state == .running {
                try await advance(rollout, now: now)
            }
        } catch {
            logger.error("rollout step failed; retrying", metadata: ["error": "\(error)"])
        }
    }

    private func advance(_ original: RolloutRecord, now: Date) async throws {
        var rollout = original
        guard rollout.wave >= 1, rollout.wave <= rollout.waves.count else { return }
        let index = rollout.wave - 1
        try await timeOutPendingDevices(&rollout, now: now)
        let wave = rollout.waves[index]
        var events: [NewEvent] = []
        let failedPercent = Double(wave.unsuccessful) * 100 / Double(max(wave.devices.count, 1))
        let installsFailed = wave.unsuccessful > 0 && failedPercent > rollout.maximumInstallFailurePercent
        let health = installsFailed ? nil : try await assessHealth(rollout, now: now)
        if installsFailed {
            let what =
                wave.timedOut == 0
                ? "\(wave.failed) of \(wave.devices.count) device(s) failed or refused the install"
                : "\(wave.failed) of \(wave.devices.count) device(s) failed or refused the install and "
                    + "\(wave.timedOut) did not install it in time"
            let why =
                what + " (\(Self.percent(failedPercent)) > \(Self.percent(rollout.maximumInstallFailurePercent)))"
            rollout.waves[index].decision = "halted"
            rollout.waves[index].reason = why
            rollout.state = .halted
            rollout.reason = "wave \(rollout.wave): \(why)"
            events.append(event(rollout, "rollout_halted", rollout.reason, at: now))
            if rollout.autoRollback { try await rollBack(&rollout, at: now, events: &events) }
        } else if let failed = health?.failed, !failed.isEmpty {
            let why = "health gate: " + failed.map(\.why).joined(separator: "; ")
            rollout.waves[index].decision = "halted"
            rollout.waves[index].reason = why
            rollout.state = .halted
            rollout.reason = "wave \(rollout.wave): \(why)"
            events.append(event(rollout, "rollout_halted", rollout.reason, at: now))
            if rollout.autoRollback { try await rollBack(&rollout, at: now, events: &events) }
        } else if wave.isSettled {
            if wave.settledAt == nil {
                rollout.waves[index].settledAt = now
                rollout.waves[index].decision = "soaking"
                rollout.waves[index].reason = "\(Self.outcomes(wave)); soaking"
            }
            let settled = rollout.waves[index].settledAt ?? now
            let soaked = now >= settled.addingTimeInterval(Double(rollout.soakMilliseconds) / 1000)
            let waiting = health?.waiting ?? []
            if soaked && !waiting.isEmpty {
                hold(&rollout, waiting: waiting, at: now, events: &events)
            } else if soaked {
                let wasHeld = rollout.waves[index].decision == "held"
                rollout.waves[index].decision = "passed"
                rollout.waves[index].reason =
                    "\(Self.outcomes(wave)), soaked \(rollout.soakMilliseconds) ms"
                    + (wasHeld ? "; held until its gates had the evidence to pass" : "")
                rollout.reason = ""
                events.append(
                    event(
                        rollout,
                        "rollout_wave_passed",
                        "wave \(wave.number): \(rollout.waves[index].reason)",
                        at: now
                    )
                )
                startNextWave(&rollout, orCompleteWhy: "every wave passed", at: now, events: &events)
            }
        }
        guard rollout != original else { return }
        rollout.updatedAt = now
        try await save(rollout, events: events)
    }

    func startWave(_ number: Int, of rollout: inout RolloutRecord, at now: Date, events: inout [NewEvent]) {
        rollout.wave = number
        rollout.waves[number - 1].startedAt = now
        rollout.waves[number - 1].decision = "installing"
        let count = rollout.waves[number - 1].devices.count
        rollout.waves[number - 1].reason = "v\(rollout.version) assigned to \(count) device(s)"
        events.append(
            event(
                rollout,
                "rollout_wave_started",
                "wave \(number) of \(rollout.waves.count): \(count) device(s)",
                at: now
            )
        )
    }

    /// After the current wave passed: the next wave starts, or after the last the rollout completes with `why`.
    func startNextWave(
        _ rollout: inout RolloutRecord,
        orCompleteWhy why: String,
        at now: Date,
        events: inout [NewEvent]
    ) {
        if rollout.wave < rollout.waves.count {
            startWave(rollout.wave + 1, of: &rollout, at: now, events: &events)
        } else {
            complete(&rollout, why: why, at: now, events: &events)
        }
    }

    /// Every wave not started yet starts at once; the rollout completes and its version is no longer held.
    func complete(_ rollout: inout RolloutRecord, why: String, at now: Date, events: inout [NewEvent]) {
        for index in rollout.waves.indices where rollout.waves[index].startedAt == nil {
            rollout.waves[index].startedAt = now
            rollout.waves[index].decision = "promoted"
            rollout.waves[index].reason = why
        }
        rollout.wave = rollout.waves.count
        rollout.state = .completed
        rollout.reason = why
        events.append(event(rollout, "rollout_completed", why, at: now))
    }

    /// Pins every device of the started waves to the previous version with a rollback directive.
    private func rollBack(_ rollout: inout RolloutRecord, at now: Date, events: inout [NewEvent]) async throws {
        let devices = rollout.waves.filter { $0.startedAt != nil }.flatMap(\.devices)
        for device in devices {
            try await store.setPin(
                ModelPin(
                    deviceID: device.deviceID,
                    model: rollout.model,
                    version: rollout.previousVersion,
                    rollback: true,
                    pinnedAt: now
                )
            )
        }
        rollout.state = .rolledBack
        rollout.waves[rollout.wave - 1].decision = "rolled-back"
        rollout.reason += "; \(devices.count) device(s) sent back to v\(rollout.previousVersion)"
        events.append(
            event(
                rollout,
                "rollout_rolled_back",
                "\(devices.count) device(s) of the started waves pinned to v\(rollout.previousVersion) with a "
                    + "rollback directive",
                at: now
            )
        )
    }

    /// Saves, then re-plans the model's devices (the new assignments come from what was saved) and, once a rollout
    /// completes, releases its version for every device.
    private func save(_ rollout: RolloutRecord, events: [NewEvent]) async throws {
        try await store.saveRolloutProgress(rollout, events: events)
        if rollout.state == .completed {
            try await store.releaseHolds(
                model: rollout.model,
                upTo: rollout.version,
                why: "rollout \(rollout.id) completed",
                at: rollout.updatedAt
            )
        }
        try await models.replanAll(model: rollout.model)
        for event in events {
            logger.notice("\(event.kind)", metadata: ["rollout": "\(rollout.id)", "detail": "\(event.detail)"])
        }
    }

    func event(_ rollout: RolloutRecord, _ kind: String, _ detail: String, at: Date) -> NewEvent {
        NewEvent(
            at: at,
            deviceID: nil,
            kind: kind,
            detail: "rollout \(rollout.id) (\(rollout.model) v\(rollout.version)): \(detail)"
        )
    }

    /// "3 installed, 1 failed", with ", 1 timed out" when a device did.
    static func outcomes(_ wave: RolloutWave) -> String {
        "\(wave.installed) installed, \(wave.failed) failed" + (wave.timedOut > 0 ? ", \(wave.timedOut) timed out" : "")
    }

    static func percent(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value))%" : String(format: "%.1f%%", value)
    }
}
