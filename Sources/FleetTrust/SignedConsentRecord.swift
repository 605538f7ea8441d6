import Crypto

/// A ``ConsentRecord`` with the device identity key's Ed25519 signature over its canonical bytes.
///
/// Wire encoding: the record's canonical bytes, then the 64-byte signature; at most ``maximumEncodedSize`` bytes.
public struct SignedConsentRecord: Sendable, Hashable {
    public static let maximumEncodedSize = 512

    public let record: ConsentRecord
    public let signature: [UInt8]

    public init(record: ConsentRecord, signature: [UInt8]) {
        self.record = record
        self.signature = signature
    }

    /// Signs `record` with the device's identity key (on the device, where the owner changed the setting).
    public static func sign(
        _ record: ConsentRecord,
        with identity: DeviceIdentity
    ) throws(TrustError)
        -> SignedConsentRecord
    {
        let bytes = try record.canonicalBytes()
        do {
            return SignedConsentRecord(record: record, signature: try identity.sign(bytes: bytes))
        } catch {
            throw .invalidKey("device identity cannot sign: \(error)")
        }
    }

    /// The record, if the signature is valid for `publicKey`, the device's enrolled identity key.
    public func verify(publicKey: [UInt8]) throws(TrustError) -> ConsentRecord {
        let key: Curve25519.Signing.PublicKey
        do {
            key = try Curve25519.Signing.PublicKey(rawRepresentation: publicKey)
        } catch {
            throw .invalidKey("device public key: \(error)")
        }
        guard signature.count == 64, key.isValidSignature(signature, for: try record.canonicalBytes()) else {
            throw .badSignature("consent record \(record.sequence) of \(record.deviceID)")
        }
        return record
    }

    /// The wire encoding: canonical record bytes followed by the 64-byte signature.
    public func encoded() throws(TrustError) -> [UInt8] {
        guard signature.count == 64 else { throw .malformed("signature has \(signature.count) bytes, not 64") }
        return try record.canonicalBytes() + signature
    }

    /// Decodes a wire encoding strictly (size limit, bounded lengths, no trailing bytes). Does not verify.
    public init(decoding bytes: [UInt8]) throws(TrustError) {
        guard bytes.count <= Self.maximumEncodedSize else {
            throw .malformed("consent record of \(bytes.count) bytes exceeds \(Self.maximumEncodedSize)")
        }
        var reader = CanonicalReader(bytes)
        let record = try ConsentRecord.decode(from: &reader)
        let signature = try reader.raw(count: 64)
        try reader.expectEnd()
        self.init(record: record, signature: signature)
    }
}
