import NIOCore

/// Removes a device (admin only): its key is revoked for good, it leaves the device list, and with `erase` the
/// coordinator deletes what it holds of it. Answered by ``DeviceRemoved``.
public struct RemoveDevice: WirePayload {
    public static let messageType = MessageType.removeDevice
    public var requestID: UInt64
    /// The device's id (`fleetctl` resolves a name to it first).
    public var deviceID: String
    /// Also erase the device's samples, drift reports, consent records, assignments, pins, transfers, round
    /// participation and events.
    public var erase: Bool

    public init(requestID: UInt64, deviceID: String, erase: Bool) {
        self.requestID = requestID
        self.deviceID = deviceID
        self.erase = erase
    }

    public init(reading reader: inout WireReader) throws {
        requestID = try reader.readVarint("requestID")
        deviceID = try reader.readLengthPrefixedString("deviceID")
        let flag = try reader.readByte("erase")
        guard flag <= 1 else { throw FleetWireError.invalidValue("erase", "\(flag)") }
        erase = flag == 1
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(requestID)
        buffer.writeLengthPrefixedString(deviceID)
        buffer.writeInteger(erase ? UInt8(1) : 0)
    }
}

/// What a ``RemoveDevice`` did. The counts are zero without `erase`.
public struct DeviceRemoved: WirePayload {
    public static let messageType = MessageType.deviceRemoved
    public var requestID: UInt64
    public var deviceID: String
    public var name: String
    public var erased: Bool
    /// Sample rows erased.
    public var sampleRows: Int
    public var driftReports: Int
    public var consentRecords: Int
    /// Every other row erased: assignments, pins, transfers, round participation, events, drift alerts.
    public var otherRows: Int

    public init(
        requestID: UInt64,
        deviceID: String,
        name: String,
        erased: Bool,
        sampleRows: Int,
        driftReports: Int,
        consentRecords: Int,
        otherRows: Int
    ) {
        self.requestID = requestID
        self.deviceID = deviceID
        self.name = name
        self.erased = erased
        self.sampleRows = sampleRows
        self.driftReports = driftReports
        self.consentRecords = consentRecords
        self.otherRows = otherRows
    }

    public init(reading reader: inout WireReader) throws {
        requestID = try reader.readVarint("requestID")
        deviceID = try reader.readLengthPrefixedString("deviceID")
        name = try reader.readLengthPrefixedString("name")
        let flag = try reader.readByte("erased")
        guard flag <= 1 else { throw FleetWireError.invalidValue("erased", "\(flag)") }
        erased = flag == 1
        sampleRows = try reader.readBoundedInt("sampleRows")
        driftReports = try reader.readBoundedInt("driftReports")
        consentRecords = try reader.readBoundedInt("consentRecords")
        otherRows = try reader.readBoundedInt("otherRows")
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(requestID)
        buffer.writeLengthPrefixedString(deviceID)
        buffer.writeLengthPrefixedString(name)
        buffer.writeInteger(erased ? UInt8(1) : 0)
        buffer.writeVarint(sampleRows)
        buffer.writeVarint(driftReports)
        buffer.writeVarint(consentRecords)
        buffer.writeVarint(otherRows)
    }
}
