import Foundation

/// One federated round as stored.
public struct RoundRecord: Sendable, Equatable, Codable {
    public enum Status: String, Sendable, Codable {
        case running
        case published
        case failed
    }

    public var id: Int
    public var model: String
    public var variant: String
    public var baseVersion: Int
    public var status: Status
    public var strategy: String
    /// The round's settings as given (clients, min-clients, deadline, epochs, lr, batch size, ...).
    public var settings: [String: String]
    public var seed: UInt64
    public var startedAt: Date
    public var endedAt: Date?
    public var publishedVersion: Int?
    public var testAccuracy: Double?
    public var bytesUp: Int
    public var bytesDown: Int
    public var detail: String
}

/// A device's part in a round.
public struct RoundParticipantRecord: Sendable, Equatable, Codable {
    public enum Status: String, Sendable, Codable {
        /// Sent a task, no answer yet.
        case selected
        /// Its update was aggregated.
        case updated
        /// Answered after the deadline (refused).
        case late
        /// Declined the task (no data, no consent).
        case declined
        /// Its update was refused by the coordinator (not decodable, NaN or infinite values, absurdly scaled);
        /// `reason` says why. The round went on without it.
        case refused
        /// Never answered (disconnected, or silent until the round closed).
        case dropped
    }

    public var round: Int
    public var deviceID: String
    public var status: Status
    public var sampleCount: Int
    public var bytesUp: Int
    public var bytesDown: Int
    public var metrics: [String: String]
    /// Why the update was refused (or declined), empty otherwise.
    public var reason: String
    public var updatedAt: Date

    public init(
        round: Int,
        deviceID: String,
        status: Status,
        sampleCount: Int = 0,
        bytesUp: Int = 0,
        bytesDown: Int = 0,
        metrics: [String: String] = [:],
        reason: String = "",
        updatedAt: Date
    ) {
        self.round = round
        self.deviceID = deviceID
        self.status = status
        self.sampleCount = sampleCount
        self.bytesUp = bytesUp
        self.bytesDown = bytesDown
        self.metrics = metrics
        self.reason = reason
        self.updatedAt = updatedAt
    }
}
