import Crypto
import Foundation

/// How a model is kept on devices, chosen per model version by `fleetctl model push --protection` and carried in
/// the signed manifest's metadata under `protection` (`Protocol/AT-REST.md`).
public enum ModelProtection: String, Sendable, Hashable, CaseIterable {
    /// `models/NAME/current.safetensors` holds the weights in plaintext (the default).
    case plain
    /// Sealed on disk; the agent serves inference, and hands the weights to allowed local applications.
    case atRest = "at-rest"
    /// Sealed on disk; the weights never leave the agent: applications only get inference through the socket.
    case agentOnly = "agent-only"

    /// The manifest metadata key that carries the policy.
    public static let metadataKey = "protection"

    /// The policy named in a manifest's metadata: `plain` when absent.
    ///
    /// - Throws: ``TrustError/malformed(_:)`` for a value this software does not know (a device must not
    ///   install in plaintext a model meant to be protected in a way it does not understand).
    public init(metadata: [String: String]) throws(TrustError) {
        guard let value = metadata[Self.metadataKey] else {
            self = .plain
            return
        }
        guard let known = Self(rawValue: value) else {
            throw .malformed(
                "unknown model protection \(value.prefix(32).debugDescription): expected plain, at-rest or agent-only"
            )
        }
        self = known
    }

    /// Whether the weights are sealed on the device's disk.
    public var isSealed: Bool { self != .plain }

    /// The byte that names the policy in a sealed model's header and key context.
    var code: UInt8 {
        switch self {
        case .plain: 0
        case .atRest: 1
        case .agentOnly: 2
        }
    }

    init?(code: UInt8) {
        guard let match = Self.allCases.first(where: { $0.code == code }) else { return nil }
        self = match
    }
}

/// The per-device model-protection key: derived by the coordinator from its own secret and the device id, handed
/// to the authenticated device over the session (`modelKey`), kept by the agent in memory only.
public enum DeviceModelKey {
    public static let size = 32

    /// `HKDF-SHA256(ikm: coordinator secret, salt: empty, info: "tinyfleet-v1 device model key\0" + device id)`.
    public static func derive(coordinatorSecret: [UInt8], deviceID: String) -> [UInt8] {
        let key = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: coordinatorSecret),
            salt: [UInt8](),
            info: Array("tinyfleet-v1 device model key\0".utf8) + Array(deviceID.utf8),
            outputByteCount: size
        )
        return key.withUnsafeBytes { Array($0) }
    }
}
