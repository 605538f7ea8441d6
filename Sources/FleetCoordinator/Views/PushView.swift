import FleetTrust
import FleetWire

/// A pushed model variant as `fleetctl model push --json` prints it and
/// `PUT /api/v1/models/{model}/versions/{version}/variants/{variant}` answers it.
public struct PushView: Codable, Sendable, Equatable {
    public var model: String
    public var version: Int
    public var variant: String
    public var size: Int
    public var sha256: String
    public var assignedDevices: Int

    package init(pushed: ModelPushed, size: Int, sha256: [UInt8]) {
        model = pushed.model
        version = pushed.version
        variant = pushed.variant
        self.size = size
        self.sha256 = Digest.hex(sha256)
        assignedDevices = pushed.assignedDevices
    }
}
