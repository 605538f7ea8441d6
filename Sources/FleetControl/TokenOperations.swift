import FleetClient
import FleetCoordinator
import FleetStore
import FleetWire
import Foundation

/// A new token as `fleetctl token create --json` prints it.
public struct TokenView: Codable, Sendable, Equatable {
    public var token: String
    public var id: String
    public var uses: Int
    public var expiresAt: String?
}

/// An enrolment token as `fleetctl token list --json` prints it (never its secret: the coordinator keeps only a
/// hash).
public struct TokenSummaryView: Codable, Sendable, Equatable {
    public var id: String
    public var uses: Int
    public var usesLeft: Int
    public var expiresAt: String?
    public var labels: [String: String]
    public var createdAt: String
    /// `usable`, `used` (no uses left: used up or revoked) or `expired`.
    public var state: String
}

extension FleetInspector {
    public func tokens(now: Date = Date()) async throws -> [TokenSummaryView] {
        try await requireLocalStore("token list").tokens().map { token in
            let state =
                token.usesLeft == 0 ? "used" : (token.expiresAt.map { $0 <= now } == true ? "expired" : "usable")
            return TokenSummaryView(
                id: token.id,
                uses: token.usesTotal,
                usesLeft: token.usesLeft,
                expiresAt: token.expiresAt.map(ISO8601.string),
                labels: token.labels,
                createdAt: ISO8601.string(token.createdAt),
                state: state
            )
        }
    }

    /// Revokes the token with this id (`t-…`): no device can enrol with it any more.
    public func revokeToken(id: String) async throws {
        try await target.withAdminConnection { connection in
            let reply = try await connection.request(.revokeToken(RevokeToken(requestID: 1, tokenID: id)))
            guard case .ack = reply else { throw FleetClientError.unexpected(reply) }
        }
    }
}
