import NIOCore

/// A device-signed consent record (`Protocol/CONSENT.md`), synced to the coordinator. Answered by ``Ack``,
/// or an error when the record does not verify or is out of order. Revoking `samples` makes the coordinator
/// erase the device's stored samples before it answers.
public struct ConsentUpdate: WirePayload {
    public static let messageType = MessageType.consentUpdate
    public var requestID: UInt64
    public var record: [UInt8]

    public init(requestID: UInt64, record: [UInt8]) {
        self.requestID = requestID
        self.record = record
    }

    public init(reading reader: inout WireReader) throws {
        requestID = try reader.readVarint("requestID")
        record = try reader.readLengthPrefixedBytes("record")
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(requestID)
        buffer.writeLengthPrefixedBytes(record)
    }
}

/// A batch of consented samples. The coordinator stores it once per idempotency key, only if its own copy of
/// the device's `samples` consent covers it. Answered by ``Ack`` or an error.
public struct SampleBatch: WirePayload {
    public static let messageType = MessageType.sampleBatch
    public var requestID: UInt64
    public var idempotencyKey: String
    public var model: String
    /// Rows in the batch.
    public var count: Int
    /// zlib-compressed CSV: feature columns, `prediction`, optional `label`.
    public var compressedCSV: [UInt8]

    public init(requestID: UInt64, idempotencyKey: String, model: String, count: Int, compressedCSV: [UInt8]) {
        self.requestID = requestID
        self.idempotencyKey = idempotencyKey
        self.model = model
        self.count = count
        self.compressedCSV = compressedCSV
    }

    public init(reading reader: inout WireReader) throws {
        requestID = try reader.readVarint("requestID")
        idempotencyKey = try reader.readLengthPrefixedString("idempotencyKey")
        model = try reader.readLengthPrefixedString("model")
        count = try reader.readBoundedInt("count", maximum: 1_000_000)
        compressedCSV = try reader.readLengthPrefixedBytes("compressedCSV")
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(requestID)
        buffer.writeLengthPrefixedString(idempotencyKey)
        buffer.writeLengthPrefixedString(model)
        buffer.writeVarint(count)
        buffer.writeLengthPrefixedBytes(compressedCSV)
    }
}

/// One reporting window's drift summary (`Protocol/DRIFT-SUMMARY.md`): histograms, never raw data.
/// Stored only under `drift-stats` consent. Answered by ``Ack``.
public struct DriftReportMessage: WirePayload {
    public static let messageType = MessageType.driftReport
    public var requestID: UInt64
    public var model: String
    public var version: Int
    public var summary: [UInt8]

    public init(requestID: UInt64, model: String, version: Int, summary: [UInt8]) {
        self.requestID = requestID
        self.model = model
        self.version = version
        self.summary = summary
    }

    public init(reading reader: inout WireReader) throws {
        requestID = try reader.readVarint("requestID")
        model = try reader.readLengthPrefixedString("model")
        version = try reader.readBoundedInt("version")
        summary = try reader.readLengthPrefixedBytes("summary")
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(requestID)
        buffer.writeLengthPrefixedString(model)
        buffer.writeVarint(version)
        buffer.writeLengthPrefixedBytes(summary)
    }
}

/// A model version's reference statistics (bins and proportions computed from training rows): pushed by
/// `fleetctl model push --reference-data` (admin → coordinator, answered by ``Ack``) and sent on to devices
/// running that model (coordinator → device, no answer), which bin what their model sees with them.
public struct ReferenceStatisticsMessage: WirePayload {
    public static let messageType = MessageType.referenceStatistics
    public var requestID: UInt64
    public var model: String
    public var version: Int
    public var statistics: [UInt8]

    public init(requestID: UInt64, model: String, version: Int, statistics: [UInt8]) {
        self.requestID = requestID
        self.model = model
        self.version = version
        self.statistics = statistics
    }

    public init(reading reader: inout WireReader) throws {
        requestID = try reader.readVarint("requestID")
        model = try reader.readLengthPrefixedString("model")
        version = try reader.readBoundedInt("version")
        statistics = try reader.readLengthPrefixedBytes("statistics")
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(requestID)
        buffer.writeLengthPrefixedString(model)
        buffer.writeVarint(version)
        buffer.writeLengthPrefixedBytes(statistics)
    }
}
