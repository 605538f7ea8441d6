import Foundation

/// An event to append to the coordinator's log.
public struct NewEvent: Sendable {
    public var at: Date
    /// The device the event is about; nil for fleet-wide events.
    public var deviceID: String?
    /// For example "enrolled", "online", "offline", "coordinator_started".
    public var kind: String
    public var detail: String

    public init(at: Date, deviceID: String?, kind: String, detail: String) {
        self.at = at
        self.deviceID = deviceID
        self.kind = kind
        self.detail = detail
    }
}

/// An event from the coordinator's append-only log.
public struct EventRecord: Sendable, Equatable, Codable {
    /// Strictly increasing, never reused.
    public var sequence: Int64
    public var at: Date
    public var deviceID: String?
    public var kind: String
    public var detail: String

    public init(sequence: Int64, at: Date, deviceID: String?, kind: String, detail: String) {
        self.sequence = sequence
        self.at = at
        self.deviceID = deviceID
        self.kind = kind
        self.detail = detail
    }
}
