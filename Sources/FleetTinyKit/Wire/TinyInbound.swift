/// The messages a leaf receives, decoded from a frame without copying: byte fields are slices of the frame's buffer
/// (valid until the ``TinyFrameReader`` is read again). Every field is checked as SPEC.md section 5 says; a type
/// the protocol defines but the leaf does not use is ``other(_:)``; an undefined type is an error.
public enum TinyInbound {
    case helloAccept(HelloAccept)
    case welcome(Welcome)
    case error(ErrorMessage)
    case busy(retryAfterMilliseconds: Int, message: UnsafeRawBufferPointer)
    case heartbeatAck
    case ack(requestID: UInt64)
    case desiredState(DesiredState)
    case transferStart(TransferStart)
    case transferChunk(TransferChunk)
    /// quotaGrants (0x72, SPEC.md 15a.3): signed grants for ``TinyLeafMeter``.
    case quotaGrants(QuotaGrants)
    /// A defined message the leaf has no use for (it is skipped).
    case other(TinyMessageType)

    public struct HelloAccept {
        public var version: Int
        public var maximumFrameLength: Int
        public var heartbeatIntervalMilliseconds: Int
        public var offlineTimeoutMilliseconds: Int
        public var nonce: UnsafeRawBufferPointer
        public var serverTimeMilliseconds: UInt64
    }

    public struct Welcome {
        public var deviceID: UnsafeRawBufferPointer
        /// The encoded, checked map (``TinyMapReader`` walks it).
        public var labels: UnsafeRawBufferPointer
        /// Empty or 32 bytes.
        public var releasePublicKey: UnsafeRawBufferPointer
    }

    public struct ErrorMessage {
        public var requestID: UInt64
        public var code: Int
        public var message: UnsafeRawBufferPointer
    }

    /// desiredState: ``models`` walks its checked entries.
    public struct DesiredState {
        public var count: Int
        /// The encoded list (count included).
        public var encoded: UnsafeRawBufferPointer

        /// The entries in order.
        public var models: DesiredModels { DesiredModels(encoded) }
    }

    public struct DesiredModel {
        public var model: UnsafeRawBufferPointer
        /// The signed manifest; empty when no variant fits.
        public var manifest: UnsafeRawBufferPointer
        public var reason: UnsafeRawBufferPointer
    }

    /// Iterates a checked desiredState list.
    public struct DesiredModels: IteratorProtocol, Sequence {
        private var reader: TinyWireReader
        private var left: Int

        init(_ encoded: UnsafeRawBufferPointer) {
            reader = TinyWireReader(encoded)
            left = (try? reader.count(minimumSize: 3)) ?? 0
        }

        public mutating func next() -> DesiredModel? {
            guard left > 0, let entry = try? DesiredModel(reading: &reader) else { return nil }
            left -= 1
            return entry
        }
    }

    public struct TransferStart {
        public var requestID: UInt64
        /// 0 full, 1 delta.
        public var encoding: UInt8
        public var baseVersion: Int
        public var totalBytes: Int
        public var payloadSHA256: UnsafeRawBufferPointer
        public var offset: Int
    }

    public struct TransferChunk {
        public var requestID: UInt64
        public var offset: Int
        public var bytes: UnsafeRawBufferPointer
    }

    /// quotaGrants: ``grants`` walks the signed grants (each at most 512 bytes, at most 256 of them).
    public struct QuotaGrants {
        public var requestID: UInt64
        public var count: Int
        /// The encoded list (count included).
        public var encoded: UnsafeRawBufferPointer

        /// The signed grants in order.
        public var grants: SignedRecords { SignedRecords(encoded) }
    }

    /// Iterates a checked list of length-prefixed signed records.
    public struct SignedRecords: IteratorProtocol, Sequence {
        private var reader: TinyWireReader
        private var left: Int

        init(_ encoded: UnsafeRawBufferPointer) {
            reader = TinyWireReader(encoded)
            left = (try? reader.count(minimumSize: 1)) ?? 0
        }

        public mutating func next() -> UnsafeRawBufferPointer? {
            guard left > 0, let record = try? reader.lengthPrefixed() else { return nil }
            left -= 1
            return record
        }
    }

    /// The most signed records a quotaGrants may carry, and the largest record (SPEC.md 15a).
    public static var maximumSignedRecords: Int { 256 }
    public static var maximumSignedRecordSize: Int { 512 }

    /// Decodes one frame; the payload must hold exactly the message's fields.
    public init(_ frame: TinyFrame) throws(TinyWireError) {
        guard let type = TinyMessageType(rawValue: frame.type) else { throw .unknownMessageType }
        var reader = TinyWireReader(frame.payload)
        switch type {
        case .helloAccept:
            self = .helloAccept(
                HelloAccept(
                    version: Int(try reader.bounded(0xFFFF)),
                    maximumFrameLength: Int(try reader.bounded(TinyLimits.absoluteMaximumFrameLength)),
                    heartbeatIntervalMilliseconds: try reader.int31(),
                    offlineTimeoutMilliseconds: try reader.int31(),
                    nonce: try reader.fixed(32),
                    serverTimeMilliseconds: try reader.varint()
                )
            )
        case .welcome:
            let deviceID = try reader.string()
            let labels = try reader.map()
            let key = try reader.lengthPrefixed()
            guard key.count == 0 || key.count == 32 else { throw .invalidValue }
            self = .welcome(Welcome(deviceID: deviceID, labels: labels, releasePublicKey: key))
        case .error:
            self = .error(
                ErrorMessage(
                    requestID: try reader.varint(),
                    code: Int(try reader.bounded(0xFFFF)),
                    message: try reader.string()
                )
            )
        case .busy:
            self = .busy(retryAfterMilliseconds: try reader.int31(), message: try reader.string())
        case .heartbeatAck:
            self = .heartbeatAck
        case .ack:
            self = .ack(requestID: try reader.varint())
        case .desiredState:
            let start = reader.position
            let count = try reader.count(minimumSize: 3)
            for _ in 0..<count { _ = try DesiredModel(reading: &reader) }
            let encoded = UnsafeRawBufferPointer(rebasing: frame.payload[start..<reader.position])
            self = .desiredState(DesiredState(count: count, encoded: encoded))
        case .transferStart:
            let requestID = try reader.varint()
            let encoding = try reader.byte()
            guard encoding <= 1 else { throw .invalidValue }
            let start = TransferStart(
                requestID: requestID,
                encoding: encoding,
                baseVersion: try reader.int31(),
                totalBytes: try reader.int63(),
                payloadSHA256: try reader.fixed(32),
                offset: try reader.int63()
            )
            guard start.offset <= start.totalBytes else { throw .invalidValue }
            self = .transferStart(start)
        case .transferChunk:
            self = .transferChunk(
                TransferChunk(
                    requestID: try reader.varint(),
                    offset: try reader.int63(),
                    bytes: try reader.lengthPrefixed()
                )
            )
        case .quotaGrants:
            let requestID = try reader.varint()
            let start = reader.position
            let count = try reader.count(minimumSize: 1)
            guard count <= Self.maximumSignedRecords else { throw .invalidValue }
            for _ in 0..<count {
                guard try reader.lengthPrefixed().count <= Self.maximumSignedRecordSize else { throw .invalidValue }
            }
            let encoded = UnsafeRawBufferPointer(rebasing: frame.payload[start..<reader.position])
            self = .quotaGrants(QuotaGrants(requestID: requestID, count: count, encoded: encoded))
        default:
            self = .other(type)
            return
        }
        try reader.expectEnd()
    }
}

extension TinyInbound.DesiredModel {
    init(reading reader: inout TinyWireReader) throws(TinyWireError) {
        model = try reader.string()
        manifest = try reader.lengthPrefixed()
        reason = try reader.string()
    }
}

/// Bounds shared by the kit's wire code.
public enum TinyLimits {
    /// The largest frame length any peer may negotiate (SPEC.md section 2): 16 MiB.
    public static let absoluteMaximumFrameLength: UInt64 = 16_777_216
}
