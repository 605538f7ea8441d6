import Foundation

/// A consent record as the agent keeps it (`agent-v2` `consentRecord`).
public struct AgentConsentRow: Sendable, Equatable {
    public var sequence: UInt64
    public var purpose: String
    public var action: String
    public var until: Date?
    public var issuedAt: Date
    /// The signed wire encoding.
    public var record: [UInt8]
    /// When the coordinator acknowledged it; nil while it waits to be synced.
    public var syncedAt: Date?
    /// Why the coordinator refused it for good, if it did.
    public var refused: String?

    public init(
        sequence: UInt64,
        purpose: String,
        action: String,
        until: Date?,
        issuedAt: Date,
        record: [UInt8],
        syncedAt: Date? = nil,
        refused: String? = nil
    ) {
        self.sequence = sequence
        self.purpose = purpose
        self.action = action
        self.until = until
        self.issuedAt = issuedAt
        self.record = record
        self.syncedAt = syncedAt
        self.refused = refused
    }
}

/// What happened to samples offered to the agent's queue.
public enum SampleQueueResult: Sendable, Equatable {
    /// All rows were queued; the queue now holds this many.
    case queued(rows: Int, queueSize: Int)
    /// `samples` consent is not in force: nothing was kept.
    case noConsent
    /// The queue would pass its size cap (rows or bytes): nothing was kept.
    case queueFull(limit: Int)
    /// More rows in the last minute than the rate cap allows: nothing was kept.
    case rateLimited(perMinute: Int)
}

/// Caps on the agent's sample queue, per device.
public struct SampleQueueLimits: Sendable, Equatable {
    public var maximumRows: Int
    public var maximumBytes: Int
    public var maximumRowsPerMinute: Int

    public init(maximumRows: Int = 2_000, maximumBytes: Int = 4 << 20, maximumRowsPerMinute: Int = 1_000) {
        self.maximumRows = maximumRows
        self.maximumBytes = maximumBytes
        self.maximumRowsPerMinute = maximumRowsPerMinute
    }
}

/// A batch of queued samples ready for upload: CSV header and lines of one model, with its idempotency key.
public struct SampleUploadBatch: Sendable, Equatable {
    public var key: String
    public var model: String
    public var header: String
    public var lines: [String]
}

/// A closed reporting window waiting for the coordinator's acknowledgement.
public struct PendingDriftReport: Sendable, Equatable {
    public var id: Int64
    public var model: String
    public var version: Int
    public var summary: [UInt8]
}
