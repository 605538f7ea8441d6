import NIOCore

/// A device asks for its model-protection key (`Protocol/AT-REST.md`), once per connection after `welcome`.
/// Answered by ``ModelKey`` with the same request id, or an error.
public struct ModelKeyRequest: WirePayload {
    public static let messageType = MessageType.modelKeyRequest
    public var requestID: UInt64

    public init(requestID: UInt64) { self.requestID = requestID }
    public init(reading reader: inout WireReader) throws { requestID = try reader.readVarint("requestID") }
    public func write(to buffer: inout ByteBuffer) { buffer.writeVarint(requestID) }
}

/// The device's 32-byte model-protection key: the key its protected models are sealed under on its disk.
/// The coordinator derives it for the authenticated device; the agent keeps it in memory only.
public struct ModelKey: WirePayload {
    public static let messageType = MessageType.modelKey
    public static let keySize = 32
    public var requestID: UInt64
    public var key: [UInt8]

    public init(requestID: UInt64, key: [UInt8]) {
        self.requestID = requestID
        self.key = key
    }

    public init(reading reader: inout WireReader) throws {
        requestID = try reader.readVarint("requestID")
        key = try reader.readFixedBytes(Self.keySize, "key")
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(requestID)
        buffer.writeBytes(key)
    }
}
