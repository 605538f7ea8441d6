import Foundation

/// A consent record the coordinator accepted, with the fields it indexes and the signed bytes it keeps.
public struct StoredConsentRecord: Sendable, Equatable, Codable {
    public var deviceID: String
    public var sequence: UInt64
    /// `drift-stats`, `samples` or `training`.
    public var purpose: String
    /// `grant` or `revoke`.
    public var action: String
    public var until: Date?
    public var issuedAt: Date
    /// The signed record as received (`Protocol/CONSENT.md`).
    public var record: [UInt8]
    public var receivedAt: Date

    public init(
        deviceID: String,
        sequence: UInt64,
        purpose: String,
        action: String,
        until: Date?,
        issuedAt: Date,
        record: [UInt8],
        receivedAt: Date
    ) {
        self.deviceID = deviceID
        self.sequence = sequence
        self.purpose = purpose
        self.action = action
        self.until = until
        self.issuedAt = issuedAt
        self.record = record
        self.receivedAt = receivedAt
    }
}

/// One uploaded batch of consented samples.
public struct SampleBatchRecord: Sendable, Equatable {
    public var deviceID: String
    public var idempotencyKey: String
    public var model: String
    public var rowCount: Int
    /// zlib-compressed CSV: a header line, then one line per sample.
    public var compressedCSV: [UInt8]
    /// The sequence of the consent record (a `samples` grant) in force when the batch was accepted.
    public var consentSequence: UInt64
    public var receivedAt: Date

    public init(
        deviceID: String,
        idempotencyKey: String,
        model: String,
        rowCount: Int,
        compressedCSV: [UInt8],
        consentSequence: UInt64,
        receivedAt: Date
    ) {
        self.deviceID = deviceID
        self.idempotencyKey = idempotencyKey
        self.model = model
        self.rowCount = rowCount
        self.compressedCSV = compressedCSV
        self.consentSequence = consentSequence
        self.receivedAt = receivedAt
    }
}

/// How many samples the coordinator holds for one device and model.
public struct SampleHolding: Sendable, Equatable {
    public var deviceID: String
    public var model: String
    public var batches: Int
    public var rows: Int
    /// The consent records the batches were accepted under.
    public var consentSequences: [UInt64]
    public var lastReceivedAt: Date
}

/// One drift summary as received from a device.
public struct DriftReportRecord: Sendable, Equatable {
    public var deviceID: String
    public var model: String
    public var version: Int
    public var windowStart: Date
    public var windowEnd: Date
    public var sampleCount: Int
    /// The encoded summary (`Protocol/DRIFT-SUMMARY.md`).
    public var summary: [UInt8]
    /// The size of the frame that carried it.
    public var wireBytes: Int
    public var receivedAt: Date

    public init(
        deviceID: String,
        model: String,
        version: Int,
        windowStart: Date,
        windowEnd: Date,
        sampleCount: Int,
        summary: [UInt8],
        wireBytes: Int,
        receivedAt: Date
    ) {
        self.deviceID = deviceID
        self.model = model
        self.version = version
        self.windowStart = windowStart
        self.windowEnd = windowEnd
        self.sampleCount = sampleCount
        self.summary = summary
        self.wireBytes = wireBytes
        self.receivedAt = receivedAt
    }
}
