import FleetClient
import FleetStore
import FleetTrust
import FleetWire
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// `fleet-agent` as a `Service`: enrols once, then keeps a session with the coordinator, reconnecting
/// with backoff after any failure. The decisions are the ``AgentStateMachine``'s; this type carries them out.
public struct AgentService: Service {
    public let configuration: AgentConfiguration
    /// The model-protection key in memory, shared with the ``LocalSocketService`` of the same process.
    public let keyring: ModelKeyring
    private let logger: Logger

    /// Offloaded inference for the local socket of the same process (SPEC 15a.6).
    public let cloud: CloudLink?
    /// The agent's counters, shared with the ``LocalSocketService`` and ``AgentMetricsHTTP`` of the same process.
    public let metrics: AgentMetrics?
    /// Usage receipts the ``LocalSocketService`` of the same process recorded, for the session to send at once.
    public let usage: UsageSignal?

    public init(
        configuration: AgentConfiguration,
        keyring: ModelKeyring? = nil,
        cloud: CloudLink? = nil,
        metrics: AgentMetrics? = nil,
        usage: UsageSignal? = nil,
        logger: Logger
    ) {
        self.configuration = configuration
        self.keyring = keyring ?? ModelKeyring(offlineLease: configuration.offlineLease)
        self.cloud = cloud
        self.metrics = metrics
        self.usage = usage
        self.logger = logger
    }

    public func run() async throws {
        var configuration = self.configuration
        // Private (0700) before anything is written in it; an existing wider directory is tightened.
        if let wider = try PrivateFiles.prepareDirectory(configuration.dataDirectory) {
            logger.notice(
                "data directory made private",
                metadata: ["path": "\(configuration.dataDirectory)", "was": "\(String(wider, radix: 8))", "now": "700"]
            )
        }
        let state = AgentStateStore(store: try AgentStore(path: configuration.databasePath))
        configuration.capabilityOverrides = try await state.capabilityOverrides(
            merging: configuration.capabilityOverrides
        )
        // Finish or undo an install that a crash interrupted, before anything reads the models.
        for report in try ModelInstaller.agent(dataDirectory: configuration.dataDirectory)
            .recover()
        {
            logger.notice("recovered an interrupted install", metadata: ["detail": "\(report)"])
        }
        let identity = try await state.loadOrCreateIdentity()
        let deviceID = DeviceIdentity.deviceID(forPublicKey: identity.publicKey)
        let enrolled = try await state.enrolledDeviceID() != nil
        guard let coordinators = try await resolveCoordinators(state) else {
            throw AgentError("no coordinator address: pass --coordinator HOST:PORT")
        }
        if configuration.tls == nil && !configuration.insecure,
            let remote = coordinators.addresses.first(where: { !Self.isLoopback($0.host) })
        {
            throw AgentError(
                "refusing plaintext to \(remote): pass --ca-file with the coordinator's certificate, or --insecure"
            )
        }
        let rotation = CoordinatorRotation(coordinators)
        var session = AgentSession(
            configuration: configuration,
            coordinators: rotation,
            identity: identity,
            deviceID: deviceID,
            state: state,
            keyring: keyring,
            logger: logger
        )
        session.metrics = metrics
        session.features = try await makeFeatures(state: state, identity: identity, deviceID: deviceID)
        let machine = AgentStateMachine(enrolled: enrolled, hasToken: configuration.token != nil)
        logger.info("agent starting", metadata: ["device": "\(deviceID)", "coordinator": "\(coordinators)"])
        // The features' own work (training) runs beside the connections and survives reconnects.
        let carriesLeaves = configuration.leafListen != nil || !configuration.leafSerial.isEmpty
        let gateway =
            carriesLeaves
            ? LeafGateway(
                coordinators: rotation,
                tls: configuration.tls,
                identity: identity,
                gatewayID: deviceID,
                cache: GatewayPayloadCache(),
                logger: logger,
                metrics: metrics
            ) : nil
        let baud = configuration.leafSerialBaud
        try await withThrowingDiscardingTaskGroup { group in
            for feature in session.features { group.addTask { await feature.run() } }
            // A gateway that cannot listen stops the agent with the reason (its leaves could not reach it).
            if let gateway, let listen = configuration.leafListen {
                group.addTask { try await gateway.listen(on: listen) }
            }
            // A serial line that fails is opened again (a USB adapter may come back).
            if let gateway {
                for path in configuration.leafSerial {
                    group.addTask { await gateway.carrySerial(path: path, baud: baud) }
                }
            }
            defer { group.cancelAll() }
            try await keepConnected(session, machine)
        }
    }

    /// Connects, serves, waits and reconnects as the state machine says, until shutdown or a permanent refusal.
    private func keepConnected(_ session: AgentSession, _ initial: AgentStateMachine) async throws {
        var machine = initial
        var action = machine.handle(.start)
        while true {
            switch action {
            case .connect:
                let event = await session.connectAndServe(&machine)
                let stopping = Task.isShuttingDownGracefully || Task.isCancelled
                // A session that failed or ended moves to the next coordinator of the list (if there is one), so
                // the devices of a coordinator that died reconnect to the others, with the same backoff.
                if !stopping, event == .connectionFailed || event == .disconnected,
                    session.coordinators.list.addresses.count > 1
                {
                    let left = session.coordinators.current
                    let next = session.coordinators.advance()
                    logger.info("moving to the next coordinator", metadata: ["from": "\(left)", "to": "\(next)"])
                }
                action = machine.handle(stopping ? .shutdown : event)
            case .wait(let attempt):
                var delay = configuration.backoff.delay(attempt: attempt, unit: Double.random(in: 0...1))
                // After `busy`: at least the coordinator's wait, plus up to as much again (SPEC 6.6).
                if let wait = session.busyWait.take() {
                    delay = max(delay, wait + wait * Double.random(in: 0...1))
                }
                RetryLog.log(
                    logger,
                    attempt: attempt,
                    reason: session.lastFailure.take(),
                    delay: delay,
                    address: session.coordinators.current
                )
                do {
                    let wait = delay
                    try await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
                    action = machine.handle(Task.isShuttingDownGracefully ? .shutdown : .retryTimerFired)
                } catch {
                    action = machine.handle(.shutdown)
                }
            case .stop(.shutdown):
                logger.info("agent stopped")
                return
            case .stop(let reason):
                logger.error("agent cannot continue", metadata: ["reason": "\(reason)"])
                throw AgentError(reason.description)
            case .sendHello, .enrol, .authenticate, .markEnrolled, .runSession, .none:
                // Carried out inside the session; reaching here means the session ended without an event.
                action = machine.handle(.connectionFailed)
            }
        }
    }

    /// The features that join every session. Each feature keeps its own state across reconnects.
    private func makeFeatures(
        state: AgentStateStore,
        identity: DeviceIdentity,
        deviceID: String
    ) async throws
        -> [any AgentFeature]
    {
        var features: [any AgentFeature] = []
        // MARK: feature: federated training
        features.append(
            TrainingFeature(
                configuration: configuration,
                deviceID: deviceID,
                consent: AgentConsentBook(store: state.store, identity: identity),
                keyring: keyring,
                logger: logger
            )
        )
        // MARK: feature: observability
        features.append(
            ObservabilityFeature(
                store: state.store,
                identity: identity,
                dataDirectory: configuration.dataDirectory,
                logger: logger
            )
        )
        // MARK: feature: health summaries for staged rollouts
        features.append(HealthFeature(store: state.store, interval: configuration.healthInterval, logger: logger))
        // MARK: feature: metering (pay per query) and hybrid inference
        if let cloud { features.append(cloud) }
        features.append(
            QuotaFeature(
                store: state.store,
                deviceID: deviceID,
                releaseKey: { try await state.pinnedReleaseKey() },
                usage: usage,
                logger: logger
            )
        )
        return features
    }

    private func resolveCoordinators(_ state: AgentStateStore) async throws -> CoordinatorList? {
        if let list = configuration.coordinators {
            try await state.saveCoordinators(list)
            return list
        }
        return try await state.savedCoordinators()
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}
