import Foundation

/// What is installed for one model, as recorded in `installed.json`.
public struct InstalledModelState: Sendable, Hashable {
    /// The version kept in `previous.safetensors` for rollback.
    public struct PreviousVersion: Sendable, Hashable {
        public var version: String
        public var variant: String
        public var sha256: String
        public var size: Int
    }

    public var model: String
    public var version: String
    public var variant: String
    /// The digest of `current.safetensors`, as lowercase hex.
    public var sha256: String
    public var size: Int
    public var installedAt: Date
    public var previous: PreviousVersion?
    /// The signed manifest the model was installed under, kept for status and re-verification.
    public var manifest: [UInt8]
    /// The stable path applications open (``ModelStorageLayout/currentModelPath(dataDirectory:model:)``).
    public var path: String
    /// The `issuedAt` of the newest rollback directive installed for this model, kept across later installs.
    public var newestDirective: Date?
}

/// The on-disk form of `installed.json` and `pending.json`, versioned like Mender's `StateData`.
///
/// `previous` also keeps its manifest and install date (beyond the version, variant and digest that
/// status shows) so a rollback restores a complete record.
struct ModelInstallRecord: Codable, Hashable {
    static let currentFormat = 1

    struct Previous: Codable, Hashable {
        var version: String
        var variant: String
        var sha256: String
        var size: Int
        var installedAt: Date
        var manifest: Data
    }

    var formatVersion: Int
    var model: String
    var version: String
    var variant: String
    var sha256: String
    var size: Int
    var installedAt: Date
    var previous: Previous?
    var manifest: Data
    /// The high-water mark of accepted rollback directives (absent in records written before it existed).
    var newestDirective: Date?

    /// This record as the `previous` of the next install.
    var asPrevious: Previous {
        Previous(
            version: version,
            variant: variant,
            sha256: sha256,
            size: size,
            installedAt: installedAt,
            manifest: manifest
        )
    }

    func state(path: String) -> InstalledModelState {
        InstalledModelState(
            model: model,
            version: version,
            variant: variant,
            sha256: sha256,
            size: size,
            installedAt: installedAt,
            previous: previous.map {
                InstalledModelState.PreviousVersion(
                    version: $0.version,
                    variant: $0.variant,
                    sha256: $0.sha256,
                    size: $0.size
                )
            },
            manifest: Array(manifest),
            path: path,
            newestDirective: newestDirective
        )
    }

    private enum CodingKeys: String, CodingKey {
        case formatVersion, model, version, variant, sha256, size, installedAt, previous, manifest, newestDirective
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(formatVersion, forKey: .formatVersion)
        try container.encode(model, forKey: .model)
        try container.encode(version, forKey: .version)
        try container.encode(variant, forKey: .variant)
        try container.encode(sha256, forKey: .sha256)
        try container.encode(size, forKey: .size)
        try container.encode(installedAt, forKey: .installedAt)
        try container.encode(previous, forKey: .previous)  // written as null when there is none
        try container.encode(manifest, forKey: .manifest)  // base64
        try container.encodeIfPresent(newestDirective, forKey: .newestDirective)
    }
}
