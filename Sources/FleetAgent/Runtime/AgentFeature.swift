import FleetWire
import Synchronization

/// What a feature of the agent (federated training, observability) may do on the current connection.
public struct AgentLink: Sendable {
    /// Sends a message to the coordinator.
    public let send: @Sendable (Message) async throws -> Void
    /// A fresh request id on this connection.
    public let nextRequestID: @Sendable () -> UInt64
}

/// `AgentLink.send` refused a frame larger than the limit agreed with the coordinator, which would close the
/// connection on it (103); nothing was sent and the session goes on.
public struct FrameTooLarge: Error, CustomStringConvertible, Sendable {
    public var type: MessageType
    public var length: Int
    public var maximum: Int

    public var description: String {
        "a \(type) frame of \(length) bytes exceeds the \(maximum)-byte frame limit agreed with the coordinator "
            + "(raise its --max-frame)"
    }
}

/// A feature of the agent that takes part in the session: it may send when connected, handle the messages
/// meant for it (and the acks and errors of its own requests), and act on a regular tick.
public protocol AgentFeature: Sendable {
    /// The feature's own work that outlives connections (e.g. training), run beside the agent's connection loop
    /// for as long as the agent runs; cancelled at shutdown.
    func run() async
    /// Authentication done and the state reported: send what waited for a connection.
    func connected(_ link: AgentLink) async throws
    /// A message from the coordinator. Returns true when it was this feature's.
    func handle(_ message: Message, _ link: AgentLink) async throws -> Bool
    /// Called for every message from the coordinator (so at least once per heartbeat interval).
    func tick(_ link: AgentLink) async throws
    /// The connection ended; requests in flight will not be answered.
    func disconnected() async
}

extension AgentFeature {
    public func run() async {}
}

/// Request ids for one connection: 1, 2, 3, …; shared by the session and its features.
final class RequestIDCounter: Sendable {
    private let last = Atomic<UInt64>(0)
    func next() -> UInt64 { last.add(1, ordering: .relaxed).newValue }
}
