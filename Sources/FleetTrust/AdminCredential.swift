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

    /// Lower-case hexadecimal, two digits per byte, `separator` between bytes. The one hex codec of the
    /// project, with ``bytes(hex:)``.
    public static func hex(_ bytes: some Sequence<UInt8>, separator: String = "") -> String {
        let digits = Array("0123456789abcdef".utf8)
        let between = Array(separator.utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.underestimatedCount * (2 + between.count))
        for byte in bytes {
            if !out.isEmpty { out.append(contentsOf: between) }
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes of a hexadecimal string (either case, no separators), or nil when it is not one.
    public static func bytes(hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// Whether two byte strings are equal, compared in time that does not depend on where they differ (only on
    /// their lengths): for secrets and the nonces that stand for them.
    public static func equalInConstantTime(_ left: [UInt8], _ right: [UInt8]) -> Bool {
        guard left.count == right.count else { return false }
        return zip(left, right).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// Cryptographically random bytes.
    public static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }
}
