import Crypto
import Foundation

/// The administrator's shared secret (32 random bytes), written by the coordinator into its data directory.
/// `fleetctl` proves it with HMAC-SHA256 over `"tinyfleet-v1 admin\0" + nonce`.
public struct AdminCredential: Sendable {
    private let key: SymmetricKey

    public static func generate() -> AdminCredential {
        AdminCredential(key: SymmetricKey(size: .bits256))
    }

    private init(key: SymmetricKey) { self.key = key }

    public init(bytes: [UInt8]) throws {
        try self.init(checkedBytes: bytes)
    }

    init(checkedBytes bytes: [UInt8]) throws(TrustError) {
        guard bytes.count == 32 else {
            throw TrustError.invalidKey("admin credential must be 32 bytes, got \(bytes.count)")
        }
        key = SymmetricKey(data: bytes)
    }

    public var bytes: [UInt8] { key.withUnsafeBytes { Array($0) } }

    /// The proof for one connection's nonce.
    public func proof(nonce: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Self.message(nonce: nonce), using: key))
    }

    public func isValid(proof: [UInt8], nonce: [UInt8]) -> Bool {
        HMAC<SHA256>.isValidAuthenticationCode(proof, authenticating: Self.message(nonce: nonce), using: key)
    }

    private static func message(nonce: [UInt8]) -> [UInt8] {
        Array("tinyfleet-v1 admin\0".utf8) + nonce
    }
}

/// Where the coordinator keeps the admin credential: its 32 bytes in a file of mode 0600 (``SecretFile``), which
/// `fleetctl --data-dir` reads. Same refusals as ``ReleaseKeyFile``.
public enum AdminCredentialFile {
    static let holding = "the admin credential"

    /// Loads the credential at `path`, or creates one there on first start.
    public static func loadOrCreate(path: String) throws(TrustError) -> AdminCredential {
        let bytes = try SecretFile.loadOrCreate(path: path, size: 32, holding: holding) {
            AdminCredential.generate().bytes
        }
        return try AdminCredential(checkedBytes: bytes)
    }

    /// The credential at `path`, or nil when there is no file.
    public static func load(path: String) throws(TrustError) -> AdminCredential? {
        try SecretFile.load(path: path, size: 32, holding: holding).map { bytes throws(TrustError) in
            try AdminCredential(checkedBytes: bytes)
        }
    }
}

/// Hashing helpers shared by the runtimes.
public enum Digest {
    public static func sha256(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        Array(SHA256.hash(data: Array(bytes)))
    }

    public static func hex(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// Cryptographically random bytes.
    public static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }
}
