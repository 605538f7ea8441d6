import NIOCore

/// An error, either for one request (`requestID` > 0) or for the whole connection (`requestID` = 0).
public struct ErrorMessage: WirePayload, Error {
    public static let messageType = MessageType.error
    public var requestID: UInt64
    public var code: ErrorCode
    public var message: String

    public init(requestID: UInt64 = 0, code: ErrorCode, message: String) {
        self.requestID = requestID
        self.code = code
        self.message = message
    }

    public init(reading reader: inout WireReader) throws {
        requestID = try reader.readVarint("requestID")
        code = ErrorCode(rawValue: try reader.readBoundedInt("code", maximum: 0xFFFF))
        message = try reader.readLengthPrefixedString("message")
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(requestID)
        buffer.writeVarint(code.rawValue)
        buffer.writeLengthPrefixedString(message)
    }
}

/// Keepalive from a device. Empty: the reported state travels in ``StateReport`` only when it changes.
public struct Heartbeat: WirePayload {
    public static let messageType = MessageType.heartbeat
    public init() {}
    public init(reading reader: inout WireReader) throws {}
    public func write(to buffer: inout ByteBuffer) {}
}

/// The coordinator's answer to each ``Heartbeat``.
public struct HeartbeatAck: WirePayload {
    public static let messageType = MessageType.heartbeatAck
    public init() {}
    public init(reading reader: inout WireReader) throws {}
    public func write(to buffer: inout ByteBuffer) {}
}

/// A device's last message before it closes the connection on a clean stop (the agent shutting down): the
/// coordinator marks it offline at once instead of after the heartbeat timeout. Empty; no answer.
public struct Goodbye: WirePayload {
    public static let messageType = MessageType.goodbye
    public init() {}
    public init(reading reader: inout WireReader) throws {}
    public func write(to buffer: inout ByteBuffer) {}
}

/// A model installed on a device.
public struct InstalledModel: Hashable, Sendable, Codable {
    public var name: String
    public var version: Int
    public var variant: String
    /// SHA-256 of the weights file (32 bytes).
    public var sha256: [UInt8]

    public init(name: String, version: Int, variant: String, sha256: [UInt8]) {
        self.name = name
        self.version = version
        self.variant = variant
        self.sha256 = sha256
    }

    init(reading reader: inout WireReader) throws {
        name = try reader.readLengthPrefixedString("model.name")
        version = try reader.readBoundedInt("model.version")
        variant = try reader.readLengthPrefixedString("model.variant")
        sha256 = try reader.readFixedBytes(32, "model.sha256")
    }

    func write(to buffer: inout ByteBuffer) {
        buffer.writeLengthPrefixedString(name)
        buffer.writeVarint(version)
        buffer.writeLengthPrefixedString(variant)
        buffer.writeBytes(sha256)
    }
}

/// The device's reported state; sent after authentication and whenever it changes. Answered by ``Ack``.
public struct StateReport: WirePayload {
    public static let messageType = MessageType.stateReport
    public var requestID: UInt64
    public var software: String
    /// Well-known keys: `arch`, `ram` (bytes), `storage` (bytes), `accelerator`, `os`, `cores`.
    public var capabilities: [String: String]
    public var installedModels: [InstalledModel]

    public init(requestID: UInt64, software: String, capabilities: [String: String], installedModels: [InstalledModel])
    {
        self.requestID = requestID
        self.software = software
        self.capabilities = capabilities
        self.installedModels = installedModels
    }

    public init(reading reader: inout WireReader) throws {
        requestID = try reader.readVarint("requestID")
        software = try reader.readLengthPrefixedString("software")
        capabilities = try reader.readStringMap("capabilities")
        installedModels = try reader.readList("installedModels", minimumElementSize: 35) {
            try InstalledModel(reading: &$0)
        }
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(requestID)
        buffer.writeLengthPrefixedString(software)
        buffer.writeStringMap(capabilities)
        buffer.writeList(installedModels) { buffer, model in model.write(to: &buffer) }
    }
}

/// Success for a request that returns nothing else.
public struct Ack: WirePayload {
    public static let messageType = MessageType.ack
    public var requestID: UInt64

    public init(requestID: UInt64) { self.requestID = requestID }
    public init(reading reader: inout WireReader) throws { requestID = try reader.readVarint("requestID") }
    public func write(to buffer: inout ByteBuffer) { buffer.writeVarint(requestID) }
}
