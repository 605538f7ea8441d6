import Foundation

/// One variant (for example "int8", "fp32") of one version of a model, to add to the registry.
public struct NewModelVariant: Sendable {
    public var model: String
    /// At least 0. A model's versions only go up; see ``CoordinatorStore/addModelVariant(_:)``.
    public var version: Int
    public var variant: String
    /// Size of the weights file in bytes.
    public var size: Int
    /// SHA-256 of the weights file (32 bytes).
    public var sha256: [UInt8]
    /// Relative path of the content-addressed blob in the coordinator's data directory.
    public var blobPath: String
    /// What a device needs to run it, for example "min-ram", "min-storage", "arch" (comma list), "accelerator".
    public var requirements: [String: String]
    /// Free-form facts: "accuracy", "cost", "description", ...
    public var metadata: [String: String]
    /// Opaque signed manifest bytes, handed to devices as is.
    public var signedManifest: [UInt8]
    public var createdAt: Date

    public init(
        model: String,
        version: Int,
        variant: String,
        size: Int,
        sha256: [UInt8],
        blobPath: String,
        requirements: [String: String],
        metadata: [String: String],
        signedManifest: [UInt8],
        createdAt: Date
    ) {
        self.model = model
        self.version = version
        self.variant = variant
        self.size = size
        self.sha256 = sha256
        self.blobPath = blobPath
        self.requirements = requirements
        self.metadata = metadata
        self.signedManifest = signedManifest
        self.createdAt = createdAt
    }
}

/// A variant stored in the model registry.
public struct ModelVariantRecord: Sendable, Equatable, Codable {
    public var model: String
    public var version: Int
    public var variant: String
    public var size: Int
    public var sha256: [UInt8]
    public var blobPath: String
    public var requirements: [String: String]
    public var metadata: [String: String]
    public var signedManifest: [UInt8]
    public var createdAt: Date
    /// `metadata["accuracy"]` as a finite number, or nil when absent or not a number.
    public var accuracy: Double?

    /// `accuracy` is parsed from `metadata["accuracy"]`.
    public init(
        model: String,
        version: Int,
        variant: String,
        size: Int,
        sha256: [UInt8],
        blobPath: String,
        requirements: [String: String],
        metadata: [String: String],
        signedManifest: [UInt8],
        createdAt: Date
    ) {
        self.model = model
        self.version = version
        self.variant = variant
        self.size = size
        self.sha256 = sha256
        self.blobPath = blobPath
        self.requirements = requirements
        self.metadata = metadata
        self.signedManifest = signedManifest
        self.createdAt = createdAt
        accuracy = Self.accuracy(in: metadata)
    }

    /// `metadata["accuracy"]` as a finite `Double` ("0.91", " 0.91 "), or nil.
    public static func accuracy(in metadata: [String: String]) -> Double? {
        guard let text = metadata["accuracy"],
            let value = Double(text.trimmingCharacters(in: .whitespaces)),
            value.isFinite
        else { return nil }
        return value
    }
}

/// One model of the registry, summarised.
public struct ModelSummary: Sendable, Equatable, Codable {
    public var name: String
    public var latestVersion: Int
    /// Every stored version, ascending.
    public var versions: [Int]
    /// The distinct variant names over all stored versions, ascending.
    public var variants: [String]
    /// How many devices have an assignment for this model (including "no variant fits" ones).
    public var deviceCount: Int

    public init(name: String, latestVersion: Int, versions: [Int], variants: [String], deviceCount: Int) {
        self.name = name
        self.latestVersion = latestVersion
        self.versions = versions
        self.variants = variants
        self.deviceCount = deviceCount
    }
}
