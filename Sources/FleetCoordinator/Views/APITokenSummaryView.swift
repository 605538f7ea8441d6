import FleetStore
import Foundation

/// A new HTTP admin API token as `fleetctl api-token create --json` prints it and `POST /api/v1/api-tokens` answers:
/// `token` is shown only here, once.
public struct APITokenView: Codable, Sendable, Equatable {
    public var token: String
    public var id: String
    /// `read` or `admin`.
    public var scope: String
    public var expiresAt: String?

    package init(token: String, id: String, scope: String, expiresAt: String?) {
        self.token = token
        self.id = id
        self.scope = scope
        self.expiresAt = expiresAt
    }
}

/// An HTTP admin API token as `fleetctl api-token list --json` prints it (never its secret: the coordinator keeps
/// only a hash).
public struct APITokenSummaryView: Codable, Sendable, Equatable {
    public var id: String
    public var scope: String
    public var createdAt: String
    public var expiresAt: String?
    public var revokedAt: String?
    /// `usable`, `revoked` or `expired`.
    public var state: String
}

extension APITokenSummaryView {
    package init(record: APITokenRecord, now: Date) {
        self.init(
            id: record.id,
            scope: record.scope,
            createdAt: ISO8601.string(record.createdAt),
            expiresAt: record.expiresAt.map(ISO8601.string),
            revokedAt: record.revokedAt.map(ISO8601.string),
            state: record.revokedAt != nil ? "revoked" : (record.isUsable(at: now) ? "usable" : "expired")
        )
    }
}
