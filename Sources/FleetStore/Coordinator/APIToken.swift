import Foundation

/// A bearer token of the HTTP admin API to create. Only the SHA-256 hash of its secret is stored, computed by the
/// caller.
public struct NewAPIToken: Sendable {
    public var id: String
    /// SHA-256 of the token secret. The secret itself never reaches the store.
    public var secretHash: [UInt8]
    /// `read` or `admin`.
    public var scope: String
    public var createdAt: Date
    /// Requests at or after this date are refused; nil never expires.
    public var expiresAt: Date?

    public init(id: String, secretHash: [UInt8], scope: String, createdAt: Date, expiresAt: Date?) {
        self.id = id
        self.secretHash = secretHash
        self.scope = scope
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}

/// A stored HTTP admin API token. The secret hash is deliberately not exposed.
public struct APITokenRecord: Sendable, Equatable {
    public var id: String
    public var scope: String
    public var createdAt: Date
    public var expiresAt: Date?
    public var revokedAt: Date?

    /// Usable at `now`: not revoked, and not at or past its expiry date.
    public func isUsable(at now: Date) -> Bool {
        revokedAt == nil && expiresAt.map { now < $0 } != false
    }
}
