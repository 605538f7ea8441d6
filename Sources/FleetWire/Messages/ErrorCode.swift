/// Error codes carried by ``ErrorMessage``. Values are fixed forever; unknown codes must be accepted
/// by receivers (treat by range: 1xx protocol, 2xx authentication, 3xx request, 5xx coordinator).
public struct ErrorCode: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public var rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    // 1xx: the connection broke the protocol. The coordinator closes it after sending the error.
    public static let unsupportedVersion = Self(rawValue: 100)
    public static let malformedMessage = Self(rawValue: 101)
    public static let unknownMessageType = Self(rawValue: 102)
    public static let frameTooLarge = Self(rawValue: 103)
    public static let unexpectedMessage = Self(rawValue: 104)
    public static let handshakeTimeout = Self(rawValue: 105)
    // 2xx: authentication and enrolment. The connection is closed after these.
    public static let unknownDevice = Self(rawValue: 200)
    public static let badSignature = Self(rawValue: 201)
    public static let replayedNonce = Self(rawValue: 202)
    public static let tokenUnknown = Self(rawValue: 203)
    public static let tokenUsed = Self(rawValue: 204)
    public static let tokenExpired = Self(rawValue: 205)
    public static let keyAlreadyEnrolled = Self(rawValue: 206)
    public static let adminDenied = Self(rawValue: 207)
    public static let notAuthenticated = Self(rawValue: 208)
    // 3xx: a request failed; the connection stays open.
    public static let badRequest = Self(rawValue: 300)
    public static let notFound = Self(rawValue: 301)
    public static let conflict = Self(rawValue: 302)
    // 5xx: the coordinator failed.
    public static let internalError = Self(rawValue: 500)
    public static let unavailable = Self(rawValue: 503)

    private static let names: [Int: String] = [
        100: "unsupported-version", 101: "malformed-message", 102: "unknown-message-type", 103: "frame-too-large",
        104: "unexpected-message", 105: "handshake-timeout", 200: "unknown-device", 201: "bad-signature",
        202: "replayed-nonce", 203: "token-unknown", 204: "token-used", 205: "token-expired",
        206: "key-already-enrolled", 207: "admin-denied", 208: "not-authenticated", 300: "bad-request",
        301: "not-found", 302: "conflict", 500: "internal-error", 503: "unavailable",
    ]

    /// A stable kebab-case name, e.g. `token-used`.
    public var name: String { Self.names[rawValue] ?? "error-\(rawValue)" }
    public var description: String { "\(name) (\(rawValue))" }
    /// Whether the sender closes the connection after this error.
    public var closesConnection: Bool { rawValue < 300 }
}
