import NIOCore

/// One frame on the wire, after the length prefix has been removed.
///
/// ```
///  0               1               2               3
/// +---------------+---------------+---------------+---------------+
/// |              length (UInt32, big endian) = 1 + payload         |
/// +---------------+-----------------------------------------------+
/// | message type  |  payload (length - 1 bytes) ...
/// +---------------+-----------------------------------------------
/// ```
public struct Frame: Hashable, Sendable {
    /// The raw message type byte (see ``MessageType``).
    public var type: UInt8
    /// The message's payload, without the type byte.
    public var payload: ByteBuffer

    public init(type: UInt8, payload: ByteBuffer) {
        self.type = type
        self.payload = payload
    }

    /// Bytes of the length prefix.
    public static let lengthPrefixSize = 4
    /// The maximum frame length (type byte plus payload) before the handshake has negotiated one.
    public static let handshakeMaximumLength = 64 * 1024
    /// The largest maximum either side may propose.
    public static let absoluteMaximumLength = 16 * 1024 * 1024
}
