import Foundation

/// Whether the coordinator currently has a live session with the device.
public enum DeviceStatus: String, Codable, Sendable {
    case online
    case offline
}

/// A device asking to enrol.
public struct NewDevice: Sendable {
    public var id: String
    public var name: String
    public var publicKey: [UInt8]
    public var labels: [String: String]
    public var capabilities: [String: String]
    public var agentVersion: String
    public var enrolledAt: Date

    public init(
        id: String,
        name: String,
        publicKey: [UInt8],
        labels: [String: String],
        capabilities: [String: String],
        agentVersion: String,
        enrolledAt: Date
    ) {
        self.id = id
        self.name = name
        self.publicKey = publicKey
        self.labels = labels
        self.capabilities = capabilities
        self.agentVersion = agentVersion
        self.enrolledAt = enrolledAt
    }
}

/// A model installed on a device, as the device reports it.
public struct InstalledModelRecord: Sendable, Equatable, Codable {
    public var name: String
    public var version: Int
    public var variant: String
    public var sha256: [UInt8]

    public init(name: String, version: Int, variant: String, sha256: [UInt8]) {
        self.name = name
        self.version = version
        self.variant = variant
        self.sha256 = sha256
    }
}

/// An enrolled device.
public struct DeviceRecord: Sendable, Equatable, Codable {
    public var id: String
    public var name: String
    public var publicKey: [UInt8]
    /// The enrolment token's labels, with the device's own requested ones under them (`DeviceLabels`).
    public var labels: [String: String]
    public var capabilities: [String: String]
    public var agentVersion: String
    public var installedModels: [InstalledModelRecord]
    public var status: DeviceStatus
    public var lastSeen: Date?
    public var enrolledAt: Date
    /// The enrolment token the device enrolled with.
    public var tokenID: String

    public init(
        id: String,
        name: String,
        publicKey: [UInt8],
        labels: [String: String],
        capabilities: [String: String],
        agentVersion: String,
        installedModels: [InstalledModelRecord],
        status: DeviceStatus,
        lastSeen: Date?,
        enrolledAt: Date,
        tokenID: String
    ) {
        self.id = id
        self.name = name
        self.publicKey = publicKey
        self.labels = labels
        self.capabilities = capabilities
        self.agentVersion = agentVersion
        self.installedModels = installedModels
        self.status = status
        self.lastSeen = lastSeen
        self.enrolledAt = enrolledAt
        self.tokenID = tokenID
    }
}

/// What a device reports about itself in a heartbeat, when it changed.
public struct ReportedState: Sendable, Equatable {
    public var agentVersion: String
    public var capabilities: [String: String]
    public var installedModels: [InstalledModelRecord]

    public init(agentVersion: String, capabilities: [String: String], installedModels: [InstalledModelRecord]) {
        self.agentVersion = agentVersion
        self.capabilities = capabilities
        self.installedModels = installedModels
    }
}

/// One device's coalesced heartbeat, for ``CoordinatorStore/recordHeartbeats(_:)``.
public struct HeartbeatUpdate: Sendable {
    public var deviceID: String
    public var lastSeen: Date
    /// Replaces the stored agent version, capabilities and installed models when present.
    public var reported: ReportedState?

    public init(deviceID: String, lastSeen: Date, reported: ReportedState? = nil) {
        self.deviceID = deviceID
        self.lastSeen = lastSeen
        self.reported = reported
    }
}
