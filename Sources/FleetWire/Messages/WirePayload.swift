import NIOCore

/// A message body with a fixed type byte and a hand-written binary encoding.
public protocol WirePayload: Hashable, Sendable, Codable {
    static var messageType: MessageType { get }
    init(reading reader: inout WireReader) throws
    func write(to buffer: inout ByteBuffer)
}

/// The role a client claims in ``Hello``.
public enum PeerRole: UInt8, Hashable, Sendable, Codable {
    case device = 0
    case admin = 1
}

/// Supported protocol versions.
public enum ProtocolVersion {
    /// The versions this implementation speaks. Version 2 keeps the pre-handshake frame limit until `welcome`
    /// and adds ``Busy``; a coordinator treats version 1 clients the same way (Protocol/SPEC.md, section 8).
    public static let supported: ClosedRange<Int> = 1...2
    /// Picks the highest version in both ranges, or nil when they do not overlap.
    public static func negotiate(_ peer: ClosedRange<Int>, local: ClosedRange<Int> = supported) -> Int? {
        let high = min(peer.upperBound, local.upperBound)
        return high >= max(peer.lowerBound, local.lowerBound) ? high : nil
    }
}
