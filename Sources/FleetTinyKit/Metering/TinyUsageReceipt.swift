/// One usage receipt of the leaf's ledger (Protocol/METERING.md, "Receipt"): `count` queries of `model` answered
/// between `windowStart` and `windowEnd` (milliseconds since the epoch), drawn on grant `grant`, at position
/// `index` of the hash chain, linked to the previous signed receipt by `previous` (its SHA-256).
public struct TinyUsageReceipt {
    public var deviceID: UnsafeRawBufferPointer
    public var index: UInt64
    public var previous: TinyDigest32
    public var model: UnsafeRawBufferPointer
    public var version: UInt64
    public var grant: UInt64
    /// 0 within the grant, 1 offline grace, 2 answered by the coordinator.
    public var kind: UInt8
    public var count: UInt64
    public var windowStart: UInt64
    public var windowEnd: UInt64

    public init(
        deviceID: UnsafeRawBufferPointer,
        index: UInt64,
        previous: TinyDigest32,
        model: UnsafeRawBufferPointer,
        version: UInt64,
        grant: UInt64,
        kind: UInt8,
        count: UInt64,
        windowStart: UInt64,
        windowEnd: UInt64
    ) {
        self.deviceID = deviceID
        self.index = index
        self.previous = previous
        self.model = model
        self.version = version
        self.grant = grant
        self.kind = kind
        self.count = count
        self.windowStart = windowStart
        self.windowEnd = windowEnd
    }

    /// The largest signed receipt (METERING.md).
    public static var maximumSize: Int { 512 }

    /// Writes the signed receipt (its bytes, then the Ed25519 signature with the leaf's identity key) into
    /// `buffer` and returns its length, or 0 when a field is out of METERING.md's limits or `buffer` is too small.
    /// Its ``TinySHA256`` hash is the next receipt's `previous`.
    public func sign(
        seed: UnsafeRawBufferPointer,
        publicKey: UnsafeRawBufferPointer,
        into buffer: UnsafeMutableRawBufferPointer
    ) -> Int {
        let length = encode(into: buffer)
        guard length > 0 else { return 0 }
        Self.sign(length, in: buffer, seed: seed, publicKey: publicKey)
        return length + 64
    }

    /// Writes the receipt's bytes (without the signature) into `buffer` and returns their length, or 0 when a field
    /// is out of METERING.md's limits or `buffer` has no room for them and the 64-byte signature after them.
    @inline(never)
    func encode(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard (1...128).contains(deviceID.count), (1...64).contains(model.count), kind <= 2, count >= 1,
            windowStart <= windowEnd, windowEnd <= TinyQuotaGrant.maximumTime
        else { return 0 }
        var writer = TinyWireWriter(buffer)
        writer.fixed(("tinyfleet-v1 usage-receipt\0" as StaticString).tinyBytes)
        writer.lengthPrefixed(deviceID)
        writer.varint(index)
        previous.withUnsafeBytes { writer.fixed($0) }
        writer.lengthPrefixed(model)
        writer.varint(version)
        writer.varint(grant)
        writer.byte(kind)
        writer.varint(count)
        writer.varint(windowStart)
        writer.varint(windowEnd)
        let length = writer.count
        guard !writer.overflowed, length + 64 <= min(buffer.count, Self.maximumSize) else { return 0 }
        return length
    }

    /// Signs the `length` receipt bytes at the start of `buffer`, the signature written right after them.
    static func sign(
        _ length: Int,
        in buffer: UnsafeMutableRawBufferPointer,
        seed: UnsafeRawBufferPointer,
        publicKey: UnsafeRawBufferPointer
    ) {
        TinyEd25519.sign(
            message: UnsafeRawBufferPointer(rebasing: buffer[0..<length]),
            seed: seed,
            publicKey: publicKey,
            into: UnsafeMutableRawBufferPointer(rebasing: buffer[length..<(length + 64)])
        )
    }
}

extension TinyOutbound {
    /// usageReport (0x74, SPEC.md 15a.5) carrying one signed receipt.
    public static func usageReport(
        requestID: UInt64,
        receipt: UnsafeRawBufferPointer,
        into writer: inout TinyWireWriter
    ) throws(TinyWireError) -> UnsafeRawBufferPointer {
        guard receipt.count <= TinyUsageReceipt.maximumSize else { throw .invalidValue }
        let start = writer.beginFrame(.usageReport)
        writer.varint(requestID)
        writer.varint(UInt64(1))
        writer.lengthPrefixed(receipt)
        return try writer.finishFrame(start)
    }

    /// quotaSync (0x73, SPEC.md 15a.4): the grants of a sequence above `afterSequence`, please.
    public static func quotaSync(
        requestID: UInt64,
        afterSequence: UInt64,
        into writer: inout TinyWireWriter
    ) throws(TinyWireError) -> UnsafeRawBufferPointer {
        let start = writer.beginFrame(.quotaSync)
        writer.varint(requestID)
        writer.varint(afterSequence)
        return try writer.finishFrame(start)
    }
}
