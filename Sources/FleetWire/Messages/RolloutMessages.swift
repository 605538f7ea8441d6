import NIOCore

/// Starts a staged rollout of a version published with `--no-assign` (admin only). Answered by
/// ``RolloutStarted``. Waves are cumulative percentages of the eligible devices, strictly increasing, the last 100.
public struct StartRollout: WirePayload {
    public static let messageType = MessageType.startRollout
    public var requestID: UInt64
    public var model: String
    public var version: Int
    /// Only this variant of the version; empty for whichever variant fits each device.
    public var variant: String
    /// Only devices whose labels have all these values; empty for every device.
    public var selector: [String: String]
    /// Cumulative percentages, e.g. [1, 10, 50, 100]; at most 100 waves.
    public var waves: [Int]
    /// How long a wave's devices run the version, once all of them installed or failed, before the next wave.
    public var soakMilliseconds: Int
    public var minimumDevicesPerWave: Int
    /// More install failures and refusals in a wave than this share of its devices (0 to 100) halt the rollout.
    public var maximumInstallFailurePercent: Double
    /// On a halt, send the started waves' devices a signed rollback directive to the previous version.
    public var autoRollback: Bool
    /// The wave membership seed; 0 lets the coordinator choose one (it is recorded either way).
    public var seed: UInt64
    /// Health gates (SPEC 12.5), each negative when off: the most the wave's error rate may exceed the control
    /// group's (percentage points), its accuracy on feedback fall below it (percentage points), its mean
    /// confidence fall below it (0 to 1), and its input drift (median feature PSI against the reference statistics
    /// of the version it runs) exceed the control group's (against theirs).
    public var maximumErrorRateIncrease: Double
    public var maximumAccuracyDrop: Double
    public var maximumConfidenceDrop: Double
    public var maximumDriftPSI: Double
    /// Devices each side needs, each with at least `gateMinimumQueries` queries in the window, before a gate decides.
    public var gateMinimumDevices: Int
    public var gateMinimumQueries: Int

    public init(
        requestID: UInt64,
        model: String,
        version: Int,
        variant: String = "",
        selector: [String: String] = [:],
        waves: [Int],
        soakMilliseconds: Int,
        minimumDevicesPerWave: Int,
        maximumInstallFailurePercent: Double,
        autoRollback: Bool,
        seed: UInt64,
        maximumErrorRateIncrease: Double = -1,
        maximumAccuracyDrop: Double = -1,
        maximumConfidenceDrop: Double = -1,
        maximumDriftPSI: Double = -1,
        gateMinimumDevices: Int = 3,
        gateMinimumQueries: Int = 50
    ) {
        self.requestID = requestID
        self.model = model
        self.version = version
        self.variant = variant
        self.selector = selector
        self.waves = waves
        self.soakMilliseconds = soakMilliseconds
        self.minimumDevicesPerWave = minimumDevicesPerWave
        self.maximumInstallFailurePercent = maximumInstallFailurePercent
        self.autoRollback = autoRollback
        self.seed = seed
        self.maximumErrorRateIncrease = maximumErrorRateIncrease
        self.maximumAccuracyDrop = maximumAccuracyDrop
        self.maximumConfidenceDrop = maximumConfidenceDrop
        self.maximumDriftPSI = maximumDriftPSI
        self.gateMinimumDevices = gateMinimumDevices
        self.gateMinimumQueries = gateMinimumQueries
    }

    public init(reading reader: inout WireReader) throws {
        requestID = try reader.readVarint("requestID")
        model = try reader.readLengthPrefixedString("model")
        version = try reader.readBoundedInt("version")
        variant = try reader.readLengthPrefixedString("variant")
        selector = try reader.readStringMap("selector")
        waves = try reader.readList("waves", minimumElementSize: 1) { try $0.readBoundedInt("wave") }
        soakMilliseconds = try reader.readBoundedInt("soakMilliseconds", maximum: Int(Int64.max))
        minimumDevicesPerWave = try reader.readBoundedInt("minimumDevicesPerWave")
        maximumInstallFailurePercent = try reader.readFloat64("maximumInstallFailurePercent")
        let flag = try reader.readByte("autoRollback")
        guard flag <= 1 else { throw FleetWireError.invalidValue("autoRollback", "\(flag)") }
        autoRollback = flag == 1
        seed = try reader.readVarint("seed")
        maximumErrorRateIncrease = try reader.readFloat64("maximumErrorRateIncrease")
        maximumAccuracyDrop = try reader.readFloat64("maximumAccuracyDrop")
        maximumConfidenceDrop = try reader.readFloat64("maximumConfidenceDrop")
        maximumDriftPSI = try reader.readFloat64("maximumDriftPSI")
        gateMinimumDevices = try reader.readBoundedInt("gateMinimumDevices")
        gateMinimumQueries = try reader.readBoundedInt("gateMinimumQueries")
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(requestID)
        buffer.writeLengthPrefixedString(model)
        buffer.writeVarint(version)
        buffer.writeLengthPrefixedString(variant)
        buffer.writeStringMap(selector)
        buffer.writeList(waves) { buffer, wave in buffer.writeVarint(wave) }
        buffer.writeVarint(soakMilliseconds)
        buffer.writeVarint(minimumDevicesPerWave)
        buffer.writeFloat64(maximumInstallFailurePercent)
        buffer.writeInteger(autoRollback ? UInt8(1) : 0)
        buffer.writeVarint(seed)
        buffer.writeFloat64(maximumErrorRateIncrease)
        buffer.writeFloat64(maximumAccuracyDrop)
        buffer.writeFloat64(maximumConfidenceDrop)
        buffer.writeFloat64(maximumDriftPSI)
        buffer.writeVarint(gateMinimumDevices)
        buffer.writeVarint(gateMinimumQueries)
    }
}

/// A rollout was recorded and its first wave started.
public struct RolloutStarted: WirePayload {
    public static let messageType = MessageType.rolloutStarted
    public var requestID: UInt64
    public var rolloutID: Int
    /// Eligible devices (selector match, a variant of the version fits), all of them in some wave.
    public var devices: Int
    /// Waves with at least one device.
    public var waves: Int
    /// The membership seed the coordinator recorded.
    public var seed: UInt64

    public init(requestID: UInt64, rolloutID: Int, devices: Int, waves: Int, seed: UInt64) {
        self.requestID = requestID
        self.rolloutID = rolloutID
        self.devices = devices
        self.waves = waves
        self.seed = seed
    }

    public init(reading reader: inout WireReader) throws {
        requestID = try reader.readVarint("requestID")
        rolloutID = try reader.readBoundedInt("rolloutID", maximum: Int(Int64.max))
        devices = try reader.readBoundedInt("devices")
        waves = try reader.readBoundedInt("waves")
        seed = try reader.readVarint("seed")
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(requestID)
        buffer.writeVarint(rolloutID)
        buffer.writeVarint(devices)
        buffer.writeVarint(waves)
        buffer.writeVarint(seed)
    }
}

/// Pauses, resumes, aborts or promotes a rollout (admin only). Answered by ``Ack``.
public struct ControlRollout: WirePayload {
    public static let messageType = MessageType.controlRollout

    public enum Action: UInt8, Sendable, Codable, CaseIterable {
        /// No further wave starts until resumed; outcomes are still recorded.
        case pause = 1
        /// A paused rollout runs again.
        case resume = 2
        /// No further wave starts, ever; devices already assigned the version keep it.
        case abort = 3
        /// Every remaining device at once; the rollout completes.
        case promote = 4
    }

    public var requestID: UInt64
    public var rolloutID: Int
    public var action: Action

    public init(requestID: UInt64, rolloutID: Int, action: Action) {
        self.requestID = requestID
        self.rolloutID = rolloutID
        self.action = action
    }

    public init(reading reader: inout WireReader) throws {
        requestID = try reader.readVarint("requestID")
        rolloutID = try reader.readBoundedInt("rolloutID", maximum: Int(Int64.max))
        let raw = try reader.readByte("action")
        guard let action = Action(rawValue: raw) else { throw FleetWireError.invalidValue("action", "\(raw)") }
        self.action = action
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(requestID)
        buffer.writeVarint(rolloutID)
        buffer.writeInteger(action.rawValue)
    }
}

/// Holds a model version (admin only): sent before the upload of a version pushed with `--no-assign`, so that
/// publishing it assigns it to no device until a rollout does. Answered by ``Ack``.
public struct HoldVersion: WirePayload {
    public static let messageType = MessageType.holdVersion
    public var requestID: UInt64
    public var model: String
    public var version: Int

    public init(requestID: UInt64, model: String, version: Int) {
        self.requestID = requestID
        self.model = model
        self.version = version
    }

    public init(reading reader: inout WireReader) throws {
        requestID = try reader.readVarint("requestID")
        model = try reader.readLengthPrefixedString("model")
        version = try reader.readBoundedInt("version")
        guard version >= 1 else { throw FleetWireError.invalidValue("version", "must be at least 1") }
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(requestID)
        buffer.writeLengthPrefixedString(model)
        buffer.writeVarint(version)
    }
}
