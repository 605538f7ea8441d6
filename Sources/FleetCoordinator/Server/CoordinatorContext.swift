import FleetStore
import Logging
import NIOCore

/// What every connection handler shares: the store, presence, the authority and the feature services.
/// A class, so that each of up to ~20,000 handlers holds one reference instead of its own copy.
final class CoordinatorContext: Sendable {
    let store: CoordinatorStore
    let presence: PresenceTracker
    let authority: DeviceAuthority
    let admin: AdminRequests
    let models: ModelRegistry
    let connections: ConnectionRegistry
    let streamer: TransferStreamer
    let features: FeatureHandlers
    let sessionSettings: SessionStateMachine.Settings
    let handshakeTimeout: TimeAmount
    let admission: HandshakeAdmission
    let metrics: CoordinatorMetrics
    let logger: Logger

    init(
        store: CoordinatorStore,
        presence: PresenceTracker,
        authority: DeviceAuthority,
        admin: AdminRequests,
        models: ModelRegistry,
        connections: ConnectionRegistry,
        streamer: TransferStreamer,
        features: FeatureHandlers,
        sessionSettings: SessionStateMachine.Settings,
        handshakeTimeout: TimeAmount,
        admission: HandshakeAdmission,
        metrics: CoordinatorMetrics,
        logger: Logger
    ) {
        self.store = store
        self.presence = presence
        self.authority = authority
        self.admin = admin
        self.models = models
        self.connections = connections
        self.streamer = streamer
        self.features = features
        self.sessionSettings = sessionSettings
        self.handshakeTimeout = handshakeTimeout
        self.admission = admission
        self.metrics = metrics
        self.logger = logger
    }
}
