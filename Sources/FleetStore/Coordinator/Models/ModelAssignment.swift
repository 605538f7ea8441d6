import Foundation

/// The desired state of one model on one device (like a device twin): which version and variant it should
/// run, and why.
public struct ModelAssignment: Sendable, Equatable, Codable {
    public var deviceID: String
    public var model: String
    /// Nil, with `variant`, when no variant fits the device.
    public var version: Int?
    /// Nil, with `version`, when no variant fits the device.
    public var variant: String?
    /// For example "int8: most accurate variant within ram 48 MiB (fp32 needs 128 MiB)" or "no variant fits: ...".
    public var reason: String
    public var updatedAt: Date

    public init(deviceID: String, model: String, version: Int?, variant: String?, reason: String, updatedAt: Date) {
        self.deviceID = deviceID
        self.model = model
        self.version = version
        self.variant = variant
        self.reason = reason
        self.updatedAt = updatedAt
    }
}
