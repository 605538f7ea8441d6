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
    /// The crash-loop gate (SPEC 12.5), negative when off: the most the wave's agent restarts per device (the median
    /// over its reporting devices of the starts they reported since the wave started) may exceed the control group's.
    public var maximumRestartIncrease: Double
    /// The latency gate, negative when off: the most, in percent, the wave's latency (the median over devices of
    /// each device's 95th-percentile request latency, estimated from its latency buckets) may exceed the control's.
    public var maximumLatencyIncreasePercent: Double
    /// A wave device that has not installed the version this long after its wave started counts as timed out (a
    /// failure for `maximumInstallFailurePercent`); 0: never.
    public var deviceTimeoutMilliseconds: Int

    /// Fields 18 to 20 (SPEC 5.28a) form an optional trailing group: a payload that ends after field 17 (a client
    /// written before them) reads as these values, and a payload whose group holds exactly these values is refused
    /// as a second form of the same message.
    public static let absentTrailingGroup = (restarts: -1.0, latency: -1.0, timeout: 0)

    /// Whether fields 18 to 20 are written: only when one of them differs from ``absentTrailingGroup``.
    public var hasTrailingGroup: Bool {
        maximumRestartIncrease != Self.absentTrailingGroup.restarts
            || maximumLatencyIncreasePercent != Self.absentTrailingGroup.latency
            || deviceTimeoutMilliseconds != Self.absentTrailingGroup.timeout
    }

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
        gateMinimumQueries: Int = 50,
        maximumRestartIncrease: Double = absentTrailingGroup.restarts,
        maximumLatencyIncreasePercent: Double = absentTrailingGroup.latency,
        deviceTimeoutMilliseconds: Int = absentTrailingGroup.timeout
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
        self.maximumRestartIncrease = maximumRestartIncrease
        self.maximumLatencyIncreasePercent = maximumLatencyIncreasePercent
        self.deviceTimeoutMilliseconds = deviceTimeoutMilliseconds
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
        guard reader.remaining > 0 else {
            maximumRestartIncrease = Self.absentTrailingGroup.restarts
            maximumLatencyIncreasePercent = Self.absentTrailingGroup.latency
            deviceTimeoutMilliseconds = Self.absentTrailingGroup.timeout
            return
        }
        maximumRestartIncrease = try reader.readFloat64("maximumRestartIncrease")
        maximumLatencyIncreasePercent = try reader.readFloat64("maximumLatencyIncreasePercent")
        deviceTimeoutMilliseconds = try reader.readBoundedInt("deviceTimeoutMilliseconds", maximum: Int(Int64.max))
        guard hasTrailingGroup else {
            throw FleetWireError.invalidValue("deviceTimeoutMilliseconds", "a trailing group that says nothing")
        }
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
        guard hasTrailingGroup else { return }
        buffer.writeFloat64(maximumRestartIncrease)
        buffer.writeFloat64(maximumLatencyIncreasePercent)
        buffer.writeVarint(deviceTimeoutMilliseconds)
    }
}

/// The JSON form (golden vectors) mirrors the wire: the trailing group's keys are present exactly when its fields are
/// written, so a vector of a client written before them decodes, and encodes back, unchanged.
extension StartRollout {
    private enum CodingKeys: String, CodingKey {
        case requestID, model, version, variant, selector, waves, soakMilliseconds, minimumDevicesPerWave
        case maximumInstallFailurePercent, autoRollback, seed, maximumErrorRateIncrease, maximumAccuracyDrop
        case maximumConfidenceDrop, maximumDriftPSI, gateMinimumDevices, gateMinimumQueries
        case maximumRestartIncrease, maximumLatencyIncreasePercent, deviceTimeoutMilliseconds
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let absent = Self.absentTrailingGroup
        self.init(
            requestID: try container.decode(UInt64.self, forKey: .requestID),
            model: try container.decode(String.self, forKey: .model),
            version: try container.decode(Int.self, forKey: .version),
            variant: try container.decode(String.self, forKey: .variant),
            selector: try container.decode([String: String].self, forKey: .selector),
            waves: try container.decode([Int].self, forKey: .waves),
            soakMilliseconds: try container.decode(Int.self, forKey: .soakMilliseconds),
            minimumDevicesPerWave: try container.decode(Int.self, forKey: .minimumDevicesPerWave),
            maximumInstallFailurePercent: try container.decode(Double.self, forKey: .maximumInstallFailurePercent),
            autoRollback: try container.decode(Bool.self, forKey: .autoRollback),
            seed: try container.decode(UInt64.self, forKey: .seed),
            maximumErrorRateIncrease: try container.decode(Double.self, forKey: .maximumErrorRateIncrease),
            maximumAccuracyDrop: try container.decode(Double.self, forKey: .maximumAccuracyDrop),
            maximumConfidenceDrop: try container.decode(Double.self, forKey: .maximumConfidenceDrop),
            maximumDriftPSI: try container.decode(Double.self, forKey: .maximumDriftPSI),
            gateMinimumDevices: try container.decode(Int.self, forKey: .gateMinimumDevices),
            gateMinimumQueries: try container.decode(Int.self, forKey: .gateMinimumQueries),
            maximumRestartIncrease: try container.decodeIfPresent(Double.self, forKey: .maximumRestartIncrease)
                ?? absent.restarts,
            maximumLatencyIncreasePercent: try container.decodeIfPresent(
                Double.self,
                forKey: .maximumLatencyIncreasePercent
            ) ?? absent.latency,
            deviceTimeoutMilliseconds: try container.decodeIfPresent(Int.self, forKey: .deviceTimeoutMilliseconds)
                ?? absent.timeout
        )
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(requestID, forKey: .requestID)
        try container.encode(model, forKey: .model)
        try container.encode(version, forKey: .version)
        try container.encode(variant, forKey: .variant)
        try container.encode(selector, forKey: .selector)
        try container.encode(waves, forKey: .waves)
        try container.encode(soakMilliseconds, forKey: .soakMilliseconds)
        try container.encode(minimumDevicesPerWave, forKey: .minimumDevicesPerWave)
        try container.encode(maximumInstallFailurePercent, forKey: .maximumInstallFailurePercent)
        try container.encode(autoRollback, forKey: .autoRollback)
        try container.encode(seed, forKey: .seed)
        try container.encode(maximumErrorRateIncrease, forKey: .maximumErrorRateIncrease)
        try container.encode(maximumAccuracyDrop, forKey: .maximumAccuracyDrop)
        try container.encode(maximumConfidenceDrop, forKey: .maximumConfidenceDrop)
        try container.encode(maximumDriftPSI, forKey: .maximumDriftPSI)
        try container.encode(gateMinimumDevices, forKey: .gateMinimumDevices)
        try container.encode(gateMinimumQueries, forKey: .gateMinimumQueries)
        guard hasTrailingGroup else { return }
        try container.encode(maximumRestartIncrease, forKey: .maximumRestartIncrease)
        try container.encode(maximumLatencyIncreasePercent, forKey: .maximumLatencyIncreasePercent)
        try container.encode(deviceTimeoutMilliseconds, forKey: .deviceTimeoutMilliseconds)
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
