import Crypto
import Foundation

/// The coordinator's Ed25519 release key. It signs every ``ReleaseManifest``; agents pin ``publicKey`` at enrolment.
public struct ReleaseKey: Sendable {
    private let privateKey: Curve25519.Signing.PrivateKey

    /// A new random key.
    public static func generate() -> ReleaseKey {
        ReleaseKey(privateKey: Curve25519.Signing.PrivateKey())
    }

    private init(privateKey: Curve25519.Signing.PrivateKey) {
        self.privateKey = privateKey
    }

    /// A key from its 32 raw private bytes.
    public init(privateKeyBytes: [UInt8]) throws(TrustError) {
        do {
            privateKey = try Curve25519.Signing.PrivateKey(rawRepresentation: privateKeyBytes)
        } catch {
            throw .invalidKey("release key: \(error)")
        }
    }

    /// The 32 raw private bytes. Keep them in a mode-0600 file (``ReleaseKeyFile``).
    public var privateKeyBytes: [UInt8] { Array(privateKey.rawRepresentation) }
    /// The 32 raw public bytes that agents pin.
    public var publicKey: [UInt8] { Array(privateKey.publicKey.rawRepresentation) }

    /// An Ed25519 signature of `bytes` (64 bytes).
    func signature(for bytes: [UInt8]) throws(TrustError) -> [UInt8] {
        do {
            return Array(try privateKey.signature(for: bytes))
        } catch {
            throw .invalidKey("release key cannot sign: \(error)")
        }
    }
}

/// Where the coordinator keeps its release key: the 32 raw private bytes in a file of mode 0600.
public enum ReleaseKeyFile {
    /// Loads the key at `path`, or creates one there on first start.
    ///
    /// - Throws: ``TrustError/insecureFile(_:)`` when the file is readable by group or others, is a symbolic link
    ///   or is not a regular file; ``TrustError/invalidKey(_:)`` when it does not hold 32 bytes.
    public static func loadOrCreate(path: String) throws(TrustError) -> ReleaseKey {
        let bytes = try SecretFile.loadOrCreate(path: path, size: 32, holding: "the release signing key") {
            ReleaseKey.generate().privateKeyBytes
        }
        return try ReleaseKey(privateKeyBytes: bytes)
    }
}

/// A 32-byte random secret in a file of mode 0600, created once: the coordinator's `model-protection.key`, from
/// which each device's model-protection key is derived (``DeviceModelKey``).
public enum MasterSecretFile {
    /// Loads the secret at `path`, or creates it there on first start. Same refusals as ``ReleaseKeyFile``.
    public static func loadOrCreate(path: String) throws(TrustError) -> [UInt8] {
        try SecretFile.loadOrCreate(path: path, size: 32, holding: "the at-rest master secret") {
            Digest.randomBytes(32)
        }
    }
}
