/// An error found while framing or decoding TinyFleet wire data.
///
/// Every error closes the connection that produced it, and only that one.
/// New codes can be added without breaking callers: match on the static values.
public struct FleetWireError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case frameTooLarge
        case emptyFrame
        case unknownMessageType
        case truncated
        case trailingBytes
        case malformedVarint
        case invalidUTF8
        case invalidValue
    }

    private let code: Code
    /// Human-readable detail: which field, which limit.
    public let detail: String

    private init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    /// A frame announced a length above the negotiated maximum. Nothing was allocated for it.
    public static func frameTooLarge(length: UInt32, maximum: Int) -> Self {
        Self(.frameTooLarge, "frame of \(length) bytes exceeds the maximum of \(maximum)")
    }
    /// A frame announced length 0: it has no room for its message type.
    public static let emptyFrame = Self(.emptyFrame, "frame of length 0 has no message type")
    /// A frame carried a message type this implementation does not know.
    public static func unknownMessageType(_ type: UInt8) -> Self {
        Self(.unknownMessageType, "unknown message type 0x\(String(type, radix: 16))")
    }
    /// A message ended before one of its fields.
    public static func truncated(_ field: String) -> Self { Self(.truncated, "message truncated in \(field)") }
    /// A message had bytes after its last field.
    public static func trailingBytes(_ count: Int) -> Self { Self(.trailingBytes, "\(count) trailing bytes") }
    /// A varint was longer than 10 bytes or overflowed 64 bits.
    public static let malformedVarint = Self(.malformedVarint, "malformed varint")
    /// A string field was not valid UTF-8.
    public static func invalidUTF8(_ field: String) -> Self { Self(.invalidUTF8, "\(field) is not valid UTF-8") }
    /// A field held a value outside its documented range.
    public static func invalidValue(_ field: String, _ why: String) -> Self { Self(.invalidValue, "\(field): \(why)") }

    public var description: String { "FleetWireError(\(detail))" }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
}
