import NIOCore

/// First message of every connection, client to coordinator.
public struct Hello: WirePayload {
    public static let messageType = MessageType.hello
    public var minimumVersion: Int
    public var maximumVersion: Int
    public var role: PeerRole
    /// The client's software version, e.g. `fleet-agent/0.1.0`.
    public var software: String
    /// The largest frame (type byte plus payload) the client accepts.
    public var maximumFrameLength: Int

    public init(
        minimumVersion: Int = ProtocolVersion.supported.lowerBound,
        maximumVersion: Int = ProtocolVersion.supported.upperBound,
        role: PeerRole,
        software: String,
        maximumFrameLength: Int
    ) {
        self.minimumVersion = minimumVersion
        self.maximumVersion = maximumVersion
        self.role = role
        self.software = software
        self.maximumFrameLength = maximumFrameLength
    }

    public init(reading reader: inout WireReader) throws {
        minimumVersion = try reader.readBoundedInt("minimumVersion", maximum: 0xFFFF)
        maximumVersion = try reader.readBoundedInt("maximumVersion", maximum: 0xFFFF)
        guard minimumVersion <= maximumVersion else {
            throw FleetWireError.invalidValue("maximumVersion", "below minimumVersion")
        }
        let rawRole = try reader.readByte("role")
        guard let role = PeerRole(rawValue: rawRole) else { throw FleetWireError.invalidValue("role", "\(rawRole)") }
        self.role = role
        software = try reader.readLengthPrefixedString("software")
        maximumFrameLength = try reader.readBoundedInt("maximumFrameLength", maximum: Frame.absoluteMaximumLength)
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(minimumVersion)
        buffer.writeVarint(maximumVersion)
        buffer.writeInteger(role.rawValue)
        buffer.writeLengthPrefixedString(software)
        buffer.writeVarint(maximumFrameLength)
    }
}

/// The coordinator's answer to ``Hello``: the chosen version, limits, timers and a fresh nonce to sign.
public struct HelloAccept: WirePayload {
    public static let messageType = MessageType.helloAccept
    public static let nonceSize = 32
    public var version: Int
    public var maximumFrameLength: Int
    public var heartbeatIntervalMilliseconds: Int
    /// A device that sends nothing for this long is marked offline.
    public var offlineTimeoutMilliseconds: Int
    /// 32 random bytes, fresh for this connection.
    public var nonce: [UInt8]
    public var serverTimeMilliseconds: UInt64

    public init(
        version: Int,
        maximumFrameLength: Int,
        heartbeatIntervalMilliseconds: Int,
        offlineTimeoutMilliseconds: Int,
        nonce: [UInt8],
        serverTimeMilliseconds: UInt64
    ) {
        self.version = version
        self.maximumFrameLength = maximumFrameLength
        self.heartbeatIntervalMilliseconds = heartbeatIntervalMilliseconds
        self.offlineTimeoutMilliseconds = offlineTimeoutMilliseconds
        self.nonce = nonce
        self.serverTimeMilliseconds = serverTimeMilliseconds
    }

    public init(reading reader: inout WireReader) throws {
        version = try reader.readBoundedInt("version", maximum: 0xFFFF)
        maximumFrameLength = try reader.readBoundedInt("maximumFrameLength", maximum: Frame.absoluteMaximumLength)
        heartbeatIntervalMilliseconds = try reader.readBoundedInt("heartbeatIntervalMilliseconds")
        offlineTimeoutMilliseconds = try reader.readBoundedInt("offlineTimeoutMilliseconds")
        nonce = try reader.readFixedBytes(Self.nonceSize, "nonce")
        serverTimeMilliseconds = try reader.readVarint("serverTimeMilliseconds")
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(version)
        buffer.writeVarint(maximumFrameLength)
        buffer.writeVarint(heartbeatIntervalMilliseconds)
        buffer.writeVarint(offlineTimeoutMilliseconds)
        buffer.writeBytes(nonce)
        buffer.writeVarint(serverTimeMilliseconds)
    }
}

/// First contact of a new device: a one-time token, its new Ed25519 public key, and a signature
/// of the connection's nonce that proves it holds the private key.
public struct Enrol: WirePayload {
    public static let messageType = MessageType.enrol
    public var token: String
    /// Raw 32-byte Ed25519 public key.
    public var publicKey: [UInt8]
    /// Ed25519 signature (64 bytes) of the enrolment challenge (SPEC.md, "Signed challenges").
    public var signature: [UInt8]
    public var name: String
    public var labels: [String: String]
    public var capabilities: [String: String]
    public var software: String

    public init(
        token: String,
        publicKey: [UInt8],
        signature: [UInt8],
        name: String,
        labels: [String: String],
        capabilities: [String: String],
        software: String
    ) {
        self.token = token
        self.publicKey = publicKey
        self.signature = signature
        self.name = name
        self.labels = labels
        self.capabilities = capabilities
        self.software = software
    }

    public init(reading reader: inout WireReader) throws {
        token = try reader.readLengthPrefixedString("token")
        publicKey = try reader.readFixedBytes(32, "publicKey")
        signature = try reader.readFixedBytes(64, "signature")
        name = try reader.readLengthPrefixedString("name")
        labels = try reader.readStringMap("labels")
        capabilities = try reader.readStringMap("capabilities")
        software = try reader.readLengthPrefixedString("software")
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeLengthPrefixedString(token)
        buffer.writeBytes(publicKey)
        buffer.writeBytes(signature)
        buffer.writeLengthPrefixedString(name)
        buffer.writeStringMap(labels)
        buffer.writeStringMap(capabilities)
        buffer.writeLengthPrefixedString(software)
    }
}

/// A known device proves its key by signing the connection's nonce.
public struct Authenticate: WirePayload {
    public static let messageType = MessageType.authenticate
    public var deviceID: String
    /// The nonce the device signed; must equal this connection's nonce (else: replayed).
    public var nonce: [UInt8]
    public var signature: [UInt8]

    public init(deviceID: String, nonce: [UInt8], signature: [UInt8]) {
        self.deviceID = deviceID
        self.nonce = nonce
        self.signature = signature
    }

    public init(reading reader: inout WireReader) throws {
        deviceID = try reader.readLengthPrefixedString("deviceID")
        nonce = try reader.readFixedBytes(HelloAccept.nonceSize, "nonce")
        signature = try reader.readFixedBytes(64, "signature")
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeLengthPrefixedString(deviceID)
        buffer.writeBytes(nonce)
        buffer.writeBytes(signature)
    }
}

/// An administrator (`fleetctl`) proves the admin credential: HMAC-SHA256 over the nonce.
public struct AdminAuthenticate: WirePayload {
    public static let messageType = MessageType.adminAuthenticate
    public var nonce: [UInt8]
    public var proof: [UInt8]

    public init(nonce: [UInt8], proof: [UInt8]) {
        self.nonce = nonce
        self.proof = proof
    }

    public init(reading reader: inout WireReader) throws {
        nonce = try reader.readFixedBytes(HelloAccept.nonceSize, "nonce")
        proof = try reader.readFixedBytes(32, "proof")
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeBytes(nonce)
        buffer.writeBytes(proof)
    }
}

/// Authentication (or enrolment) succeeded.
public struct Welcome: WirePayload {
    public static let messageType = MessageType.welcome
    /// The device's id (`admin` for an administrator).
    public var deviceID: String
    /// The device's labels as the coordinator stores them.
    public var labels: [String: String]
    /// The coordinator's Ed25519 release key (32 bytes) that signs model manifests. Agents pin it at enrolment.
    public var releasePublicKey: [UInt8]

    public init(deviceID: String, labels: [String: String], releasePublicKey: [UInt8] = []) {
        self.deviceID = deviceID
        self.labels = labels
        self.releasePublicKey = releasePublicKey
    }

    public init(reading reader: inout WireReader) throws {
        deviceID = try reader.readLengthPrefixedString("deviceID")
        labels = try reader.readStringMap("labels")
        releasePublicKey = try reader.readLengthPrefixedBytes("releasePublicKey")
        guard releasePublicKey.isEmpty || releasePublicKey.count == 32 else {
            throw FleetWireError.invalidValue("releasePublicKey", "must be 0 or 32 bytes")
        }
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeLengthPrefixedString(deviceID)
        buffer.writeStringMap(labels)
        buffer.writeLengthPrefixedBytes(releasePublicKey)
    }
}

/// The coordinator cannot take this connection now (version 2): it is at its cap of unauthenticated
/// connections or of the bytes they may hold, or this source address was refused too often. Sent instead of
/// ``HelloAccept`` (possibly before the client's ``Hello`` was read), then the connection is closed.
public struct Busy: WirePayload {
    public static let messageType = MessageType.busy
    /// Wait at least this long before connecting again (clients add their own jitter).
    public var retryAfterMilliseconds: Int
    /// Why, for logs; not for parsing.
    public var message: String

    public init(retryAfterMilliseconds: Int, message: String) {
        self.retryAfterMilliseconds = retryAfterMilliseconds
        self.message = message
    }

    public init(reading reader: inout WireReader) throws {
        retryAfterMilliseconds = try reader.readBoundedInt("retryAfterMilliseconds")
        message = try reader.readLengthPrefixedString("message")
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(retryAfterMilliseconds)
        buffer.writeLengthPrefixedString(message)
    }
}
