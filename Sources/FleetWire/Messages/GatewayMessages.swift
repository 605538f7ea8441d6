import NIOCore

/// A gateway's proof, on a connection it opened for a leaf, that it carries that connection (SPEC "Gateways and
/// leaves"): sent after `helloAccept` and before the leaf's `enrol` or `authenticate`, signed with the gateway's own
/// device key over this connection's nonce. The coordinator records the gateway on the leaf once it is welcomed.
public struct GatewayClaim: WirePayload {
    public static let messageType = MessageType.gatewayClaim
    /// The gateway's own device id (it is an enrolled device).
    public var gatewayID: String
    /// This connection's nonce, from `helloAccept`.
    public var nonce: [UInt8]
    /// Ed25519 signature of the gateway challenge with the gateway's key.
    public var signature: [UInt8]

    public init(gatewayID: String, nonce: [UInt8], signature: [UInt8]) {
        self.gatewayID = gatewayID
        self.nonce = nonce
        self.signature = signature
    }

    public init(reading reader: inout WireReader) throws {
        gatewayID = try reader.readLengthPrefixedString("gatewayID")
        nonce = try reader.readFixedBytes(HelloAccept.nonceSize, "nonce")
        signature = try reader.readFixedBytes(64, "signature")
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeLengthPrefixedString(gatewayID)
        buffer.writeBytes(nonce)
        buffer.writeBytes(signature)
    }
}

/// Lists which gateway carries which device, a page at a time (admin only). Answered by ``GatewayList``.
public struct ListGateways: WirePayload {
    public static let messageType = MessageType.listGateways
    public var requestID: UInt64
    public var offset: Int
    public var limit: Int

    public init(requestID: UInt64, offset: Int, limit: Int) {
        self.requestID = requestID
        self.offset = offset
        self.limit = limit
    }

    public init(reading reader: inout WireReader) throws {
        requestID = try reader.readVarint("requestID")
        offset = try reader.readBoundedInt("offset")
        limit = try reader.readBoundedInt("limit")
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(requestID)
        buffer.writeVarint(offset)
        buffer.writeVarint(limit)
    }
}

/// One device and the gateway that carried its last welcomed connection.
public struct DeviceGateway: Hashable, Sendable, Codable {
    public var deviceID: String
    public var gatewayID: String

    public init(deviceID: String, gatewayID: String) {
        self.deviceID = deviceID
        self.gatewayID = gatewayID
    }
}

/// The answer to ``ListGateways``: devices carried by a gateway, ordered by device id.
public struct GatewayList: WirePayload {
    public static let messageType = MessageType.gatewayList
    public var requestID: UInt64
    /// How many devices are carried by a gateway in all (for paging).
    public var total: Int
    public var entries: [DeviceGateway]

    public init(requestID: UInt64, total: Int, entries: [DeviceGateway]) {
        self.requestID = requestID
        self.total = total
        self.entries = entries
    }

    public init(reading reader: inout WireReader) throws {
        requestID = try reader.readVarint("requestID")
        total = try reader.readBoundedInt("total")
        entries = try reader.readList("entries", minimumElementSize: 2) { reader in
            DeviceGateway(
                deviceID: try reader.readLengthPrefixedString("entry.deviceID"),
                gatewayID: try reader.readLengthPrefixedString("entry.gatewayID")
            )
        }
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(requestID)
        buffer.writeVarint(total)
        buffer.writeList(entries) { buffer, entry in
            buffer.writeLengthPrefixedString(entry.deviceID)
            buffer.writeLengthPrefixedString(entry.gatewayID)
        }
    }
}
