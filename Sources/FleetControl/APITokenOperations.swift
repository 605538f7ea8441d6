import FleetClient
import FleetCoordinator
import FleetStore
import FleetWire
import Foundation

extension FleetInspector {
    /// Creates a bearer token for the HTTP admin API, over the admin protocol.
    public func createAPIToken(scope: APITokenScope, expiresIn: Duration?) async throws -> APITokenView {
        let seconds = expiresIn.map { max(1, Int($0.components.seconds)) } ?? 0
        return try await target.withAdminConnection { connection in
            let reply = try await connection.request(
                .createAPIToken(CreateAPIToken(requestID: 1, scope: scope, expiresInSeconds: seconds))
            )
            guard case .apiTokenCreated(let created) = reply else { throw FleetClientError.unexpected(reply) }
            return APITokenView(
                token: created.token,
                id: created.tokenID,
                scope: created.scope.name,
                expiresAt: ISO8601.string(milliseconds: created.expiresAtMilliseconds)
            )
        }
    }

    /// The API tokens, read from the coordinator's data directory.
    public func apiTokens(now: Date = Date()) async throws -> [APITokenSummaryView] {
        try await requireLocalStore("api-token list").apiTokens().map { APITokenSummaryView(record: $0, now: now) }
    }

    /// Revokes the API token with this id (`a-…`): requests with it get 401 from now on.
    public func revokeAPIToken(id: String) async throws {
        try await target.withAdminConnection { connection in
            let reply = try await connection.request(.revokeAPIToken(RevokeAPIToken(requestID: 1, tokenID: id)))
            guard case .ack = reply else { throw FleetClientError.unexpected(reply) }
        }
    }
}
