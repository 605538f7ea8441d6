import Crypto

/// A ``QuotaGrant`` with the coordinator's release-key signature over its canonical bytes. Agents verify it with
/// the release public key they pinned at enrolment, and only count grants that name their own device.
///
/// Wire encoding: the grant's canonical bytes, then the 64-byte Ed25519 signature; at most
/// ``maximumEncodedSize`` bytes.
public struct SignedQuotaGrant: Sendable, Hashable {
    public static let maximumEncodedSize = 512

    public let grant: QuotaGrant
    public let signature: [UInt8]

    public init(grant: QuotaGrant, signature: [UInt8]) {
        self.grant = grant
        self.signature = signature
    }

    /// Signs `grant` with the coordinator's release key.
    public static func sign(_ grant: QuotaGrant, with key: ReleaseKey) throws(TrustError) -> SignedQuotaGrant {
        SignedQuotaGrant(grant: grant, signature: try key.signature(for: try grant.canonicalBytes()))
    }

    /// The grant, if the signature is the release key's and it names `deviceID`.
    ///
    /// - Throws: ``TrustError/badSignature(_:)`` for any other signer or altered bytes;
    ///   ``TrustError/malformed(_:)`` for a grant of another device (copied from another device's data).
    public func verify(releasePublicKey: [UInt8], deviceID: String) throws(TrustError) -> QuotaGrant {
        let key: Curve25519.Signing.PublicKey
        do {
            key = try Curve25519.Signing.PublicKey(rawRepresentation: releasePublicKey)
        } catch {
            throw .invalidKey("release public key: \(error)")
        }
        guard signature.count == 64, key.isValidSignature(signature, for: try grant.canonicalBytes()) else {
            throw .badSignature("quota grant \(grant.sequence) is not signed by this coordinator's release key")
        }
        guard grant.deviceID == deviceID else {
            throw .malformed("quota grant \(grant.sequence) is for device \(grant.deviceID), not \(deviceID)")
        }
        return grant
    }

    /// The wire encoding: canonical bytes followed by the 64-byte signature.
    public func encoded() throws(TrustError) -> [UInt8] {
        guard signature.count == 64 else { throw .malformed("signature has \(signature.count) bytes, not 64") }
        return try grant.canonicalBytes() + signature
    }

    /// Decodes strictly (size limit, bounded lengths, no trailing bytes). Does not verify.
    public init(decoding bytes: [UInt8]) throws(TrustError) {
        guard bytes.count <= Self.maximumEncodedSize else {
            throw .malformed("quota grant of \(bytes.count) bytes exceeds \(Self.maximumEncodedSize)")
        }
        var reader = CanonicalReader(bytes)
        let grant = try QuotaGrant.decode(from: &reader)
        let signature = try reader.raw(count: 64)
        try reader.expectEnd()
        self.init(grant: grant, signature: signature)
    }
}
