import NIOCore

/// One model a device should run, with the signed manifest that proves it (see `Protocol/MANIFEST.md`).
public struct DesiredModel: Hashable, Sendable, Codable {
    public var model: String
    /// The encoded signed manifest; empty when no variant fits the device (then `reason` says why).
    public var manifest: [UInt8]
    /// Why this variant (or none) was chosen, for `fleetctl device show` and the agent's log.
    public var reason: String

    public init(model: String, manifest: [UInt8], reason: String) {
        self.model = model
        self.manifest = manifest
        self.reason = reason
    }

    init(reading reader: inout WireReader) throws {
        model = try reader.readLengthPrefixedString("desired.model")
        manifest = try reader.readLengthPrefixedBytes("desired.manifest")
        reason = try reader.readLengthPrefixedString("desired.reason")
    }

    func write(to buffer: inout ByteBuffer) {
        buffer.writeLengthPrefixedString(model)
        buffer.writeLengthPrefixedBytes(manifest)
        buffer.writeLengthPrefixedString(reason)
    }
}

/// The coordinator's desired state for a device (like a device twin's desired properties). Sent after
/// authentication and whenever it changes; the device answers nothing and fetches what it lacks.
public struct DesiredState: WirePayload {
    public static let messageType = MessageType.desiredState
    public var models: [DesiredModel]

    public init(models: [DesiredModel]) { self.models = models }

    public init(reading reader: inout WireReader) throws {
        models = try reader.readList("models", minimumElementSize: 3) { try DesiredModel(reading: &$0) }
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeList(models) { buffer, model in model.write(to: &buffer) }
    }
}

/// How a transfer's payload is encoded.
public enum TransferEncoding: UInt8, Hashable, Sendable, Codable {
    /// The whole weights file, zlib-compressed.
    case full = 0
    /// A FleetDelta patch (`Protocol/DELTA.md`) against the device's installed version.
    case delta = 1
}

/// A device asks for a model version, naming what it has (for a delta) and how far a previous transfer got.
/// Answered by ``TransferStart`` and ``TransferChunk``s with the same request id, or an error.
public struct FetchModel: WirePayload {
    public static let messageType = MessageType.fetchModel
    public var requestID: UInt64
    public var model: String
    public var version: Int
    public var variant: String
    /// SHA-256 of the installed file to patch; empty for none.
    public var baseSHA256: [UInt8]
    /// When resuming: the payload's SHA-256 from the interrupted ``TransferStart``; empty otherwise.
    public var resumePayloadSHA256: [UInt8]
    /// When resuming: bytes of that payload already received.
    public var resumeOffset: Int

    public init(
        requestID: UInt64,
        model: String,
        version: Int,
        variant: String,
        baseSHA256: [UInt8],
        resumePayloadSHA256: [UInt8],
        resumeOffset: Int
    ) {
        self.requestID = requestID
        self.model = model
        self.version = version
        self.variant = variant
        self.baseSHA256 = baseSHA256
        self.resumePayloadSHA256 = resumePayloadSHA256
        self.resumeOffset = resumeOffset
    }

    public init(reading reader: inout WireReader) throws {
        requestID = try reader.readVarint("requestID")
        model = try reader.readLengthPrefixedString("model")
        version = try reader.readBoundedInt("version")
        variant = try reader.readLengthPrefixedString("variant")
        baseSHA256 = try reader.readLengthPrefixedBytes("baseSHA256")
        resumePayloadSHA256 = try reader.readLengthPrefixedBytes("resumePayloadSHA256")
        resumeOffset = try reader.readBoundedInt("resumeOffset", maximum: Int(Int64.max))
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(requestID)
        buffer.writeLengthPrefixedString(model)
        buffer.writeVarint(version)
        buffer.writeLengthPrefixedString(variant)
        buffer.writeLengthPrefixedBytes(baseSHA256)
        buffer.writeLengthPrefixedBytes(resumePayloadSHA256)
        buffer.writeVarint(resumeOffset)
    }
}

/// The start of a transfer's payload: what it is and where the following chunks begin.
public struct TransferStart: WirePayload {
    public static let messageType = MessageType.transferStart
    public var requestID: UInt64
    public var encoding: TransferEncoding
    /// The version the delta applies to; 0 for a full transfer.
    public var baseVersion: Int
    public var totalBytes: Int
    public var payloadSHA256: [UInt8]
    /// The first chunk's offset: the resume offset when the payload is the one being resumed, else 0.
    public var offset: Int

    public init(
        requestID: UInt64,
        encoding: TransferEncoding,
        baseVersion: Int,
        totalBytes: Int,
        payloadSHA256: [UInt8],
        offset: Int
    ) {
        self.requestID = requestID
        self.encoding = encoding
        self.baseVersion = baseVersion
        self.totalBytes = totalBytes
        self.payloadSHA256 = payloadSHA256
        self.offset = offset
    }

    public init(reading reader: inout WireReader) throws {
        requestID = try reader.readVarint("requestID")
        let rawEncoding = try reader.readByte("encoding")
        guard let encoding = TransferEncoding(rawValue: rawEncoding) else {
            throw FleetWireError.invalidValue("encoding", "\(rawEncoding)")
        }
        self.encoding = encoding
        baseVersion = try reader.readBoundedInt("baseVersion")
        totalBytes = try reader.readBoundedInt("totalBytes", maximum: Int(Int64.max))
        payloadSHA256 = try reader.readFixedBytes(32, "payloadSHA256")
        offset = try reader.readBoundedInt("offset", maximum: Int(Int64.max))
        guard offset <= totalBytes else { throw FleetWireError.invalidValue("offset", "past totalBytes") }
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(requestID)
        buffer.writeInteger(encoding.rawValue)
        buffer.writeVarint(baseVersion)
        buffer.writeVarint(totalBytes)
        buffer.writeBytes(payloadSHA256)
        buffer.writeVarint(offset)
    }
}

/// A piece of a transfer's payload. The transfer is complete when `offset + bytes.count == totalBytes`.
public struct TransferChunk: WirePayload {
    public static let messageType = MessageType.transferChunk
    public var requestID: UInt64
    public var offset: Int
    public var bytes: [UInt8]

    public init(requestID: UInt64, offset: Int, bytes: [UInt8]) {
        self.requestID = requestID
        self.offset = offset
        self.bytes = bytes
    }

    public init(reading reader: inout WireReader) throws {
        requestID = try reader.readVarint("requestID")
        offset = try reader.readBoundedInt("offset", maximum: Int(Int64.max))
        bytes = try reader.readLengthPrefixedBytes("bytes")
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(requestID)
        buffer.writeVarint(offset)
        buffer.writeLengthPrefixedBytes(bytes)
    }
}

/// What happened to a desired model on the device. Answered by ``Ack``.
public struct ModelReport: WirePayload {
    public enum Outcome: UInt8, Hashable, Sendable, Codable {
        case installed = 0
        case refused = 1
        case failed = 2
    }

    public static let messageType = MessageType.modelReport
    public var requestID: UInt64
    public var model: String
    public var version: Int
    public var variant: String
    public var outcome: Outcome
    /// A stable kebab-case reason for refusals and failures (`bad-signature`, `hash-mismatch`, `rollback`, …).
    public var code: String
    public var detail: String
    public var encoding: TransferEncoding
    /// Payload bytes received for this install (what it cost on the wire, framing excluded).
    public var wireBytes: Int
    /// Where the transfer resumed after an interruption; 0 if it ran in one go.
    public var resumedFrom: Int
    /// The device's own number for this report, the same each time it is sent again (the reference agent: its
    /// outbox sequence). The coordinator records a report once per (device, reportID); 0 is never de-duplicated.
    public var reportID: UInt64

    public init(
        requestID: UInt64,
        model: String,
        version: Int,
        variant: String,
        outcome: Outcome,
        code: String,
        detail: String,
        encoding: TransferEncoding,
        wireBytes: Int,
        resumedFrom: Int,
        reportID: UInt64 = 0
    ) {
        self.requestID = requestID
        self.model = model
        self.version = version
        self.variant = variant
        self.outcome = outcome
        self.code = code
        self.detail = detail
        self.encoding = encoding
        self.wireBytes = wireBytes
        self.resumedFrom = resumedFrom
        self.reportID = reportID
    }

    public init(reading reader: inout WireReader) throws {
        requestID = try reader.readVarint("requestID")
        model = try reader.readLengthPrefixedString("model")
        version = try reader.readBoundedInt("version")
        variant = try reader.readLengthPrefixedString("variant")
        let rawOutcome = try reader.readByte("outcome")
        guard let outcome = Outcome(rawValue: rawOutcome) else {
            throw FleetWireError.invalidValue("outcome", "\(rawOutcome)")
        }
        self.outcome = outcome
        code = try reader.readLengthPrefixedString("code")
        detail = try reader.readLengthPrefixedString("detail")
        let rawEncoding = try reader.readByte("encoding")
        guard let encoding = TransferEncoding(rawValue: rawEncoding) else {
            throw FleetWireError.invalidValue("encoding", "\(rawEncoding)")
        }
        self.encoding = encoding
        wireBytes = try reader.readBoundedInt("wireBytes", maximum: Int(Int64.max))
        resumedFrom = try reader.readBoundedInt("resumedFrom", maximum: Int(Int64.max))
        reportID = try reader.readVarint("reportID")
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(requestID)
        buffer.writeLengthPrefixedString(model)
        buffer.writeVarint(version)
        buffer.writeLengthPrefixedString(variant)
        buffer.writeInteger(outcome.rawValue)
        buffer.writeLengthPrefixedString(code)
        buffer.writeLengthPrefixedString(detail)
        buffer.writeInteger(encoding.rawValue)
        buffer.writeVarint(wireBytes)
        buffer.writeVarint(resumedFrom)
        buffer.writeVarint(reportID)
    }
}
