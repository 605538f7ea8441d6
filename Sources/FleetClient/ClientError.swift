import FleetWire

/// Why a client connection failed.
public struct FleetClientError: Error, CustomStringConvertible, Sendable {
    private enum Code: Sendable {
        case refused
        case closed
        case unexpected
        case invalidAddress
        case tls
        case unreachable
        case speaksTLS
        case busy
    }

    private let code: Code
    /// The coordinator's error, when it refused something.
    public let refusal: ErrorMessage?
    public let description: String
    /// The wait the coordinator asked for, when it answered `busy`.
    public private(set) var retryAfter: Duration?

    private init(_ code: Code, _ description: String, refusal: ErrorMessage? = nil) {
        self.code = code
        self.description = description
        self.refusal = refusal
    }

    public static func refused(_ error: ErrorMessage) -> Self {
        Self(.refused, "coordinator refused: \(error.message) [\(error.code.name)]", refusal: error)
    }
    public static let closed = Self(.closed, "connection closed by the coordinator")
    public static func unexpected(_ message: Message) -> Self {
        Self(.unexpected, "unexpected \(message.type) from coordinator")
    }
    public static func invalidAddress(_ text: String) -> Self {
        Self(.invalidAddress, "invalid address \"\(text)\": expected HOST:PORT")
    }
    public static func invalidAddressList(_ text: String, reason: String) -> Self {
        Self(.invalidAddress, "invalid coordinator list \"\(text)\": \(reason); expected HOST:PORT[,HOST:PORT…]")
    }
    public static func tls(_ text: String) -> Self { Self(.tls, "TLS: \(text)") }
    /// Nothing answered at the address: the reason (e.g. "connection refused") and what to check.
    public static func unreachable(_ address: CoordinatorAddress, reason: String, hint: String) -> Self {
        Self(.unreachable, "cannot reach the coordinator at \(address): \(reason); \(hint)")
    }
    /// The coordinator answered a plaintext connection with a TLS record.
    public static func speaksTLS(_ address: CoordinatorAddress) -> Self {
        Self(
            .speaksTLS,
            "the coordinator at \(address) speaks TLS: pass --ca-file with its certificate (or the CA that signed it)"
        )
    }

    public var isRefusal: Bool { code == .refused }
    /// True when nothing answered at the address (refused, timed out, unknown host).
    public var isUnreachable: Bool { code == .unreachable }
    /// The coordinator answered `busy`: connect again after ``retryAfter`` at the earliest.
    public static func busy(_ busy: Busy) -> Self {
        var error = Self(.busy, "coordinator busy: \(busy.message); retry in \(busy.retryAfterMilliseconds) ms")
        error.retryAfter = .milliseconds(busy.retryAfterMilliseconds)
        return error
    }

    public var isBusy: Bool { code == .busy }
}

/// A `HOST:PORT` address (IPv6 as `[::1]:7420`).
public struct CoordinatorAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public init(parsing text: String) throws {
        var host = Substring(text)
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), port > 0,
            port < 65536
        else { throw FleetClientError.invalidAddress(text) }
        host = text[..<colon]
        if host.hasPrefix("[") && host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        guard !host.isEmpty else { throw FleetClientError.invalidAddress(text) }
        self.host = String(host)
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
