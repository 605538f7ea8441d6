import Foundation

/// One entry of the delta cache index: a delta from one weights file to another, stored in a file.
public struct DeltaCacheRecord: Sendable, Equatable, Codable {
    /// SHA-256 of the weights file the delta applies to.
    public var fromSHA256: [UInt8]
    /// SHA-256 of the weights file the delta produces.
    public var toSHA256: [UInt8]
    /// The delta encoding (as named by FleetDelta).
    public var encoding: String
    /// Where the delta bytes live, relative to the data directory.
    public var path: String
    /// Size of the delta payload in bytes.
    public var size: Int
    /// SHA-256 of the delta payload file.
    public var payloadSHA256: [UInt8]
    public var createdAt: Date

    public init(
        fromSHA256: [UInt8],
        toSHA256: [UInt8],
        encoding: String,
        path: String,
        size: Int,
        payloadSHA256: [UInt8],
        createdAt: Date
    ) {
        self.fromSHA256 = fromSHA256
        self.toSHA256 = toSHA256
        self.encoding = encoding
        self.path = path
        self.size = size
        self.payloadSHA256 = payloadSHA256
        self.createdAt = createdAt
    }
}
