import Crypto
import Foundation

/// One entry of a device's usage ledger (`Protocol/METERING.md`, "Receipt"): `count` queries of `model` answered
/// between `windowStart` and `windowEnd`, drawn on grant `grant`. Receipts form a hash chain: `index` counts from
/// 0 without gaps, and `previous` is the SHA-256 of the previous signed receipt's encoding (32 zero bytes for
/// index 0). Each is signed with the device's identity key (``SignedUsageReceipt``).
public struct UsageReceipt: Codable, Sendable, Hashable {
    public enum Kind: UInt8, Codable, Sendable, Hashable {
        /// Answered within a valid grant.
        case granted = 0
        /// Answered beyond the grants while the coordinator was out of reach (the grant's offline grace).
        case offlineGrace = 1
        /// Answered by the coordinator for the device (offloaded), within the grant, at its cloud price.
        case cloud = 2
    }

    public let deviceID: String
    public let index: UInt64
    public let previous: [UInt8]
    public let model: String
    public let version: UInt64
    public let grant: UInt64
    public let kind: Kind
    public let count: UInt64
    public let windowStart: Date
    public let windowEnd: Date

    public init(
        deviceID: String,
        index: UInt64,
        previous: [UInt8],
        model: String,
        version: UInt64,
        grant: UInt64,
        kind: Kind,
        count: UInt64,
        windowStart: Date,
        windowEnd: Date
    ) {
        self.deviceID = deviceID
        self.index = index
        self.previous = previous
        self.model = model
        self.version = version
        self.grant = grant
        self.kind = kind
        self.count = count
        self.windowStart = Milliseconds.normalized(windowStart)
        self.windowEnd = Milliseconds.normalized(windowEnd)
    }

    static let domainPrefix = "tinyfleet-v1 usage-receipt\0"
    /// The `previous` of the first receipt.
    public static let genesis = [UInt8](repeating: 0, count: 32)

    /// The bytes the device signs:
    /// ```
    /// "tinyfleet-v1 usage-receipt\0"   27 bytes
    /// deviceID     string     1...128 bytes
    /// index        varint     0, 1, 2, … without gaps
    /// previous     32 bytes   SHA-256 of the previous signed receipt; zeros for index 0
    /// model        string     1...64 bytes
    /// version      varint     model version that answered
    /// grant        varint     sequence of the grant drawn on
    /// kind         1 byte     0 = within the grant, 1 = offline grace, 2 = offloaded (cloud)
    /// count        varint     queries answered, ≥ 1
    /// windowStart  varint     milliseconds since the epoch
    /// windowEnd    varint     milliseconds since the epoch, ≥ windowStart
    /// ```
    public func canonicalBytes() throws(TrustError) -> [UInt8] {
        try validate()
        var writer = CanonicalWriter(prefix: Self.domainPrefix)
        writer.string(deviceID)
        writer.varint(index)
        writer.raw(previous)
        writer.string(model)
        writer.varint(version)
        writer.varint(grant)
        writer.byte(kind.rawValue)
        writer.varint(count)
        writer.varint(UInt64(Milliseconds.from(windowStart)))
        writer.varint(UInt64(Milliseconds.from(windowEnd)))
        return writer.bytes
    }

    static func decode(from reader: inout CanonicalReader) throws(TrustError) -> UsageReceipt {
        try reader.expectPrefix(domainPrefix)
        let deviceID = try reader.string(maxBytes: QuotaGrant.maximumIDBytes)
        let index = try reader.varint()
        let previous = try reader.raw(count: 32)
        let model = try reader.string(maxBytes: QuotaGrant.maximumModelBytes)
        let version = try reader.varint()
        let grant = try reader.varint()
        guard let kind = Kind(rawValue: try reader.byte()) else { throw .malformed("unknown receipt kind") }
        let count = try reader.varint()
        let start = try reader.varint(maximum: UInt64(Milliseconds.maximum))
        let end = try reader.varint(maximum: UInt64(Milliseconds.maximum))
        let receipt = UsageReceipt(
            deviceID: deviceID,
            index: index,
            previous: previous,
            model: model,
            version: version,
            grant: grant,
            kind: kind,
            count: count,
            windowStart: Milliseconds.date(Int64(start)),
            windowEnd: Milliseconds.date(Int64(end))
        )
        try receipt.validate()
        return receipt
    }

    private func validate() throws(TrustError) {
        guard !deviceID.isEmpty, deviceID.utf8.count <= QuotaGrant.maximumIDBytes else {
            throw .malformed("usage receipt: device id must have 1...128 bytes")
        }
        guard !model.isEmpty, model.utf8.count <= QuotaGrant.maximumModelBytes else {
            throw .malformed("usage receipt: model name must have 1...64 bytes")
        }
        guard previous.count == 32 else { throw .malformed("usage receipt: previous hash must have 32 bytes") }
        guard count >= 1 else { throw .malformed("usage receipt: count must be at least 1") }
        guard windowEnd >= windowStart else { throw .malformed("usage receipt: window ends before it starts") }
    }
}

/// A ``UsageReceipt`` with the device identity key's Ed25519 signature. Encoding: canonical bytes, then the
/// 64-byte signature; at most ``maximumEncodedSize`` bytes. ``hash`` links the next receipt to it.
public struct SignedUsageReceipt: Sendable, Hashable {
    public static let maximumEncodedSize = 512

    public let receipt: UsageReceipt
    public let signature: [UInt8]

    public init(receipt: UsageReceipt, signature: [UInt8]) {
        self.receipt = receipt
        self.signature = signature
    }

    public static func sign(
        _ receipt: UsageReceipt,
        with identity: DeviceIdentity
    ) throws(TrustError)
        -> SignedUsageReceipt
    {
        let bytes = try receipt.canonicalBytes()
        do {
            return SignedUsageReceipt(receipt: receipt, signature: try identity.sign(bytes: bytes))
        } catch {
            throw .invalidKey("device identity cannot sign: \(error)")
        }
    }

    /// Whether the signature is valid for `publicKey` (the device's enrolled identity key).
    public func isSigned(by publicKey: [UInt8]) -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey),
            let bytes = try? receipt.canonicalBytes()
        else { return false }
        return signature.count == 64 && key.isValidSignature(signature, for: bytes)
    }

    public func encoded() throws(TrustError) -> [UInt8] {
        guard signature.count == 64 else { throw .malformed("signature has \(signature.count) bytes, not 64") }
        return try receipt.canonicalBytes() + signature
    }

    /// SHA-256 of the encoding: the next receipt's `previous`.
    public func hash() throws(TrustError) -> [UInt8] {
        Digest.sha256(try encoded())
    }

    /// Decodes strictly (size limit, bounded lengths, no trailing bytes). Does not verify.
    public init(decoding bytes: [UInt8]) throws(TrustError) {
        guard bytes.count <= Self.maximumEncodedSize else {
            throw .malformed("usage receipt of \(bytes.count) bytes exceeds \(Self.maximumEncodedSize)")
        }
        var reader = CanonicalReader(bytes)
        let receipt = try UsageReceipt.decode(from: &reader)
        let signature = try reader.raw(count: 64)
        try reader.expectEnd()
        self.init(receipt: receipt, signature: signature)
    }
}
