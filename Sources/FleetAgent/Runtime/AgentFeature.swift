import FleetWire
import Synchronization

/// What a feature of the agent (federated training, observability) may do on the current connection.
public struct AgentLink: Sendable {
    /// Sends a message to the coordinator.
    public let send: @Sendable (Message) async throws -> Void
    /// A fresh request id on this connection.
    public let nextRequestID: @Sendable () -> UInt64
    /// The largest frame the coordinator agreed to take on this connection; `send` refuses larger ones.
    public var maximumFrameLength: Int = Frame.handshakeMaximumLength
}

/// A feature of the agent that takes part in the session: it may send when connected, handle the messages
/// meant for it (and the acks and errors of its own requests), and act on a regular tick.
public protocol AgentFeature: Sendable {
    /// Authentication done and the state reported: send what waited for a connection.
    func connected(_ link: AgentLink) async throws
    /// A message from the coordinator. Returns true when it was this feature's.
    func handle(_ message: Message, _ link: AgentLink) async throws -> Bool
    /// Called for every message from the coordinator (so at least once per heartbeat interval).
    func tick(_ link: AgentLink) async throws
    /// The connection ended; requests in flight will not be answered.
    func disconnected() async
}

/// Request ids for one connection: 1, 2, 3, …; shared by the session and its features.
final class RequestIDCounter: Sendable {
    private let last = Atomic<UInt64>(0)
    func next() -> UInt64 { last.add(1, ordering: .relaxed).newValue }
}
