/// A signed quota grant (Protocol/METERING.md, "Grant"), decoded in place: byte fields are slices of the caller's
/// bytes. Decoding checks every length against the bytes left and every field against METERING.md's limits; it
/// does not verify the signature (``check(releaseKey:deviceID:)`` does).
public struct TinyQuotaGrant {
    /// The signed grant's bytes: the grant, then the 64-byte signature.
    public let signed: UnsafeRawBufferPointer
    public let deviceID: UnsafeRawBufferPointer
    public let model: UnsafeRawBufferPointer
    public let sequence: UInt64
    /// A revoke cancels every grant of the same device and model with a lower sequence.
    public let isRevoke: Bool
    public let queries: UInt64
    public let issuedAt: UInt64
    /// Milliseconds since the epoch after which the grant stops counting; nil: no expiry.
    public let expiresAt: UInt64?
    public let priceMicros: UInt64
    public let currency: UnsafeRawBufferPointer
    public let ratePerSecond: UInt64
    public let offlineGrace: UInt64
    public let cloudPriceMicros: UInt64

    /// The largest signed grant (METERING.md).
    public static var maximumSize: Int { 512 }
    /// The latest time METERING.md allows (9999-12-31T23:59:59.999Z).
    static var maximumTime: UInt64 { 253_402_300_799_999 }

    /// Decodes `signed` strictly: domain prefix, bounded strings, shortest varints, no trailing bytes.
    public init(decoding signed: UnsafeRawBufferPointer) throws(TinyWireError) {
        guard signed.count <= Self.maximumSize, signed.count > 64 else { throw .invalidValue }
        self.signed = signed
        var reader = TinyWireReader(UnsafeRawBufferPointer(rebasing: signed[0..<(signed.count - 64)]))
        guard TinyBytes.equal(try reader.fixed(25), "tinyfleet-v1 quota-grant\0") else { throw .invalidValue }
        deviceID = try Self.string(&reader, 1...128)
        model = try Self.string(&reader, 1...64)
        sequence = try reader.varint()
        let action = try reader.byte()
        guard sequence >= 1, action <= 1 else { throw .invalidValue }
        isRevoke = action == 1
        queries = try reader.varint()
        issuedAt = try reader.bounded(Self.maximumTime)
        switch try reader.byte() {
        case 0: expiresAt = nil
        case 1: expiresAt = try reader.bounded(Self.maximumTime)
        default: throw .invalidValue
        }
        guard !isRevoke || (queries == 0 && expiresAt == nil) else { throw .invalidValue }
        priceMicros = try reader.varint()
        currency = try Self.string(&reader, 0...8)
        ratePerSecond = try reader.varint()
        offlineGrace = try reader.varint()
        cloudPriceMicros = try reader.varint()
        try reader.expectEnd()
    }

    /// What a leaf makes of a grant.
    public enum Check: Equatable {
        /// Signed by the release key and for this device: keep it.
        case valid
        /// Not signed by the pinned release key (another key, or altered bytes).
        case badSignature
        /// Signed, but for another device (copied from another device's data).
        case otherDevice
    }

    /// Verifies the signature with the pinned 32-byte `releaseKey` and that the grant names `deviceID`.
    public func check(releaseKey: UnsafeRawBufferPointer, deviceID own: UnsafeRawBufferPointer) -> Check {
        let split = signed.count - 64
        let verified = TinyEd25519.verify(
            signature: UnsafeRawBufferPointer(rebasing: signed[split..<signed.count]),
            message: UnsafeRawBufferPointer(rebasing: signed[0..<split]),
            publicKey: releaseKey
        )
        guard verified else { return .badSignature }
        return TinyBytes.equal(deviceID, own) ? .valid : .otherDevice
    }

    /// Whether the grant counts at `now` (milliseconds since the epoch): a grant, unexpired.
    func isValid(at now: UInt64) -> Bool {
        !isRevoke && (expiresAt.map { now < $0 } ?? true)
    }

    private static func string(
        _ reader: inout TinyWireReader,
        _ bounds: ClosedRange<Int>
    ) throws(TinyWireError) -> UnsafeRawBufferPointer {
        let text = try reader.string()
        guard bounds.contains(text.count) else { throw .invalidValue }
        return text
    }
}
