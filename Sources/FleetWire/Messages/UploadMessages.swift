import NIOCore

/// Starts uploading one variant of a model version (admin only). Answered by ``UploadReady``.
public struct UploadBegin: WirePayload {
    public static let messageType = MessageType.uploadBegin
    public var requestID: UInt64
    public var model: String
    public var version: Int
    public var variant: String
    public var size: Int
    public var sha256: [UInt8]
    /// `min-ram`, `min-storage` (bytes), `arch` (comma-separated), `accelerator`.
    public var requirements: [String: String]
    /// `accuracy`, `cost`, and anything else to show.
    public var metadata: [String: String]

    public init(
        requestID: UInt64,
        model: String,
        version: Int,
        variant: String,
        size: Int,
        sha256: [UInt8],
        requirements: [String: String],
        metadata: [String: String]
    ) {
        self.requestID = requestID
        self.model = model
        self.version = version
        self.variant = variant
        self.size = size
        self.sha256 = sha256
        self.requirements = requirements
        self.metadata = metadata
    }

    public init(reading reader: inout WireReader) throws {
        requestID = try reader.readVarint("requestID")
        model = try reader.readLengthPrefixedString("model")
        version = try reader.readBoundedInt("version")
        variant = try reader.readLengthPrefixedString("variant")
        size = try reader.readBoundedInt("size", maximum: Int(Int64.max))
        sha256 = try reader.readFixedBytes(32, "sha256")
        requirements = try reader.readStringMap("requirements")
        metadata = try reader.readStringMap("metadata")
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(requestID)
        buffer.writeLengthPrefixedString(model)
        buffer.writeVarint(version)
        buffer.writeLengthPrefixedString(variant)
        buffer.writeVarint(size)
        buffer.writeBytes(sha256)
        buffer.writeStringMap(requirements)
        buffer.writeStringMap(metadata)
    }
}

/// The coordinator accepted an upload; chunks go to `uploadID`, starting at `offset`.
public struct UploadReady: WirePayload {
    public static let messageType = MessageType.uploadReady
    public var requestID: UInt64
    public var uploadID: String
    public var offset: Int

    public init(requestID: UInt64, uploadID: String, offset: Int) {
        self.requestID = requestID
        self.uploadID = uploadID
        self.offset = offset
    }

    public init(reading reader: inout WireReader) throws {
        requestID = try reader.readVarint("requestID")
        uploadID = try reader.readLengthPrefixedString("uploadID")
        offset = try reader.readBoundedInt("offset", maximum: Int(Int64.max))
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(requestID)
        buffer.writeLengthPrefixedString(uploadID)
        buffer.writeVarint(offset)
    }
}

/// A piece of an upload (admin only). Answered by ``Ack``.
public struct UploadChunk: WirePayload {
    public static let messageType = MessageType.uploadChunk
    public var requestID: UInt64
    public var uploadID: String
    public var offset: Int
    public var bytes: [UInt8]

    public init(requestID: UInt64, uploadID: String, offset: Int, bytes: [UInt8]) {
        self.requestID = requestID
        self.uploadID = uploadID
        self.offset = offset
        self.bytes = bytes
    }

    public init(reading reader: inout WireReader) throws {
        requestID = try reader.readVarint("requestID")
        uploadID = try reader.readLengthPrefixedString("uploadID")
        offset = try reader.readBoundedInt("offset", maximum: Int(Int64.max))
        bytes = try reader.readLengthPrefixedBytes("bytes")
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(requestID)
        buffer.writeLengthPrefixedString(uploadID)
        buffer.writeVarint(offset)
        buffer.writeLengthPrefixedBytes(bytes)
    }
}

/// Finishes an upload: the coordinator checks size, hash, format and the reference statistics, then stores the
/// blob, signs the manifest and assigns the new version, or publishes nothing. Answered by ``ModelPushed``.
public struct UploadCommit: WirePayload {
    public static let messageType = MessageType.uploadCommit
    public var requestID: UInt64
    public var uploadID: String
    /// The version's reference package for drift (as in ``ReferenceStatisticsMessage``), stored in the same
    /// transaction as the variant; empty for none.
    public var referenceStatistics: [UInt8]

    public init(requestID: UInt64, uploadID: String, referenceStatistics: [UInt8] = []) {
        self.requestID = requestID
        self.uploadID = uploadID
        self.referenceStatistics = referenceStatistics
    }

    public init(reading reader: inout WireReader) throws {
        requestID = try reader.readVarint("requestID")
        uploadID = try reader.readLengthPrefixedString("uploadID")
        referenceStatistics = try reader.readLengthPrefixedBytes("referenceStatistics")
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(requestID)
        buffer.writeLengthPrefixedString(uploadID)
        buffer.writeLengthPrefixedBytes(referenceStatistics)
    }
}

/// A published model variant.
public struct ModelPushed: WirePayload {
    public static let messageType = MessageType.modelPushed
    public var requestID: UInt64
    public var model: String
    public var version: Int
    public var variant: String
    /// Devices whose desired state now names this variant.
    public var assignedDevices: Int

    public init(requestID: UInt64, model: String, version: Int, variant: String, assignedDevices: Int) {
        self.requestID = requestID
        self.model = model
        self.version = version
        self.variant = variant
        self.assignedDevices = assignedDevices
    }

    public init(reading reader: inout WireReader) throws {
        requestID = try reader.readVarint("requestID")
        model = try reader.readLengthPrefixedString("model")
        version = try reader.readBoundedInt("version")
        variant = try reader.readLengthPrefixedString("variant")
        assignedDevices = try reader.readBoundedInt("assignedDevices")
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(requestID)
        buffer.writeLengthPrefixedString(model)
        buffer.writeVarint(version)
        buffer.writeLengthPrefixedString(variant)
        buffer.writeVarint(assignedDevices)
    }
}

/// Pins a device (or all devices) to a version of a model, or releases the pin (admin only). Answered by ``Ack``.
/// Pinning below the installed version sends the old release manifest, which agents refuse as a rollback.
public struct PinModel: WirePayload {
    public static let messageType = MessageType.pinModel
    public var requestID: UInt64
    public var model: String
    /// Empty for every device.
    public var deviceID: String
    /// 0 releases the pin (follow the newest version).
    public var version: Int
    /// A deliberate rollback: the coordinator signs a rollback directive for each device instead of
    /// re-sending the old release manifest.
    public var rollback: Bool

    public init(requestID: UInt64, model: String, deviceID: String, version: Int, rollback: Bool = false) {
        self.requestID = requestID
        self.model = model
        self.deviceID = deviceID
        self.version = version
        self.rollback = rollback
    }

    public init(reading reader: inout WireReader) throws {
        requestID = try reader.readVarint("requestID")
        model = try reader.readLengthPrefixedString("model")
        deviceID = try reader.readLengthPrefixedString("deviceID")
        version = try reader.readBoundedInt("version")
        let flag = try reader.readByte("rollback")
        guard flag <= 1 else { throw FleetWireError.invalidValue("rollback", "\(flag)") }
        rollback = flag == 1
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(requestID)
        buffer.writeLengthPrefixedString(model)
        buffer.writeLengthPrefixedString(deviceID)
        buffer.writeVarint(version)
        buffer.writeInteger(rollback ? UInt8(1) : 0)
    }
}
