import FleetStore
import Foundation

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
