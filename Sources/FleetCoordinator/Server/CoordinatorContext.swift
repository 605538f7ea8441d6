import FleetStore
import Logging
import NIOCore

/// What every connection handler shares: the store, presence, the authority and the admin handler.
struct CoordinatorContext: Sendable {
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
    let logger: Logger
}
