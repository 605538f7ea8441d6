import NIOCore

/// Creates an enrolment token (admin only). Answered by ``TokenCreated``.
public struct CreateToken: WirePayload {
    public static let messageType = MessageType.createToken
    public var requestID: UInt64
    /// How many enrolments the token allows (at least 1).
    public var uses: Int
    /// Seconds until it expires; 0 means never.
    public var expiresInSeconds: Int
    /// Labels every device enrolled with this token receives.
    public var labels: [String: String]

    public init(requestID: UInt64, uses: Int, expiresInSeconds: Int, labels: [String: String]) {
        self.requestID = requestID
        self.uses = uses
        self.expiresInSeconds = expiresInSeconds
        self.labels = labels
    }

    public init(reading reader: inout WireReader) throws {
        requestID = try reader.readVarint("requestID")
        uses = try reader.readBoundedInt("uses")
        guard uses >= 1 else { throw FleetWireError.invalidValue("uses", "must be at least 1") }
        expiresInSeconds = try reader.readBoundedInt("expiresInSeconds")
        labels = try reader.readStringMap("labels")
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(requestID)
        buffer.writeVarint(uses)
        buffer.writeVarint(expiresInSeconds)
        buffer.writeStringMap(labels)
    }
}

/// Revokes an enrolment token (admin only): no device can enrol with it any more; devices already enrolled with
/// it are not affected. Answered by ``Ack``, or error 301 (not-found) for an unknown token id.
public struct RevokeToken: WirePayload {
    public static let messageType = MessageType.revokeToken
    public var requestID: UInt64
    /// The token's id (`t-…`, as `tokenCreated` named it), not its secret.
    public var tokenID: String

    public init(requestID: UInt64, tokenID: String) {
        self.requestID = requestID
        self.tokenID = tokenID
    }

    public init(reading reader: inout WireReader) throws {
        requestID = try reader.readVarint("requestID")
        tokenID = try reader.readLengthPrefixedString("tokenID")
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(requestID)
        buffer.writeLengthPrefixedString(tokenID)
    }
}

/// A new enrolment token. The secret is shown once: the coordinator keeps only its SHA-256.
public struct TokenCreated: WirePayload {
    public static let messageType = MessageType.tokenCreated
    public var requestID: UInt64
    public var tokenID: String
    public var token: String
    public var uses: Int
    /// Unix milliseconds; 0 means never.
    public var expiresAtMilliseconds: UInt64

    public init(requestID: UInt64, tokenID: String, token: String, uses: Int, expiresAtMilliseconds: UInt64) {
        self.requestID = requestID
        self.tokenID = tokenID
        self.token = token
        self.uses = uses
        self.expiresAtMilliseconds = expiresAtMilliseconds
    }

    public init(reading reader: inout WireReader) throws {
        requestID = try reader.readVarint("requestID")
        tokenID = try reader.readLengthPrefixedString("tokenID")
        token = try reader.readLengthPrefixedString("token")
        uses = try reader.readBoundedInt("uses")
        expiresAtMilliseconds = try reader.readVarint("expiresAtMilliseconds")
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(requestID)
        buffer.writeLengthPrefixedString(tokenID)
        buffer.writeLengthPrefixedString(token)
        buffer.writeVarint(uses)
        buffer.writeVarint(expiresAtMilliseconds)
    }
}

/// Lists devices, a page at a time (admin only). Answered by ``DeviceList``.
public struct ListDevices: WirePayload {
    public static let messageType = MessageType.listDevices
    public var requestID: UInt64
    public var offset: Int
    /// At most this many devices; the coordinator may return fewer to fit the frame limit.
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

/// One device as the coordinator knows it.
public struct DeviceSummary: Hashable, Sendable, Codable {
    public var id: String
    public var name: String
    public var online: Bool
    /// Unix milliseconds; 0 means never seen.
    public var lastSeenMilliseconds: UInt64
    public var enrolledAtMilliseconds: UInt64
    public var labels: [String: String]
    public var capabilities: [String: String]
    public var software: String
    public var installedModels: [InstalledModel]

    public init(
        id: String,
        name: String,
        online: Bool,
        lastSeenMilliseconds: UInt64,
        enrolledAtMilliseconds: UInt64,
        labels: [String: String],
        capabilities: [String: String],
        software: String,
        installedModels: [InstalledModel]
    ) {
        self.id = id
        self.name = name
        self.online = online
        self.lastSeenMilliseconds = lastSeenMilliseconds
        self.enrolledAtMilliseconds = enrolledAtMilliseconds
        self.labels = labels
        self.capabilities = capabilities
        self.software = software
        self.installedModels = installedModels
    }

    init(reading reader: inout WireReader) throws {
        id = try reader.readLengthPrefixedString("device.id")
        name = try reader.readLengthPrefixedString("device.name")
        let status = try reader.readByte("device.online")
        guard status <= 1 else { throw FleetWireError.invalidValue("device.online", "\(status)") }
        online = status == 1
        lastSeenMilliseconds = try reader.readVarint("device.lastSeenMilliseconds")
        enrolledAtMilliseconds = try reader.readVarint("device.enrolledAtMilliseconds")
        labels = try reader.readStringMap("device.labels")
        capabilities = try reader.readStringMap("device.capabilities")
        software = try reader.readLengthPrefixedString("device.software")
        installedModels = try reader.readList("device.installedModels", minimumElementSize: 35) {
            try InstalledModel(reading: &$0)
        }
    }

    func write(to buffer: inout ByteBuffer) {
        buffer.writeLengthPrefixedString(id)
        buffer.writeLengthPrefixedString(name)
        buffer.writeInteger(online ? UInt8(1) : 0)
        buffer.writeVarint(lastSeenMilliseconds)
        buffer.writeVarint(enrolledAtMilliseconds)
        buffer.writeStringMap(labels)
        buffer.writeStringMap(capabilities)
        buffer.writeLengthPrefixedString(software)
        buffer.writeList(installedModels) { buffer, model in model.write(to: &buffer) }
    }
}

/// A page of devices.
public struct DeviceList: WirePayload {
    public static let messageType = MessageType.deviceList
    public var requestID: UInt64
    /// All devices the coordinator has, for paging.
    public var total: Int
    public var devices: [DeviceSummary]

    public init(requestID: UInt64, total: Int, devices: [DeviceSummary]) {
        self.requestID = requestID
        self.total = total
        self.devices = devices
    }

    public init(reading reader: inout WireReader) throws {
        requestID = try reader.readVarint("requestID")
        total = try reader.readBoundedInt("total")
        devices = try reader.readList("devices", minimumElementSize: 9) { try DeviceSummary(reading: &$0) }
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(requestID)
        buffer.writeVarint(total)
        buffer.writeList(devices) { buffer, device in device.write(to: &buffer) }
    }
}

/// Reads the event log (admin only). Answered by ``EventList``.
public struct ListEvents: WirePayload {
    public static let messageType = MessageType.listEvents
    public var requestID: UInt64
    /// Empty for all devices.
    public var deviceID: String
    public var limit: Int
    /// Only events with a larger sequence number; 0 for no bound.
    public var afterSequence: UInt64

    public init(requestID: UInt64, deviceID: String, limit: Int, afterSequence: UInt64) {
        self.requestID = requestID
        self.deviceID = deviceID
        self.limit = limit
        self.afterSequence = afterSequence
    }

    public init(reading reader: inout WireReader) throws {
        requestID = try reader.readVarint("requestID")
        deviceID = try reader.readLengthPrefixedString("deviceID")
        limit = try reader.readBoundedInt("limit")
        afterSequence = try reader.readVarint("afterSequence")
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(requestID)
        buffer.writeLengthPrefixedString(deviceID)
        buffer.writeVarint(limit)
        buffer.writeVarint(afterSequence)
    }
}

/// One entry of the coordinator's event log.
public struct EventSummary: Hashable, Sendable, Codable {
    public var sequence: UInt64
    public var atMilliseconds: UInt64
    /// Empty for fleet-wide events.
    public var deviceID: String
    public var kind: String
    public var detail: String

    public init(sequence: UInt64, atMilliseconds: UInt64, deviceID: String, kind: String, detail: String) {
        self.sequence = sequence
        self.atMilliseconds = atMilliseconds
        self.deviceID = deviceID
        self.kind = kind
        self.detail = detail
    }

    init(reading reader: inout WireReader) throws {
        sequence = try reader.readVarint("event.sequence")
        atMilliseconds = try reader.readVarint("event.atMilliseconds")
        deviceID = try reader.readLengthPrefixedString("event.deviceID")
        kind = try reader.readLengthPrefixedString("event.kind")
        detail = try reader.readLengthPrefixedString("event.detail")
    }

    func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(sequence)
        buffer.writeVarint(atMilliseconds)
        buffer.writeLengthPrefixedString(deviceID)
        buffer.writeLengthPrefixedString(kind)
        buffer.writeLengthPrefixedString(detail)
    }
}

/// Events, oldest first.
public struct EventList: WirePayload {
    public static let messageType = MessageType.eventList
    public var requestID: UInt64
    public var events: [EventSummary]

    public init(requestID: UInt64, events: [EventSummary]) {
        self.requestID = requestID
        self.events = events
    }

    public init(reading reader: inout WireReader) throws {
        requestID = try reader.readVarint("requestID")
        events = try reader.readList("events", minimumElementSize: 5) { try EventSummary(reading: &$0) }
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(requestID)
        buffer.writeList(events) { buffer, event in event.write(to: &buffer) }
    }
}
