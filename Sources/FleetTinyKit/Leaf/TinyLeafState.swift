/// The transfer a leaf is receiving (in RAM: a restart fetches again from the start).
struct TinyTransfer {
    /// The leaf wants ``target``: fetch it (again) when no request is active and ``retryAt`` has passed.
    var wanted = false
    var retryAt: UInt64 = 0
    /// A fetchModel for ``target`` is in flight on this connection.
    var active = false
    /// transferStart arrived for the current request.
    var started = false
    var requestID: UInt64 = 0
    var target = TinyInstalledModel()
    var targetSize = 0
    var payloadSHA = TinyDigest32()
    var hasPayloadSHA = false
    var encoding: UInt8 = 0
    var totalBytes = 0
    var received = 0
    var resumedFrom = 0
    var hasher = TinySHA256()

    /// Done with this transfer: nothing to fetch or resume. Not inlined: one copy of the reset for its callers.
    @inline(never)
    mutating func clear() {
        self = TinyTransfer()
    }
}

/// A modelReport kept until its ack arrives.
struct TinyPendingReport {
    var active = false
    var model = TinyInstalledModel()
    var outcome: UInt8 = 0
    var code: StaticString = ""
    var encoding: UInt8 = 0
    var wireBytes = 0
    var resumedFrom = 0
    var reportID: UInt64 = 0
    var requestID: UInt64 = 0

    init() {}

    @inline(never)  // two callers: one copy
    init(model: TinyInstalledModel, outcome: UInt8, code: StaticString) {
        self.model = model
        self.outcome = outcome
        self.code = code
    }
}

/// The signed challenges of SPEC.md section 7, written into a caller's buffer.
public enum TinyChallenge {
    /// `"tinyfleet-v1 enrol" 00 nonce hex(publicKey)` (115 bytes). Returns the length written.
    public static func enrol(
        nonce: UnsafeRawBufferPointer,
        publicKey: UnsafeRawBufferPointer,
        into buffer: UnsafeMutableRawBufferPointer
    ) -> Int {
        var writer = TinyWireWriter(buffer)
        writer.fixed(("tinyfleet-v1 enrol\0" as StaticString).tinyBytes)
        writer.fixed(nonce)
        let start = writer.count
        for _ in 0..<64 { writer.byte(0) }
        guard !writer.overflowed else { return 0 }
        _ = TinyBytes.hex(publicKey, into: UnsafeMutableRawBufferPointer(rebasing: buffer[start..<(start + 64)]))
        return writer.count
    }

    /// `"tinyfleet-v1 authenticate" 00 nonce deviceID` (76 bytes for a `d-` id). Returns the length written.
    public static func authenticate(
        nonce: UnsafeRawBufferPointer,
        deviceID: UnsafeRawBufferPointer,
        into buffer: UnsafeMutableRawBufferPointer
    ) -> Int {
        var writer = TinyWireWriter(buffer)
        writer.fixed(("tinyfleet-v1 authenticate\0" as StaticString).tinyBytes)
        writer.fixed(nonce)
        writer.fixed(deviceID)
        return writer.overflowed ? 0 : writer.count
    }
}

extension StaticString {
    /// The text's UTF-8 bytes (a string literal's storage lives as long as the program).
    public var tinyBytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: utf8Start, count: utf8CodeUnitCount)
    }
}
