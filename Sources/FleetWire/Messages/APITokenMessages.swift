import NIOCore

/// What an HTTP admin API bearer token may do: `read` the `GET` endpoints, or everything (`admin`).
public enum APITokenScope: UInt8, Sendable, Codable, CaseIterable, Comparable {
    case read = 1
    case admin = 2

    public var name: String { self == .read ? "read" : "admin" }

    public init?(name: String) {
        guard let scope = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = scope
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    init(reading reader: inout WireReader, _ field: String) throws {
        let raw = try reader.readByte(field)
        guard let scope = Self(rawValue: raw) else {
            throw FleetWireError.invalidValue(field, "\(raw) is no scope (1 read, 2 admin)")
        }
        self = scope
    }
}

/// Creates a bearer token for the HTTP admin API (admin only). Answered by ``APITokenCreated``.
public struct CreateAPIToken: WirePayload {
    public static let messageType = MessageType.createAPIToken
    public var requestID: UInt64
    public var scope: APITokenScope
    /// Seconds until it expires; 0 means never.
    public var expiresInSeconds: Int

    public init(requestID: UInt64, scope: APITokenScope, expiresInSeconds: Int) {
        self.requestID = requestID
        self.scope = scope
        self.expiresInSeconds = expiresInSeconds
    }

    public init(reading reader: inout WireReader) throws {
        requestID = try reader.readVarint("requestID")
        scope = try APITokenScope(reading: &reader, "scope")
        expiresInSeconds = try reader.readBoundedInt("expiresInSeconds")
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(requestID)
        buffer.writeInteger(scope.rawValue)
        buffer.writeVarint(expiresInSeconds)
    }
}

/// A new HTTP admin API token. The secret is shown once: the coordinator keeps only its SHA-256.
public struct APITokenCreated: WirePayload {
    public static let messageType = MessageType.apiTokenCreated
    public var requestID: UInt64
    public var tokenID: String
    public var token: String
    public var scope: APITokenScope
    /// Unix milliseconds; 0 means never.
    public var expiresAtMilliseconds: UInt64

    public init(requestID: UInt64, tokenID: String, token: String, scope: APITokenScope, expiresAtMilliseconds: UInt64)
    {
        self.requestID = requestID
        self.tokenID = tokenID
        self.token = token
        self.scope = scope
        self.expiresAtMilliseconds = expiresAtMilliseconds
    }

    public init(reading reader: inout WireReader) throws {
        requestID = try reader.readVarint("requestID")
        tokenID = try reader.readLengthPrefixedString("tokenID")
        token = try reader.readLengthPrefixedString("token")
        scope = try APITokenScope(reading: &reader, "scope")
        expiresAtMilliseconds = try reader.readVarint("expiresAtMilliseconds")
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(requestID)
        buffer.writeLengthPrefixedString(tokenID)
        buffer.writeLengthPrefixedString(token)
        buffer.writeInteger(scope.rawValue)
        buffer.writeVarint(expiresAtMilliseconds)
    }
}

/// Revokes an HTTP admin API token (admin only): requests with it get 401 from now on. Answered by ``Ack``, or
/// error 301 (not-found) for an unknown token id.
public struct RevokeAPIToken: WirePayload {
    public static let messageType = MessageType.revokeAPIToken
    public var requestID: UInt64
    /// The token's id (`a-…`, as `apiTokenCreated` named it), not its secret.
    public var tokenID: String

    public init(requestID: UInt64, tokenID: String) {
        self.requestID = requestID
        self.tokenID = tokenID
    }

    public init(reading reader: inout WireReader) throws {
        requestID = try reader.readVarint("requestID")
        tokenID = try reader.readLengthPrefixedString("tokenID")
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarint(requestID)
        buffer.writeLengthPrefixedString(tokenID)
    }
}
