import Foundation

/// What the coordinator promises about one model blob, signed with its ``ReleaseKey``.
///
/// A `.release` manifest offers `version` of `model`; agents refuse one lower than what they run. A `.rollback`
/// manifest is the deliberate exception: a directive to go back to the (lower) `version` it names, with that
/// version's blob hash and size. `targetDevice`, when set, limits either kind to one device.
///
/// `issuedAt` is kept to the millisecond (rounded on init), so a manifest survives encoding unchanged.
public struct ReleaseManifest: Codable, Sendable, Hashable {
    /// Whether the manifest offers a new version or directs a rollback.
    public enum Kind: String, Codable, Sendable, Hashable {
        case release
        case rollback
    }

    /// Limits of the canonical encoding; a manifest past them cannot be signed or decoded.
    public enum Limits {
        public static let nameBytes = 128
        public static let mapEntries = 64
        public static let keyBytes = 64
        public static let valueBytes = 512
        /// Model versions travel as `int31` on the device link (Protocol/SPEC.md, section 3.1).
        public static let maximumVersion = Int(Int32.max)
    }

    public var model: String
    public var version: Int
    public var variant: String
    public var size: Int
    public var sha256: [UInt8]
    /// Device requirements such as `min-ram`, `min-storage`, `arch`, `accelerator`.
    public var requirements: [String: String]
    /// Informational values such as `accuracy` or `cost`.
    public var metadata: [String: String]
    public var issuedAt: Date {
        didSet { issuedAt = Milliseconds.normalized(issuedAt) }
    }
    public var kind: Kind
    public var targetDevice: String?

    public init(
        model: String,
        version: Int,
        variant: String,
        size: Int,
        sha256: [UInt8],
        requirements: [String: String] = [:],
        metadata: [String: String] = [:],
        issuedAt: Date,
        kind: Kind = .release,
        targetDevice: String? = nil
    ) {
        self.model = model
        self.version = version
        self.variant = variant
        self.size = size
        self.sha256 = sha256
        self.requirements = requirements
        self.metadata = metadata
        self.issuedAt = Milliseconds.normalized(issuedAt)
        self.kind = kind
        self.targetDevice = targetDevice
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            model: try container.decode(String.self, forKey: .model),
            version: try container.decode(Int.self, forKey: .version),
            variant: try container.decode(String.self, forKey: .variant),
            size: try container.decode(Int.self, forKey: .size),
            sha256: try container.decode([UInt8].self, forKey: .sha256),
            requirements: try container.decode([String: String].self, forKey: .requirements),
            metadata: try container.decode([String: String].self, forKey: .metadata),
            issuedAt: try container.decode(Date.self, forKey: .issuedAt),
            kind: try container.decode(Kind.self, forKey: .kind),
            targetDevice: try container.decodeIfPresent(String.self, forKey: .targetDevice)
        )
    }
}
