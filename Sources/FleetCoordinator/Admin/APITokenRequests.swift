import FleetStore
import FleetTrust
import FleetWire
import Foundation

/// Bearer tokens of the HTTP admin API, created and revoked by an administrator on the binary admin protocol (who
/// holds the admin credential). A token is `tfa_` and 40 lowercase hex characters (160 random bits); only its
/// SHA-256 is stored, so it is shown once.
enum APITokens {
    static let prefix = "tfa_"
    /// The length of every token; a longer `Authorization` value is refused before it is hashed.
    static let length = prefix.utf8.count + 40

    static func hash(_ secret: some Sequence<UInt8>) -> [UInt8] { Digest.sha256(Array(secret)) }
}

/// A new secret (enrolment or API token): `prefix` and 40 lowercase hex characters (160 random bits), its SHA-256
/// (all the coordinator keeps), its id (`idPrefix` and the hash's first 4 bytes in hex) and its expiry date.
struct IssuedSecret {
    let secret: String
    let hash: [UInt8]
    let id: String
    let now = Date()
    let expiresAt: Date?

    init(prefix: String, idPrefix: String, expiresInSeconds: Int) {
        secret = prefix + Digest.hex(Digest.randomBytes(20))
        hash = Digest.sha256(secret.utf8)
        id = idPrefix + Digest.hex(hash.prefix(4))
        expiresAt = expiresInSeconds > 0 ? now.addingTimeInterval(TimeInterval(expiresInSeconds)) : nil
    }
}

extension APITokens {
    /// Issues a token: stores its hash and returns the stored record and the token (to show once).
    static func issue(
        scope: APITokenScope,
        expiresInSeconds: Int,
        in store: CoordinatorStore
    ) async throws -> (record: APITokenRecord, token: String) {
        let issued = IssuedSecret(prefix: prefix, idPrefix: "a-", expiresInSeconds: expiresInSeconds)
        let record = try await store.createAPIToken(
            NewAPIToken(
                id: issued.id,
                secretHash: issued.hash,
                scope: scope.name,
                createdAt: issued.now,
                expiresAt: issued.expiresAt
            )
        )
        return (record, issued.secret)
    }
}

extension AdminRequests {
    func createAPIToken(_ request: CreateAPIToken) async throws -> APITokenCreated {
        let (record, token) = try await APITokens.issue(
            scope: request.scope,
            expiresInSeconds: request.expiresInSeconds,
            in: store
        )
        return APITokenCreated(
            requestID: request.requestID,
            tokenID: record.id,
            token: token,
            scope: request.scope,
            expiresAtMilliseconds: record.expiresAt.map(\.unixMilliseconds) ?? 0
        )
    }

    func revokeAPIToken(_ request: RevokeAPIToken) async throws -> Ack {
        guard try await store.revokeAPIToken(id: request.tokenID, at: Date()) else {
            throw ErrorMessage(
                requestID: request.requestID,
                code: .notFound,
                message: "no API token \(request.tokenID): `fleetctl api-token list` lists them"
            )
        }
        return Ack(requestID: request.requestID)
    }
}
