import Crypto
import Foundation

/// A ``ReleaseManifest`` with the release key's Ed25519 signature over its ``ReleaseManifest/canonicalBytes()``.
///
/// Wire encoding (``encoded()``): the manifest's canonical bytes, then the 64-byte signature, nothing after.
/// The canonical bytes delimit themselves, so no outer length is needed; the whole encoding is at most
/// ``maximumEncodedSize`` bytes.
public struct SignedManifest: Sendable, Hashable {
    /// The largest wire encoding accepted: a manifest at every limit stays well under it.
    public static let maximumEncodedSize = 80 * 1024

    public let manifest: ReleaseManifest
    public let signature: [UInt8]

    public init(manifest: ReleaseManifest, signature: [UInt8]) {
        self.manifest = manifest
        self.signature = signature
    }

    /// Signs `manifest` with the coordinator's release key.
    public static func sign(_ manifest: ReleaseManifest, with key: ReleaseKey) throws(TrustError) -> SignedManifest {
        SignedManifest(manifest: manifest, signature: try key.signature(for: try manifest.canonicalBytes()))
    }

    /// The manifest, if `signature` is a valid signature of it by `publicKey` (the pinned release key).
    ///
    /// - Throws: ``TrustError/invalidKey(_:)`` for a public key that is not 32 bytes,
    ///   ``TrustError/badSignature(_:)`` when the signature does not verify,
    ///   ``TrustError/malformed(_:)`` when the manifest breaks the encoding's limits.
    public func verify(publicKey: [UInt8]) throws(TrustError) -> ReleaseManifest {
        let key: Curve25519.Signing.PublicKey
        do {
            key = try Curve25519.Signing.PublicKey(rawRepresentation: publicKey)
        } catch {
            throw .invalidKey("release public key: \(error)")
        }
        let message = try manifest.canonicalBytes()
        guard signature.count == 64, key.isValidSignature(signature, for: message) else {
            throw .badSignature("release manifest \(manifest.model) v\(manifest.version)")
        }
        return manifest
    }

    /// The wire encoding: canonical manifest bytes followed by the 64-byte signature.
    public func encoded() throws(TrustError) -> [UInt8] {
        guard signature.count == 64 else { throw .malformed("signature has \(signature.count) bytes, not 64") }
        return try manifest.canonicalBytes() + signature
    }

    /// Decodes a wire encoding strictly: size limit, every length checked, exactly 64 signature bytes at the end.
    /// Decoding does not verify the signature; call ``verify(publicKey:)``.
    public init(decoding bytes: [UInt8]) throws(TrustError) {
        guard bytes.count <= Self.maximumEncodedSize else {
            throw .malformed("signed manifest of \(bytes.count) bytes exceeds \(Self.maximumEncodedSize)")
        }
        var reader = CanonicalReader(bytes)
        let manifest = try ReleaseManifest.decode(from: &reader)
        let signature = try reader.raw(count: 64)
        try reader.expectEnd()
        self.init(manifest: manifest, signature: signature)
    }
}
