import Foundation

/// One completed delivery of a model variant to a device, for the delivery log.
public struct NewTransfer: Sendable {
    public var deviceID: String
    public var model: String
    public var version: Int
    public var variant: String
    /// "delta" or "full".
    public var encoding: String
    /// The version the delta applied to; nil for a full transfer.
    public var baseVersion: Int?
    /// Bytes sent on the wire for this transfer (after any resume).
    public var wireBytes: Int
    /// Size of the compressed full file: what a full transfer would have cost.
    public var fullBytes: Int
    /// Size of the weights file once installed.
    public var fileBytes: Int
    public var startedAt: Date
    public var completedAt: Date
    /// The offset the transfer resumed from; 0 when it started from the beginning.
    public var resumedFrom: Int

    public init(
        deviceID: String,
        model: String,
        version: Int,
        variant: String,
        encoding: String,
        baseVersion: Int?,
        wireBytes: Int,
        fullBytes: Int,
        fileBytes: Int,
        startedAt: Date,
        completedAt: Date,
        resumedFrom: Int
    ) {
        self.deviceID = deviceID
        self.model = model
        self.version = version
        self.variant = variant
        self.encoding = encoding
        self.baseVersion = baseVersion
        self.wireBytes = wireBytes
        self.fullBytes = fullBytes
        self.fileBytes = fileBytes
        self.startedAt = startedAt
        self.completedAt = completedAt
        self.resumedFrom = resumedFrom
    }
}

/// A delivery from the log.
public struct TransferRecord: Sendable, Equatable, Codable {
    /// Strictly increasing, never reused.
    public var sequence: Int64
    public var deviceID: String
    public var model: String
    public var version: Int
    public var variant: String
    public var encoding: String
    public var baseVersion: Int?
    public var wireBytes: Int
    public var fullBytes: Int
    public var fileBytes: Int
    public var startedAt: Date
    public var completedAt: Date
    public var resumedFrom: Int

    public init(
        sequence: Int64,
        deviceID: String,
        model: String,
        version: Int,
        variant: String,
        encoding: String,
        baseVersion: Int?,
        wireBytes: Int,
        fullBytes: Int,
        fileBytes: Int,
        startedAt: Date,
        completedAt: Date,
        resumedFrom: Int
    ) {
        self.sequence = sequence
        self.deviceID = deviceID
        self.model = model
        self.version = version
        self.variant = variant
        self.encoding = encoding
        self.baseVersion = baseVersion
        self.wireBytes = wireBytes
        self.fullBytes = fullBytes
        self.fileBytes = fileBytes
        self.startedAt = startedAt
        self.completedAt = completedAt
        self.resumedFrom = resumedFrom
    }
}
