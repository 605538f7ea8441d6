// The structs of the C interface (include/tinyfleet.h), field for field in the header's order. Every field is a
// pointer, a 64-bit or a 32-bit integer, a float, or a byte array of a multiple of 8 bytes placed after the integers,
// so Swift and C lay them out alike (declaration order, natural alignment). The header's `tinyfleet_sizes` reports
// each struct's size as Swift sees it, and the C test checks them against `sizeof`.

/// A raw C callback argument: the integrator's `void *context`.
public typealias TinyCContext = UnsafeMutableRawPointer?

/// `tinyfleet_platform`: the platform interface as C function pointers, with the integrator's context.
public struct TinyCPlatformTable {
    public var context: TinyCContext
    public var connect: (@convention(c) (TinyCContext) -> Bool)?
    public var disconnect: (@convention(c) (TinyCContext) -> Void)?
    public var receive: (@convention(c) (TinyCContext, UnsafeMutableRawPointer?, UInt32) -> Int32)?
    public var send: (@convention(c) (TinyCContext, UnsafeRawPointer?, UInt32) -> Bool)?
    public var milliseconds: (@convention(c) (TinyCContext) -> UInt64)?
    public var fillRandom: (@convention(c) (TinyCContext, UnsafeMutableRawPointer?, UInt32) -> Bool)?
    public var loadRecord: (@convention(c) (TinyCContext, UInt32, UnsafeMutableRawPointer?, UInt32) -> Bool)?
    public var storeRecord: (@convention(c) (TinyCContext, UInt32, UnsafeRawPointer?, UInt32) -> Bool)?
    public var loadMeterRecord: (@convention(c) (TinyCContext, UInt32, UnsafeMutableRawPointer?, UInt32) -> Bool)?
    public var storeMeterRecord: (@convention(c) (TinyCContext, UInt32, UnsafeRawPointer?, UInt32) -> Bool)?
    public var erasePage: (@convention(c) (TinyCContext, UInt32) -> Bool)?
    public var writeFlash: (@convention(c) (TinyCContext, UInt32, UnsafeRawPointer?, UInt32) -> Bool)?
    public var readFlash: (@convention(c) (TinyCContext, UInt32, UnsafeMutableRawPointer?, UInt32) -> Bool)?
    public var pageSize: UInt32
    public var pageCount: UInt32

    /// Whether every operation the kit cannot do without is set (the meter's two may be NULL).
    var isComplete: Bool {
        connect != nil && disconnect != nil && receive != nil && send != nil && milliseconds != nil
            && fillRandom != nil && loadRecord != nil && storeRecord != nil && erasePage != nil && writeFlash != nil
            && readFlash != nil && pageSize > 0 && pageCount > 0
    }
}

/// `tinyfleet_settings`.
struct TinyCSettings {
    var token: UnsafePointer<UInt8>?
    var name: UnsafePointer<UInt8>?
    var software: UnsafePointer<UInt8>?
    var ramBytes: UInt64
    var flashBytes: UInt64
    var reconnectMilliseconds: UInt32
    var maximumReconnectMilliseconds: UInt32
    var meterGrants: UInt32
    var slotPages: UInt32
}

/// `tinyfleet_buffers`.
struct TinyCBuffers {
    var leaf: UnsafeMutableRawPointer?
    var receive: UnsafeMutableRawPointer?
    var send: UnsafeMutableRawPointer?
    var page: UnsafeMutableRawPointer?
    var meter: UnsafeMutableRawPointer?
    var leafBytes: UInt32
    var receiveBytes: UInt32
    var sendBytes: UInt32
    var pageBytes: UInt32
    var meterBytes: UInt32
}

/// `tinyfleet_sizes`.
struct TinyCSizes {
    var leafBytes: UInt32 = 0
    var leafAlignment: UInt32 = 0
    var receiveMinimum: UInt32 = 0
    var sendMinimum: UInt32 = 0
    var pageBytes: UInt32 = 0
    var meterBytes: UInt32 = 0
    var installerWorkBytes: UInt32 = 0
    var platformStructBytes: UInt32 = 0
    var settingsStructBytes: UInt32 = 0
    var buffersStructBytes: UInt32 = 0
    var statusStructBytes: UInt32 = 0
    var meterStatusStructBytes: UInt32 = 0
    var eventStructBytes: UInt32 = 0
    var predictionStructBytes: UInt32 = 0
}

/// `tinyfleet_event`.
struct TinyCEvent {
    var kind: Int32 = 0
    var version: Int32 = 0
    var coordinatorError: Int32 = 0
    var enrolled: Int32 = 0
    var refusal: UnsafePointer<UInt8>? = nil
}

/// `tinyfleet_status`. The byte arrays are NUL-terminated C strings.
struct TinyCStatus {
    var phase: Int32 = 0
    var enrolled: Int32 = 0
    var modelVersion: Int32 = -1
    var lastErrorCode: Int32 = 0
    var inputFeatures: UInt32 = 0
    var classes: UInt32 = 0
    var scratchFloats: UInt32 = 0
    var reserved: UInt32 = 0
    /// `device_id[24]`.
    var deviceID: (UInt64, UInt64, UInt64) = (0, 0, 0)
    /// `model_name[40]`.
    var modelName: (UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0)
    /// `model_variant[24]`.
    var modelVariant: (UInt64, UInt64, UInt64) = (0, 0, 0)
}

/// `tinyfleet_meter_status`.
struct TinyCMeterStatus {
    var highestGrantSequence: UInt64 = 0
    var remainingQueries: UInt64 = 0
    var hasMeter: UInt32 = 0
    var quotaSynced: UInt32 = 0
    var refusedGrants: UInt32 = 0
    var unsyncedReceipts: UInt32 = 0
    var modelMetered: UInt32 = 0
    var pushedMetered: UInt32 = 0
}

/// `tinyfleet_prediction`.
struct TinyCPrediction {
    var predictedClass: Int32 = -1
    var confidence: Float = 0
    var billing: Int32 = 0
    var reserved: Int32 = 0
}
