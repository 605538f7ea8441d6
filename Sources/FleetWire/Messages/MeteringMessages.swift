import NIOCore

/// `fleetctl quota grant|revoke`: grant queries of `model` (or revoke every earlier grant) to one device, named
/// by id or name, or to every device whose labels match `selector`. Answered by ``QuotaGranted`` with the signed
/// grants made, or an error (`Protocol/SPEC.md` 15a).
public struct GrantQuota: WirePayload {
    public static let messageType = MessageType.grantQuota
    public var requestID: UInt64
    /// A device id or name; empty when `selector` chooses the devices.
    public var device: String
    public var selector: [String: String]
    public var model: String
    /// 0 = grant, 1 = revoke.
    public var action: UInt8
    public var queries: UInt64
    /// 0: no expiry.
    public var expiresInSeconds: Int
    public var priceMicros: UInt64
    public var currency: String
    /// 0: no rate limit.
    public var ratePerSecond: Int
    /// 0: no offline grace.
    public var offlineGrace: Int
    /// Price of one query the coordinator answers for the device (offloaded).
    public var cloudPriceMicros: UInt64

    public init(
        requestID: UInt64,
        device: String,
        selector: [String: String] = [:],
        model: String,
        action: UInt8 = 0,
        queries: UInt64,
        expiresInSeconds: Int = 0,
        priceMicros: UInt64 = 0,
        currency: String = "",
        ratePerSecond: Int = 0,
        offlineGrace: Int = 0,
        cloudPriceMicros: UInt64 = 0
    ) {
        self.requestID = requestID
        self.device = device
        self.selector = selector
        self.model = model
        self.action = action
        self.queries = queries
        self.expiresInSeconds = expiresInSeconds
        self.priceMicros = priceMicros
        self.currency = currency
        self.ratePerSecond = ratePerSecond
        self.offlineGrace = offlineGrace
        self.cloudPriceMicros = cloudPriceMicros
    }

    public init(reading reader: inout WireReader) throws {
        requestID = try reader.readVarint("requestID")
        device = try reader.readLengthPrefixedString("device")
        selector = try reader.readStringMap("selector")
        model = try reader.readLengthPrefixedString("model")
        action = try reader.readByte("action")
        guard action <= 1 else { throw FleetWireError.invalidValue("action", "\(action) is neither 0 nor 1") }
        queries = try reader.readVarint("queries")
        expiresInSeconds = try reader.readBoundedInt("expiresInSeconds")
        priceMicros = try reader.readVarint("priceMicros")
        currency = try reader.readLengthPrefixedString("currency")
        ratePerSecond = try reader.readBoundedInt("ratePerSecond")
        offlineGrace = try reader.readBoundedInt("offlineGrace")
        cloudPriceMicros = try reader.readVarint("cloudPriceMicros")
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(requestID)
        buffer.writeLengthPrefixedString(device)
        buffer.writeStringMap(selector)
        buffer.writeLengthPrefixedString(model)
        buffer.writeInteger(action)
        buffer.writeVarint(queries)
        buffer.writeVarint(expiresInSeconds)
        buffer.writeVarint(priceMicros)
        buffer.writeLengthPrefixedString(currency)
        buffer.writeVarint(ratePerSecond)
        buffer.writeVarint(offlineGrace)
        buffer.writeVarint(cloudPriceMicros)
    }
}

/// A request id and a list of signed records (grants or receipts): the layout of ``QuotaGranted``,
/// ``QuotaGrants`` and ``UsageReport``. Each record is a length-prefixed byte string (`Protocol/METERING.md`).
public protocol SignedRecordList: WirePayload {
    /// The list's field name, for errors.
    static var listField: String { get }
    var requestID: UInt64 { get }
    var records: [[UInt8]] { get }
    init(requestID: UInt64, records: [[UInt8]])
}

extension SignedRecordList {
    public init(reading reader: inout WireReader) throws {
        let requestID = try reader.readVarint("requestID")
        self.init(
            requestID: requestID,
            records: try reader.readList(Self.listField) { try $0.readLengthPrefixedBytes(Self.listField) }
        )
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(requestID)
        buffer.writeList(records) { $0.writeLengthPrefixedBytes($1) }
    }
}

/// The answer to ``GrantQuota``: each signed grant made (`Protocol/METERING.md`), one per device.
public struct QuotaGranted: SignedRecordList {
    public static let messageType = MessageType.quotaGranted
    public static let listField = "grants"
    public var requestID: UInt64
    public var grants: [[UInt8]]
    public var records: [[UInt8]] { grants }

    public init(requestID: UInt64, records: [[UInt8]]) {
        self.requestID = requestID
        self.grants = records
    }

    public init(requestID: UInt64, grants: [[UInt8]]) { self.init(requestID: requestID, records: grants) }
}

/// Signed grants for the receiving device, in sequence order: the answer to ``QuotaSync`` (its request id), or
/// pushed with request id 0 when an administrator grants or revokes. Not answered.
public struct QuotaGrants: SignedRecordList {
    public static let messageType = MessageType.quotaGrants
    public static let listField = "grants"
    /// The most grants in one message; a device that receives this many asks again after the last.
    public static let maximumGrants = 256
    public var requestID: UInt64
    public var grants: [[UInt8]]
    public var records: [[UInt8]] { grants }

    public init(requestID: UInt64, records: [[UInt8]]) {
        self.requestID = requestID
        self.grants = records
    }

    public init(requestID: UInt64, grants: [[UInt8]]) { self.init(requestID: requestID, records: grants) }
}

/// A device asks for its grants with a sequence above `afterSequence` (the last it holds). Answered by
/// ``QuotaGrants``.
public struct QuotaSync: WirePayload {
    public static let messageType = MessageType.quotaSync
    public var requestID: UInt64
    public var afterSequence: UInt64

    public init(requestID: UInt64, afterSequence: UInt64) {
        self.requestID = requestID
        self.afterSequence = afterSequence
    }

    public init(reading reader: inout WireReader) throws {
        requestID = try reader.readVarint("requestID")
        afterSequence = try reader.readVarint("afterSequence")
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(requestID)
        buffer.writeVarint(afterSequence)
    }
}

/// Consecutive receipts of the device's usage ledger, oldest first (`Protocol/METERING.md`). Answered by
/// ``Ack`` once verified and stored, or an error (`Protocol/SPEC.md` 15a).
public struct UsageReport: SignedRecordList {
    public static let messageType = MessageType.usageReport
    public static let listField = "receipts"
    /// The most receipts in one report.
    public static let maximumReceipts = 256
    public var requestID: UInt64
    public var receipts: [[UInt8]]
    public var records: [[UInt8]] { receipts }

    public init(requestID: UInt64, records: [[UInt8]]) {
        self.requestID = requestID
        self.receipts = records
    }

    public init(requestID: UInt64, receipts: [[UInt8]]) { self.init(requestID: requestID, records: receipts) }
}

/// A device asks the coordinator to run `model` on `rows` for it (hybrid inference: no variant fits the device, or
/// it is busy). Answered by ``OffloadResult`` or an error (`Protocol/SPEC.md` 15a.6).
public struct OffloadInfer: WirePayload {
    public static let messageType = MessageType.offloadInfer
    /// The most rows in one request.
    public static let maximumRows = 10_000
    public var requestID: UInt64
    public var model: String
    /// Model-space features, as the local socket takes them.
    public var rows: [[Double]]

    public init(requestID: UInt64, model: String, rows: [[Double]]) {
        self.requestID = requestID
        self.model = model
        self.rows = rows
    }

    public init(reading reader: inout WireReader) throws {
        requestID = try reader.readVarint("requestID")
        model = try reader.readLengthPrefixedString("model")
        rows = try reader.readList("rows") { row in
            try row.readList("row", minimumElementSize: 8) { try $0.readFloat64("feature") }
        }
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(requestID)
        buffer.writeLengthPrefixedString(model)
        buffer.writeList(rows) { buffer, row in buffer.writeList(row) { $0.writeFloat64($1) } }
    }
}

/// The coordinator's answer to ``OffloadInfer``: the model version it ran, and per row the class and its
/// softmax probability.
public struct OffloadResult: WirePayload {
    public static let messageType = MessageType.offloadResult
    public var requestID: UInt64
    public var version: Int
    public var predictions: [Int]
    public var confidences: [Double]

    public init(requestID: UInt64, version: Int, predictions: [Int], confidences: [Double]) {
        self.requestID = requestID
        self.version = version
        self.predictions = predictions
        self.confidences = confidences
    }

    public init(reading reader: inout WireReader) throws {
        requestID = try reader.readVarint("requestID")
        version = try reader.readBoundedInt("version")
        predictions = try reader.readList("predictions") { try $0.readBoundedInt("prediction") }
        confidences = try reader.readList("confidences", minimumElementSize: 8) { try $0.readFloat64("confidence") }
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(requestID)
        buffer.writeVarint(version)
        buffer.writeList(predictions) { $0.writeVarint($1) }
        buffer.writeList(confidences) { $0.writeFloat64($1) }
    }
}
