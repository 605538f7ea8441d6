import FleetStore
import FleetWire
import Foundation
import HTTPTypes
import Hummingbird

/// Checks the bearer token of a request to the HTTP admin API: 401 without one, with one that is malformed,
/// unknown, revoked or expired; 403 when its scope is too small. Errors are JSON (`{"error": {"message": …}}`)
/// and say what to do.
struct APIAuthorization: Sendable {
    let store: CoordinatorStore

    /// `Bearer ` and a token: the longest `Authorization` value looked at (anything longer is refused unread).
    static let maximumHeaderLength = "Bearer ".utf8.count + APITokens.length

    func require(_ scope: APITokenScope, for request: Request) async throws {
        guard let header = request.headers[.authorization] else {
            throw Self.unauthorized(
                "this endpoint needs a bearer token: create one with `fleetctl api-token create --scope "
                    + "\(scope.name)` and send it as `Authorization: Bearer TOKEN`"
            )
        }
        guard header.utf8.count <= Self.maximumHeaderLength, header.prefix(7).lowercased() == "bearer " else {
            throw Self.unauthorized(
                "the Authorization header is not `Bearer TOKEN` with a token from `fleetctl api-token create`"
            )
        }
        try await require(scope, secret: header.utf8.dropFirst("Bearer ".utf8.count))
    }

    /// Checks a token's secret (from the header, or the console's cookie): 401 unknown, revoked or expired, 403
    /// too small a scope. Returns the token's record.
    @discardableResult
    func require(_ scope: APITokenScope, secret: some Collection<UInt8>) async throws -> APITokenRecord {
        guard secret.count <= APITokens.length else {
            throw Self.unauthorized("that is not a token from `fleetctl api-token create`")
        }
        guard let token = try await store.apiToken(secretHash: APITokens.hash(secret)) else {
            throw Self.unauthorized("unknown API token: create one with `fleetctl api-token create`")
        }
        guard token.revokedAt == nil else {
            throw Self.unauthorized(
                "API token \(token.id) was revoked: create another with `fleetctl api-token create`"
            )
        }
        guard token.isUsable(at: Date()) else {
            throw Self.unauthorized(
                "API token \(token.id) has expired: create another with `fleetctl api-token create`"
            )
        }
        guard let held = APITokenScope(name: token.scope), held >= scope else {
            throw HTTPError(
                .forbidden,
                message: "API token \(token.id) has the scope \(token.scope); this endpoint needs \(scope.name): "
                    + "use a token from `fleetctl api-token create --scope \(scope.name)`"
            )
        }
        return token
    }

    static func unauthorized(_ message: String) -> HTTPError {
        HTTPError(.unauthorized, headers: [.wwwAuthenticate: #"Bearer realm="tinyfleet""#], message: message)
    }
}
